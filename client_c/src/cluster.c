/*
 * cluster.c: which server holds a key.
 *
 * Slot = CRC16-CCITT (XMODEM) of the key's hash tag mod 16384; the map comes
 * from CLUSTER SLOTS and is refreshed on -MOVED; -ASK sends ASKING and the
 * command to the named node once (docs/protocol.md, "Cluster routing"). A
 * standalone store or a Unix socket is one node that holds every key. The
 * hash tag is also what chunk keys are named after (DESIGN.md), so this file
 * has the one function that finds it.
 */
#include "sd_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned crc16(const char *buf, size_t len)
{
    unsigned crc = 0;
    for (size_t i = 0; i < len; i++) {
        crc ^= (unsigned)(unsigned char)buf[i] << 8;
        for (int b = 0; b < 8; b++) crc = (crc & 0x8000) ? ((crc << 1) ^ 0x1021) & 0xFFFF : (crc << 1) & 0xFFFF;
    }
    return crc;
}

int sd__hash_tag(const char *key, size_t len, const char **tag, size_t *taglen)
{
    const char *open = memchr(key, '{', len);
    const char *close = open ? memchr(open + 1, '}', len - (size_t)(open - key) - 1) : NULL;
    if (close && close > open + 1) {
        *tag = open + 1;
        *taglen = (size_t)(close - open - 1);
        return 1;
    }
    *tag = key;
    *taglen = len;
    return !open && !memchr(key, '}', len);
}

static unsigned key_slot(const char *key, size_t len)
{
    const char *tag;
    size_t taglen;
    sd__hash_tag(key, len, &tag, &taglen);
    return crc16(tag, taglen) % SD_NSLOTS;
}

int sd__parse_redirect(const char *err, size_t len, sd_redirect *r)
{
    char buf[512];
    int kind;
    memset(r, 0, sizeof *r);
    if (len >= sizeof buf) return 0;
    memcpy(buf, err, len);
    buf[len] = '\0';
    if (strncmp(buf, "MOVED ", 6) == 0)
        kind = 1;
    else if (strncmp(buf, "ASK ", 4) == 0)
        kind = 2;
    else
        return 0;
    char *p = buf + (kind == 1 ? 6 : 4);
    char *end;
    long slot = strtol(p, &end, 10);
    if (end == p || *end != ' ' || slot < 0 || slot >= SD_NSLOTS) return 0;
    p = end + 1;
    char *colon = strrchr(p, ':');
    if (!colon) return 0;
    long port = strtol(colon + 1, &end, 10);
    if (end == colon + 1 || port <= 0 || port > 65535) return 0;
    *colon = '\0';
    if (p[0] == '[' && colon > p + 1 && colon[-1] == ']') { /* [v6] */
        colon[-1] = '\0';
        p++;
    }
    if (strlen(p) >= sizeof r->host) return 0;
    strcpy(r->host, p);
    r->kind = kind;
    r->slot = (int)slot;
    r->port = (int)port;
    return 1;
}

int sd__node_add(sd_client *c, const char *host, int port, const char *path, sd_node **out)
{
    for (size_t i = 0; i < c->n_nodes; i++) {
        sd_node *n = c->nodes[i];
        if (path ? (n->path && strcmp(n->path, path) == 0)
                 : (n->host && n->port == port && strcmp(n->host, host) == 0)) {
            *out = n;
            return SD_OK;
        }
    }
    if (c->n_nodes == c->cap_nodes) {
        size_t cap = c->cap_nodes ? 2 * c->cap_nodes : 4;
        sd_node **v = realloc(c->nodes, cap * sizeof *v);
        if (!v) return sd__fail(c, SD_ERR_NOMEM, "out of memory adding a store node");
        c->nodes = v;
        c->cap_nodes = cap;
    }
    sd_node *n = calloc(1, sizeof *n);
    if (!n) return sd__fail(c, SD_ERR_NOMEM, "out of memory adding a store node");
    size_t lablen = (path ? strlen(path) : strlen(host)) + 32;
    n->label = malloc(lablen);
    if (path) {
        n->path = strdup(path);
        if (n->label) snprintf(n->label, lablen, "unix://%s", path);
    } else {
        n->host = strdup(host);
        n->port = port;
        if (n->label) snprintf(n->label, lablen, strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, port);
    }
    if (!n->label || (path ? !n->path : !n->host)) {
        free(n->label);
        free(n->path);
        free(n->host);
        free(n);
        return sd__fail(c, SD_ERR_NOMEM, "out of memory adding a store node");
    }
    sd__conn_init(&n->conn);
    c->nodes[c->n_nodes++] = n;
    *out = n;
    return SD_OK;
}

