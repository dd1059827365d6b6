/*
 * lists.c: aggregation lists (DESIGN.md "Key layout"): list `l` under prefix p
 * is the store list p.l, whose entries are dataset key bases ("p.{ds}").
 * Appending writes the writer's prefix into the entry, so a reader finds the
 * datasets wherever they were written. Reads (length, polls, ranges, the
 * source of copy and rename) look at the read key's fallbacks (keys.c) when
 * the list is not there; a list that is nowhere has length 0 and no entries.
 */
#include "sd_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sd_append_to_list(sd_client *c, const char *list, const sd_dataset *ds)
{
    SD_ENTER(c);
    if (!ds) return sd__fail(c, SD_ERR_ARG, "dataset is NULL");
    char *key, *entry;
    int rc = sd__list_key(c, 1, list, &key);
    if (rc != SD_OK) return rc;
    if ((rc = sd__dataset_base(c, 1, ds->name, &entry)) == SD_OK) {
        /* appending twice is two entries: never sent again once it may have reached the store */
        const char *argv[3] = {"RPUSH", key, entry};
        sd_argv cmd = {3, argv, NULL};
        sd_request rq = {.doing = "appending to list", .name = key, .route_key = key, .n = 1,
                         .build = sd__build_argv, .ctx = &cmd, .resend = SD_RESEND_UNSENT};
        rc = sd__exec(c, &rq);
        free(entry);
    }
    free(key);
    return rc;
}

static int missing(sd_client *c, const char *key)
{
    return sd__fail(c, SD_ERR_NOT_FOUND, "aggregation list '%s' does not exist in the store", key);
}

/* An sd_read_fn: the length of the list at key (ctx: a size_t), SD_ERR_NOT_FOUND for none (the store keeps no
 * empty list). */
static int read_length(sd_client *c, const char *key, void *ctx)
{
    size_t *length = ctx;
    const char *argv[2] = {"LLEN", key};
    redisReply *r;
    int rc = sd__exec_command(c, "reading the length of list", key, 2, argv, NULL, &r);
    if (rc != SD_OK) return rc;
    *length = r->type == REDIS_REPLY_INTEGER && r->integer > 0 ? (size_t)r->integer : 0;
    freeReplyObject(r);
    return *length ? SD_OK : missing(c, key);
}

/* The length of list `list` at its read key or the first fallback that holds it; 0 when none does. */
static int list_length(sd_client *c, const char *list, size_t *length)
{
    sd_rkey k;
    int rc = sd__list_read_key(c, list, &k);
    if (rc != SD_OK) return rc;
    rc = sd__read_fallback(c, &k, read_length, length);
    sd__rkey_free(&k);
    if (rc == SD_ERR_NOT_FOUND) { /* a list that is nowhere is empty */
        sd__clear(c);
        *length = 0;
        rc = SD_OK;
    }
    return rc;
}

int sd_get_list_length(sd_client *c, const char *list, size_t *length)
{
    SD_ENTER(c);
    if (!length) return sd__fail(c, SD_ERR_ARG, "length is NULL");
    return list_length(c, list, length);
}

/* What a poll of a list's length waits for: == (cmp 0), >= (1) or <= (-1) length. */
typedef struct length_goal {
    const char *list;
    size_t length;
    int cmp;
} length_goal;

/* Each try builds the read key again, so that it starts from a run a fallback found. */
static int length_reached(sd_client *c, void *ctx, int *reached)
{
    const length_goal *g = ctx;
    size_t n;
    int rc = list_length(c, g->list, &n);
    if (rc == SD_OK) *reached = g->cmp == 0 ? n == g->length : g->cmp > 0 ? n >= g->length : n <= g->length;
    return rc;
}

static int poll_length(sd_client *c, const char *list, size_t length, int cmp, int interval_ms, int tries,
                       int *reached)
{
    SD_ENTER(c);
    int rc = sd__check_name(c, "list name", list);
    if (rc != SD_OK) return rc;
    length_goal goal = {list, length, cmp};
    return sd__poll(c, interval_ms, tries, length_reached, &goal, reached);
}

