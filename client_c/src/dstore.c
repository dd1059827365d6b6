/*
 * dstore.c: datasets and aggregation lists in the store (DESIGN.md "Key
 * layout", docs/protocol.md "Datasets").
 *
 * Dataset `ds` under prefix p: the hash p.{ds}.meta and one tensor per
 * p.{ds}.<tensor>, all on one shard. Writing: chunks of large tensors, then
 * one transaction (cleanup + SET per tensor, DEL meta, HSET meta ...
 * .COMPLETE 1). A list holds dataset keys ("p.{ds}").
 */
#include "sd_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- writing ---------------------------------------------------------------- */

typedef struct field_value {
    char *value;
    size_t len;
} field_value;

typedef struct put_ctx {
    const sd_dataset *ds;
    char *meta_key;
    sd_twrite *tw;    /* one per tensor */
    char **keys;      /* their keys */
    char *names_json; /* .tensor_names */
    size_t names_len;
    field_value *fields; /* one per metadata field */
    char **stale;        /* keys of tensors the stored dataset has and this one has not */
    size_t n_stale;
} put_ctx;

static void build_dataset(sd_client *c, sd_pipe *p, void *ctx, int asking)
{
    const put_ctx *x = ctx;
    const sd_dataset *ds = x->ds;
    (void)c;
    if (asking) sd__pipe_asking(p);
    sd__pipe_begin(p, 1);
    sd__pipe_arg(p, "MULTI", 5);
    for (size_t i = 0; i < ds->nt; i++) sd__pipe_head(p, &x->tw[i]);
    for (size_t i = 0; i < x->n_stale; i++) sd__pipe_unlink_tensor(p, x->stale[i], strlen(x->stale[i]));
    sd__pipe_begin(p, 2);
    sd__pipe_arg(p, "UNLINK", 6);
    sd__pipe_argz(p, x->meta_key);
    sd__pipe_begin(p, 2 + 2 * (ds->nm + 2));
    sd__pipe_arg(p, "HSET", 4);
    sd__pipe_argz(p, x->meta_key);
    sd__pipe_arg(p, ".tensor_names", 13);
    sd__pipe_arg(p, x->names_json, x->names_len);
    for (size_t i = 0; i < ds->nm; i++) {
        sd__pipe_argz(p, ds->meta[i].name);
        sd__pipe_arg(p, x->fields[i].value, x->fields[i].len);
    }
    sd__pipe_arg(p, ".COMPLETE", 9);
    sd__pipe_arg(p, "1", 1);
    sd__pipe_begin(p, 1);
    sd__pipe_arg(p, "EXEC", 4);
}

/* The tensor names of the dataset stored at meta_key (none if absent or unreadable). */
static int stored_names(sd_client *c, const char *meta_key, const char *doing, sd_strv *names, int *exists)
{
    const char *argv[3] = {"HGET", meta_key, ".tensor_names"};
    redisReply *r;
    int rc = sd__command_ok(c, doing, meta_key, 3, argv, NULL, &r);
    if (rc != SD_OK) return rc;
    *exists = r->type == REDIS_REPLY_STRING;
    if (*exists && sd__json_decode_strings(r->str, r->len, names) == -2) rc = sd__fail(c, SD_ERR_NOMEM, "out of memory");
    freeReplyObject(r);
    return rc;
}

static char *join3(const char *a, const char *b, const char *c)
{
    size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
    char *s = malloc(la + lb + lc + 1);
    if (s) {
        memcpy(s, a, la);
        memcpy(s + la, b, lb);
        memcpy(s + la + lb, c, lc + 1);
    }
    return s;
}

/* A metadata scalar field's value: a 1-D plain tensor blob. */
static int scalar_blob(sd_client *c, const sd_meta *m, field_value *out)
{
    size_t size = sd__itemsize(m->dtype), shape[1] = {m->count};
    uint32_t off = sd__plain_data_offset(1);
    out->len = off + m->count * size;
    out->value = malloc(out->len);
    if (!out->value) return sd__fail(c, SD_ERR_NOMEM, "out of memory encoding field '%s'", m->name);
    sd__encode_header((unsigned char *)out->value, m->dtype, SD_ORDER_C, 1, shape, 0);
    if (m->count) memcpy(out->value + off, m->values, m->count * size);
    return SD_OK;
}

