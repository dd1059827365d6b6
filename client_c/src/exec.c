/*
 * exec.c: the one path every command takes to the store.
 *
 * A request is n units (a command, or a MULTI ... EXEC block) on the keys of
 * one slot. sd__exec routes it (cluster.c), builds it into the client's
 * scratch pipeline (command.c), sends it on the node's connection (conn.c)
 * and reads every reply, whatever they say, so that the connection stays in
 * step. Then one place decides what the replies mean: -MOVED refreshes the
 * slot map and resends, -ASK resends once to the named node (ASKING first),
 * -TRYAGAIN (keys of a slot being migrated) resends after a short backoff,
 * and any other error reply becomes a status through error.c's table.
 *
 * A request that fails on a dropped connection (the store closed or reset
 * it, or refuses connections: a restart, a short outage), or that the store
 * answers with -LOADING (starting up, it did nothing), is sent again on a
 * new connection after a backoff of RETRY_FIRST_MS, doubling up to
 * RETRY_MAX_MS, as long as the next try starts within RETRY_WINDOW_MS of the
 * first failure and before the request's deadline; each try keeps its own
 * time limits. After a dropped connection that is safe for what is
 * idempotent (reads, SETs of heads and chunks, deletes: the default); a
 * request the store may already have done is sent again only if none of it
 * went out (SD_RESEND_UNSENT: XADD, RPUSH, BLPOP), and the head of a chunked
 * write goes out only on the connection that carried its chunks, once
 * (SD_RESEND_SAME_CONN: tensors.c redoes the whole write). Timeouts are
 * never retried: a store that stops answering would only be waited for twice.
 *
 * Time limits: each reply must come within the client's io_timeout_ms
 * (a blocking command's only within its deadline), and nothing waits past
 * the request's deadline (conn.c applies both).
 *
 * Replies are parsed by hiredis, except in raw requests (tensor reads): there
 * every unit is one command whose bulk reply goes to a callback (sd_value),
 * which receives the payload straight into its destination, the caller's
 * buffer included, without a copy. At most `window` raw units are in flight,
 * which bounds what the server buffers for us.
 */
#include "sd_internal.h"

#include <stdio.h>
#include <string.h>

/* Unwanted value bytes above this are not received: the connection is
 * dropped instead and the next call reconnects. */
#define SKIP_MAX ((size_t)16 << 20)

/* Resending after a dropped connection (above): a store restart takes
 * 0.1-0.5 s, so ~2 s ride one out without keeping a caller long. */
#define RETRY_FIRST_MS 20
#define RETRY_MAX_MS 400
#define RETRY_WINDOW_MS 2000

/* What one round trip's replies said. */
typedef struct outcome {
    sd_redirect redirect; /* the first -MOVED or -ASK */
    int has_error;
    char error[512];      /* the first other error reply */
    int value_rc;         /* the first failure of a callback */
    int dropped;          /* the connection was dropped rather than drained */
    int stopped;          /* raw: a callback asked for no further units */
    int sent;             /* some of the request went out (the store may have done it) */
    int refused;          /* the request failed with an error reply (its message says what it was about) */
} outcome;

static void note_error(outcome *o, const char *msg, size_t len)
{
    sd_redirect rd;
    if (sd__parse_redirect(msg, len, &rd)) {
        if (!o->redirect.kind) o->redirect = rd;
    } else if (!o->has_error) {
        o->has_error = 1;
        snprintf(o->error, sizeof o->error, "%.*s", (int)(len > 400 ? 400 : len), msg);
    }
}

/* Error replies, and errors inside EXEC's array. */
static void note_reply(outcome *o, const redisReply *r)
{
    if (r->type == REDIS_REPLY_ERROR) {
        /* EXECABORT only repeats an error seen before it */
        if (!(sd__reply_is(r->str, "EXECABORT") && (o->has_error || o->redirect.kind))) note_error(o, r->str, r->len);
    } else if (r->type == REDIS_REPLY_ARRAY) {
        for (size_t j = 0; j < r->elements; j++)
            if (r->element[j]->type == REDIS_REPLY_ERROR) note_error(o, r->element[j]->str, r->element[j]->len);
    }
}

static void drop_reply(sd_request *rq)
{
    if (rq->reply) freeReplyObject(rq->reply);
    rq->reply = NULL;
}

/* Builds units [from, to) and sends them. */
static int send_units(sd_client *c, sd_node *n, const sd_request *rq, int asking, size_t from, size_t to,
                      outcome *o)
{
    sd_pipe *p = &c->pipe;
    sd__pipe_reset(p, asking);
    for (size_t i = from; i < to; i++) rq->build(p, rq->ctx, i);
    o->sent = 1; /* from here on the store may have received some of it */
    return sd__conn_send(c, n, p);
}