int sd_poll_list_length(sd_client *c, const char *list, size_t length, int interval_ms, int tries, int *reached)
{
    return poll_length(c, list, length, 0, interval_ms, tries, reached);
}

int sd_poll_list_length_gte(sd_client *c, const char *list, size_t length, int interval_ms, int tries, int *reached)
{
    return poll_length(c, list, length, 1, interval_ms, tries, reached);
}

int sd_poll_list_length_lte(sd_client *c, const char *list, size_t length, int interval_ms, int tries, int *reached)
{
    return poll_length(c, list, length, -1, interval_ms, tries, reached);
}

void sd_datasets_free(sd_dataset **datasets, size_t count)
{
    if (!datasets) return;
    for (size_t i = 0; i < count; i++) sd_dataset_free(datasets[i]);
    free(datasets);
}

/* What a read of list entries asked for (positions from .. to) and found: the LRANGE reply (an array of
 * strings) and the key it read, both NULL until found. */
typedef struct entries_read {
    const char *from, *to;
    redisReply *r;
    char *key;
} entries_read;

/* An sd_read_fn: the entries of the list at key (ctx: an entries_read); SD_ERR_NOT_FOUND when there is no list
 * there (an empty range of a list that is there is found). */
static int read_entries(sd_client *c, const char *key, void *ctx)
{
    entries_read *x = ctx;
    const char *argv[4] = {"LRANGE", key, x->from, x->to};
    redisReply *r;
    int rc = sd__exec_command(c, "reading list", key, 4, argv, NULL, &r);
    if (rc != SD_OK) return rc;
    if (r->type != REDIS_REPLY_ARRAY) rc = sd__fail(c, SD_ERR_TYPE, "key '%s' holds no aggregation list", key);
    for (size_t i = 0; rc == SD_OK && i < r->elements; i++)
        if (r->element[i]->type != REDIS_REPLY_STRING)
            rc = sd__fail(c, SD_ERR_FORMAT, "list '%s' holds a non-string, not a dataset key", key);
    if (rc == SD_OK && r->elements == 0) { /* the store keeps no empty list: the whole range is empty for none */
        redisReply *e = NULL;
        const char *exists[2] = {"EXISTS", key};
        if (strcmp(x->from, "0") != 0 || strcmp(x->to, "-1") != 0)
            rc = sd__exec_command(c, "looking for list", key, 2, exists, NULL, &e);
        if (rc == SD_OK && !(e && e->type == REDIS_REPLY_INTEGER && e->integer > 0)) rc = missing(c, key);
        if (e) freeReplyObject(e);
    }
    if (rc == SD_OK && !(x->key = strdup(key))) rc = sd__fail(c, SD_ERR_NOMEM, "out of memory reading list '%s'", key);
    if (rc == SD_OK)
        x->r = r;
    else
        freeReplyObject(r);
    return rc;
}

/* The entries from .. to of list `list` at its read key or the first fallback that holds it (x->r and x->key
 * stay NULL when none does); required: SD_ERR_NOT_FOUND naming every key tried, else SD_OK. */
static int find_entries(sd_client *c, const char *list, int required, entries_read *x)
{
    sd_rkey k;
    int rc = sd__list_read_key(c, list, &k);
    if (rc != SD_OK) return rc;
    rc = sd__read_fallback(c, &k, read_entries, x);
    sd__rkey_free(&k);
    if (rc == SD_ERR_NOT_FOUND && !required) {
        sd__clear(c);
        rc = SD_OK;
    }
    return rc;
}

static void entries_free(entries_read *x)
{
    if (x->r) freeReplyObject(x->r);
    free(x->key);
}

int sd_get_datasets_from_list(sd_client *c, const char *list, sd_dataset ***datasets, size_t *count)
{
    return sd_get_dataset_list_range(c, list, 0, -1, datasets, count);
}