int sd_put_dataset(sd_client *c, const sd_dataset *ds)
{
    if (!c) return SD_ERR_ARG;
    sd__clear(c);
    if (!ds) return sd__fail(c, SD_ERR_ARG, "dataset is NULL");
    if (ds->nt == 0 && ds->nm == 0) return sd__fail(c, SD_ERR_ARG, "dataset '%s' has no tensors and no metadata", ds->name);
    char *base;
    int rc = sd__dataset_base(c, 1, ds->name, &base);
    if (rc != SD_OK) return rc;
    put_ctx x;
    sd_strv old = {0};
    int existed = 0;
    char doing[300];
    memset(&x, 0, sizeof x);
    x.ds = ds;
    snprintf(doing, sizeof doing, "writing dataset '%.200s'", base);
    x.meta_key = join3(base, ".meta", "");
    x.tw = calloc(ds->nt ? ds->nt : 1, sizeof *x.tw);
    x.keys = calloc(ds->nt ? ds->nt : 1, sizeof *x.keys);
    x.fields = calloc(ds->nm ? ds->nm : 1, sizeof *x.fields);
    char **names = calloc(ds->nt ? ds->nt : 1, sizeof *names);
    if (!x.meta_key || !x.tw || !x.keys || !x.fields || !names) {
        rc = sd__fail(c, SD_ERR_NOMEM, "out of memory writing dataset '%s'", ds->name);
        goto done;
    }
    for (size_t i = 0; i < ds->nt && rc == SD_OK; i++) {
        const sd_dtensor *t = &ds->tensors[i];
        names[i] = t->name;
        x.keys[i] = join3(base, ".", t->name);
        if (!x.keys[i]) {
            rc = sd__fail(c, SD_ERR_NOMEM, "out of memory writing dataset '%s'", ds->name);
            break;
        }
        rc = sd__twrite_init(c, &x.tw[i], x.keys[i], t->data, t->dtype, t->ndim, t->shape, t->order);
    }
    if (rc != SD_OK) goto done;
    if (sd__json_encode_strings(names, ds->nt, &x.names_json, &x.names_len) != 0) {
        rc = sd__fail(c, SD_ERR_NOMEM, "out of memory writing dataset '%s'", ds->name);
        goto done;
    }
    for (size_t i = 0; i < ds->nm && rc == SD_OK; i++) {
        const sd_meta *m = &ds->meta[i];
        if (!m->is_string)
            rc = scalar_blob(c, m, &x.fields[i]);
        else if (sd__json_encode_strings(m->strings.v, m->strings.n, &x.fields[i].value, &x.fields[i].len) != 0)
            rc = sd__fail(c, SD_ERR_NOMEM, "out of memory writing dataset '%s'", ds->name);
    }
    if (rc != SD_OK) goto done;
    /* tensors of the previous dataset of this name that this one lacks go in the same transaction */
    if ((rc = stored_names(c, x.meta_key, doing, &old, &existed)) != SD_OK) goto done;
    x.stale = calloc(old.n ? old.n : 1, sizeof *x.stale);
    if (!x.stale) {
        rc = sd__fail(c, SD_ERR_NOMEM, "out of memory writing dataset '%s'", ds->name);
        goto done;
    }
    for (size_t i = 0; i < old.n; i++) {
        if (sd__ds_find_tensor(ds, old.v[i])) continue;
        if (!(x.stale[x.n_stale] = join3(base, ".", old.v[i]))) {
            rc = sd__fail(c, SD_ERR_NOMEM, "out of memory writing dataset '%s'", ds->name);
            goto done;
        }
        x.n_stale++;
    }
    /* chunks first; the transaction only once they all landed */
    if ((rc = sd__write_chunks(c, x.tw, ds->nt, x.meta_key, doing)) != SD_OK) goto done;
    sd_collect col = {0};
    rc = sd__run_pipe(c, x.meta_key, strlen(x.meta_key), doing, build_dataset, &x, &col);
done:
    if (x.keys)
        for (size_t i = 0; i < ds->nt; i++) free(x.keys[i]);
    if (x.fields)
        for (size_t i = 0; i < ds->nm; i++) free(x.fields[i].value);
    if (x.stale)
        for (size_t i = 0; i < x.n_stale; i++) free(x.stale[i]);
    free(x.stale);
    sd__strv_free(&old);
    free(x.keys);
    free(x.fields);
    free(x.tw);
    free(x.meta_key);
    free(x.names_json);
    free(names);
    free(base);
    return rc;
}

