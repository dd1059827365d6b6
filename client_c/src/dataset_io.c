/*
 * dataset_io.c: datasets in the store (DESIGN.md "Key layout", docs/protocol.md
 * "Datasets"), as the Python client's dataset_io module.
 *
 * Dataset `ds` under prefix p has the key base p.{ds}: the hash p.{ds}.meta
 * and one tensor key p.{ds}.<tensor>. The braces are a hash tag, so all of
 * it lives on one shard and every step is one round trip. Writing: the
 * chunks of large tensors, then one transaction (cleanup + SET per tensor,
 * cleanup + UNLINK of the tensors a previous dataset of that name had and
 * this one lacks, UNLINK meta, HSET meta ... .COMPLETE 1), so that a reader
 * sees a dataset whole or not at all.
 */
#include "sd_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int nomem(sd_client *c, const char *name)
{
    return sd__fail(c, SD_ERR_NOMEM, "out of memory with dataset '%s'", name);
}

/* The tensor names of the dataset stored at meta_key (*exists = 0 when there is none). */
static int stored_names(sd_client *c, const char *meta_key, const char *doing, sd_strv *names, int *exists)
{
    const char *argv[3] = {"HGET", meta_key, ".tensor_names"};
    redisReply *r;
    int rc = sd__exec_command(c, doing, meta_key, 3, argv, NULL, &r);
    if (rc != SD_OK) return rc;
    *exists = r->type == REDIS_REPLY_STRING;
    if (*exists && sd__json_decode_strings(r->str, r->len, names) == -2) rc = nomem(c, meta_key);
    freeReplyObject(r);
    return rc;
}

/* Every tensor key of the dataset at base, named in `names`; NULL-terminated. */
static int tensor_keys(sd_client *c, const char *base, char *const *names, size_t n, char ***out)
{
    char **keys = calloc(n + 1, sizeof *keys);
    int rc = keys ? SD_OK : nomem(c, base);
    for (size_t i = 0; rc == SD_OK && i < n; i++) rc = sd__dataset_key(c, base, names[i], &keys[i]);
    *out = keys;
    return rc;
}

static void free_keys(char **keys)
{
    for (size_t i = 0; keys && keys[i]; i++) free(keys[i]);
    free(keys);
}

/* ---- writing ---------------------------------------------------------------- */

typedef struct field_value {
    char *value;
    size_t len;
} field_value;

typedef struct put_ctx {
    const sd_dataset *ds;
    char *meta_key;
    char **keys;         /* one per tensor */
    sd_twrite *tw;       /* one per tensor */
    char *names_json;    /* .tensor_names */
    size_t names_len;
    field_value *fields; /* one per metadata field */
    char **stale;        /* keys of tensors the stored dataset has and this one lacks */
} put_ctx;

static void build_dataset(sd_pipe *p, const void *ctx, size_t i)
{
    const put_ctx *x = ctx;
    const sd_dataset *ds = x->ds;
    (void)i;
    sd__pipe_multi(p);
    for (size_t t = 0; t < ds->nt; t++) sd__pipe_head(p, &x->tw[t]);
    for (size_t s = 0; x->stale[s]; s++) sd__pipe_unlink_tensor(p, x->stale[s], strlen(x->stale[s]));
    sd__pipe_begin(p, 2);
    sd__pipe_arg(p, "UNLINK", 6);
    sd__pipe_argz(p, x->meta_key);
    sd__pipe_begin(p, 2 + 2 * (ds->nm + 2));
    sd__pipe_arg(p, "HSET", 4);
    sd__pipe_argz(p, x->meta_key);
    sd__pipe_arg(p, ".tensor_names", 13);
    sd__pipe_arg(p, x->names_json, x->names_len);
    for (size_t m = 0; m < ds->nm; m++) {
        sd__pipe_argz(p, ds->meta[m].name);
        sd__pipe_arg(p, x->fields[m].value, x->fields[m].len);
    }
    sd__pipe_arg(p, ".COMPLETE", 9);
    sd__pipe_arg(p, "1", 1);
    sd__pipe_exec(p);
}

