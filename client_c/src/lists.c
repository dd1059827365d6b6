/*
 * lists.c: aggregation lists (DESIGN.md "Key layout"): list `l` under prefix p
 * is the store list p.l, whose entries are dataset key bases ("p.{ds}").
 * Appending writes the writer's prefix into the entry, so a reader finds the
 * datasets wherever they were written.
 */
#include "sd_internal.h"

#include <stdlib.h>
#include <string.h>

int sd_append_to_list(sd_client *c, const char *list, const sd_dataset *ds)
{
    SD_ENTER(c);
    if (!ds) return sd__fail(c, SD_ERR_ARG, "dataset is NULL");
    char *key, *entry;
    int rc = sd__key(c, "list name", 1, list, &key);
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

static int list_length(sd_client *c, const char *key, size_t *length)
{
    const char *argv[2] = {"LLEN", key};
    redisReply *r;
    int rc = sd__exec_command(c, "reading the length of list", key, 2, argv, NULL, &r);
    if (rc != SD_OK) return rc;
    *length = r->type == REDIS_REPLY_INTEGER && r->integer > 0 ? (size_t)r->integer : 0;
    freeReplyObject(r);
    return SD_OK;
}

int sd_get_list_length(sd_client *c, const char *list, size_t *length)
{
    SD_ENTER(c);
    if (!length) return sd__fail(c, SD_ERR_ARG, "length is NULL");
    char *key;
    int rc = sd__key(c, "list name", 0, list, &key);
    if (rc != SD_OK) return rc;
    rc = list_length(c, key, length);
    free(key);
    return rc;
}

/* What a poll of a list's length waits for: == (cmp 0), >= (1) or <= (-1) length. */
typedef struct length_goal {
    const char *key;
    size_t length;
    int cmp;
} length_goal;

static int length_reached(sd_client *c, void *ctx, int *reached)
{
    const length_goal *g = ctx;
    size_t n;
    int rc = list_length(c, g->key, &n);
    if (rc == SD_OK) *reached = g->cmp == 0 ? n == g->length : g->cmp > 0 ? n >= g->length : n <= g->length;
    return rc;
}

static int poll_length(sd_client *c, const char *list, size_t length, int cmp, int interval_ms, int tries,
                       int *reached)
{
    SD_ENTER(c);
    char *key;
    int rc = sd__key(c, "list name", 0, list, &key);
    if (rc != SD_OK) return rc;
    length_goal goal = {key, length, cmp};
    rc = sd__poll(c, interval_ms, tries, length_reached, &goal, reached);
    free(key);
    return rc;
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

/* Reads every dataset an LRANGE reply names into out (*n of them read). */
static int read_entries(sd_client *c, const char *key, const redisReply *r, sd_dataset **out, size_t *n)
{
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        const redisReply *e = r->element[i];
        if (e->type != REDIS_REPLY_STRING)
            return sd__fail(c, SD_ERR_FORMAT, "list '%s' holds a non-string, not a dataset key", key);
        int rc = sd__dataset_read(c, e->str, &out[*n]);
        if (rc != SD_OK) return rc;
        (*n)++;
    }
    return SD_OK;
}

int sd_get_datasets_from_list(sd_client *c, const char *list, sd_dataset ***datasets, size_t *count)
{
    SD_ENTER(c);
    if (!datasets || !count) return sd__fail(c, SD_ERR_ARG, "datasets or count is NULL");
    *datasets = NULL;
    *count = 0;
    char *key;
    int rc = sd__key(c, "list name", 0, list, &key);
    if (rc != SD_OK) return rc;
    const char *argv[4] = {"LRANGE", key, "0", "-1"};
    redisReply *r;
    rc = sd__exec_command(c, "reading list", key, 4, argv, NULL, &r);
    if (rc == SD_OK) {
        sd_dataset **out = calloc(r->elements + 1, sizeof *out);
        size_t n = 0;
        rc = out ? read_entries(c, key, r, out, &n) : sd__fail(c, SD_ERR_NOMEM, "out of memory reading list '%s'", key);
        if (rc == SD_OK) {
            *datasets = out;
            *count = n;
        } else {
            sd_datasets_free(out, n);
        }
        freeReplyObject(r);
    }
    free(key);
    return rc;
}

int sd_delete_list(sd_client *c, const char *list)
{
    SD_ENTER(c);
    char *key;
    int rc = sd__key(c, "list name", 1, list, &key); /* the write prefix: its own keys only */
    if (rc != SD_OK) return rc;
    const char *argv[2] = {"UNLINK", key};
    rc = sd__exec_command(c, "deleting list", key, 2, argv, NULL, NULL);
    free(key);
    return rc;
}
