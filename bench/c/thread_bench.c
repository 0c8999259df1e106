/* thread_bench.c - libevent 2.1 cross-thread figures (pthreads locking), the same names as bench/thread.ts.
 *
 * usage: thread_bench [-n SECONDS]   (default 1, per figure)
 *
 * Thread A (main) owns the event base and runs event_base_loop(EVLOOP_NO_EXIT_ON_EMPTY) until a timer
 * loopbreaks it; thread B (a pthread) writes into a THREADSAFE bufferevent owned by A:
 *   xthread_pair_write_16384: <x> MB/s   B: bufferevent_write(pair[0], 16 KiB) in a loop; A: pair[1]'s read
 *                                         callback drains its input; bytes it consumed / elapsed (1 MB = 1e6 B)
 *   xthread_pair_write_64: <x> ops/s      same with 64-byte writes; 64-byte writes consumed per second
 *   xthread_socket_write_16384: <x> MB/s  B writes 16 KiB chunks into the client side of a loopback TCP connection
 *                                         (both sides owned by A); A's accepted side drains; bytes it consumed / s
 * B never queues more than 4 MiB: it writes while (writer's output + reader's input) < 4 MiB, else sched_yield().
 * The pair is made with BEV_OPT_THREADSAFE | BEV_OPT_DEFER_CALLBACKS: without deferral libevent would run pair[1]'s
 * read callback in the writing thread B; deferred, it runs on A, like the TypeScript port (callbacks run on the
 * owning base's thread).
 *   lock_unlock_uncontended: <x> ns/op   bufferevent_lock + bufferevent_unlock, one thread
 *   lock_unlock_contended: <x> ns/op     two threads each lock + counter++ + unlock on the same bufferevent;
 *                                         wall time / total ops of both
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define QUEUE_MAX (4u * 1024 * 1024)

static double o_secs = 1.0;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void die(const char *msg) {
    fprintf(stderr, "thread_bench: %s\n", msg);
    exit(1);
}

static struct timeval tv_of(double s) {
    struct timeval tv = {(time_t)s, (suseconds_t)((s - (time_t)s) * 1e6)};
    return tv;
}

/* ---- cross-thread writes ---- */

struct xwrite {
    struct event_base *base;
    struct bufferevent *writer; /* written by B */
    struct bufferevent *reader; /* drained by A */
    size_t chunk;
    atomic_int stop;
    uint64_t consumed; /* A only */
    double t0, t1;
};

static void drain_cb(struct bufferevent *bev, void *arg) {
    struct xwrite *x = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t n = evbuffer_get_length(in);
    if (!atomic_load_explicit(&x->stop, memory_order_relaxed)) x->consumed += n; /* stop is set on this thread */
    evbuffer_drain(in, n);
}

static void *writer_main(void *arg) {
    struct xwrite *x = arg;
    char *data = malloc(x->chunk);
    if (!data) die("malloc");
    memset(data, 'x', x->chunk);
    struct evbuffer *out = bufferevent_get_output(x->writer);
    struct evbuffer *in = bufferevent_get_input(x->reader);
    while (!atomic_load_explicit(&x->stop, memory_order_relaxed)) {
        if (evbuffer_get_length(out) + evbuffer_get_length(in) < QUEUE_MAX) {
            if (bufferevent_write(x->writer, data, x->chunk) != 0) die("bufferevent_write failed");
        } else {
            sched_yield();
        }
    }
    free(data);
    return NULL;
}

static void stop_cb(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    struct xwrite *x = arg;
    x->t1 = now_s();
    atomic_store(&x->stop, 1);
    event_base_loopbreak(x->base);
}

/* Start B, run A's loop for o_secs, stop B; returns the consumed count over the elapsed time. */
static double run_xwrite(struct xwrite *x) {
    pthread_t tb;
    struct event *stop = evtimer_new(x->base, stop_cb, x);
    struct timeval tv = tv_of(o_secs);
    atomic_store(&x->stop, 0);
    x->consumed = 0;
    evtimer_add(stop, &tv);
    x->t0 = now_s();
    if (pthread_create(&tb, NULL, writer_main, x) != 0) die("pthread_create");
    event_base_loop(x->base, EVLOOP_NO_EXIT_ON_EMPTY);
    uint64_t got = x->consumed;
    pthread_join(tb, NULL);
    event_free(stop);
    return got / (x->t1 - x->t0);
}

static void bench_pair(size_t chunk) {
    struct xwrite x = {0};
    struct bufferevent *pair[2];
    x.base = event_base_new();
    if (!x.base) die("event_base_new");
    if (bufferevent_pair_new(x.base, BEV_OPT_THREADSAFE | BEV_OPT_DEFER_CALLBACKS, pair) != 0) die("pair_new");
    x.writer = pair[0];
    x.reader = pair[1];
    x.chunk = chunk;
    bufferevent_setcb(pair[1], drain_cb, NULL, NULL, &x);
    bufferevent_enable(pair[0], EV_WRITE);
    bufferevent_enable(pair[1], EV_READ);
    double rate = run_xwrite(&x);
    if (chunk >= 1024)
        printf("xthread_pair_write_%zu: %.1f MB/s\n", chunk, rate / 1e6);
    else
        printf("xthread_pair_write_%zu: %.0f ops/s\n", chunk, rate / chunk);
    fflush(stdout);
    bufferevent_free(pair[0]);
    bufferevent_free(pair[1]);
    event_base_free(x.base);
}

