/*
 * client.c: the sd_client context: options and environment, addresses,
 * per-client error state, key prefixes, and the generic command path
 * (route, send, follow redirects) the other modules build on.
 */
#include "sd_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STR_(x) #x
#define STR(x) STR_(x)

static const char *const STATUS_NAMES[] = {
    "SD_OK",          "SD_ERR_ARG",     "SD_ERR_CONNECTION", "SD_ERR_NOT_FOUND",
    "SD_ERR_FORMAT",  "SD_ERR_TYPE",    "SD_ERR_SHAPE",      "SD_ERR_TIMEOUT",
    "SD_ERR_MODEL",   "SD_ERR_NOMEM",   "SD_ERR_STORE",
};

/* ---- errors ---------------------------------------------------------------- */

int sd__fail(sd_client *c, int code, const char *fmt, ...)
{
    va_list ap;
    c->err = code;
    va_start(ap, fmt);
    vsnprintf(c->errstr, sizeof c->errstr, fmt, ap);
    va_end(ap);
    return code;
}

void sd__clear(sd_client *c)
{
    c->err = SD_OK;
    c->errstr[0] = '\0';
}

int sd__store_error(sd_client *c, const char *doing, const char *msg, size_t len)
{
    int code = SD_ERR_STORE;
    if (len >= 9 && strncmp(msg, "WRONGTYPE", 9) == 0) code = SD_ERR_TYPE;
    return sd__fail(c, code, "the store refused %s: %.*s", doing, (int)(len > 400 ? 400 : len), msg);
}

const char *sd_last_error(const sd_client *c)
{
    if (!c) return "no client (sd_client_new ran out of memory or got a NULL output pointer)";
    return c->errstr;
}

int sd_last_status(const sd_client *c)
{
    return c ? c->err : SD_ERR_ARG;
}

const char *sd_status_name(int status)
{
    if (status < 0 || status > SD_ERR_STORE) return "unknown status";
    return STATUS_NAMES[status];
}

const char *sd_dtype_name(sd_dtype dtype)
{
    return sd__itemsize((int)dtype) ? sd__dtype_str((int)dtype) : NULL;
}

size_t sd_dtype_size(sd_dtype dtype)
{
    return sd__itemsize((int)dtype);
}

const char *sd_version(void)
{
    return STR(SIMDASK_VERSION_MAJOR) "." STR(SIMDASK_VERSION_MINOR) "." STR(SIMDASK_VERSION_PATCH);
}

void sd_free(void *p)
{
    free(p);
}

