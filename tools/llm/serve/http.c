/*
 * The HTTP side of `llm serve`, on GNU libmicrohttpd with one thread per connection (so a
 * connection may wait for its job without holding anything else up). Checks that need only the
 * headers (path, method, API key, Content-Length) answer at once, before any body is read; the
 * body is collected up to --max-body; then routes.c answers. A streamed answer is read from the
 * job's event buffer; every wait polls the socket, so a client that goes away cancels its job.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "response.h"
#include "serve.h"

/* Per-request state (MHD's con_cls). */
typedef struct conn_state {
    serve_call call;
    serve_endpoint ep;
    int status;          /* what was answered, for the metrics */
    char what[96];       /* "METHOD PATH", for the log */
    bool answered;
    char *body;
    size_t len, cap;
    uint64_t dropped;    /* bytes of a body beyond --max-body, read and thrown away */
} conn_state;

typedef struct stream_state {
    serve_server *srv;
    serve_job *job;
    serve_call call;     /* for the disconnect check */
} stream_state;

bool serve_http_client_gone(const serve_call *call)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(call->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!ci)
        return true;
    struct pollfd p = {.fd = ci->connect_fd, .events = POLLIN | POLLRDHUP};
    if (poll(&p, 1, 0) <= 0)
        return false;
    if (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL))
        return true;
    char c;
    ssize_t n = recv(ci->connect_fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

/* ---- answering -------------------------------------------------------------------------------- */

static enum MHD_Result queue(conn_state *cs, serve_reply *r);

static void wait_tick(serve_job *job)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 100 * 1000 * 1000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    pthread_cond_timedwait(&job->cv, &job->mu, &ts);
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    stream_state *st = cls;
    serve_job *job = st->job;
    pthread_mutex_lock(&job->mu);
    for (;;) {
        if (job->sse_sent < job->sse_len) {
            size_t n = job->sse_len - job->sse_sent;
            if (n > max)
                n = max;
            memcpy(buf, job->sse + job->sse_sent, n);
            job->sse_sent += n;
            pthread_mutex_unlock(&job->mu);
            return (ssize_t)n;
        }
        if (job->done) {
            pthread_mutex_unlock(&job->mu);
            return MHD_CONTENT_READER_END_OF_STREAM;
        }
        wait_tick(job);
        if (job->sse_sent == job->sse_len && !job->done) {
            pthread_mutex_unlock(&job->mu);
            bool gone = serve_http_client_gone(&st->call);
            if (gone) {
                serve_engine_cancel(st->srv->engine, job);
                return MHD_CONTENT_READER_END_WITH_ERROR;
            }
            pthread_mutex_lock(&job->mu);
        }
    }
}

static void stream_free(void *cls)
{
    stream_state *st = cls;
    pthread_mutex_lock(&st->job->mu);
    bool done = st->job->done;
    pthread_mutex_unlock(&st->job->mu);
    if (!done) /* the connection ended before the job: nobody reads it any more */
        serve_engine_cancel(st->srv->engine, st->job);
    serve_job_release(st->job);
    free(st);
}

