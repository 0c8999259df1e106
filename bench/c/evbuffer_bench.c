/* evbuffer_bench.c - libevent 2.1 evbuffer / bufferevent-pair micro benchmarks (C baseline).
 *
 * usage: evbuffer_bench [-n SECONDS_PER_FIGURE]   (default 1.0)
 *
 * Runs each figure for about -n seconds and prints one line per figure:
 *   evbuffer_add_remove_64: <n> ops/s      one op = evbuffer_add(N) + evbuffer_remove(N)
 *   evbuffer_add_remove_1024: <n> ops/s
 *   evbuffer_add_remove_16384: <n> ops/s
 *   evbuffer_readln: <n> lines/s           1000 ~40-byte CRLF lines added as one block, read back
 *   evbuffer_add_printf: <n> calls/s       drained every 1024 calls
 *   pair_stream_16384: <x> MB/s            bufferevent pair, 16 KiB writes, 1 MB = 1e6 bytes
 */
#define _GNU_SOURCE
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void die(const char *msg) {
    fprintf(stderr, "evbuffer_bench: %s\n", msg);
    exit(1);
}

/* ---- evbuffer_add + evbuffer_remove on one buffer ---- */
static void bench_add_remove(size_t n, double secs) {
    char *data = malloc(n), *out = malloc(n);
    if (!data || !out) die("out of memory");
    for (size_t i = 0; i < n; i++) data[i] = (char)(i * 31 + 7);
    struct evbuffer *buf = evbuffer_new();
    if (!buf) die("evbuffer_new failed");
    uint64_t ops = 0;
    double t0 = now_s(), t;
    for (;;) {
        for (int i = 0; i < 1024; i++) {
            if (evbuffer_add(buf, data, n) != 0) die("evbuffer_add failed");
            if (evbuffer_remove(buf, out, n) != (int)n) die("evbuffer_remove short");
        }
        ops += 1024;
        if ((t = now_s()) - t0 >= secs) break;
    }
    printf("evbuffer_add_remove_%zu: %.0f ops/s\n", n, ops / (t - t0));
    fflush(stdout);
    evbuffer_free(buf);
    free(data);
    free(out);
}

/* ---- evbuffer_readln(EVBUFFER_EOL_CRLF) over a block of 1000 lines ---- */
static uint32_t rng_state = 0x12345678u; /* fixed seed */
static uint32_t rng(void) {              /* xorshift32 */
    uint32_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return rng_state = x;
}

#define NLINES 1000

static void bench_readln(double secs) {
    static const char *methods[] = {"GET", "PUT", "POST", "HEAD"};
    static const char alnum[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    char *block = malloc(NLINES * 64);
    if (!block) die("out of memory");
    size_t len = 0;
    for (int i = 0; i < NLINES; i++) {
        /* "<METHOD> /<path of 5..20 chars>.html HTTP/1.1\r\n" -> ~30..50 bytes, ~40 average */
        const char *m = methods[rng() % 4];
        int plen = 5 + (int)(rng() % 16);
        len += (size_t)sprintf(block + len, "%s /", m);
        for (int k = 0; k < plen; k++) block[len++] = alnum[rng() % (sizeof alnum - 1)];
        len += (size_t)sprintf(block + len, ".html HTTP/1.1\r\n");
    }
    struct evbuffer *buf = evbuffer_new();
    if (!buf) die("evbuffer_new failed");
    uint64_t lines = 0;
    double t0 = now_s(), t;
    for (;;) {
        if (evbuffer_add(buf, block, len) != 0) die("evbuffer_add failed");
        char *line;
        size_t n;
        int got = 0;
        while ((line = evbuffer_readln(buf, &n, EVBUFFER_EOL_CRLF)) != NULL) {
            free(line);
            got++;
        }
        if (got != NLINES) die("readln: wrong line count");
        lines += NLINES;
        if ((t = now_s()) - t0 >= secs) break;
    }
    printf("evbuffer_readln: %.0f lines/s\n", lines / (t - t0));
    fflush(stdout);
    evbuffer_free(buf);
    free(block);
}

/* ---- evbuffer_add_printf, drained every 1024 calls ---- */
static void bench_add_printf(double secs) {
    struct evbuffer *buf = evbuffer_new();
    if (!buf) die("evbuffer_new failed");
    uint64_t calls = 0;
    int i = 0;
    double t0 = now_s(), t;
    for (;;) {
        for (int k = 0; k < 1024; k++, i++) {
            if (evbuffer_add_printf(buf, "%s %d %u %x %5.2f\r\n", "key", i, (unsigned)i * 7, i, i * 0.5) < 0)
                die("evbuffer_add_printf failed");
        }
        evbuffer_drain(buf, evbuffer_get_length(buf));
        calls += 1024;
        if ((t = now_s()) - t0 >= secs) break;
    }
    printf("evbuffer_add_printf: %.0f calls/s\n", calls / (t - t0));
    fflush(stdout);
    evbuffer_free(buf);
}

/* ---- bufferevent pair stream: pair[0] writes 16 KiB chunks, pair[1] drains ---- */
#define CHUNK 16384
static char chunk[CHUNK];
static uint64_t pair_bytes;

static void pair_read_cb(struct bufferevent *bev, void *arg) {
    (void)arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t n = evbuffer_get_length(in);
    pair_bytes += n;
    evbuffer_drain(in, n);
}

static void pair_write_cb(struct bufferevent *bev, void *arg) {
    (void)arg;
    if (bufferevent_write(bev, chunk, CHUNK) != 0) die("bufferevent_write failed");
}

static void stop_cb(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    event_base_loopbreak(arg);
}

static void bench_pair_stream(double secs) {
    memset(chunk, 'x', sizeof chunk);
    struct event_base *base = event_base_new();
    if (!base) die("event_base_new failed");
    struct bufferevent *pair[2];
    if (bufferevent_pair_new(base, 0, pair) != 0) die("bufferevent_pair_new failed");
    bufferevent_setcb(pair[1], pair_read_cb, NULL, NULL, NULL);
    bufferevent_enable(pair[1], EV_READ);
    bufferevent_setcb(pair[0], NULL, pair_write_cb, NULL, NULL);
    bufferevent_enable(pair[0], EV_WRITE);
    struct event *stop = evtimer_new(base, stop_cb, base);
    if (!stop) die("evtimer_new failed");
    struct timeval tv = {(time_t)secs, (suseconds_t)((secs - (time_t)secs) * 1e6)};
    pair_bytes = 0;
    double t0 = now_s();
    evtimer_add(stop, &tv);
    if (bufferevent_write(pair[0], chunk, CHUNK) != 0) die("bufferevent_write failed");
    event_base_loop(base, 0);
    double t = now_s();
    printf("pair_stream_16384: %.1f MB/s\n", pair_bytes / (t - t0) / 1e6);
    fflush(stdout);
    event_free(stop);
    bufferevent_free(pair[0]);
    bufferevent_free(pair[1]);
    event_base_free(base);
}

int main(int argc, char **argv) {
    double secs = 1.0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-n") && i + 1 < argc) {
            char *end;
            secs = strtod(argv[++i], &end);
            if (*end || !(secs > 0) || secs > 600) die("-n wants a number of seconds in (0, 600]");
        } else {
            fprintf(stderr, "usage: %s [-n SECONDS_PER_FIGURE]\n", argv[0]);
            return 2;
        }
    }
    bench_add_remove(64, secs);
    bench_add_remove(1024, secs);
    bench_add_remove(16384, secs);
    bench_readln(secs);
    bench_add_printf(secs);
    bench_pair_stream(secs);
    return 0;
}