void sd__sleep_ms(int ms)
{
    struct timespec ts;
    if (ms <= 0) return;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* ---- construction ---------------------------------------------------------- */

void sd_options_init(sd_options *opt)
{
    if (!opt) return;
    memset(opt, 0, sizeof *opt);
    opt->connect_timeout_ms = 5000;
    opt->io_timeout_ms = 0;
    opt->run_timeout_ms = 60000;
}

static const char *option_or_env(const char *value, const char *env)
{
    if (value) return value;
    const char *e = getenv(env);
    return e ? e : "";
}

static char *trimmed(const char *s, size_t len)
{
    while (len && (*s == ' ' || *s == '\t')) {
        s++;
        len--;
    }
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\n')) len--;
    char *out = malloc(len + 1);
    if (out) {
        memcpy(out, s, len);
        out[len] = '\0';
    }
    return out;
}

/* Splits "a,b, c" into trimmed non-empty entries. */
static int split_list(const char *s, sd_strv *out)
{
    while (*s) {
        const char *comma = strchr(s, ',');
        size_t len = comma ? (size_t)(comma - s) : strlen(s);
        char *t = trimmed(s, len);
        if (!t) return -1;
        int rc = *t ? sd__strv_push(out, t, strlen(t)) : 0;
        free(t);
        if (rc) return -1;
        s += len;
        if (*s == ',') s++;
    }
    return 0;
}

/* "a,b" -> entries, empty ones dropped, nothing trimmed (as the Python client). */
static int split_prefixes(const char *s, sd_strv *out)
{
    while (*s) {
        const char *comma = strchr(s, ',');
        size_t len = comma ? (size_t)(comma - s) : strlen(s);
        if (len && sd__strv_push(out, s, len) != 0) return -1;
        s += len;
        if (*s == ',') s++;
    }
    return 0;
}

static int parse_address(sd_client *c, const char *address)
{
    sd_strv parts = {0};
    int rc = SD_OK;
    if (split_list(address, &parts) != 0) return sd__fail(c, SD_ERR_NOMEM, "out of memory parsing the address");
    if (parts.n == 0) {
        rc = sd__fail(c, SD_ERR_ARG, "empty store address");
        goto done;
    }
    for (size_t i = 0; i < parts.n && rc == SD_OK; i++) {
        char *a = parts.v[i];
        sd_node *n;
        if (strncmp(a, "unix://", 7) == 0) {
            if (a[7] != '/') {
                rc = sd__fail(c, SD_ERR_ARG, "Unix socket address '%s' needs an absolute path (unix:///path/to/socket)",
                              a);
            } else if (parts.n > 1) {
                rc = sd__fail(c, SD_ERR_ARG, "a cluster address list cannot contain Unix sockets: '%s'", address);
            } else {
                rc = sd__node_add(c, NULL, 0, a + 7, &n);
            }
            continue;
        }
        char *host = a, *colon;
        if (a[0] == '[') {
            char *close = strstr(a, "]:");
            colon = close ? close + 1 : NULL;
            if (close) {
                *close = '\0';
                host = a + 1;
            }
        } else {
            colon = strrchr(a, ':');
            if (colon) *colon = '\0';
        }
        char *end = NULL;
        long port = colon ? strtol(colon + 1, &end, 10) : 0;
        if (!colon || !*host || end == colon + 1 || *end || port <= 0 || port > 65535) {
            if (colon) *colon = ':';
            rc = sd__fail(c, SD_ERR_ARG, "invalid store address '%s': expected host:port, [ipv6]:port or unix:///path",
                          parts.v[i]);
            continue;
        }
        rc = sd__node_add(c, host, (int)port, NULL, &n);
    }
done:
    sd__strv_free(&parts);
    return rc;
}

int sd_client_new_with_options(sd_client **out, const sd_options *opt)
{
    sd_options defaults;
    if (!out) return SD_ERR_ARG;
    *out = NULL;
    sd_client *c = calloc(1, sizeof *c);
    if (!c) return SD_ERR_NOMEM;
    *out = c;
    if (!opt) {
        sd_options_init(&defaults);
        opt = &defaults;
    }
    c->connect_timeout_ms = opt->connect_timeout_ms > 0 ? opt->connect_timeout_ms : 5000;
    c->io_timeout_ms = opt->io_timeout_ms > 0 ? opt->io_timeout_ms : 0;
    c->run_timeout_ms = opt->run_timeout_ms > 0 ? opt->run_timeout_ms : 60000;
    const char *address = option_or_env(opt->address, "SIMDASK_ADDRESS");
    c->password = strdup(option_or_env(opt->password, "SIMDASK_PASSWORD"));
    c->write_prefix = strdup(option_or_env(opt->key_prefix, "SIMDASK_KEY_PREFIX"));
    if (!c->password || !c->write_prefix ||
        split_prefixes(option_or_env(opt->key_prefixes_in, "SIMDASK_KEY_PREFIXES_IN"), &c->prefixes_in) != 0)
        return sd__fail(c, SD_ERR_NOMEM, "out of memory creating a client");
    if (strpbrk(c->write_prefix, "{},"))
        return sd__fail(c, SD_ERR_ARG, "key prefix '%s' must not contain braces or commas", c->write_prefix);
    for (size_t i = 0; i < c->prefixes_in.n; i++)
        if (strpbrk(c->prefixes_in.v[i], "{}"))
            return sd__fail(c, SD_ERR_ARG, "key prefix '%s' must not contain braces or commas", c->prefixes_in.v[i]);
    c->read_prefix = strdup(c->prefixes_in.n ? c->prefixes_in.v[0] : c->write_prefix);
    if (!c->read_prefix) return sd__fail(c, SD_ERR_NOMEM, "out of memory creating a client");
    if (!*address)
        return sd__fail(c, SD_ERR_ARG,
                        "no store address given and SIMDASK_ADDRESS is not set; start a store (simdask.Store or "
                        "`simdask store start`) and pass its address");
    int rc = parse_address(c, address);
    if (rc != SD_OK) return rc;
    return sd__cluster_discover(c);
}

int sd_client_new(sd_client **out, const char *address)
{
    sd_options opt;
    sd_options_init(&opt);
    opt.address = address;
    return sd_client_new_with_options(out, &opt);
}

void sd_client_free(sd_client *c)
{
    if (!c) return;
    for (size_t i = 0; i < c->n_nodes; i++) {
        sd_node *n = c->nodes[i];
        sd__conn_close(&n->conn);
        free(n->host);
        free(n->path);
        free(n->label);
        free(n);
    }
    free(c->nodes);
    free(c->slots);
    free(c->password);
    free(c->write_prefix);
    free(c->read_prefix);
    sd__strv_free(&c->prefixes_in);
    sd__pipe_free(&c->pipe);
    free(c);
}

int sd_is_cluster(const sd_client *c, int *is_cluster)
{
    if (!c || !is_cluster) return SD_ERR_ARG;
    *is_cluster = c->cluster;
    return SD_OK;
}

/* ---- names and prefixes ---------------------------------------------------- */

int sd__check_name(sd_client *c, const char *what, const char *name)
{
    if (!name) return sd__fail(c, SD_ERR_ARG, "%s is NULL", what);
    size_t len = strnlen(name, SD_MAX_NAME + 1);
    if (len == 0) return sd__fail(c, SD_ERR_ARG, "%s is empty", what);
    if (len > SD_MAX_NAME) return sd__fail(c, SD_ERR_ARG, "%s is longer than %d bytes", what, SD_MAX_NAME);
    return SD_OK;
}

static int join_key(sd_client *c, const char *prefix, const char *name, const char *open, const char *close,
                    char **out)
{
    size_t pl = strlen(prefix), nl = strlen(name), ol = strlen(open), cl = strlen(close);
    char *k = malloc(pl + 1 + ol + nl + cl + 1);
    if (!k) return sd__fail(c, SD_ERR_NOMEM, "out of memory building a key");
    char *p = k;
    if (pl) {
        memcpy(p, prefix, pl);
        p += pl;
        *p++ = '.';
    }
    memcpy(p, open, ol);
    p += ol;
    memcpy(p, name, nl);
    p += nl;
    memcpy(p, close, cl);
    p += cl;
    *p = '\0';
    *out = k;
    return SD_OK;
}

int sd__key(sd_client *c, int write, const char *name, char **out)
{
    return join_key(c, write ? c->write_prefix : c->read_prefix, name, "", "", out);
}

int sd__dataset_base(sd_client *c, int write, const char *name, char **out)
{
    int rc = sd__check_name(c, "dataset name", name);
    if (rc != SD_OK) return rc;
    if (strpbrk(name, "{}"))
        return sd__fail(c, SD_ERR_ARG, "dataset name '%s' contains '{' or '}' (its key is a cluster hash tag)", name);
    return join_key(c, write ? c->write_prefix : c->read_prefix, name, "{", "}", out);
}

int sd_set_data_source(sd_client *c, const char *prefix)
{
    if (!c) return SD_ERR_ARG;
    sd__clear(c);
    if (!prefix) return sd__fail(c, SD_ERR_ARG, "prefix is NULL");
    int ok = strcmp(prefix, c->write_prefix) == 0;
    for (size_t i = 0; i < c->prefixes_in.n && !ok; i++) ok = strcmp(prefix, c->prefixes_in.v[i]) == 0;
    if (!ok)
        return sd__fail(c, SD_ERR_ARG,
                        "prefix '%s' is neither the client's own prefix ('%s') nor one of SIMDASK_KEY_PREFIXES_IN",
                        prefix, c->write_prefix);
    char *copy = strdup(prefix);
    if (!copy) return sd__fail(c, SD_ERR_NOMEM, "out of memory");
    free(c->read_prefix);
    c->read_prefix = copy;
    return SD_OK;
}

/* ---- generic commands ------------------------------------------------------- */

/* One command, routed by route_key, through sd__run_pipe (redirects, TRYAGAIN, errors). */
typedef struct one_command {
    int argc;
    const char *const *argv;
    const size_t *lens;
} one_command;

static void build_one(sd_client *c, sd_pipe *p, void *ctx, int asking)
{
    (void)c;
    const one_command *cmd = ctx;
    if (asking) sd__pipe_asking(p);
    sd__pipe_cmd(p, cmd->argc, cmd->argv, cmd->lens);
}

int sd__command_ok(sd_client *c, const char *doing, const char *route_key, int argc, const char *const *argv,
                   const size_t *lens, redisReply **out)
{
    one_command cmd = {argc, argv, lens};
    sd_collect col;
    memset(&col, 0, sizeof col);
    col.keep_last = 1;
    int rc = sd__run_pipe(c, route_key, route_key ? strlen(route_key) : 0, doing, build_one, &cmd, &col);
    if (rc != SD_OK || !out) {
        if (col.last) freeReplyObject(col.last);
        return rc;
    }
    *out = col.last;
    return SD_OK;
}

void sd__pipe_asking(sd_pipe *p)
{
    sd__pipe_begin(p, 1);
    sd__pipe_argz(p, "ASKING");
}

int sd__run_pipe(sd_client *c, const char *route_key, size_t route_len, const char *doing, sd_build_fn build,
                 void *ctx, sd_collect *col)
{
    sd_node *ask = NULL;
    for (int attempt = 0;; attempt++) {
        sd_node *n;
        int asking = ask != NULL, rc;
        if (asking) {
            n = ask;
            ask = NULL;
        } else if ((rc = sd__route(c, route_key, route_len, &n)) != SD_OK) {
            return rc;
        }
        if ((rc = sd__conn_ready(c, n)) != SD_OK) return rc;
        sd_pipe *p = &c->pipe;
        sd__pipe_reset(p);
        build(c, p, ctx, asking);
        if ((rc = sd__pipe_send(c, n, p)) != SD_OK) return rc;
        if (col->last) freeReplyObject(col->last);
        int keep = col->keep_last;
        memset(col, 0, sizeof *col);
        col->keep_last = keep;
        if ((rc = sd__collect(c, n, p->ncmds, col)) != SD_OK) return rc;
        if (col->redirect.kind) {
            if (attempt >= SD_MAX_REDIRECTS)
                return sd__fail(c, SD_ERR_STORE, "too many cluster redirects while %s", doing);
            if ((rc = sd__follow_redirect(c, &col->redirect, &ask)) != SD_OK) return rc;
            continue;
        }
        if (col->has_error) {
            if (strncmp(col->error, "TRYAGAIN", 8) == 0 && attempt < SD_MAX_REDIRECTS) {
                sd__sleep_ms(10 << (attempt < 6 ? attempt : 6));
                continue;
            }
            return sd__store_error(c, doing, col->error, strlen(col->error));
        }
        return SD_OK;
    }
}

static void note_error(sd_collect *col, const redisReply *r)
{
    sd_redirect rd;
    if (sd__parse_redirect(r->str, r->len, &rd)) {
        if (!col->redirect.kind) col->redirect = rd;
        return;
    }
    if (!col->has_error) {
        col->has_error = 1;
        snprintf(col->error, sizeof col->error, "%.*s", (int)(r->len > 400 ? 400 : r->len), r->str);
    }
}

int sd__collect(sd_client *c, sd_node *n, size_t count, sd_collect *col)
{
    for (size_t i = 0; i < count; i++) {
        redisReply *r = NULL;
        int rc = sd__conn_read_reply(c, n, &r);
        if (rc != SD_OK) return rc;
        if (r->type == REDIS_REPLY_ERROR) {
            /* EXECABORT only repeats an error seen before it */
            if (!(strncmp(r->str, "EXECABORT", 9) == 0 && (col->has_error || col->redirect.kind))) note_error(col, r);
        } else if (r->type == REDIS_REPLY_ARRAY) {
            for (size_t j = 0; j < r->elements; j++)
                if (r->element[j]->type == REDIS_REPLY_ERROR) note_error(col, r->element[j]);
        }
        if (col->keep_last && i + 1 == count)
            col->last = r;
        else
            freeReplyObject(r);
    }
    return SD_OK;
}
