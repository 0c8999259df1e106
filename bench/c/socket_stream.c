/* socket_stream.c - libevent 2.1 one-way TCP stream over loopback, one process, one event base.
 *
 * usage: socket_stream [-n SECONDS]   (default 2)
 *
 * Server: evconnlistener on 127.0.0.1:0 accepts one connection; its bufferevent's read
 * callback evbuffer_drain()s everything. Client: bufferevent_socket_connect(); its write
 * callback keeps the output buffer topped up with 16 KiB bufferevent_write()s while less than
 * 256 KiB is queued (write low watermark 128 KiB, so the callback fires before the buffer runs
 * dry). Measurement starts when the server accepts; prints
 *   socket_stream_16384: <x> MB/s     bytes received by the server / elapsed, 1 MB = 1e6 bytes
 * Default bufferevent settings otherwise (no TCP_NODELAY, default max single read/write).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHUNK 16384
#define QUEUE_MAX (256 * 1024)

static char chunk[CHUNK];
static uint64_t rx_bytes;
static double t_start, t_end;
static double o_secs = 2.0;
static struct event_base *base;
static struct event *stop_ev;
static struct bufferevent *server_bev;
static int failed;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void die(const char *msg) {
    fprintf(stderr, "socket_stream: %s\n", msg);
    exit(1);
}

static struct timeval tv_of(double s) {
    struct timeval tv = {(time_t)s, (suseconds_t)((s - (time_t)s) * 1e6)};
    return tv;
}

static void stop_cb(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    (void)arg;
    t_end = now_s();
    event_base_loopbreak(base);
}

/* ---- server side ---- */
static void server_read(struct bufferevent *bev, void *arg) {
    (void)arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t n = evbuffer_get_length(in);
    rx_bytes += n;
    evbuffer_drain(in, n);
}

static void server_event(struct bufferevent *bev, short what, void *arg) {
    (void)bev;
    (void)arg;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        fprintf(stderr, "socket_stream: server connection closed early (what=0x%x)\n", what);
        failed = 1;
        t_end = now_s();
        event_base_loopbreak(base);
    }
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg) {
    (void)sa;
    (void)salen;
    (void)arg;
    if (server_bev) { /* only one connection */
        evutil_closesocket(fd);
        return;
    }
    evconnlistener_disable(l);
    server_bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!server_bev) die("bufferevent_socket_new (server) failed");
    bufferevent_setcb(server_bev, server_read, NULL, server_event, NULL);
    bufferevent_enable(server_bev, EV_READ);
    /* the measured interval starts now and lasts o_secs */
    struct timeval tv = tv_of(o_secs);
    event_del(stop_ev);
    rx_bytes = 0;
    t_start = now_s();
    evtimer_add(stop_ev, &tv);
}

/* ---- client side ---- */
static void client_fill(struct bufferevent *bev) {
    struct evbuffer *out = bufferevent_get_output(bev);
    while (evbuffer_get_length(out) < QUEUE_MAX)
        if (bufferevent_write(bev, chunk, CHUNK) != 0) die("bufferevent_write failed");
}

static void client_write(struct bufferevent *bev, void *arg) {
    (void)arg;
    client_fill(bev);
}

static void client_event(struct bufferevent *bev, short what, void *arg) {
    (void)arg;
    if (what & BEV_EVENT_CONNECTED) {
        client_fill(bev);
        return;
    }
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        fprintf(stderr, "socket_stream: client connection failed/closed (what=0x%x)\n", what);
        failed = 1;
        t_end = now_s();
        event_base_loopbreak(base);
    }
}

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-n") && i + 1 < argc) {
            char *end;
            o_secs = strtod(argv[++i], &end);
            if (*end || !(o_secs > 0) || o_secs > 600) die("-n wants a number of seconds in (0, 600]");
        } else {
            fprintf(stderr, "usage: %s [-n SECONDS]\n", argv[0]);
            return 2;
        }
    }
    memset(chunk, 'x', sizeof chunk);
    base = event_base_new();
    if (!base) die("event_base_new failed");
    stop_ev = evtimer_new(base, stop_cb, NULL);
    if (!stop_ev) die("evtimer_new failed");

    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sin.sin_port = 0;
    struct evconnlistener *lst = evconnlistener_new_bind(
        base, on_accept, NULL, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 16, (struct sockaddr *)&sin, sizeof sin);
    if (!lst) die("evconnlistener_new_bind failed");
    socklen_t sl = sizeof sin;
    if (getsockname(evconnlistener_get_fd(lst), (struct sockaddr *)&sin, &sl) != 0) die("getsockname failed");

    struct bufferevent *client = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (!client) die("bufferevent_socket_new (client) failed");
    bufferevent_setcb(client, NULL, client_write, client_event, NULL);
    bufferevent_setwatermark(client, EV_WRITE, QUEUE_MAX / 2, 0);
    bufferevent_enable(client, EV_WRITE);
    if (bufferevent_socket_connect(client, (struct sockaddr *)&sin, sizeof sin) != 0) die("bufferevent_socket_connect failed");

    /* safety net until the connection is accepted: give up after 10 s */
    struct timeval guard = tv_of(10.0);
    evtimer_add(stop_ev, &guard);
    event_base_loop(base, 0);

    if (failed || !server_bev) {
        if (!server_bev) fprintf(stderr, "socket_stream: no connection accepted\n");
        return 1;
    }
    printf("socket_stream_16384: %.1f MB/s\n", rx_bytes / (t_end - t_start) / 1e6);
    fflush(stdout);
    bufferevent_free(client);
    bufferevent_free(server_bev);
    evconnlistener_free(lst);
    event_free(stop_ev);
    event_base_free(base);
    return 0;
}