/* socket */
static int connected;

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int socklen, void *arg) {
    (void)l;
    (void)sa;
    (void)socklen;
    struct xwrite *x = arg;
    x->reader = bufferevent_socket_new(x->base, fd, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_THREADSAFE);
    if (!x->reader) die("server bufferevent_socket_new");
    bufferevent_setcb(x->reader, drain_cb, NULL, NULL, x);
    bufferevent_enable(x->reader, EV_READ);
    if (connected) event_base_loopbreak(x->base);
}

static void client_event_cb(struct bufferevent *bev, short what, void *arg) {
    (void)bev;
    struct xwrite *x = arg;
    if (what & BEV_EVENT_CONNECTED) {
        connected = 1;
        if (x->reader) event_base_loopbreak(x->base);
    } else if (!atomic_load(&x->stop)) {
        fprintf(stderr, "thread_bench: client event 0x%x\n", what);
        exit(1);
    }
}

static void bench_socket(size_t chunk) {
    struct xwrite x = {0};
    x.base = event_base_new();
    if (!x.base) die("event_base_new");
    x.chunk = chunk;
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(0x7f000001);
    struct evconnlistener *lev = evconnlistener_new_bind(x.base, accept_cb, &x, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE,
                                                         -1, (struct sockaddr *)&sin, sizeof sin);
    if (!lev) die("listen");
    socklen_t sl = sizeof sin;
    if (getsockname(evconnlistener_get_fd(lev), (struct sockaddr *)&sin, &sl) != 0) die("getsockname");
    x.writer = bufferevent_socket_new(x.base, -1, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_THREADSAFE);
    bufferevent_setcb(x.writer, NULL, NULL, client_event_cb, &x);
    bufferevent_enable(x.writer, EV_WRITE);
    if (bufferevent_socket_connect(x.writer, (struct sockaddr *)&sin, sizeof sin) != 0) die("connect");
    event_base_loop(x.base, EVLOOP_NO_EXIT_ON_EMPTY); /* until connected and accepted */
    double rate = run_xwrite(&x);
    printf("xthread_socket_write_%zu: %.1f MB/s\n", chunk, rate / 1e6);
    fflush(stdout);
    bufferevent_free(x.writer);
    bufferevent_free(x.reader);
    evconnlistener_free(lev);
    event_base_free(x.base);
}

/* ---- locks ---- */

static void bench_lock_uncontended(void) {
    struct event_base *base = event_base_new();
    struct bufferevent *pair[2];
    if (bufferevent_pair_new(base, BEV_OPT_THREADSAFE, pair) != 0) die("pair_new");
    struct bufferevent *bev = pair[0];
    uint64_t ops = 0;
    double t0 = now_s(), t;
    for (;;) {
        for (int i = 0; i < 4096; i++) {
            bufferevent_lock(bev);
            bufferevent_unlock(bev);
        }
        ops += 4096;
        if ((t = now_s()) - t0 >= o_secs) break;
    }
    printf("lock_unlock_uncontended: %.1f ns/op\n", (t - t0) * 1e9 / ops);
    fflush(stdout);
    bufferevent_free(pair[0]);
    bufferevent_free(pair[1]);
    event_base_free(base);
}

struct contend {
    struct bufferevent *bev;
    atomic_int go, stop;
    uint64_t counter; /* under the bufferevent lock */
};

static void contend_loop(struct contend *c) {
    while (!atomic_load_explicit(&c->stop, memory_order_relaxed)) {
        for (int i = 0; i < 256; i++) {
            bufferevent_lock(c->bev);
            c->counter++;
            bufferevent_unlock(c->bev);
        }
    }
}

static void *contend_main(void *arg) {
    struct contend *c = arg;
    while (!atomic_load(&c->go)) sched_yield();
    contend_loop(c);
    return NULL;
}

static void bench_lock_contended(void) {
    struct event_base *base = event_base_new();
    struct bufferevent *pair[2];
    if (bufferevent_pair_new(base, BEV_OPT_THREADSAFE, pair) != 0) die("pair_new");
    struct contend c = {.bev = pair[0]};
    pthread_t tb;
    if (pthread_create(&tb, NULL, contend_main, &c) != 0) die("pthread_create");
    usleep(10000); /* let B reach its start line */
    double t0 = now_s();
    atomic_store(&c.go, 1);
    /* main thread: contend until the deadline, checking the clock every 256 ops */
    while (now_s() - t0 < o_secs) {
        for (int i = 0; i < 256; i++) {
            bufferevent_lock(c.bev);
            c.counter++;
            bufferevent_unlock(c.bev);
        }
    }
    atomic_store(&c.stop, 1);
    pthread_join(tb, NULL);
    double t = now_s();
    printf("lock_unlock_contended: %.1f ns/op\n", (t - t0) * 1e9 / c.counter);
    fflush(stdout);
    bufferevent_free(pair[0]);
    bufferevent_free(pair[1]);
    event_base_free(base);
}

int main(int argc, char **argv) {
    int opt;
    while ((opt = getopt(argc, argv, "n:")) != -1) {
        if (opt == 'n') o_secs = atof(optarg);
        else {
            fprintf(stderr, "usage: %s [-n SECONDS]\n", argv[0]);
            return 2;
        }
    }
    if (o_secs <= 0) o_secs = 1;
    if (evthread_use_pthreads() != 0) die("evthread_use_pthreads");
    bench_pair(16384);
    bench_pair(64);
    bench_socket(16384);
    bench_lock_uncontended();
    bench_lock_contended();
    return 0;
}
