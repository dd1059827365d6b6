/*
 * admin.c: the store's server commands on one node, named by its address
 * (what SmartRedis's Client offers as get_db_node_info, get_db_cluster_info,
 * config_get, config_set, flush_db and save): INFO, CLUSTER INFO, CONFIG GET,
 * CONFIG SET, FLUSHDB and SAVE. A node is named as the client knows it
 * (sd_db_addresses: host:port, or unix:///path), or by any host name that
 * resolves to the same address and port.
 */
#include "sd_internal.h"

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* Whether host names a and b resolve to a common address. */
static int same_host(const char *a, const char *b)
{
    struct addrinfo hints = {0}, *ra = NULL, *rb = NULL;
    hints.ai_socktype = SOCK_STREAM;
    int same = 0;
    if (getaddrinfo(a, NULL, &hints, &ra) == 0 && getaddrinfo(b, NULL, &hints, &rb) == 0) {
        for (const struct addrinfo *x = ra; x && !same; x = x->ai_next) {
            char hx[NI_MAXHOST];
            if (getnameinfo(x->ai_addr, x->ai_addrlen, hx, sizeof hx, NULL, 0, NI_NUMERICHOST) != 0) continue;
            for (const struct addrinfo *y = rb; y && !same; y = y->ai_next) {
                char hy[NI_MAXHOST];
                same = getnameinfo(y->ai_addr, y->ai_addrlen, hy, sizeof hy, NULL, 0, NI_NUMERICHOST) == 0 &&
                       strcmp(hx, hy) == 0;
            }
        }
    }
    if (ra) freeaddrinfo(ra);
    if (rb) freeaddrinfo(rb);
    return same;
}

/* The node the address names (NULL or "": the only node of a standalone store). */
static int find_node(sd_client *c, const char *address, sd_node **out)
{
    if (!address || !*address) {
        if (c->cluster)
            return sd__fail(c, SD_ERR_ARG, "a cluster has several nodes: name one (host:port, see sd_db_addresses)");
        *out = c->nodes[0];
        return SD_OK;
    }
    const char *a = strncmp(address, "tcp://", 6) == 0 ? address + 6 : address;
    for (size_t i = 0; i < c->n_nodes; i++)
        if (strcmp(c->nodes[i]->label, a) == 0) {
            *out = c->nodes[i];
            return SD_OK;
        }
    const char *colon = strrchr(a, ':');
    char host[256];
    size_t hl = colon ? (size_t)(colon - a) : 0;
    if (hl && a[0] == '[' && a[hl - 1] == ']') { /* [v6]:port */
        a++;
        hl -= 2;
    }
    char *end = NULL;
    long port = colon ? strtol(colon + 1, &end, 10) : 0;
    if (hl && hl < sizeof host && end && !*end && strncmp(a, "unix:", 5) != 0) {
        memcpy(host, a, hl);
        host[hl] = '\0';
        for (size_t i = 0; i < c->n_nodes; i++)
            if (c->nodes[i]->host && c->nodes[i]->port == port && same_host(host, c->nodes[i]->host)) {
                *out = c->nodes[i];
                return SD_OK;
            }
    }
    return sd__fail(c, SD_ERR_ARG, "'%.200s' is no node of this store (sd_db_addresses lists them)", address);
}

/* One command on the node at address; *out (when not NULL) gets its reply, an error reply failing. */
static int on_node(sd_client *c, const char *doing, const char *address, int argc, const char *const *argv,
                   redisReply **out)
{
    sd_node *n = NULL;
    int rc = find_node(c, address, &n);
    if (rc != SD_OK) return rc;
    sd_argv cmd = {argc, argv, NULL};
    sd_request rq = {.doing = doing, .name = n->label, .node = n, .n = 1, .build = sd__build_argv, .ctx = &cmd,
                     .keep_last = 1, .resend = SD_RESEND_IDEMPOTENT};
    rc = sd__exec(c, &rq);
    if (rc == SD_OK && out) *out = rq.reply;
    else if (rq.reply) freeReplyObject(rq.reply);
    return rc;
}

