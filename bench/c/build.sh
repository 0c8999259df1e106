#!/usr/bin/env bash
# Builds the C side of the benchmarks into bench/c/build/ (-O2):
#   loadgen                                      (tools/: the TCP echo load generator; needs gcc only)
#   ev_echo                                      (tools/: libevent's echo server, one base or one per thread)
#   evbuffer_bench, socket_stream, thread_bench  (this folder: the libevent baselines of npm run bench)
# The libevent programs need Debian's libevent-dev (apt-get update && apt-get install -y libevent-dev); without it
# only loadgen is built, with a note.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out="$here/build"
mkdir -p "$out"
CFLAGS="-O2 -Wall -Wextra"

gcc $CFLAGS -Wno-unused-parameter -o "$out/loadgen" "$here/tools/loadgen.c" -lpthread

if [ ! -f /usr/include/event2/bufferevent.h ]; then
  echo "note: libevent-dev not installed: only loadgen built (apt-get update && apt-get install -y libevent-dev)" >&2
  exit 0
fi
gcc $CFLAGS -Wno-unused-parameter -o "$out/ev_echo" "$here/tools/ev_echo.c" -levent -levent_pthreads -lpthread
gcc $CFLAGS -o "$out/evbuffer_bench" "$here/evbuffer_bench.c" -levent
gcc $CFLAGS -o "$out/socket_stream" "$here/socket_stream.c" -levent
gcc $CFLAGS -pthread -o "$out/thread_bench" "$here/thread_bench.c" -levent -levent_pthreads -lpthread
echo "C benchmarks built in $out"