static size_t node_index(sd_client *c, const sd_node *n)
{
    for (size_t i = 0; i < c->n_nodes; i++)
        if (c->nodes[i] == n) return i;
    return 0;
}

void sd__nodes_free(sd_client *c)
{
    for (size_t i = 0; i < c->n_nodes; i++) {
        sd_node *n = c->nodes[i];
        sd__conn_close(&n->conn);
        free(n->host);
        free(n->path);
        free(n->label);
        free(n);
    }
    free(c->nodes);
    c->nodes = NULL;
    c->n_nodes = c->cap_nodes = 0;
}

/* One command to node n itself, no routing (discovery comes before any). */
static int ask_node(sd_client *c, sd_node *n, int argc, const char *const *argv, redisReply **reply)
{
    sd_pipe p = {0};
    *reply = NULL;
    int rc = sd__conn_ready(c, n, 0);
    if (rc != SD_OK) return rc;
    sd__pipe_cmd(&p, argc, argv, NULL);
    rc = sd__conn_send(c, n, &p);
    sd__pipe_free(&p);
    if (rc != SD_OK) return rc;
    return sd__conn_read_reply(c, n, reply);
}

/* An error reply to the first command on a connection, through error.c's
 * table: a password problem (SD_ERR_AUTH) or a server not ready
 * (SD_ERR_CONNECTION) fails; an ordinary refusal (SD_ERR_STORE, e.g. a
 * standalone server's answer to CLUSTER SLOTS) is the caller's to judge. */
static int first_reply_error(sd_client *c, const sd_node *n, const redisReply *r)
{
    int code = sd__reply_status(r->str);
    if (code == SD_ERR_AUTH && !*c->password)
        return sd__fail(c, code, "the store at %s needs a password and this client has none: set "
                        "sd_options.password or SIMDASK_PASSWORD, or connect as the user who started the store, "
                        "whose credentials file for this address is then found in SIMDASK_CREDENTIALS_DIR, else "
                        "~/.simdask/credentials%s%s: %s", n->label, c->credentials_note ? "; " : "",
                        c->credentials_note ? c->credentials_note : "", r->str);
    if (code == SD_ERR_AUTH)
        return sd__fail(c, code, "the store at %s refused this client's password: %s", n->label, r->str);
    if (code != SD_ERR_STORE) return sd__fail(c, code, "the store at %s is not ready: %s", n->label, r->str);
    return SD_OK;
}

static int apply_slots(sd_client *c, sd_node *asked, const redisReply *r)
{
    if (r->type != REDIS_REPLY_ARRAY)
        return sd__fail(c, SD_ERR_STORE, "unexpected CLUSTER SLOTS reply from %s", asked->label);
    for (size_t s = 0; s < SD_NSLOTS; s++) c->slots[s] = -1;
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *e = r->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements < 3 || e->element[0]->type != REDIS_REPLY_INTEGER ||
            e->element[1]->type != REDIS_REPLY_INTEGER || e->element[2]->type != REDIS_REPLY_ARRAY ||
            e->element[2]->elements < 2)
            return sd__fail(c, SD_ERR_STORE, "malformed CLUSTER SLOTS reply from %s", asked->label);
        const redisReply *node = e->element[2];
        long long lo = e->element[0]->integer, hi = e->element[1]->integer;
        if (node->element[0]->type != REDIS_REPLY_STRING || node->element[1]->type != REDIS_REPLY_INTEGER || lo < 0 ||
            hi >= SD_NSLOTS || lo > hi)
            return sd__fail(c, SD_ERR_STORE, "malformed CLUSTER SLOTS reply from %s", asked->label);
        const char *host = node->element[0]->str;
        if (host[0] == '\0' || strcmp(host, "?") == 0) host = asked->host; /* endpoint unknown: the one asked */
        sd_node *n;
        int rc = sd__node_add(c, host, (int)node->element[1]->integer, NULL, &n);
        if (rc != SD_OK) return rc;
        int16_t idx = (int16_t)node_index(c, n);
        for (long long s = lo; s <= hi; s++) c->slots[s] = idx;
    }
    return SD_OK;
}

static const char *const CLUSTER_SLOTS[2] = {"CLUSTER", "SLOTS"};

