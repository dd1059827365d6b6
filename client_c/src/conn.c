/*
 * conn.c: one connection to one server.
 *
 * hiredis opens the socket (TCP or Unix, with its connect timeout) and its
 * reader parses small replies; the client owns the socket for everything
 * else. Reads go through one buffer: small replies are framed here (a RESP
 * scanner finds where one reply ends) and only those bytes are fed to
 * hiredis's reader, so the raw bulk reads of tensor data (straight into the
 * caller's memory) never get out of step with it. Writes are sendmsg() of
 * an iovec list: command headers plus the caller's data, never copied.
 *
 * Time limits: each reply must be complete by a deadline taken when the
 * wait for it begins (the client's reply_ms and until, which exec.c sets per
 * request); before each blocking recv() the socket's receive timeout is set
 * to what is left of it, so a store that stops answering (SIGSTOP, a dead
 * host) ends the wait then. A write must make progress within the I/O
 * timeout (SO_SNDTIMEO). Failures that a new connection may cure (the store
 * closed it, reset it, or refuses connections: a restart) set c->conn_lost.
 */
#include "sd_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#ifndef IOV_MAX
#define IOV_MAX 1024
#endif

#define RBUF_INITIAL (64 * 1024)
#define DIRECT_READ_MIN (16 * 1024) /* reads at least this long bypass the buffer */

void sd__conn_init(sd_conn *k)
{
    memset(k, 0, sizeof *k);
    k->fd = -1;
}

void sd__conn_close(sd_conn *k)
{
    if (k->rc) redisFree(k->rc); /* closes the fd (in this process only) */
    if (k->reader) redisReaderFree(k->reader);
    free(k->rbuf);
    sd__conn_init(k);
}

/* Errors after which the same request may well succeed on a new connection. */
static int is_lost(int err)
{
    return err == 0 || err == ECONNRESET || err == EPIPE || err == ECONNABORTED || err == ENOTCONN ||
           err == ECONNREFUSED || err == ENOENT || err == EAGAIN;
}

/* err: errno, or 0 for the store closing the connection. */
static int io_fail(sd_client *c, sd_node *n, const char *doing, int err)
{
    sd__conn_close(&n->conn);
    if (err == EAGAIN || err == EWOULDBLOCK || err == ETIMEDOUT)
        return sd__fail(c, SD_ERR_TIMEOUT, "timed out %s the store at %s", doing, n->label);
    c->conn_lost = is_lost(err);
    if (err == 0)
        return sd__fail(c, SD_ERR_CONNECTION, "connection to the store at %s closed while %s it", n->label, doing);
    return sd__fail(c, SD_ERR_CONNECTION, "lost the connection to the store at %s while %s it: %s", n->label,
                    doing, strerror(err));
}

static int proto_fail(sd_client *c, sd_node *n, const char *what)
{
    sd__conn_close(&n->conn);
    return sd__fail(c, SD_ERR_CONNECTION, "protocol error from the store at %s: %s", n->label, what);
}

static struct timeval timeval_ms(int ms)
{
    struct timeval tv;
    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    return tv;
}

/* The wait for a reply begins: its deadline. */
static void begin_reply(const sd_client *c, sd_conn *k)
{
    int64_t now = sd__now_ms();
    k->deadline = c->reply_ms > 0 ? now + c->reply_ms : 0;
    if (c->until && (!k->deadline || c->until < k->deadline)) k->deadline = c->until;
}