static enum MHD_Result queue(conn_state *cs, serve_reply *r)
{
    struct MHD_Response *resp;
    cs->answered = true;
    if (r->stream) {
        stream_state *st = malloc(sizeof *st);
        if (!st) {
            serve_job_release(r->stream);
            return MHD_NO;
        }
        st->srv = cs->call.srv;
        st->job = r->stream;
        st->call = cs->call;
        resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_read, st,
                                                 stream_free);
        if (!resp) {
            stream_free(st);
            return MHD_NO;
        }
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    } else {
        if (!r->body || r->status == 0) {
            free(r->body);
            cs->status = 0;
            return MHD_NO; /* close without an answer: the client is gone */
        }
        resp = MHD_create_response_from_buffer(strlen(r->body), r->body, MHD_RESPMEM_MUST_FREE);
        if (!resp) {
            free(r->body);
            return MHD_NO;
        }
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                                r->content_type ? r->content_type : "application/json");
        if (r->status == 401)
            MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    }
    cs->status = r->status;
    enum MHD_Result ret = MHD_queue_response(cs->call.conn, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result answer_error(conn_state *cs, int status, const char *type,
                                    const char *code, const char *fmt, const char *arg)
{
    serve_error e;
    serve_fail(&e, status, type, code, NULL, fmt, arg);
    serve_reply r = {0};
    serve_reply_error(&r, &e);
    return queue(cs, &r);
}

/* Compares in time independent of where the strings differ. */
static bool same_secret(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char diff = la != lb;
    for (size_t i = 0; i < la; i++)
        diff |= (unsigned char)(a[i] ^ b[i % (lb ? lb : 1)]);
    return diff == 0;
}

static bool authorized(serve_server *srv, struct MHD_Connection *conn)
{
    if (!srv->cfg.api_key)
        return true;
    const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7) != 0)
        return false;
    h += 7;
    while (*h == ' ')
        h++;
    return same_secret(h, srv->cfg.api_key);
}

