#!/usr/bin/env bash
# Builds the libevent C baseline benchmarks into bench/c/build/ (-O2):
#   evbuffer_bench, socket_stream, thread_bench  (this folder)
#   loadgen, ev_echo               (../shared/tools beside the repo root, when its build.sh exists)
# Exits 0 without building anything when Debian's libevent-dev is not installed.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out="$here/build"

if [ ! -f /usr/include/event2/bufferevent.h ]; then
  echo "libevent-dev not installed: skipping C baseline"
  exit 0
fi

mkdir -p "$out"
CFLAGS="-O2 -Wall -Wextra"
gcc $CFLAGS -o "$out/evbuffer_bench" "$here/evbuffer_bench.c" -levent
gcc $CFLAGS -o "$out/socket_stream" "$here/socket_stream.c" -levent
gcc $CFLAGS -pthread -o "$out/thread_bench" "$here/thread_bench.c" -levent -levent_pthreads -lpthread

tools="$root/../shared/tools"
if [ -f "$tools/build.sh" ]; then
  bash "$tools/build.sh" "$out" >/dev/null
  echo "built shared tools (loadgen, ev_echo) from $(cd "$tools" && pwd)"
else
  echo "note: $tools/build.sh not found; loadgen/ev_echo not built" >&2
fi
echo "C baseline built in $out"