/* ---- reading ---------------------------------------------------------------- */

static int read_field(sd_client *c, sd_dataset *ds, const char *meta_key, const redisReply *f, const redisReply *v)
{
    sd_meta *m;
    int rc;
    if (v->len >= 4 && memcmp(v->str, "SDT", 3) == 0) {
        char why[SD_ERRSTR_LEN], key[600];
        sd_tinfo t;
        const unsigned char *data;
        snprintf(key, sizeof key, "%.300s[%.200s]", meta_key, f->str);
        if (sd__decode_blob((const unsigned char *)v->str, v->len, &t, &data, key, why, sizeof why) != 0)
            return sd__fail(c, SD_ERR_FORMAT, "%s", why);
        if (t.ndim != 1)
            return sd__fail(c, SD_ERR_FORMAT, "metadata field '%s' of '%s' is a %zu-d tensor, not 1-d", f->str,
                            meta_key, t.ndim);
        if ((rc = sd__ds_add_meta_field(ds, f->str, 0, &m)) != SD_OK) return sd__fail(c, rc, "%s", ds->errstr);
        m->dtype = t.dtype;
        if (t.shape[0] && (rc = sd__ds_meta_append(ds, m, data, (size_t)t.shape[0])) != SD_OK)
            return sd__fail(c, rc, "%s", ds->errstr);
        return SD_OK;
    }
    if ((rc = sd__ds_add_meta_field(ds, f->str, 1, &m)) != SD_OK) return sd__fail(c, rc, "%s", ds->errstr);
    rc = sd__json_decode_strings(v->str, v->len, &m->strings);
    if (rc == -2) return sd__fail(c, SD_ERR_NOMEM, "out of memory reading field '%s'", f->str);
    if (rc != 0)
        return sd__fail(c, SD_ERR_FORMAT, "metadata field '%s' of '%s' is neither a tensor blob nor a JSON list of strings",
                        f->str, meta_key);
    return SD_OK;
}

/* Reads the dataset whose keys start with base ("p.{ds}"), naming it `name`. */
static int read_dataset(sd_client *c, const char *base, const char *name, sd_dataset **out)
{
    size_t bl = strlen(base);
    char *meta_key = malloc(bl + 6);
    if (!meta_key) return sd__fail(c, SD_ERR_NOMEM, "out of memory reading dataset '%s'", name);
    memcpy(meta_key, base, bl);
    memcpy(meta_key + bl, ".meta", 6);
    const char *argv[2] = {"HGETALL", meta_key};
    redisReply *r = NULL;
    sd_dataset *ds = NULL;
    sd_strv names = {0};
    char doing[300];
    snprintf(doing, sizeof doing, "reading dataset '%.200s'", base);
    int rc = sd__command_ok(c, doing, meta_key, 2, argv, NULL, &r);
    if (rc != SD_OK) goto done;
    if (r->type != REDIS_REPLY_ARRAY || r->elements % 2) {
        rc = sd__fail(c, SD_ERR_FORMAT, "unexpected reply reading '%s'", meta_key);
        goto done;
    }
    if (r->elements == 0) {
        rc = sd__fail(c, SD_ERR_NOT_FOUND, "dataset '%s' not found (no key '%s')", name, meta_key);
        goto done;
    }
    const redisReply *complete = NULL, *tnames = NULL;
    for (size_t i = 0; i < r->elements; i += 2) {
        if (r->element[i]->type != REDIS_REPLY_STRING || r->element[i + 1]->type != REDIS_REPLY_STRING) {
            rc = sd__fail(c, SD_ERR_FORMAT, "unexpected reply reading '%s'", meta_key);
            goto done;
        }
        if (strcmp(r->element[i]->str, ".COMPLETE") == 0 && r->element[i + 1]->len == 1 &&
            r->element[i + 1]->str[0] == '1')
            complete = r->element[i + 1];
        if (strcmp(r->element[i]->str, ".tensor_names") == 0) tnames = r->element[i + 1];
    }
    if (!complete) {
        rc = sd__fail(c, SD_ERR_NOT_FOUND, "dataset '%s' is incomplete (no .COMPLETE in '%s')", name, meta_key);
        goto done;
    }
    if ((rc = sd_dataset_new(&ds, name)) != SD_OK) {
        rc = sd__fail(c, rc, "cannot make a dataset named '%s'", name);
        goto done;
    }
    for (size_t i = 0; i < r->elements && rc == SD_OK; i += 2)
        if (r->element[i]->str[0] != '.') rc = read_field(c, ds, meta_key, r->element[i], r->element[i + 1]);
    if (rc != SD_OK) goto done;
    if (!tnames) {
        rc = sd__fail(c, SD_ERR_FORMAT, "dataset hash '%s' has no .tensor_names field", meta_key);
        goto done;
    }
    {
        int jr = sd__json_decode_strings(tnames->str, tnames->len, &names);
        if (jr != 0) {
            rc = jr == -2 ? sd__fail(c, SD_ERR_NOMEM, "out of memory")
                          : sd__fail(c, SD_ERR_FORMAT, "'.tensor_names' of '%s' is not a JSON list of strings",
                                     meta_key);
            goto done;
        }
    }
    for (size_t i = 0; i < names.n && rc == SD_OK; i++) {
        size_t tl = strlen(names.v[i]);
        char *key = malloc(bl + 1 + tl + 1);
        if (!key) {
            rc = sd__fail(c, SD_ERR_NOMEM, "out of memory");
            break;
        }
        memcpy(key, base, bl);
        key[bl] = '.';
        memcpy(key + bl + 1, names.v[i], tl + 1);
        sd_alloc_dest d = {NULL};
        sd_tinfo t;
        rc = sd__tensor_read(c, key, sd__dest_alloc, &d, &t);
        free(key);
        if (rc == SD_OK && sd__ds_adopt_tensor(ds, names.v[i], d.buf, &t) != SD_OK)
            rc = sd__fail(c, ds->err, "%s", ds->errstr);
        else if (rc == SD_OK)
            d.buf = NULL;
        free(d.buf);
    }
done:
    if (r) freeReplyObject(r);
    sd__strv_free(&names);
    free(meta_key);
    if (rc != SD_OK) {
        sd_dataset_free(ds);
        ds = NULL;
    }
    *out = ds;
    return rc;
}