/* Reads every reply; with on_reply, hands it the replies to the units (not to their ASKINGs). */
static int read_replies(sd_client *c, sd_node *n, sd_request *rq, size_t count, int asking, outcome *o)
{
    size_t per_unit = asking ? 2 : 1;
    for (size_t i = 0; i < count; i++) {
        redisReply *r;
        int rc = sd__conn_read_reply(c, n, &r);
        if (rc != SD_OK) return rc;
        note_reply(o, r);
        if (rq->on_reply && !o->value_rc && (i + 1) % per_unit == 0 && r->type != REDIS_REPLY_ERROR)
            o->value_rc = rq->on_reply(c, rq->ctx, i / per_unit, r);
        if (rq->keep_last && i + 1 == count)
            rq->reply = r;
        else
            freeReplyObject(r);
    }
    return SD_OK;
}

/* After the callback: drains what it left of the value, and the CRLF. */
static int finish_value(sd_client *c, sd_value *v, outcome *o)
{
    if (v->len < 0) return SD_OK; /* nil: nothing follows */
    if (v->node->conn.fd < 0 || (o->value_rc && v->left > SKIP_MAX)) {
        sd__conn_close(&v->node->conn);
        o->dropped = 1;
        return SD_OK;
    }
    int rc = sd__conn_skip(c, v->node, v->left);
    return rc != SD_OK ? rc : sd__conn_crlf(c, v->node);
}

/* Reads the reply to raw unit i (after its ASKING's) and hands it to the callback. */
static int read_value(sd_client *c, sd_node *n, sd_request *rq, size_t i, int asking, outcome *o)
{
    redisReply *r = NULL;
    long long len = 0;
    int rc;
    if (asking) {
        if ((rc = sd__conn_read_reply(c, n, &r)) != SD_OK) return rc;
        note_reply(o, r);
        freeReplyObject(r);
    }
    if ((rc = sd__conn_read_bulk_len(c, n, &len, &r)) != SD_OK) return rc;
    if (r) { /* an error reply, or not a value at all */
        if (r->type == REDIS_REPLY_ERROR)
            note_reply(o, r);
        else
            note_error(o, "unexpected reply type", strlen("unexpected reply type"));
        freeReplyObject(r);
        return SD_OK;
    }
    sd_value v = {n, len, len > 0 ? (size_t)len : 0, 0};
    if (!o->value_rc) o->value_rc = rq->value(c, rq->ctx, i, &v);
    if (v.stop || o->value_rc) o->stopped = 1;
    return finish_value(c, &v, o);
}

/* Sends at most `window` units ahead of the replies read, fewer once a callback stops it. */
static int round_trip_raw(sd_client *c, sd_node *n, sd_request *rq, int asking, outcome *o)
{
    size_t sent = rq->window && rq->window < rq->n ? rq->window : rq->n;
    int rc = send_units(c, n, rq, asking, 0, sent, o);
    for (size_t i = 0; rc == SD_OK && i < sent && !o->dropped; i++) {
        rc = read_value(c, n, rq, i, asking, o);
        if (rc == SD_OK && !o->dropped && !o->stopped && sent < rq->n) { /* keep the window full */
            rc = send_units(c, n, rq, asking, sent, sent + 1, o);
            sent++;
        }
    }
    return rc;
}

/* Sends the request to node n and reads every reply into the outcome. */
static int round_trip(sd_client *c, sd_node *n, sd_request *rq, int asking, outcome *o)
{
    int rc = sd__conn_ready(c, n, rq->resend == SD_RESEND_SAME_CONN);
    if (rc != SD_OK) return rc;
    if (rq->value) return round_trip_raw(c, n, rq, asking, o);
    rc = send_units(c, n, rq, asking, 0, rq->n, o);
    return rc != SD_OK ? rc : read_replies(c, n, rq, c->pipe.ncmds, asking, o);
}

/* What a round trip's replies ask for: *again to send the request again
 * (to *ask when not NULL), else the request's final status. */
static int judge(sd_client *c, const sd_request *rq, outcome *o, int attempt, sd_node **ask, int *again)
{
    *again = 0;
    if (o->value_rc) return o->value_rc;
    if (o->redirect.kind) {
        if (attempt >= SD_MAX_REDIRECTS)
            return sd__fail(c, SD_ERR_STORE, "too many cluster redirects while %s '%.200s'", rq->doing, rq->name);
        *again = 1;
        return sd__follow_redirect(c, &o->redirect, ask);
    }
    if (!o->has_error) return SD_OK;
    if (sd__reply_is(o->error, "TRYAGAIN") && attempt < SD_MAX_REDIRECTS) {
        /* the keys of a multi-key command are split by a slot migration: wait for it */
        sd__sleep_ms(10 << (attempt < 6 ? attempt : 6));
        *again = 1;
        return SD_OK;
    }
    o->refused = 1;
    return sd__fail_reply(c, rq->doing, rq->name, o->error);
}

/* Backoff state of one request's resends. */
typedef struct resend {
    int64_t since; /* the first failure (0: none yet) */
    int wait_ms;
} resend;