/* The tensors' keys, heads and .tensor_names. */
static int prepare_tensors(sd_client *c, put_ctx *x, const char *base)
{
    const sd_dataset *ds = x->ds;
    char **names = calloc(ds->nt + 1, sizeof *names);
    x->tw = calloc(ds->nt + 1, sizeof *x->tw);
    if (!names || !x->tw) {
        free(names);
        return nomem(c, ds->name);
    }
    for (size_t i = 0; i < ds->nt; i++) names[i] = ds->tensors[i].name;
    int rc = tensor_keys(c, base, names, ds->nt, &x->keys);
    for (size_t i = 0; rc == SD_OK && i < ds->nt; i++) {
        const sd_dtensor *t = &ds->tensors[i];
        rc = sd__twrite_init(c, &x->tw[i], x->keys[i], t->data, t->dtype, t->ndim, t->shape, t->order);
    }
    if (rc == SD_OK && sd__json_encode_strings(names, ds->nt, &x->names_json, &x->names_len) != 0)
        rc = nomem(c, ds->name);
    free(names);
    return rc;
}

/* A metadata scalar field's value: a 1-D plain tensor blob. */
static int scalar_blob(sd_client *c, const sd_meta *m, field_value *out)
{
    size_t size = sd__itemsize(m->dtype), shape[1] = {m->count};
    uint32_t off = sd__plain_data_offset(1);
    out->len = off + m->count * size;
    out->value = malloc(out->len);
    if (!out->value) return nomem(c, m->name);
    sd__encode_header((unsigned char *)out->value, m->dtype, SD_ORDER_C, 1, shape, 0);
    if (m->count) memcpy(out->value + off, m->values, m->count * size);
    return SD_OK;
}

/* Metadata values: scalars as 1-D tensor blobs, strings as JSON arrays. */
static int prepare_fields(sd_client *c, put_ctx *x)
{
    const sd_dataset *ds = x->ds;
    int rc = SD_OK;
    x->fields = calloc(ds->nm + 1, sizeof *x->fields);
    if (!x->fields) return nomem(c, ds->name);
    for (size_t i = 0; i < ds->nm && rc == SD_OK; i++) {
        const sd_meta *m = &ds->meta[i];
        if (!m->is_string)
            rc = scalar_blob(c, m, &x->fields[i]);
        else if (sd__json_encode_strings(m->strings.v, m->strings.n, &x->fields[i].value, &x->fields[i].len) != 0)
            rc = nomem(c, ds->name);
    }
    return rc;
}

/* The tensors of the dataset stored under this name that this one lacks:
 * they go in the same transaction. */
static int find_stale(sd_client *c, put_ctx *x, const char *base)
{
    sd_strv old = {0}, gone = {0};
    int exists;
    int rc = stored_names(c, x->meta_key, "writing dataset", &old, &exists);
    for (size_t i = 0; rc == SD_OK && i < old.n; i++)
        if (!sd__ds_find_tensor(x->ds, old.v[i]) && sd__strv_push(&gone, old.v[i], strlen(old.v[i])) != 0)
            rc = nomem(c, x->ds->name);
    if (rc == SD_OK) rc = tensor_keys(c, base, gone.v, gone.n, &x->stale);
    sd__strv_free(&old);
    sd__strv_free(&gone);
    return rc;
}

static void free_put(put_ctx *x)
{
    if (x->fields)
        for (size_t i = 0; i < x->ds->nm; i++) free(x->fields[i].value);
    free(x->fields);
    free_keys(x->keys);
    free_keys(x->stale);
    free(x->tw);
    free(x->meta_key);
    free(x->names_json);
}

int sd_put_dataset(sd_client *c, const sd_dataset *ds)
{
    SD_ENTER(c);
    if (!ds) return sd__fail(c, SD_ERR_ARG, "dataset is NULL");
    if (ds->nt == 0 && ds->nm == 0)
        return sd__fail(c, SD_ERR_ARG, "dataset '%s' has no tensors and no metadata", ds->name);
    char *base;
    int rc = sd__dataset_base(c, 1, ds->name, &base);
    if (rc != SD_OK) return rc;
    put_ctx x = {.ds = ds};
    rc = sd__dataset_key(c, base, "meta", &x.meta_key);
    if (rc == SD_OK) rc = prepare_tensors(c, &x, base);
    if (rc == SD_OK) rc = prepare_fields(c, &x);
    if (rc == SD_OK) rc = find_stale(c, &x, base);
    /* chunks first; the transaction only once they all landed */
    if (rc == SD_OK) {
        sd_request rq = {.doing = "writing dataset", .name = base, .route_key = x.meta_key, .n = 1,
                         .build = build_dataset, .ctx = &x};
        rc = sd__write_tensors(c, x.tw, ds->nt, &rq);
    }
    free_put(&x);
    free(base);
    return rc;
}