/* The first call for a request: everything that the headers alone decide. */
static enum MHD_Result first_call(conn_state *cs, const char *url, const char *method)
{
    serve_server *srv = cs->call.srv;
    cs->ep = serve_route_endpoint(url);
    const char *want = serve_route_method(cs->ep);
    if (!want)
        return answer_error(cs, 404, "invalid_request_error", "not_found",
                            "no endpoint at %s (try /v1/models)", url);
    if (strcmp(method, want) != 0) {
        char msg[128];
        snprintf(msg, sizeof msg, "%s takes %s, not %.16s", url, want, method);
        return answer_error(cs, 405, "invalid_request_error", "method_not_allowed", "%s", msg);
    }
    if (cs->ep != SERVE_EP_HEALTH && !authorized(srv, cs->call.conn))
        return answer_error(cs, 401, "invalid_request_error", "invalid_api_key",
                            "%s", "missing or incorrect API key: send 'Authorization: Bearer KEY'");
    const char *cl =
        MHD_lookup_connection_value(cs->call.conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl) {
        char *end;
        errno = 0;
        unsigned long long n = strtoull(cl, &end, 10);
        if (errno || *end || n > srv->cfg.max_body) {
            char msg[160];
            snprintf(msg, sizeof msg, "the request body has %.24s bytes; the limit is %zu",
                     cl, srv->cfg.max_body);
            return answer_error(cs, 413, "invalid_request_error", "request_too_large", "%s", msg);
        }
    }
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    (void)version;
    serve_server *srv = cls;
    conn_state *cs = *con_cls;
    if (!cs) {
        cs = calloc(1, sizeof *cs);
        if (!cs)
            return MHD_NO;
        cs->call.srv = srv;
        cs->call.conn = conn;
        cs->call.t_start = serve_now();
        cs->ep = SERVE_EP_OTHER;
        snprintf(cs->what, sizeof cs->what, "%.8s %.80s", method, url);
        *con_cls = cs;
        atomic_fetch_add(&srv->active, 1);
        return first_call(cs, url, method);
    }
    if (cs->answered) { /* an early answer is queued: the rest of the body is dropped */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (serve_now() - cs->call.t_start > srv->cfg.timeout) {
        char msg[96];
        snprintf(msg, sizeof msg, "the request took longer than %u seconds (--timeout) to arrive",
                 srv->cfg.timeout);
        return answer_error(cs, 408, "invalid_request_error", "request_timeout", "%s", msg);
    }
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        /* libmicrohttpd takes an answer only once the body is read: a body without a length
         * that grows too large is drained and answered 413 at its end, or cut off when it goes
         * on far beyond the limit */
        if (cs->dropped || cs->len + n > srv->cfg.max_body) {
            cs->dropped += n;
            return cs->dropped > 16 * (uint64_t)srv->cfg.max_body + (1u << 20) ? MHD_NO : MHD_YES;
        }
        if (cs->len + n + 1 > cs->cap) {
            size_t cap = cs->cap ? cs->cap * 2 : 4096;
            while (cap < cs->len + n + 1)
                cap *= 2;
            char *p = realloc(cs->body, cap);
            if (!p)
                return MHD_NO;
            cs->body = p;
            cs->cap = cap;
        }
        memcpy(cs->body + cs->len, upload_data, n);
        cs->len += n;
        cs->body[cs->len] = '\0';
        return MHD_YES;
    }
    if (cs->dropped) {
        char msg[96];
        snprintf(msg, sizeof msg, "the request body exceeds the limit of %zu bytes",
                 srv->cfg.max_body);
        return answer_error(cs, 413, "invalid_request_error", "request_too_large", "%s", msg);
    }
    cs->call.body = cs->body ? cs->body : "";
    cs->call.body_len = cs->len;
    serve_reply r = {0};
    serve_route(&cs->call, cs->ep, &r);
    return queue(cs, &r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)conn;
    (void)toe;
    serve_server *srv = cls;
    conn_state *cs = *con_cls;
    if (!cs)
        return;
    double secs = serve_now() - cs->call.t_start;
    if (cs->status)
        serve_metrics_request(&srv->metrics, cs->ep, cs->status, secs);
    if (srv->cfg.verbose)
        fprintf(stderr, "llm serve: %s %d %.1f ms%s\n", cs->what, cs->status, secs * 1e3, toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (interrupted)");
    free(cs->body);
    free(cs);
    *con_cls = NULL;
    atomic_fetch_sub(&srv->active, 1);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    serve_server *srv = cls;
    if (!srv->cfg.verbose)
        return;
    fputs("llm serve: http: ", stderr);
    vfprintf(stderr, fmt, ap);
}

bool serve_http_start(serve_server *srv, char *why, size_t why_cap)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_ITC | MHD_USE_POLL | MHD_USE_ERROR_LOG;
    struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, srv->cfg.host, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)srv->cfg.port);
    } else if (inet_pton(AF_INET6, srv->cfg.host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)srv->cfg.port);
        flags |= MHD_USE_IPv6;
    } else {
        snprintf(why, why_cap, "--host '%s' is not a numeric IPv4 or IPv6 address", srv->cfg.host);
        return false;
    }
    srv->daemon = MHD_start_daemon(
        flags, (uint16_t)srv->cfg.port, NULL, NULL, on_request, srv,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, srv,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_CONNECTION_LIMIT, srv->cfg.max_connections,
        MHD_OPTION_CONNECTION_TIMEOUT, srv->cfg.idle_timeout,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, srv->cfg.max_header,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
        MHD_OPTION_END);
    if (!srv->daemon) {
        snprintf(why, why_cap, "cannot listen on %s port %d: %s", srv->cfg.host, srv->cfg.port,
                 errno ? strerror(errno) : "libmicrohttpd refused the settings");
        return false;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_LISTEN_FD);
    srv->port = srv->cfg.port;
    struct sockaddr_storage bound;
    socklen_t bl = sizeof bound;
    if (di && getsockname(di->listen_fd, (struct sockaddr *)&bound, &bl) == 0)
        srv->port = ntohs(bound.ss_family == AF_INET6
                              ? ((struct sockaddr_in6 *)&bound)->sin6_port
                              : ((struct sockaddr_in *)&bound)->sin_port);
    return true;
}

void serve_http_quiesce(serve_server *srv)
{
    if (!srv->daemon)
        return;
    MHD_socket fd = MHD_quiesce_daemon(srv->daemon);
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
}

void serve_http_stop(serve_server *srv)
{
    if (srv->daemon)
        MHD_stop_daemon(srv->daemon);
    srv->daemon = NULL;
}