/* A bulk or status reply's text into *text (malloc'ed). */
static int reply_text(sd_client *c, const char *what, const char *address, int argc, const char *const *argv,
                      char **text)
{
    if (!text) return sd__fail(c, SD_ERR_ARG, "text is NULL");
    *text = NULL;
    redisReply *r;
    int rc = on_node(c, what, address, argc, argv, &r);
    if (rc != SD_OK) return rc;
    if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) {
        *text = malloc(r->len + 1);
        if (!*text) rc = sd__fail(c, SD_ERR_NOMEM, "out of memory");
        else {
            memcpy(*text, r->str, r->len);
            (*text)[r->len] = '\0';
        }
    } else {
        rc = sd__fail(c, SD_ERR_STORE, "unexpected reply to %s from %s", argv[0], address ? address : "the store");
    }
    freeReplyObject(r);
    return rc;
}

int sd_db_addresses(sd_client *c, char **addresses)
{
    SD_ENTER(c);
    if (!addresses) return sd__fail(c, SD_ERR_ARG, "addresses is NULL");
    *addresses = NULL;
    sd_text t = {0};
    for (size_t i = 0; i < c->n_nodes; i++) {
        int serves = !c->cluster;
        for (size_t s = 0; c->cluster && !serves && s < SD_NSLOTS; s++) serves = c->slots[s] == (int16_t)i;
        if (!serves) continue;
        if (t.len) sd__text_put(&t, ",", 1);
        sd__text_put(&t, c->nodes[i]->label, strlen(c->nodes[i]->label));
    }
    if (t.oom || !t.p) {
        free(t.p);
        return sd__fail(c, SD_ERR_NOMEM, "out of memory");
    }
    *addresses = t.p;
    return SD_OK;
}

int sd_db_info(sd_client *c, const char *address, const char *section, char **text)
{
    SD_ENTER(c);
    const char *argv[2] = {"INFO", section && *section ? section : "everything"};
    return reply_text(c, "reading the INFO of", address, 2, argv, text);
}

int sd_cluster_info(sd_client *c, const char *address, char **text)
{
    SD_ENTER(c);
    if (!c->cluster) {
        if (text) *text = NULL;
        return sd__fail(c, SD_ERR_ARG, "CLUSTER INFO: the store is not a cluster");
    }
    const char *argv[2] = {"CLUSTER", "INFO"};
    return reply_text(c, "reading the CLUSTER INFO of", address, 2, argv, text);
}

int sd_config_get(sd_client *c, const char *address, const char *pattern, char ***pairs, size_t *count)
{
    SD_ENTER(c);
    if (!pattern || !pairs || !count) return sd__fail(c, SD_ERR_ARG, "pattern, pairs or count is NULL");
    *pairs = NULL;
    *count = 0;
    const char *argv[3] = {"CONFIG", "GET", pattern};
    redisReply *r;
    int rc = on_node(c, "reading the configuration of", address, 3, argv, &r);
    if (rc != SD_OK) return rc;
    sd_strv v = {0};
    int map = r->type == REDIS_REPLY_ARRAY;
    for (size_t i = 0; map && i < r->elements && rc == SD_OK; i++) {
        const redisReply *e = r->element[i];
        if (e->type != REDIS_REPLY_STRING && e->type != REDIS_REPLY_STATUS)
            rc = sd__fail(c, SD_ERR_STORE, "unexpected CONFIG GET reply");
        else if (sd__strv_push(&v, e->str, e->len) != 0)
            rc = sd__fail(c, SD_ERR_NOMEM, "out of memory");
    }
    if (rc == SD_OK && (!map || v.n % 2)) rc = sd__fail(c, SD_ERR_STORE, "unexpected CONFIG GET reply");
    freeReplyObject(r);
    if (rc != SD_OK) {
        sd__strv_free(&v);
        return rc;
    }
    *pairs = v.v;
    *count = v.n / 2;
    return SD_OK;
}

void sd_strings_free(char **strings, size_t n)
{
    if (!strings) return;
    for (size_t i = 0; i < n; i++) free(strings[i]);
    free(strings);
}

int sd_config_set(sd_client *c, const char *address, const char *name, const char *value)
{
    SD_ENTER(c);
    if (!name || !value) return sd__fail(c, SD_ERR_ARG, "name or value is NULL");
    const char *argv[4] = {"CONFIG", "SET", name, value};
    return on_node(c, "setting the configuration of", address, 4, argv, NULL);
}

int sd_flush_db(sd_client *c, const char *address)
{
    SD_ENTER(c);
    const char *argv[1] = {"FLUSHDB"};
    return on_node(c, "flushing", address, 1, argv, NULL);
}

int sd_save(sd_client *c, const char *address)
{
    SD_ENTER(c);
    const char *argv[1] = {"SAVE"};
    return on_node(c, "saving", address, 1, argv, NULL);
}