/* ---- reading ---------------------------------------------------------------- */

/* A metadata scalar field's blob, validated as a tensor read is (attrs included). */
static int decode_scalars(sd_client *c, const char *key, const redisReply *v, sd_tinfo *t,
                          const unsigned char **data)
{
    char why[SD_ERRSTR_LEN], reason[600];
    const unsigned char *blob = (const unsigned char *)v->str;
    if (sd__decode_blob(blob, v->len, t, data, key, why, sizeof why) != 0) return sd__fail(c, SD_ERR_FORMAT, "%s", why);
    if (t->attrs_len && sd__json_check_description((const char *)blob + SD_FIXED_HEADER + 8 * t->ndim,
                                                   t->attrs_len, t->ndim, t->shape, reason, sizeof reason) != 0)
        return sd__fail(c, SD_ERR_FORMAT, "tensor at key '%s' has %s", key, reason);
    return SD_OK;
}

static int read_field(sd_client *c, sd_dataset *ds, const char *meta_key, const redisReply *f, const redisReply *v)
{
    sd_meta *m;
    int rc;
    if (v->len >= 4 && memcmp(v->str, "SDT", 3) == 0) {
        char key[600];
        sd_tinfo t;
        const unsigned char *data;
        snprintf(key, sizeof key, "%.300s[%.200s]", meta_key, f->str);
        if ((rc = decode_scalars(c, key, v, &t, &data)) != SD_OK) return rc;
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
    if (rc == -2) return nomem(c, ds->name);
    if (rc != 0)
        return sd__fail(c, SD_ERR_FORMAT,
                        "metadata field '%s' of '%s' is neither a tensor blob nor a JSON list of strings", f->str,
                        meta_key);
    return SD_OK;
}

/* A HGETALL reply of a complete dataset; *tnames: its .tensor_names. */
static int check_hash(sd_client *c, const redisReply *r, const char *meta_key, const char *name,
                      const redisReply **tnames)
{
    int complete = 0;
    *tnames = NULL;
    if (r->type != REDIS_REPLY_ARRAY || r->elements % 2)
        return sd__fail(c, SD_ERR_FORMAT, "unexpected reply reading '%s'", meta_key);
    if (r->elements == 0)
        return sd__fail(c, SD_ERR_NOT_FOUND, "dataset '%s' not found (no key '%s')", name, meta_key);
    for (size_t i = 0; i < r->elements; i += 2) {
        const redisReply *f = r->element[i], *v = r->element[i + 1];
        if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            return sd__fail(c, SD_ERR_FORMAT, "unexpected reply reading '%s'", meta_key);
        if (strcmp(f->str, ".COMPLETE") == 0) complete = v->len == 1 && v->str[0] == '1';
        if (strcmp(f->str, ".tensor_names") == 0) *tnames = v;
    }
    if (!complete)
        return sd__fail(c, SD_ERR_NOT_FOUND, "dataset '%s' is incomplete (no .COMPLETE in '%s')", name, meta_key);
    if (!*tnames) return sd__fail(c, SD_ERR_FORMAT, "dataset hash '%s' has no .tensor_names field", meta_key);
    return SD_OK;
}

static int read_tensors(sd_client *c, sd_dataset *ds, const char *base, const redisReply *tnames)
{
    sd_strv names = {0};
    char **keys = NULL;
    int rc = sd__json_decode_strings(tnames->str, tnames->len, &names);
    if (rc != 0) {
        sd__strv_free(&names);
        if (rc == -2) return nomem(c, ds->name);
        return sd__fail(c, SD_ERR_FORMAT, "'.tensor_names' of '%s.meta' is not a JSON list of strings", base);
    }
    rc = tensor_keys(c, base, names.v, names.n, &keys);
    for (size_t i = 0; rc == SD_OK && i < names.n; i++) {
        sd_alloc_dest d = {NULL};
        sd_tinfo t;
        rc = sd__tensor_read(c, keys[i], sd__dest_alloc, &d, &t);
        if (rc == SD_OK && sd__ds_adopt_tensor(ds, names.v[i], d.buf, &t) != SD_OK)
            rc = sd__fail(c, ds->err, "%s", ds->errstr);
        else if (rc == SD_OK)
            d.buf = NULL;
        free(d.buf);
    }
    free_keys(keys);
    sd__strv_free(&names);
    return rc;
}

/* The dataset's name: the hash tag of its key base. */
static int name_of(sd_client *c, const char *base, char **out)
{
    const char *tag;
    size_t len = strlen(base), taglen;
    if (!memchr(base, '{', len) || !sd__hash_tag(base, len, &tag, &taglen))
        return sd__fail(c, SD_ERR_FORMAT, "'%.200s' is not a dataset key (no {name} in it)", base);
    *out = strndup(tag, taglen);
    return *out ? SD_OK : nomem(c, base);
}

int sd__dataset_read(sd_client *c, const char *base, sd_dataset **out)
{
    char *name = NULL, *meta_key = NULL;
    redisReply *r = NULL;
    const redisReply *tnames;
    sd_dataset *ds = NULL;
    int rc = name_of(c, base, &name);
    if (rc == SD_OK) rc = sd__dataset_key(c, base, "meta", &meta_key);
    if (rc == SD_OK) {
        const char *argv[2] = {"HGETALL", meta_key};
        rc = sd__exec_command(c, "reading dataset", meta_key, 2, argv, NULL, &r);
    }
    if (rc == SD_OK) rc = check_hash(c, r, meta_key, name, &tnames);
    if (rc == SD_OK && (rc = sd_dataset_new(&ds, name)) != SD_OK)
        rc = sd__fail(c, rc, "cannot make a dataset named '%s'", name);
    for (size_t i = 0; rc == SD_OK && i < r->elements; i += 2)
        if (r->element[i]->str[0] != '.') rc = read_field(c, ds, meta_key, r->element[i], r->element[i + 1]);
    if (rc == SD_OK) rc = read_tensors(c, ds, base, tnames);
    if (r) freeReplyObject(r);
    free(meta_key);
    free(name);
    if (rc != SD_OK) {
        sd_dataset_free(ds);
        ds = NULL;
    }
    *out = ds;
    return rc;
}

/* An sd_read_fn: the dataset at key base `base` (ctx: the sd_dataset ** out). */
static int read_dataset(sd_client *c, const char *base, void *ctx)
{
    return sd__dataset_read(c, base, ctx);
}

int sd_get_dataset(sd_client *c, const char *name, sd_dataset **out)
{
    SD_ENTER(c);
    if (!out) return sd__fail(c, SD_ERR_ARG, "out is NULL");
    *out = NULL;
    sd_rkey k;
    int rc = sd__dataset_read_base(c, name, &k);
    if (rc != SD_OK) return rc;
    rc = sd__read_fallback(c, &k, read_dataset, out);
    sd__rkey_free(&k);
    return rc;
}

/* ---- delete, exists, poll ----------------------------------------------------- */

typedef struct del_ctx {
    const char *meta_key;
    char **keys; /* the tensors' keys, NULL-terminated */
} del_ctx;

static void build_delete(sd_pipe *p, const void *ctx, size_t i)
{
    const del_ctx *d = ctx;
    (void)i;
    sd__pipe_multi(p);
    for (size_t k = 0; d->keys[k]; k++) sd__pipe_unlink_tensor(p, d->keys[k], strlen(d->keys[k]));
    sd__pipe_begin(p, 2);
    sd__pipe_arg(p, "UNLINK", 6);
    sd__pipe_argz(p, d->meta_key);
    sd__pipe_exec(p);
}

/* Deletes the dataset `name` stored at key base `base`: its tensors and metadata. */
static int delete_at(sd_client *c, const char *name, const char *base)
{
    char *meta_key = NULL;
    int rc;
    sd_strv names = {0};
    del_ctx d = {NULL, NULL};
    int exists = 0;
    rc = sd__dataset_key(c, base, "meta", &meta_key);
    if (rc == SD_OK) rc = stored_names(c, meta_key, "deleting dataset", &names, &exists);
    if (rc == SD_OK && !exists)
        rc = sd__fail(c, SD_ERR_NOT_FOUND, "dataset '%s' (key '%s') does not exist in the store", name, meta_key);
    if (rc == SD_OK) rc = tensor_keys(c, base, names.v, names.n, &d.keys);
    if (rc == SD_OK) {
        d.meta_key = meta_key;
        sd_request rq = {.doing = "deleting dataset", .name = base, .route_key = meta_key, .n = 1,
                         .build = build_delete, .ctx = &d};
        rc = sd__exec(c, &rq);
    }
    free_keys(d.keys);
    sd__strv_free(&names);
    free(meta_key);
    return rc;
}

int sd_delete_dataset(sd_client *c, const char *name)
{
    SD_ENTER(c);
    char *base;
    /* the write prefix (its own keys only), or the read prefix with deletes_from_source */
    int rc = sd__dataset_base(c, !c->deletes_from_source, name, &base);
    if (rc != SD_OK) return rc;
    rc = delete_at(c, name, base);
    free(base);
    return rc;
}

/* ---- copy, rename ------------------------------------------------------------- */

int sd_copy_dataset(sd_client *c, const char *source, const char *dest)
{
    SD_ENTER(c);
    char *base;
    int rc = sd__dataset_base(c, 1, dest, &base); /* the destination name checked before anything is read */
    if (rc != SD_OK) return rc;
    free(base);
    sd_dataset *ds;
    if ((rc = sd_get_dataset(c, source, &ds)) != SD_OK) return rc;
    char *name = strdup(dest);
    if (!name) {
        sd_dataset_free(ds);
        return nomem(c, dest);
    }
    free(ds->name); /* the copy is the dataset read, under the new name */
    ds->name = name;
    rc = sd_put_dataset(c, ds);
    sd_dataset_free(ds);
    return rc;
}

int sd_rename_dataset(sd_client *c, const char *old_name, const char *new_name)
{
    SD_ENTER(c);
    char *src = NULL, *dst = NULL;
    sd_rkey k;
    int rc = sd__dataset_read_base(c, old_name, &k);
    if (rc == SD_OK) rc = sd__dataset_base(c, 1, new_name, &dst);
    if (rc == SD_OK && strcmp(k.key, dst) != 0) {
        src = k.key; /* the source read, not the write prefix's */
        k.key = NULL;
        rc = sd_copy_dataset(c, old_name, new_name);
        if (rc == SD_OK) rc = delete_at(c, old_name, src);
    }
    sd__rkey_free(&k);
    free(src);
    free(dst);
    return rc;
}

/* An sd_check_fn: whether the dataset at base (ctx) is complete. */
static int dataset_complete(sd_client *c, void *ctx, int *exists)
{
    char *meta_key;
    redisReply *r;
    int rc = sd__dataset_key(c, ctx, "meta", &meta_key);
    if (rc != SD_OK) return rc;
    const char *argv[3] = {"HEXISTS", meta_key, ".COMPLETE"};
    rc = sd__exec_command(c, "checking dataset", meta_key, 3, argv, NULL, &r);
    free(meta_key);
    if (rc != SD_OK) return rc;
    *exists = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
    freeReplyObject(r);
    return SD_OK;
}

int sd_dataset_exists(sd_client *c, const char *name, int *exists)
{
    SD_ENTER(c);
    if (!exists) return sd__fail(c, SD_ERR_ARG, "exists is NULL");
    sd_rkey k;
    int rc = sd__dataset_read_base(c, name, &k);
    if (rc != SD_OK) return rc;
    sd_fallback_check f = {dataset_complete, &k};
    rc = sd__check_fallback(c, &f, exists);
    sd__rkey_free(&k);
    return rc;
}

int sd_poll_dataset(sd_client *c, const char *name, int interval_ms, int tries, int *exists)
{
    SD_ENTER(c);
    sd_rkey k;
    int rc = sd__dataset_read_base(c, name, &k);
    if (rc != SD_OK) return rc;
    sd_fallback_check f = {dataset_complete, &k};
    rc = sd__poll(c, interval_ms, tries, sd__check_fallback, &f, exists);
    sd__rkey_free(&k);
    return rc;
}