/* Whether a failed try may go again (above); if so, waits the backoff first. */
static int resend_after(sd_client *c, const sd_request *rq, const outcome *o, int rc, resend *r)
{
    int not_done = o->refused && sd__reply_is(o->error, "LOADING"); /* a store starting up does nothing */
    int lost = rc == SD_ERR_CONNECTION && c->conn_lost && !o->refused; /* the store may have done it */
    if (rq->resend == SD_RESEND_SAME_CONN || !(not_done || lost) ||
        (lost && o->sent && rq->resend != SD_RESEND_IDEMPOTENT))
        return 0;
    int64_t now = sd__now_ms();
    if (!r->since) {
        r->since = now;
        r->wait_ms = RETRY_FIRST_MS;
    }
    int64_t end = r->since + RETRY_WINDOW_MS;
    if (rq->deadline && rq->deadline < end) end = rq->deadline;
    if (now + r->wait_ms >= end) return 0;
    sd__sleep_ms(r->wait_ms);
    r->wait_ms = r->wait_ms * 2 < RETRY_MAX_MS ? r->wait_ms * 2 : RETRY_MAX_MS;
    return 1;
}

/* A lost connection's message names the store; say what the call was about too
 * (an error reply's message says it already). */
static void add_context(sd_client *c, const sd_request *rq, const outcome *o, int rc)
{
    if ((rc == SD_ERR_CONNECTION || rc == SD_ERR_TIMEOUT) && !o->refused)
        sd__fail_context(c, rq->doing, rq->name);
}

/* One try: route, send, read, judge. The callbacks start over each time. */
static int try_once(sd_client *c, sd_request *rq, sd_node **ask, int redirects, int *again, outcome *o)
{
    sd_node *n = *ask;
    int asking = n != NULL;
    memset(o, 0, sizeof *o);
    if (rq->restart) rq->restart(rq->ctx);
    drop_reply(rq);
    *ask = NULL;
    c->conn_lost = 0;
    int rc = SD_OK;
    if (!asking && rq->node)
        n = rq->node; /* a server command of that node */
    else if (!asking)
        rc = sd__route(c, rq->route_key, &n);
    if (rc == SD_OK) rc = round_trip(c, n, rq, asking, o);
    if (rc == SD_OK) rc = judge(c, rq, o, redirects, ask, again);
    return rc;
}

int sd__exec(sd_client *c, sd_request *rq)
{
    int saved_ms = c->reply_ms;
    int64_t saved_until = c->until;
    sd_node *ask = NULL;
    resend r = {0, 0};
    outcome o;
    int rc;
    c->reply_ms = rq->long_wait ? 0 : c->io_timeout_ms;
    c->until = rq->deadline;
    rq->reply = NULL;
    for (int redirects = 0;;) {
        int again = 0;
        rc = try_once(c, rq, &ask, redirects, &again, &o);
        if (rc == SD_OK && again) {
            redirects++;
            continue;
        }
        if (rc == SD_OK || !resend_after(c, rq, &o, rc, &r)) break;
    }
    if (rc != SD_OK) {
        drop_reply(rq);
        add_context(c, rq, &o, rc);
    }
    rq->unsent = rc != SD_OK && !o.sent;
    c->reply_ms = saved_ms;
    c->until = saved_until;
    return rc;
}

/* ---- one command -------------------------------------------------------------- */

void sd__build_argv(sd_pipe *p, const void *ctx, size_t i)
{
    const sd_argv *cmd = ctx;
    (void)i;
    sd__pipe_cmd(p, cmd->argc, cmd->argv, cmd->lens);
}

int sd__exec_command(sd_client *c, const char *doing, const char *key, int argc, const char *const *argv,
                     const size_t *lens, redisReply **out)
{
    sd_argv cmd = {argc, argv, lens};
    sd_request rq = {.doing = doing, .name = key ? key : argv[0], .route_key = key, .n = 1, .build = sd__build_argv,
                     .ctx = &cmd, .keep_last = out != NULL, .resend = SD_RESEND_IDEMPOTENT};
    int rc = sd__exec(c, &rq);
    if (out) *out = rq.reply;
    return rc;
}

/* ---- raw values --------------------------------------------------------------- */

static int value_short(sd_client *c, const sd_value *v, size_t len)
{
    return sd__fail(c, SD_ERR_FORMAT, "a value from %s has %zu bytes left, not the %zu expected", v->node->label,
                    v->left, len);
}

int sd__value_read(sd_client *c, sd_value *v, void *dst, size_t len)
{
    if (len > v->left) return value_short(c, v, len);
    v->left -= len;
    return sd__conn_read_exact(c, v->node, dst, len);
}

int sd__value_skip(sd_client *c, sd_value *v, size_t len)
{
    if (len > v->left) return value_short(c, v, len);
    v->left -= len;
    return sd__conn_skip(c, v->node, len);
}