int sd_get_dataset(sd_client *c, const char *name, sd_dataset **out)
{
    if (!c) return SD_ERR_ARG;
    sd__clear(c);
    if (!out) return sd__fail(c, SD_ERR_ARG, "out is NULL");
    *out = NULL;
    char *base;
    int rc = sd__dataset_base(c, 0, name, &base);
    if (rc != SD_OK) return rc;
    rc = read_dataset(c, base, name, out);
    free(base);
    return rc;
}

/* ---- delete, exists, poll ----------------------------------------------------- */

typedef struct del_ctx {
    const char *meta_key;
    char **keys;
    size_t n;
} del_ctx;

static void build_delete(sd_client *c, sd_pipe *p, void *ctx, int asking)
{
    const del_ctx *d = ctx;
    (void)c;
    if (asking) sd__pipe_asking(p);
    sd__pipe_begin(p, 1);
    sd__pipe_arg(p, "MULTI", 5);
    for (size_t i = 0; i < d->n; i++) sd__pipe_unlink_tensor(p, d->keys[i], strlen(d->keys[i]));
    sd__pipe_begin(p, 2);
    sd__pipe_arg(p, "UNLINK", 6);
    sd__pipe_argz(p, d->meta_key);
    sd__pipe_begin(p, 1);
    sd__pipe_arg(p, "EXEC", 4);
}