/* Before a blocking recv(): the socket waits no longer than the reply's deadline allows. */
static int arm_recv(sd_client *c, sd_node *n)
{
    sd_conn *k = &n->conn;
    int ms = 0;
    if (k->deadline) {
        int64_t left = k->deadline - sd__now_ms();
        if (left <= 0) return io_fail(c, n, "reading from", ETIMEDOUT);
        ms = left > INT_MAX ? INT_MAX : (int)left;
    }
    if (ms != k->rcv_ms) {
        struct timeval tv = timeval_ms(ms);
        setsockopt(k->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        k->rcv_ms = ms;
    }
    return SD_OK;
}

/* Whether an error reply to AUTH says the server has no password (Valkey, Redis >= 6, older Redis). */
static int no_password_set(const char *reply)
{
    return strstr(reply, "without any password configured") || strstr(reply, "no password is set");
}

/* Any error reply to AUTH means the store refused the password: SD_ERR_AUTH,
 * whatever its wording (WRONGPASS, or "ERR invalid password" from old
 * servers). Except for a password from a credentials file, which is
 * optional: a server that has none (the file is stale) is used without. */
static int conn_auth(sd_client *c, sd_node *n)
{
    sd_pipe p = {0};
    redisReply *r = NULL;
    const char *argv[2] = {"AUTH", c->password};
    sd__pipe_cmd(&p, 2, argv, NULL);
    int rc = sd__conn_send(c, n, &p);
    sd__pipe_free(&p);
    if (rc == SD_OK) rc = sd__conn_read_reply(c, n, &r);
    if (rc != SD_OK) return rc;
    if (r->type == REDIS_REPLY_ERROR && !(c->password_file && no_password_set(r->str))) {
        if (c->password_file)
            rc = sd__fail(c, SD_ERR_AUTH, "authentication failed at %s with the password of the credentials file %s "
                          "(an earlier store's?): %s", n->label, c->password_file, r->str);
        else
            rc = sd__fail(c, SD_ERR_AUTH, "authentication failed at %s (SIMDASK_PASSWORD): %s", n->label, r->str);
        sd__conn_close(&n->conn);
    }
    freeReplyObject(r);
    return rc;
}

/* The connect timeout, cut to what the request under way has left. */
static int connect_limit(sd_client *c, sd_node *n, struct timeval *tv)
{
    int ms = c->connect_timeout_ms;
    if (c->until) {
        int64_t left = c->until - sd__now_ms();
        if (left <= 0) return sd__fail(c, SD_ERR_TIMEOUT, "no time left to connect to the store at %s", n->label);
        if (left < ms) ms = (int)left;
    }
    *tv = timeval_ms(ms);
    return SD_OK;
}

static int conn_open(sd_client *c, sd_node *n)
{
    sd_conn *k = &n->conn;
    struct timeval tv;
    int st = connect_limit(c, n, &tv);
    if (st != SD_OK) return st;
    redisContext *rc = n->path ? redisConnectUnixWithTimeout(n->path, tv) : redisConnectWithTimeout(n->host, n->port, tv);
    int err = errno;
    if (!rc) return sd__fail(c, SD_ERR_NOMEM, "out of memory connecting to %s", n->label);
    if (rc->err) {
        c->conn_lost = rc->err == REDIS_ERR_IO && err != ETIMEDOUT && is_lost(err);
        sd__fail(c, SD_ERR_CONNECTION, "cannot connect to the store at %s: %s", n->label, rc->errstr);
        redisFree(rc);
        return SD_ERR_CONNECTION;
    }
    k->rc = rc;
    k->fd = rc->fd;
    tv = timeval_ms(c->io_timeout_ms); /* 0: no limit */
    setsockopt(k->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (!n->path) {
        int one = 1;
        setsockopt(k->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    int flags = fcntl(k->fd, F_GETFD);
    if (flags >= 0) fcntl(k->fd, F_SETFD, flags | FD_CLOEXEC);
    k->reader = redisReaderCreate();
    k->rbuf = malloc(RBUF_INITIAL);
    if (!k->reader || !k->rbuf) {
        sd__conn_close(k);
        return sd__fail(c, SD_ERR_NOMEM, "out of memory connecting to %s", n->label);
    }
    k->rcap = RBUF_INITIAL;
    k->pid = getpid();
    if (c->password && *c->password) return conn_auth(c, n);
    return SD_OK;
}

/* Whether an idle connection has something to read: nothing is owed on it,
 * so that is the store closing it (a restart, a timeout, CLIENT KILL) or
 * bytes out of step. Either way it is no use any more. */
static int conn_gone(const sd_conn *k)
{
    struct pollfd p = {.fd = k->fd, .events = POLLIN};
    return k->rpos != k->rlen || poll(&p, 1, 0) != 0;
}

int sd__conn_ready(sd_client *c, sd_node *n, int reuse_only)
{
    sd_conn *k = &n->conn;
    if (k->fd >= 0 && (k->pid != getpid() || k->pending || conn_gone(k))) sd__conn_close(k);
    if (k->fd >= 0) return SD_OK;
    if (reuse_only)
        return sd__fail(c, SD_ERR_CONNECTION, "the connection to the store at %s was lost (did the store restart?)",
                        n->label);
    return conn_open(c, n);
}

static int conn_writev(sd_client *c, sd_node *n, struct iovec *iov, int cnt)
{
    int fd = n->conn.fd;
    while (cnt > 0 && iov->iov_len == 0) {
        iov++;
        cnt--;
    }
    while (cnt > 0) {
        struct msghdr mh;
        memset(&mh, 0, sizeof mh);
        mh.msg_iov = iov;
        mh.msg_iovlen = (size_t)(cnt > IOV_MAX ? IOV_MAX : cnt);
        ssize_t w = sendmsg(fd, &mh, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR) continue;
            return io_fail(c, n, "writing to", errno);
        }
        size_t left = (size_t)w;
        while (cnt > 0 && left >= iov->iov_len) {
            left -= iov->iov_len;
            iov++;
            cnt--;
        }
        if (cnt > 0) {
            iov->iov_base = (char *)iov->iov_base + left;
            iov->iov_len -= left;
        }
    }
    return SD_OK;
}

int sd__conn_send(sd_client *c, sd_node *n, const sd_pipe *p)
{
    struct iovec small[64], *iov = small;
    if (n->conn.fd < 0) return sd__fail(c, SD_ERR_CONNECTION, "not connected to %s", n->label);
    if (p->oom) return sd__fail(c, SD_ERR_NOMEM, "out of memory building a command for %s", n->label);
    if (p->nsegs > 64) {
        iov = malloc(p->nsegs * sizeof *iov);
        if (!iov) return sd__fail(c, SD_ERR_NOMEM, "out of memory building a command for %s", n->label);
    }
    for (size_t i = 0; i < p->nsegs; i++) {
        const sd_seg *g = &p->segs[i];
        iov[i].iov_base = (void *)(g->ext ? g->ext : p->buf + g->off);
        iov[i].iov_len = g->len;
    }
    n->conn.pending += p->ncmds;
    int rc = conn_writev(c, n, iov, (int)p->nsegs);
    if (iov != small) free(iov);
    return rc;
}

/* Reads more bytes into the buffer (at least one). */
static int fill(sd_client *c, sd_node *n)
{
    sd_conn *k = &n->conn;
    if (k->rpos == k->rlen) {
        k->rpos = k->rlen = 0;
    } else if (k->rpos > 0) {
        memmove(k->rbuf, k->rbuf + k->rpos, k->rlen - k->rpos);
        k->rlen -= k->rpos;
        k->rpos = 0;
    }
    if (k->rlen == k->rcap) {
        char *b = realloc(k->rbuf, 2 * k->rcap);
        if (!b) {
            sd__conn_close(k);
            return sd__fail(c, SD_ERR_NOMEM, "out of memory reading a reply from %s", n->label);
        }
        k->rbuf = b;
        k->rcap *= 2;
    }
    for (;;) {
        int rc = arm_recv(c, n);
        if (rc != SD_OK) return rc;
        ssize_t r = recv(k->fd, k->rbuf + k->rlen, k->rcap - k->rlen, 0);
        if (r > 0) {
            k->rlen += (size_t)r;
            return SD_OK;
        }
        if (r < 0 && errno == EINTR) continue;
        return io_fail(c, n, "reading from", r == 0 ? 0 : errno);
    }
}

/* Length of the complete RESP2 reply at p, 0 if more bytes are needed, -1 if malformed. */
static long long resp_extent(const char *p, size_t n, int depth)
{
    if (n == 0) return 0;
    if (depth > 8) return -1; /* hiredis's reader nests at most this deep */
    const char *nl = memchr(p, '\n', n);
    if (!nl) return n > 1024 && (p[0] == '$' || p[0] == '*' || p[0] == ':') ? -1 : 0;
    if (nl == p || nl[-1] != '\r') return -1;
    size_t line = (size_t)(nl - p) + 1;
    char *endp;
    long long v;
    switch (p[0]) {
    case '+':
    case '-':
    case ':': return (long long)line;
    case '$':
        v = strtoll(p + 1, &endp, 10);
        if (endp != nl - 1 || v < -1) return -1;
        if (v < 0) return (long long)line;
        if ((unsigned long long)v > (unsigned long long)(n - line) || n - line - (size_t)v < 2) return 0;
        if (p[line + (size_t)v] != '\r' || p[line + (size_t)v + 1] != '\n') return -1;
        return (long long)(line + (size_t)v + 2);
    case '*': {
        v = strtoll(p + 1, &endp, 10);
        if (endp != nl - 1 || v < -1) return -1;
        size_t off = line;
        for (long long i = 0; i < v; i++) {
            long long e = resp_extent(p + off, n - off, depth + 1);
            if (e <= 0) return e;
            off += (size_t)e;
        }
        return (long long)off;
    }
    default: return -1;
    }
}

int sd__conn_read_reply(sd_client *c, sd_node *n, redisReply **out)
{
    sd_conn *k = &n->conn;
    if (k->fd < 0) return sd__fail(c, SD_ERR_CONNECTION, "not connected to %s", n->label);
    begin_reply(c, k);
    for (;;) {
        long long e = resp_extent(k->rbuf + k->rpos, k->rlen - k->rpos, 0);
        if (e < 0) return proto_fail(c, n, "malformed reply");
        if (e > 0) {
            void *r = NULL;
            if (redisReaderFeed(k->reader, k->rbuf + k->rpos, (size_t)e) != REDIS_OK ||
                redisReaderGetReply(k->reader, &r) != REDIS_OK || r == NULL)
                return proto_fail(c, n, k->reader->errstr[0] ? k->reader->errstr : "unparsable reply");
            k->rpos += (size_t)e;
            if (k->pending) k->pending--;
            *out = r;
            return SD_OK;
        }
        int rc = fill(c, n);
        if (rc != SD_OK) return rc;
    }
}

int sd__conn_read_bulk_len(sd_client *c, sd_node *n, long long *len, redisReply **other)
{
    sd_conn *k = &n->conn;
    *other = NULL;
    if (k->fd < 0) return sd__fail(c, SD_ERR_CONNECTION, "not connected to %s", n->label);
    begin_reply(c, k);
    while (k->rpos == k->rlen) {
        int rc = fill(c, n);
        if (rc != SD_OK) return rc;
    }
    if (k->rbuf[k->rpos] != '$') return sd__conn_read_reply(c, n, other);
    for (;;) {
        char *start = k->rbuf + k->rpos;
        size_t have = k->rlen - k->rpos;
        char *nl = memchr(start, '\n', have);
        if (nl) {
            char *endp;
            if (nl == start || nl[-1] != '\r') return proto_fail(c, n, "malformed bulk length");
            long long v = strtoll(start + 1, &endp, 10);
            if (endp != nl - 1 || v < -1) return proto_fail(c, n, "malformed bulk length");
            k->rpos += (size_t)(nl - start) + 1;
            if (v < 0 && k->pending) k->pending--; /* else once the payload's CRLF is read */
            *len = v;
            return SD_OK;
        }
        if (have > 64) return proto_fail(c, n, "bulk length line too long");
        int rc = fill(c, n);
        if (rc != SD_OK) return rc;
    }
}

int sd__conn_read_exact(sd_client *c, sd_node *n, void *dst, size_t len)
{
    sd_conn *k = &n->conn;
    char *d = dst;
    size_t have = k->rlen - k->rpos;
    size_t take = have < len ? have : len;
    if (take) {
        memcpy(d, k->rbuf + k->rpos, take);
        k->rpos += take;
        d += take;
        len -= take;
    }
    while (len > 0) {
        if (len < DIRECT_READ_MIN) {
            int rc = fill(c, n);
            if (rc != SD_OK) return rc;
            have = k->rlen - k->rpos;
            take = have < len ? have : len;
            memcpy(d, k->rbuf + k->rpos, take);
            k->rpos += take;
            d += take;
            len -= take;
            continue;
        }
        int rc = arm_recv(c, n);
        if (rc != SD_OK) return rc;
        ssize_t r = recv(k->fd, d, len, MSG_WAITALL);
        if (r > 0) {
            d += r;
            len -= (size_t)r;
            continue;
        }
        if (r < 0 && errno == EINTR) continue;
        return io_fail(c, n, "reading from", r == 0 ? 0 : errno);
    }
    return SD_OK;
}

int sd__conn_skip(sd_client *c, sd_node *n, size_t len)
{
    sd_conn *k = &n->conn;
    while (len > 0) {
        if (k->rpos == k->rlen) {
            int rc = fill(c, n);
            if (rc != SD_OK) return rc;
        }
        size_t have = k->rlen - k->rpos;
        size_t take = have < len ? have : len;
        k->rpos += take;
        len -= take;
    }
    return SD_OK;
}

int sd__conn_crlf(sd_client *c, sd_node *n)
{
    char crlf[2];
    int rc = sd__conn_read_exact(c, n, crlf, 2);
    if (rc != SD_OK) return rc;
    if (crlf[0] != '\r' || crlf[1] != '\n') return proto_fail(c, n, "bulk reply not followed by CRLF");
    if (n->conn.pending) n->conn.pending--;
    return SD_OK;
}