/* Reads the slot map from `prefer` (if not NULL), else from the first node that answers. */
static int cluster_refresh(sd_client *c, sd_node *prefer)
{
    int rc = SD_ERR_CONNECTION;
    size_t count = c->n_nodes;
    for (size_t i = 0; i <= count; i++) {
        sd_node *n = i == 0 ? prefer : c->nodes[i - 1];
        if (!n || (i > 0 && n == prefer)) continue;
        redisReply *r = NULL;
        rc = ask_node(c, n, 2, CLUSTER_SLOTS, &r);
        if (rc != SD_OK) continue;
        if (r->type == REDIS_REPLY_ERROR) {
            if ((rc = first_reply_error(c, n, r)) == SD_OK)
                rc = sd__fail(c, SD_ERR_STORE, "%s does not answer CLUSTER SLOTS: %s", n->label, r->str);
        } else {
            rc = apply_slots(c, n, r);
        }
        freeReplyObject(r);
        if (rc == SD_OK) return SD_OK;
    }
    return rc;
}

/* A Unix socket: one standalone server; PING tells whether it takes this client. */
static int discover_unix(sd_client *c, sd_node *n)
{
    static const char *const ping[1] = {"PING"};
    redisReply *r = NULL;
    c->cluster = 0;
    int rc = ask_node(c, n, 1, ping, &r);
    if (rc == SD_OK && r->type == REDIS_REPLY_ERROR) rc = first_reply_error(c, n, r);
    if (r) freeReplyObject(r);
    return rc;
}

/* One host:port: a cluster node answers CLUSTER SLOTS, a standalone server refuses. */
static int discover_one(sd_client *c, sd_node *n)
{
    redisReply *r = NULL;
    int rc = ask_node(c, n, 2, CLUSTER_SLOTS, &r);
    if (rc != SD_OK) return rc;
    c->cluster = r->type != REDIS_REPLY_ERROR;
    rc = c->cluster ? apply_slots(c, n, r) : first_reply_error(c, n, r);
    freeReplyObject(r);
    if (!c->cluster) {
        free(c->slots);
        c->slots = NULL;
    }
    return rc;
}

int sd__cluster_discover(sd_client *c)
{
    sd_node *n = c->nodes[0];
    if (c->n_nodes == 1 && n->path) return discover_unix(c, n);
    c->slots = malloc(SD_NSLOTS * sizeof *c->slots);
    if (!c->slots) return sd__fail(c, SD_ERR_NOMEM, "out of memory for the slot map");
    for (size_t s = 0; s < SD_NSLOTS; s++) c->slots[s] = -1;
    if (c->n_nodes == 1) return discover_one(c, n);
    c->cluster = 1;
    return cluster_refresh(c, NULL);
}

int sd__route(sd_client *c, const char *key, sd_node **out)
{
    if (!c->cluster || !key) {
        *out = c->nodes[0];
        return SD_OK;
    }
    size_t len = strlen(key);
    unsigned slot = key_slot(key, len);
    if (c->slots[slot] < 0) {
        int rc = cluster_refresh(c, NULL);
        if (rc != SD_OK) return rc;
        if (c->slots[slot] < 0)
            return sd__fail(c, SD_ERR_STORE, "no store node serves hash slot %u (key '%.*s'): is the cluster complete?",
                            slot, (int)(len > 200 ? 200 : len), key);
    }
    *out = c->nodes[c->slots[slot]];
    return SD_OK;
}

int sd__follow_redirect(sd_client *c, const sd_redirect *r, sd_node **ask)
{
    const char *host = r->host[0] ? r->host : c->nodes[0]->host;
    sd_node *n;
    *ask = NULL;
    if (!host) return sd__fail(c, SD_ERR_STORE, "redirect to an unknown host");
    int rc = sd__node_add(c, host, r->port, NULL, &n);
    if (rc != SD_OK) return rc;
    if (r->kind == 2) {
        *ask = n;
        return SD_OK;
    }
    if (!c->cluster || !c->slots) return sd__fail(c, SD_ERR_STORE, "MOVED from a store that is not a cluster");
    c->slots[r->slot] = (int16_t)node_index(c, n);
    /* The whole map has probably changed (resharding): refresh it from the
     * node named in the redirect; on failure the one slot above still holds. */
    if (cluster_refresh(c, n) != SD_OK) {
        c->slots[r->slot] = (int16_t)node_index(c, n);
        sd__clear(c);
    }
    return SD_OK;
}