int sd_delete_dataset(sd_client *c, const char *name)
{
    if (!c) return SD_ERR_ARG;
    sd__clear(c);
    char *base, *meta_key = NULL;
    int rc = sd__dataset_base(c, 0, name, &base); /* as the Python client: the read prefix */
    if (rc != SD_OK) return rc;
    sd_strv names = {0};
    del_ctx d = {NULL, NULL, 0};
    int exists = 0;
    char doing[300];
    snprintf(doing, sizeof doing, "deleting dataset '%.200s'", base);
    if (!(meta_key = join3(base, ".meta", ""))) {
        rc = sd__fail(c, SD_ERR_NOMEM, "out of memory");
        goto done;
    }
    if ((rc = stored_names(c, meta_key, doing, &names, &exists)) != SD_OK) goto done;
    if (!exists) {
        rc = sd__fail(c, SD_ERR_NOT_FOUND, "dataset '%s' (key '%s') does not exist in the store", name, meta_key);
        goto done;
    }
    d.meta_key = meta_key;
    d.keys = calloc(names.n ? names.n : 1, sizeof *d.keys);
    if (!d.keys) {
        rc = sd__fail(c, SD_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < names.n; i++, d.n++) {
        if (!(d.keys[i] = join3(base, ".", names.v[i]))) {
            rc = sd__fail(c, SD_ERR_NOMEM, "out of memory");
            goto done;
        }
    }
    sd_collect col = {0};
    rc = sd__run_pipe(c, meta_key, strlen(meta_key), doing, build_delete, &d, &col);
done:
    for (size_t i = 0; i < d.n; i++) free(d.keys[i]);
    free(d.keys);
    sd__strv_free(&names);
    free(meta_key);
    free(base);
    return rc;
}

static int meta_complete(sd_client *c, const char *base, int *exists)
{
    size_t bl = strlen(base);
    char *meta_key = malloc(bl + 6);
    if (!meta_key) return sd__fail(c, SD_ERR_NOMEM, "out of memory");
    memcpy(meta_key, base, bl);
    memcpy(meta_key + bl, ".meta", 6);
    const char *argv[3] = {"HEXISTS", meta_key, ".COMPLETE"};
    redisReply *r;
    char doing[300];
    snprintf(doing, sizeof doing, "checking dataset '%.200s'", base);
    int rc = sd__command_ok(c, doing, meta_key, 3, argv, NULL, &r);
    free(meta_key);
    if (rc != SD_OK) return rc;
    *exists = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
    freeReplyObject(r);
    return SD_OK;
}

int sd_dataset_exists(sd_client *c, const char *name, int *exists)
{
    if (!c) return SD_ERR_ARG;
    sd__clear(c);
    if (!exists) return sd__fail(c, SD_ERR_ARG, "exists is NULL");
    char *base;
    int rc = sd__dataset_base(c, 0, name, &base);
    if (rc != SD_OK) return rc;
    rc = meta_complete(c, base, exists);
    free(base);
    return rc;
}

int sd_poll_dataset(sd_client *c, const char *name, int interval_ms, int tries, int *exists)
{
    if (!c) return SD_ERR_ARG;
    sd__clear(c);
    if (interval_ms < 0 || tries < 1)
        return sd__fail(c, SD_ERR_ARG, "poll needs interval_ms >= 0 and tries >= 1 (got %d, %d)", interval_ms, tries);
    for (int i = 0; i < tries; i++) {
        int rc = sd_dataset_exists(c, name, exists);
        if (rc != SD_OK || *exists) return rc;
        if (i + 1 < tries) sd__sleep_ms(interval_ms);
    }
    return SD_OK;
}

/* ---- aggregation lists ---------------------------------------------------------- */

int sd_append_to_list(sd_client *c, const char *list, const sd_dataset *ds)
{
    if (!c) return SD_ERR_ARG;
    sd__clear(c);
    int rc = sd__check_name(c, "list name", list);
    if (rc != SD_OK) return rc;
    if (!ds) return sd__fail(c, SD_ERR_ARG, "dataset is NULL");
    char *key, *entry;
    if ((rc = sd__key(c, 1, list, &key)) != SD_OK) return rc;
    if ((rc = sd__dataset_base(c, 1, ds->name, &entry)) != SD_OK) {
        free(key);
        return rc;
    }
    const char *argv[3] = {"RPUSH", key, entry};
    char doing[300];
    snprintf(doing, sizeof doing, "appending to list '%.200s'", key);
    rc = sd__command_ok(c, doing, key, 3, argv, NULL, NULL);
    free(key);
    free(entry);
    return rc;
}

int sd_get_list_length(sd_client *c, const char *list, size_t *length)
{
    if (!c) return SD_ERR_ARG;
    sd__clear(c);
    int rc = sd__check_name(c, "list name", list);
    if (rc != SD_OK) return rc;
    if (!length) return sd__fail(c, SD_ERR_ARG, "length is NULL");
    char *key;
    if ((rc = sd__key(c, 0, list, &key)) != SD_OK) return rc;
    const char *argv[2] = {"LLEN", key};
    redisReply *r;
    char doing[300];
    snprintf(doing, sizeof doing, "reading the length of list '%.200s'", key);
    rc = sd__command_ok(c, doing, key, 2, argv, NULL, &r);
    free(key);
    if (rc != SD_OK) return rc;
    *length = r->type == REDIS_REPLY_INTEGER && r->integer > 0 ? (size_t)r->integer : 0;
    freeReplyObject(r);
    return SD_OK;
}

static int poll_length(sd_client *c, const char *list, size_t length, int cmp, int interval_ms, int tries,
                       int *reached)
{
    if (!c) return SD_ERR_ARG;
    sd__clear(c);
    if (!reached) return sd__fail(c, SD_ERR_ARG, "reached is NULL");
    if (interval_ms < 0 || tries < 1)
        return sd__fail(c, SD_ERR_ARG, "poll needs interval_ms >= 0 and tries >= 1 (got %d, %d)", interval_ms, tries);
    *reached = 0;
    for (int i = 0; i < tries; i++) {
        size_t n;
        int rc = sd_get_list_length(c, list, &n);
        if (rc != SD_OK) return rc;
        if ((cmp == 0 && n == length) || (cmp > 0 && n >= length) || (cmp < 0 && n <= length)) {
            *reached = 1;
            return SD_OK;
        }
        if (i + 1 < tries) sd__sleep_ms(interval_ms);
    }
    return SD_OK;
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

int sd_get_datasets_from_list(sd_client *c, const char *list, sd_dataset ***datasets, size_t *count)
{
    if (!c) return SD_ERR_ARG;
    sd__clear(c);
    int rc = sd__check_name(c, "list name", list);
    if (rc != SD_OK) return rc;
    if (!datasets || !count) return sd__fail(c, SD_ERR_ARG, "datasets or count is NULL");
    *datasets = NULL;
    *count = 0;
    char *key;
    if ((rc = sd__key(c, 0, list, &key)) != SD_OK) return rc;
    const char *argv[4] = {"LRANGE", key, "0", "-1"};
    redisReply *r;
    char doing[300];
    snprintf(doing, sizeof doing, "reading list '%.200s'", key);
    rc = sd__command_ok(c, doing, key, 4, argv, NULL, &r);
    free(key);
    if (rc != SD_OK) return rc;
    sd_dataset **out = calloc(r->elements ? r->elements : 1, sizeof *out);
    size_t n = 0;
    if (!out) rc = sd__fail(c, SD_ERR_NOMEM, "out of memory");
    for (size_t i = 0; rc == SD_OK && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        const redisReply *e = r->element[i];
        const char *open = e->type == REDIS_REPLY_STRING ? memchr(e->str, '{', e->len) : NULL;
        const char *close = open ? memchr(open, '}', e->len - (size_t)(open - e->str)) : NULL;
        if (!close || close == open + 1) {
            rc = sd__fail(c, SD_ERR_FORMAT, "list '%s' holds '%.200s', not a dataset key", list,
                          e->type == REDIS_REPLY_STRING ? e->str : "a non-string");
            break;
        }
        size_t nl = (size_t)(close - open - 1);
        char *name = malloc(nl + 1);
        if (!name) {
            rc = sd__fail(c, SD_ERR_NOMEM, "out of memory");
            break;
        }
        memcpy(name, open + 1, nl);
        name[nl] = '\0';
        rc = read_dataset(c, e->str, name, &out[n]);
        free(name);
        if (rc == SD_OK) n++;
    }
    freeReplyObject(r);
    if (rc != SD_OK) {
        sd_datasets_free(out, n);
        return rc;
    }
    *datasets = out;
    *count = n;
    return SD_OK;
}

int sd_delete_list(sd_client *c, const char *list)
{
    if (!c) return SD_ERR_ARG;
    sd__clear(c);
    int rc = sd__check_name(c, "list name", list);
    if (rc != SD_OK) return rc;
    char *key;
    if ((rc = sd__key(c, 0, list, &key)) != SD_OK) return rc; /* as the Python client: the read prefix */
    const char *argv[2] = {"UNLINK", key};
    char doing[300];
    snprintf(doing, sizeof doing, "deleting list '%.200s'", key);
    rc = sd__command_ok(c, doing, key, 2, argv, NULL, NULL);
    free(key);
    return rc;
}