int sd_get_dataset_list_range(sd_client *c, const char *list, long long start, long long end,
                              sd_dataset ***datasets, size_t *count)
{
    SD_ENTER(c);
    if (!datasets || !count) return sd__fail(c, SD_ERR_ARG, "datasets or count is NULL");
    *datasets = NULL;
    *count = 0;
    char from[24], to[24];
    snprintf(from, sizeof from, "%lld", start);
    snprintf(to, sizeof to, "%lld", end);
    entries_read x = {from, to, NULL, NULL};
    int rc = find_entries(c, list, 0, &x);
    size_t total = x.r ? x.r->elements : 0, n = 0;
    sd_dataset **out = NULL;
    if (rc == SD_OK && !(out = calloc(total + 1, sizeof *out)))
        rc = sd__fail(c, SD_ERR_NOMEM, "out of memory reading list '%s'", x.key ? x.key : list);
    while (rc == SD_OK && n < total && (rc = sd__dataset_read(c, x.r->element[n]->str, &out[n])) == SD_OK) n++;
    if (rc == SD_OK) {
        *datasets = out;
        *count = n;
    } else {
        sd_datasets_free(out, n);
    }
    entries_free(&x);
    return rc;
}

int sd_delete_list(sd_client *c, const char *list)
{
    SD_ENTER(c);
    char *key;
    /* the write prefix (its own keys only), or the read prefix with deletes_from_source */
    int rc = sd__list_key(c, !c->deletes_from_source, list, &key);
    if (rc != SD_OK) return rc;
    const char *argv[2] = {"UNLINK", key};
    rc = sd__exec_command(c, "deleting list", key, 2, argv, NULL, NULL);
    free(key);
    return rc;
}

/* ---- copy, rename ------------------------------------------------------------- */

/* Builds MULTI, UNLINK dest, RPUSH dest <entries> (when there are any), EXEC. */
typedef struct copy_ctx {
    const char *dest;
    const redisReply *entries; /* LRANGE's reply */
} copy_ctx;

static void build_copy(sd_pipe *p, const void *ctx, size_t i)
{
    const copy_ctx *x = ctx;
    (void)i;
    sd__pipe_multi(p);
    sd__pipe_begin(p, 2);
    sd__pipe_arg(p, "UNLINK", 6);
    sd__pipe_argz(p, x->dest);
    sd__pipe_begin(p, 2 + x->entries->elements);
    sd__pipe_arg(p, "RPUSH", 5);
    sd__pipe_argz(p, x->dest);
    for (size_t k = 0; k < x->entries->elements; k++)
        sd__pipe_arg(p, x->entries->element[k]->str, x->entries->element[k]->len);
    sd__pipe_exec(p);
}

/* Replaces list `dest` (write prefix) with the entries of list `source` (its read key, built before dest's,
 * whose write may begin the client's run, or the first fallback that holds it) in one transaction (the same
 * result when sent twice); rename: then deletes the source it read. Nothing to do where the source read is the
 * destination (for a rename: where its read key is). */
static int copy_list(sd_client *c, const char *source, const char *dest, int rename)
{
    sd_rkey k;
    char *dst = NULL;
    entries_read x = {"0", "-1", NULL, NULL};
    int rc = sd__list_read_key(c, source, &k);
    if (rc != SD_OK) return rc;
    if ((rc = sd__list_key(c, 1, dest, &dst)) == SD_OK && !(rename && strcmp(k.key, dst) == 0))
        rc = sd__read_fallback(c, &k, read_entries, &x);
    if (rc == SD_OK && x.key && strcmp(x.key, dst) != 0) {
        copy_ctx cx = {dst, x.r};
        sd_request rq = {.doing = "copying list to", .name = dst, .route_key = dst, .n = 1, .build = build_copy,
                         .ctx = &cx};
        rc = sd__exec(c, &rq);
        if (rc == SD_OK && rename) { /* the source read, not the write prefix's */
            const char *argv[2] = {"UNLINK", x.key};
            rc = sd__exec_command(c, "deleting list", x.key, 2, argv, NULL, NULL);
        }
    }
    entries_free(&x);
    sd__rkey_free(&k);
    free(dst);
    return rc;
}

int sd_copy_list(sd_client *c, const char *source, const char *dest)
{
    SD_ENTER(c);
    return copy_list(c, source, dest, 0);
}

int sd_rename_list(sd_client *c, const char *old_name, const char *new_name)
{
    SD_ENTER(c);
    return copy_list(c, old_name, new_name, 1);
}
