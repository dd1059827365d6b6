/*
 * tensors.c: tensors in the store, as docs/protocol.md says.
 *
 * Writing: data above 8 MiB go to 4 MiB chunk keys first (all SETs in one
 * pipeline), then MULTI / EVAL cleanup / SET head / EXEC; the payload goes
 * from the caller's array to the socket (command.c). The head goes out on
 * the connection that carried the chunks, or the whole write is done again:
 * a store that restarted in between has lost them. Reading: GET through
 * one of exec.c's raw requests, so the header is parsed and validated off
 * the socket and the data are received straight into their destination (a
 * new buffer, or the caller's for unpack). A chunked head's chunks are
 * first checked (one pipelined STRLEN each: the store must hold what the
 * head claims before anything is allocated for it), then pulled through a
 * window of pipelined GETs; a missing chunk re-reads the head once, and
 * chunks missing again are a concurrent overwrite (SD_ERR_CONCURRENT).
 */
#include "sd_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define CHUNK_WINDOW 8        /* chunk GETs in flight: bounds the replies the server buffers */
#define PROBE_BATCH 4096      /* chunk STRLENs per round trip */
#define WRITE_TRIES 3         /* whole writes, when the connection went between chunks and head */

static const char CHUNK_NS[] = "simdask:chunk:{";

/* ---- writing ---------------------------------------------------------------- */

static int check_array(sd_client *c, const char *key, const void *data, int dtype, size_t ndim, const size_t *shape,
                       int order, size_t *nbytes)
{
    if (sd__itemsize(dtype) == 0) return sd__fail(c, SD_ERR_ARG, "unknown dtype code %d for '%s'", dtype, key);
    if (order != SD_ORDER_C && order != SD_ORDER_F)
        return sd__fail(c, SD_ERR_ARG, "order must be SD_ORDER_C or SD_ORDER_F for '%s'", key);
    if (ndim > SD_MAX_NDIM)
        return sd__fail(c, SD_ERR_ARG, "'%s': a tensor has at most %d dimensions, got %zu", key, SD_MAX_NDIM, ndim);
    if (ndim > 0 && !shape) return sd__fail(c, SD_ERR_ARG, "shape is NULL for the %zu-d tensor '%s'", ndim, key);
    if (sd__nbytes_sz(ndim, shape, sd__itemsize(dtype), nbytes) != 0) {
        char shp[400];
        sd__format_shape_sz(shp, sizeof shp, ndim, shape);
        return sd__fail(c, SD_ERR_ARG, "'%s': the size of shape %s overflows", key, shp);
    }
    if (*nbytes > 0 && !data) return sd__fail(c, SD_ERR_ARG, "data is NULL for the non-empty tensor '%s'", key);
    return SD_OK;
}

int sd__twrite_init(sd_client *c, sd_twrite *tw, const char *key, const void *data, int dtype, size_t ndim,
                    const size_t *shape, int order)
{
    return sd__twrite_init_attrs(c, tw, key, data, dtype, ndim, shape, order, "", 0);
}

void sd__twrite_free(sd_twrite *tw)
{
    free(tw->long_head);
    tw->long_head = NULL;
}

static unsigned char *twrite_head(const sd_twrite *tw)
{
    return tw->long_head ? tw->long_head : (unsigned char *)tw->head;
}

int sd__twrite_init_attrs(sd_client *c, sd_twrite *tw, const char *key, const void *data, int dtype, size_t ndim,
                          const size_t *shape, int order, const char *attrs, size_t attrs_len)
{
    size_t nbytes;
    tw->long_head = NULL;
    int rc = check_array(c, key, data, dtype, ndim, shape, order, &nbytes);
    if (rc != SD_OK) return rc;
    if (attrs_len > (size_t)1 << 30)
        return sd__fail(c, SD_ERR_ARG, "the description of tensor '%s' is %zu bytes of JSON (at most 1 GiB)", key,
                        attrs_len);
    tw->key = key;
    tw->keylen = strlen(key);
    tw->data = data;
    tw->nbytes = nbytes;
    tw->has_tag = sd__hash_tag(key, tw->keylen, &tw->tag, &tw->taglen);
    tw->chunked = tw->has_tag && nbytes > SD_CHUNK_THRESHOLD;
    tw->headlen = sd__data_offset(ndim, attrs_len);
    if (tw->headlen + SD_CHUNK_REF > sizeof tw->head && !(tw->long_head = malloc(tw->headlen + SD_CHUNK_REF)))
        return sd__fail(c, SD_ERR_NOMEM, "out of memory for the %zu-byte header of tensor '%s'", tw->headlen, key);
    sd__encode_header_attrs(twrite_head(tw), dtype, order, ndim, shape, tw->chunked, attrs, (uint32_t)attrs_len);
    if (tw->chunked) {
        size_t n = (nbytes + SD_CHUNK_BYTES - 1) / SD_CHUNK_BYTES;
        if (n > 1048576)
            return sd__fail(c, SD_ERR_ARG, "tensor '%s' is too large (%zu bytes, at most 2^20 chunks)", key, nbytes);
        tw->ref.n_chunks = (uint32_t)n;
        tw->ref.chunk_bytes = SD_CHUNK_BYTES;
        if (sd__random_bytes(tw->ref.generation, 16) != 0)
            return sd__fail(c, SD_ERR_STORE, "no random bytes for the chunk generation of '%s'", key);
        sd__hex(tw->genhex, tw->ref.generation, 16);
        sd__encode_chunkref(twrite_head(tw) + tw->headlen, &tw->ref);
        tw->headlen += SD_CHUNK_REF;
    }
    return SD_OK;
}

static void pipe_chunk_key(sd_pipe *p, const char *tag, size_t taglen, const char *genhex, size_t i)
{
    char idx[32];
    int w = snprintf(idx, sizeof idx, ":%zu", i);
    sd__pipe_arg_begin(p, sizeof CHUNK_NS - 1 + taglen + 2 + 32 + (size_t)w);
    sd__pipe_part(p, CHUNK_NS, sizeof CHUNK_NS - 1);
    sd__pipe_part(p, tag, taglen);
    sd__pipe_part(p, "}:", 2);
    sd__pipe_part(p, genhex, 32);
    sd__pipe_part(p, idx, (size_t)w);
    sd__pipe_arg_end(p);
}

static void pipe_cprefix(sd_pipe *p, const char *tag, size_t taglen)
{
    sd__pipe_arg_begin(p, sizeof CHUNK_NS - 1 + taglen + 2);
    sd__pipe_part(p, CHUNK_NS, sizeof CHUNK_NS - 1);
    sd__pipe_part(p, tag, taglen);
    sd__pipe_part(p, "}:", 2);
    sd__pipe_arg_end(p);
}

static void pipe_cleanup(sd_pipe *p, const char *key, size_t keylen, const char *tag, size_t taglen)
{
    sd__pipe_begin(p, 5);
    sd__pipe_arg(p, "EVAL", 4);
    sd__pipe_arg(p, sd__cleanup_script, sd__cleanup_script_len);
    sd__pipe_arg(p, "1", 1);
    sd__pipe_arg(p, key, keylen);
    pipe_cprefix(p, tag, taglen);
}

static void pipe_chunk_sets(sd_pipe *p, const sd_twrite *tw)
{
    const char *data = tw->data;
    for (size_t i = 0; i < tw->ref.n_chunks; i++) {
        size_t off = i * SD_CHUNK_BYTES;
        size_t len = tw->nbytes - off < SD_CHUNK_BYTES ? tw->nbytes - off : SD_CHUNK_BYTES;
        sd__pipe_begin(p, 3);
        sd__pipe_arg(p, "SET", 3);
        pipe_chunk_key(p, tw->tag, tw->taglen, tw->genhex, i);
        sd__pipe_arg_begin(p, len);
        sd__pipe_part_ext(p, data + off, len);
        sd__pipe_arg_end(p);
    }
}

void sd__pipe_head(sd_pipe *p, const sd_twrite *tw)
{
    if (tw->has_tag) pipe_cleanup(p, tw->key, tw->keylen, tw->tag, tw->taglen);
    sd__pipe_begin(p, 3);
    sd__pipe_arg(p, "SET", 3);
    sd__pipe_arg(p, tw->key, tw->keylen);
    size_t datalen = tw->chunked ? 0 : tw->nbytes;
    sd__pipe_arg_begin(p, tw->headlen + datalen);
    sd__pipe_part(p, twrite_head(tw), tw->headlen);
    if (datalen) sd__pipe_part_ext(p, tw->data, datalen);
    sd__pipe_arg_end(p);
}

void sd__pipe_unlink_tensor(sd_pipe *p, const char *key, size_t keylen)
{
    const char *tag;
    size_t taglen;
    if (sd__hash_tag(key, keylen, &tag, &taglen)) pipe_cleanup(p, key, keylen, tag, taglen);
    sd__pipe_begin(p, 2);
    sd__pipe_arg(p, "UNLINK", 6);
    sd__pipe_arg(p, key, keylen);
}

/* Unit i of a chunk write: the chunk SETs of tensor i (none for a plain one). */
static void build_chunk_sets(sd_pipe *p, const void *ctx, size_t i)
{
    const sd_twrite *tw = (const sd_twrite *)ctx + i;
    if (tw->chunked) pipe_chunk_sets(p, tw);
}

/* Unit i of the removal of a refused chunk write: UNLINK of tensor i's chunks. */
static void build_chunk_unlink(sd_pipe *p, const void *ctx, size_t i)
{
    const sd_twrite *tw = (const sd_twrite *)ctx + i;
    if (!tw->chunked) return;
    sd__pipe_begin(p, 1 + tw->ref.n_chunks);
    sd__pipe_arg(p, "UNLINK", 6);
    for (size_t j = 0; j < tw->ref.n_chunks; j++) pipe_chunk_key(p, tw->tag, tw->taglen, tw->genhex, j);
}

/* The chunk SETs of n tensors in one pipeline; on a refusal removes them again. */
static int write_chunks(sd_client *c, sd_twrite *tw, size_t n, const sd_request *head)
{
    sd_request rq = {.doing = head->doing, .name = head->name, .route_key = head->route_key, .n = n,
                     .build = build_chunk_sets, .ctx = tw};
    int rc = sd__exec(c, &rq);
    if (rc == SD_OK || rc == SD_ERR_CONNECTION || rc == SD_ERR_TIMEOUT || rc == SD_ERR_NOMEM) return rc;
    /* The store refused a chunk (e.g. full): remove the ones written, so that
     * nothing changed, and report the refusal rather than the removal. */
    int err = c->err;
    char msg[SD_ERRSTR_LEN];
    memcpy(msg, c->errstr, sizeof msg);
    rq.build = build_chunk_unlink;
    sd__exec(c, &rq);
    c->err = err;
    memcpy(c->errstr, msg, sizeof msg);
    return rc;
}

int sd__write_tensors(sd_client *c, sd_twrite *tw, size_t n, sd_request *head)
{
    int chunked = 0;
    for (size_t i = 0; i < n; i++) chunked |= tw[i].chunked;
    /* Plain heads: writing twice is writing once. A chunked head sent twice
     * would have its cleanup delete its own chunks, and sent on a new
     * connection might name chunks a restarted store lost: it goes once, on
     * the chunks' connection; if that is gone before it went out, the whole
     * write again. */
    head->resend = chunked ? SD_RESEND_SAME_CONN : SD_RESEND_IDEMPOTENT;
    for (int tries = 1;; tries++) {
        int rc = chunked ? write_chunks(c, tw, n, head) : SD_OK;
        if (rc != SD_OK) return rc;
        rc = sd__exec(c, head);
        if (rc != SD_ERR_CONNECTION || !chunked || !head->unsent || tries == WRITE_TRIES) return rc;
    }
}

/* A key with a chunk prefix writes and deletes in a transaction with the
 * cleanup of its previous chunks; one whose braces allow no chunks cannot
 * have any, and goes without. */
void sd__build_head(sd_pipe *p, const void *ctx, size_t i)
{
    const sd_twrite *tw = ctx;
    (void)i;
    if (tw->has_tag) sd__pipe_multi(p);
    sd__pipe_head(p, tw);
    if (tw->has_tag) sd__pipe_exec(p);
}

/* The one write path of sd_put_tensor and sd_put_tensor_meta (meta NULL: no description). */
static int put_tensor(sd_client *c, const char *name, const void *data, int dtype, size_t ndim, const size_t *shape,
                      int order, const sd_tensor_meta *meta)
{
    char *key, *attrs = NULL, why[SD_ERRSTR_LEN - 400];
    size_t attrs_len = 0;
    int rc = sd__key(c, "tensor name", 1, name, &key);
    if (rc != SD_OK) return rc;
    if (meta && ndim <= SD_MAX_NDIM && (ndim == 0 || shape)) { /* else check_array says what is wrong */
        int bad = sd__meta_json(meta, ndim, shape, &attrs, &attrs_len, why, sizeof why);
        if (bad == -1) rc = sd__fail(c, SD_ERR_ARG, "tensor '%s': %s", key, why);
        if (bad == -2) rc = sd__fail(c, SD_ERR_NOMEM, "out of memory describing tensor '%s'", key);
    }
    sd_twrite tw = {.long_head = NULL};
    if (rc == SD_OK)
        rc = sd__twrite_init_attrs(c, &tw, key, data, dtype, ndim, shape, order, attrs ? attrs : "", attrs_len);
    /* chunks in one pipelined round trip, then (only if they all landed)
     * the head transaction, which also drops the previous chunks */
    if (rc == SD_OK) {
        sd_request rq = {.doing = "writing tensor", .name = key, .route_key = key, .n = 1, .build = sd__build_head,
                         .ctx = &tw};
        rc = sd__write_tensors(c, &tw, 1, &rq);
    }
    sd__twrite_free(&tw);
    free(attrs);
    free(key);
    return rc;
}

int sd_put_tensor(sd_client *c, const char *name, const void *data, sd_dtype dtype, size_t ndim,
                  const size_t *shape, sd_order order)
{
    SD_ENTER(c);
    return put_tensor(c, name, data, (int)dtype, ndim, shape, (int)order, NULL);
}

int sd_put_tensor_meta(sd_client *c, const char *name, const void *data, sd_dtype dtype, size_t ndim,
                       const size_t *shape, sd_order order, const sd_tensor_meta *meta)
{
    SD_ENTER(c);
    return put_tensor(c, name, data, (int)dtype, ndim, shape, (int)order, meta);
}

/* ---- reading ---------------------------------------------------------------- */

/* The GET of a tensor's head, and what it found. */
typedef struct head_read {
    const char *key;
    sd_dest_fn dest;
    void *dest_ctx;
    sd_tinfo *t;
    sd_chunkref ref;   /* the chunked form's reference ... */
    const char *tag;   /* ... and its chunk keys' hash tag (inside key) */
    size_t taglen;
    char **attrs;      /* when not NULL: gets the attrs (malloc'ed, t->attrs_len bytes; copy_tensor's) */
} head_read;

static void build_get(sd_pipe *p, const void *ctx, size_t i)
{
    const head_read *h = ctx;
    (void)i;
    sd__pipe_begin(p, 2);
    sd__pipe_arg(p, "GET", 3);
    sd__pipe_argz(p, h->key);
}

static int format_error(sd_client *c, const char *why)
{
    return sd__fail(c, SD_ERR_FORMAT, "%s", why);
}

/* The attrs (the description): checked, since a reader that passed malformed ones on would lie, and kept
 * in *keep when the caller asked (a copy writes them again). */
static int read_attrs(sd_client *c, sd_value *v, const char *key, const sd_tinfo *t, char **keep)
{
    char small[1024], why[SD_ERRSTR_LEN], reason[600];
    char *buf = t->attrs_len <= sizeof small && !keep ? small : malloc(t->attrs_len);
    if (!buf) return sd__fail(c, SD_ERR_NOMEM, "out of memory for the %u bytes of attrs of '%s'", t->attrs_len, key);
    int rc = sd__value_read(c, v, buf, t->attrs_len);
    if (rc == SD_OK && sd__json_check_description(buf, t->attrs_len, t->ndim, t->shape, reason, sizeof reason) != 0) {
        snprintf(why, sizeof why, "tensor at key '%s' has %s", key, reason);
        rc = format_error(c, why);
    }
    if (keep && rc == SD_OK) {
        free(*keep); /* a head read again */
        *keep = buf;
    } else if (buf != small) {
        free(buf);
    }
    return rc;
}

/* Reads and validates the header, attrs included; leaves the value at data_offset. */
static int read_header(sd_client *c, sd_value *v, const char *key, sd_tinfo *t, char **keep_attrs)
{
    unsigned char h[SD_FIXED_HEADER + 8 * SD_MAX_NDIM];
    char why[SD_ERRSTR_LEN];
    int rc;
    if (v->len < SD_FIXED_HEADER)
        return sd__fail(c, SD_ERR_FORMAT,
                        "value at key '%s' is not a simdask tensor: %lld bytes, shorter than the 16-byte header", key,
                        v->len);
    if ((rc = sd__value_read(c, v, h, SD_FIXED_HEADER)) != SD_OK) return rc;
    if (sd__decode_fixed(h, t, key, why, sizeof why) != 0) return format_error(c, why);
    size_t need = SD_FIXED_HEADER + 8 * t->ndim;
    if ((unsigned long long)v->len < need)
        return sd__fail(c, SD_ERR_FORMAT, "tensor at key '%s' is truncated: %lld bytes, header needs %zu", key, v->len,
                        need);
    if ((rc = sd__value_read(c, v, h + SD_FIXED_HEADER, need - SD_FIXED_HEADER)) != SD_OK) return rc;
    /* the length first: what the header claims must be in the value before anything is read for it */
    if (sd__decode_shape(h + SD_FIXED_HEADER, t, key, why, sizeof why) != 0 ||
        sd__check_length(t, (uint64_t)v->len, key, why, sizeof why) != 0)
        return format_error(c, why);
    if (t->attrs_len && (rc = read_attrs(c, v, key, t, keep_attrs)) != SD_OK) return rc;
    return sd__value_skip(c, v, t->data_offset - need - t->attrs_len); /* the padding */
}

static int check_bools(sd_client *c, const char *key, const sd_tinfo *t, const void *data)
{
    char why[SD_ERRSTR_LEN];
    if (t->dtype != SD_BOOL || sd__check_bools(data, t->nbytes, key, why, sizeof why) == 0) return SD_OK;
    return format_error(c, why);
}

/* The chunked form: its reference, and where its chunks can be. */
static int read_chunkref(sd_client *c, sd_value *v, head_read *h)
{
    unsigned char raw[SD_CHUNK_REF];
    char why[SD_ERRSTR_LEN];
    int rc = sd__value_read(c, v, raw, SD_CHUNK_REF);
    if (rc != SD_OK) return rc;
    if (sd__decode_chunkref(raw, h->t, &h->ref, h->key, why, sizeof why) != 0) return format_error(c, why);
    if (!sd__hash_tag(h->key, strlen(h->key), &h->tag, &h->taglen))
        return sd__fail(c, SD_ERR_FORMAT, "chunked head at key '%s', whose braces allow no chunks", h->key);
    return SD_OK;
}

/* The head's value: the plain form's data go to their destination, the
 * chunked form's reference is kept for read_chunked. */
static int on_head(sd_client *c, void *ctx, size_t i, sd_value *v)
{
    head_read *h = ctx;
    void *dst;
    int rc;
    (void)i;
    if (v->len < 0) return sd__fail(c, SD_ERR_NOT_FOUND, "tensor '%s' not found", h->key);
    if ((rc = read_header(c, v, h->key, h->t, h->attrs)) != SD_OK) return rc;
    if (h->t->chunked) return read_chunkref(c, v, h);
    if ((rc = h->dest(c, h->dest_ctx, h->key, h->t, &dst)) != SD_OK) return rc;
    if ((rc = sd__value_read(c, v, dst, h->t->nbytes)) != SD_OK) return rc;
    return check_bools(c, h->key, h->t, dst);
}

/* The chunks of one generation: checking them, then reading them. */
typedef struct chunks_read {
    const head_read *h;
    char genhex[33];
    size_t base;       /* probe: the batch's first chunk */
    unsigned char *dst;
    size_t n_missing, first_missing;
} chunks_read;

static size_t chunk_len(const chunks_read *r, size_t i)
{
    size_t off = i * r->h->ref.chunk_bytes, nb = r->h->t->nbytes;
    return nb - off < r->h->ref.chunk_bytes ? nb - off : (size_t)r->h->ref.chunk_bytes;
}

static void missing(chunks_read *r, size_t i)
{
    if (!r->n_missing++ || i < r->first_missing) r->first_missing = i;
}

static void restart_chunks(void *ctx)
{
    chunks_read *r = ctx;
    r->n_missing = 0;
}

static int wrong_length(sd_client *c, const chunks_read *r, size_t i, long long len)
{
    return sd__fail(c, SD_ERR_FORMAT, "chunk %zu of tensor '%s' is %lld bytes, expected %zu: truncated or corrupt", i,
                    r->h->key, len, chunk_len(r, i));
}

static void build_chunk_strlen(sd_pipe *p, const void *ctx, size_t i)
{
    const chunks_read *r = ctx;
    sd__pipe_begin(p, 2);
    sd__pipe_arg(p, "STRLEN", 6);
    pipe_chunk_key(p, r->h->tag, r->h->taglen, r->genhex, r->base + i);
}

static int on_chunk_strlen(sd_client *c, void *ctx, size_t i, const redisReply *rep)
{
    chunks_read *r = ctx;
    i += r->base;
    if (rep->type != REDIS_REPLY_INTEGER)
        return sd__fail(c, SD_ERR_STORE, "unexpected reply checking chunk %zu of tensor '%s'", i, r->h->key);
    if (rep->integer == 0) { /* no such key: a chunk is never empty */
        missing(r, i);
        return SD_OK;
    }
    return (unsigned long long)rep->integer == chunk_len(r, i) ? SD_OK : wrong_length(c, r, i, rep->integer);
}

/* Whether the store holds every chunk at its length, PROBE_BATCH a round trip, up to the first missing one. */
static int probe_chunks(sd_client *c, chunks_read *r)
{
    uint32_t n = r->h->ref.n_chunks;
    for (r->base = 0; r->base < n && !r->n_missing; r->base += PROBE_BATCH) {
        sd_request rq = {.doing = "checking the chunks of tensor", .name = r->h->key, .route_key = r->h->key,
                         .n = n - r->base < PROBE_BATCH ? n - r->base : PROBE_BATCH, .build = build_chunk_strlen,
                         .ctx = r, .on_reply = on_chunk_strlen, .restart = restart_chunks};
        int rc = sd__exec(c, &rq);
        if (rc != SD_OK) return rc;
    }
    return SD_OK;
}

static void build_chunk_get(sd_pipe *p, const void *ctx, size_t i)
{
    const chunks_read *r = ctx;
    sd__pipe_begin(p, 2);
    sd__pipe_arg(p, "GET", 3);
    pipe_chunk_key(p, r->h->tag, r->h->taglen, r->genhex, i);
}

static int on_chunk(sd_client *c, void *ctx, size_t i, sd_value *v)
{
    chunks_read *r = ctx;
    if (v->len < 0) { /* overwritten meanwhile: the rest is gone too, most likely */
        missing(r, i);
        v->stop = 1;
        return SD_OK;
    }
    if ((unsigned long long)v->len != chunk_len(r, i)) return wrong_length(c, r, i, v->len);
    return sd__value_read(c, v, r->dst + i * r->h->ref.chunk_bytes, chunk_len(r, i));
}

/* Checks the chunks, then GETs them into the destination, CHUNK_WINDOW in
 * flight; r->n_missing says whether one was missing. */
static int read_chunked(sd_client *c, const head_read *h, chunks_read *r)
{
    void *dst;
    memset(r, 0, sizeof *r);
    r->h = h;
    sd__hex(r->genhex, h->ref.generation, 16);
    int rc = probe_chunks(c, r);
    if (rc != SD_OK || r->n_missing) return rc;
    if ((rc = h->dest(c, h->dest_ctx, h->key, h->t, &dst)) != SD_OK) return rc;
    r->dst = dst;
    sd_request rq = {.doing = "reading the chunks of tensor", .name = h->key, .route_key = h->key,
                     .n = h->ref.n_chunks, .build = build_chunk_get, .ctx = r, .value = on_chunk,
                     .restart = restart_chunks, .window = CHUNK_WINDOW};
    rc = sd__exec(c, &rq);
    return rc != SD_OK || r->n_missing ? rc : check_bools(c, h->key, h->t, dst);
}

static int damaged(sd_client *c, const char *key, const sd_chunkref *ref, size_t missing_chunk)
{
    char gen[33];
    sd__hex(gen, ref->generation, 16);
    return sd__fail(c, SD_ERR_FORMAT, "tensor '%s' is incomplete: chunk %zu of %u (generation %s) is missing", key,
                    missing_chunk, (unsigned)ref->n_chunks, gen);
}

static int overwritten(sd_client *c, const char *key, const unsigned char *first, const unsigned char *second)
{
    char a[33], b[33];
    sd__hex(a, first, 16);
    sd__hex(b, second, 16);
    return sd__fail(c, SD_ERR_CONCURRENT,
                    "tensor '%s' was overwritten twice while being read (chunks of generations %s and %s vanished); "
                    "read it again", key, a, b);
}

/* sd__tensor_read; attrs, when not NULL, gets the attrs (NULL when there are none; free it either way). */
static int tensor_read(sd_client *c, const char *key, sd_dest_fn dest, void *ctx, sd_tinfo *t, char **attrs)
{
    head_read h = {key, dest, ctx, t, {0}, NULL, 0, attrs};
    sd_request rq = {.doing = "reading tensor", .name = key, .route_key = key, .n = 1, .build = build_get, .ctx = &h,
                     .value = on_head};
    unsigned char seen[16];
    size_t seen_missing = 0;
    for (int reread = 0;; reread = 1) {
        chunks_read r;
        int rc = sd__exec(c, &rq);
        if (rc != SD_OK || !t->chunked) return rc;
        if (reread && memcmp(seen, h.ref.generation, 16) == 0) return damaged(c, key, &h.ref, seen_missing);
        if ((rc = read_chunked(c, &h, &r)) != SD_OK || !r.n_missing) return rc;
        if (reread) return overwritten(c, key, seen, h.ref.generation);
        /* a concurrent overwrite, probably: the head may name another generation by now */
        memcpy(seen, h.ref.generation, 16);
        seen_missing = r.first_missing;
    }
}

int sd__tensor_read(sd_client *c, const char *key, sd_dest_fn dest, void *ctx, sd_tinfo *t)
{
    return tensor_read(c, key, dest, ctx, t, NULL);
}

/* Large buffers get transparent huge pages where the kernel offers them on
 * request: receiving into fresh memory then costs one page fault per 2 MiB
 * instead of one per 4 KiB. Freed with free() (sd_free) like any other. */
static void *alloc_data(size_t n)
{
    const size_t huge = (size_t)2 << 20;
    if (n < SD_CHUNK_BYTES) return malloc(n ? n : 1);
    void *p = NULL;
    if (posix_memalign(&p, huge, n) != 0) return NULL;
#ifdef MADV_HUGEPAGE
    madvise(p, n / huge * huge, MADV_HUGEPAGE); /* whole huge pages inside the allocation */
#endif
    return p;
}

int sd__dest_alloc(sd_client *c, void *ctx, const char *key, const sd_tinfo *t, void **dst)
{
    sd_alloc_dest *d = ctx;
    free(d->buf);
    d->buf = alloc_data(t->nbytes);
    if (!d->buf) return sd__fail(c, SD_ERR_NOMEM, "out of memory for the %zu bytes of tensor '%s'", t->nbytes, key);
    *dst = d->buf;
    return SD_OK;
}

static int check_unpack(sd_client *c, const char *key, const sd_tinfo *t, int dtype, size_t ndim, const size_t *shape)
{
    char stored[400], wanted[400];
    int same = t->ndim == ndim;
    for (size_t i = 0; same && i < ndim; i++) same = t->shape[i] == shape[i];
    sd__format_shape(stored, sizeof stored, t->ndim, t->shape);
    if (t->dtype != dtype)
        return sd__fail(c, SD_ERR_TYPE, "tensor '%s' is %s with shape %s, not %s", key, sd__dtype_str(t->dtype),
                        stored, sd__dtype_str(dtype));
    if (!same) {
        sd__format_shape_sz(wanted, sizeof wanted, ndim, shape);
        return sd__fail(c, SD_ERR_SHAPE, "tensor '%s' has shape %s (%s), not %s", key, stored,
                        sd__dtype_str(t->dtype), wanted);
    }
    return SD_OK;
}

typedef struct unpack_dest {
    void *buffer;
    int dtype, order;
    size_t ndim;
    const size_t *shape;
    void *tmp;
    size_t flat_ndim; /* > 0: a flat buffer (shape {n}) of a tensor of this many dimensions ... */
    size_t flat_shape[SD_MAX_NDIM]; /* ... and this shape, laid out in `order` */
} unpack_dest;

/* Whether the caller's 1-D shape {n} asks for a tensor of another rank, flat: n is its element count. */
static int flat_request(const sd_tinfo *t, const unpack_dest *u)
{
    if (u->ndim != 1 || t->ndim < 2 || t->dtype != u->dtype) return 0;
    uint64_t n = 1;
    for (size_t i = 0; i < t->ndim; i++) n *= t->shape[i];
    return n == u->shape[0];
}

static int dest_unpack(sd_client *c, void *ctx, const char *key, const sd_tinfo *t, void **dst)
{
    unpack_dest *u = ctx;
    u->flat_ndim = 0;
    if (flat_request(t, u)) {
        u->flat_ndim = t->ndim;
        for (size_t i = 0; i < t->ndim; i++) u->flat_shape[i] = (size_t)t->shape[i];
    } else {
        int rc = check_unpack(c, key, t, u->dtype, u->ndim, u->shape);
        if (rc != SD_OK) return rc;
    }
    if (t->order == u->order || t->ndim < 2) {
        *dst = u->buffer;
        return SD_OK;
    }
    free(u->tmp);
    u->tmp = alloc_data(t->nbytes);
    if (!u->tmp) return sd__fail(c, SD_ERR_NOMEM, "out of memory transposing tensor '%s'", key);
    *dst = u->tmp;
    return SD_OK;
}

/* What sd_get_tensor read: the buffer it allocated and the header. */
typedef struct get_read {
    sd_alloc_dest d;
    sd_tinfo t;
} get_read;

/* An sd_read_fn: the tensor at key into a new buffer (ctx: a get_read). */
static int read_get(sd_client *c, const char *key, void *ctx)
{
    get_read *g = ctx;
    return sd__tensor_read(c, key, sd__dest_alloc, &g->d, &g->t);
}

int sd_get_tensor(sd_client *c, const char *name, void **data, sd_dtype *dtype, size_t *ndim,
                  size_t shape[SD_MAX_NDIM], sd_order *order)
{
    SD_ENTER(c);
    if (!data || !dtype || !ndim || !shape || !order)
        return sd__fail(c, SD_ERR_ARG, "sd_get_tensor: an output pointer is NULL");
    *data = NULL;
    sd_rkey k;
    int rc = sd__read_key(c, "tensor name", name, &k);
    if (rc != SD_OK) return rc;
    get_read g = {.d = {NULL}};
    rc = sd__read_fallback(c, &k, read_get, &g);
    sd__rkey_free(&k);
    if (rc != SD_OK) {
        free(g.d.buf);
        return rc;
    }
    *data = g.d.buf;
    *dtype = (sd_dtype)g.t.dtype;
    *order = (sd_order)g.t.order;
    *ndim = g.t.ndim;
    for (size_t i = 0; i < g.t.ndim; i++) shape[i] = (size_t)g.t.shape[i];
    return SD_OK;
}

/* What sd_unpack_tensor was given. */
typedef struct unpack_call {
    void *buffer;
    size_t buffer_bytes;
    int dtype;
    size_t ndim;
    const size_t *shape;
    int order;
} unpack_call;

/* An sd_read_fn: the tensor at key into the caller's buffer (ctx: an unpack_call). */
static int unpack(sd_client *c, const char *key, void *ctx)
{
    const unpack_call *a = ctx;
    size_t need;
    int rc = check_array(c, key, a->buffer, a->dtype, a->ndim, a->shape, a->order, &need);
    if (rc != SD_OK) return rc;
    if (a->buffer_bytes < need) {
        char shp[400];
        sd__format_shape_sz(shp, sizeof shp, a->ndim, a->shape);
        return sd__fail(c, SD_ERR_ARG, "buffer of %zu bytes is too small for tensor '%s' (%s %s: %zu bytes)",
                        a->buffer_bytes, key, sd__dtype_str(a->dtype), shp, need);
    }
    unpack_dest u = {a->buffer, a->dtype, a->order, a->ndim, a->shape, NULL, 0, {0}};
    sd_tinfo t;
    rc = sd__tensor_read(c, key, dest_unpack, &u, &t);
    if (rc == SD_OK && u.tmp)
        sd__relayout(a->buffer, u.tmp, sd__itemsize(a->dtype), u.flat_ndim ? u.flat_ndim : a->ndim,
                     u.flat_ndim ? u.flat_shape : a->shape, a->order);
    free(u.tmp);
    return rc;
}

int sd_unpack_tensor(sd_client *c, const char *name, void *buffer, size_t buffer_bytes, sd_dtype dtype, size_t ndim,
                     const size_t *shape, sd_order order)
{
    SD_ENTER(c);
    sd_rkey k;
    int rc = sd__read_key(c, "tensor name", name, &k);
    if (rc != SD_OK) return rc;
    unpack_call a = {buffer, buffer_bytes, (int)dtype, ndim, shape, (int)order};
    rc = sd__read_fallback(c, &k, unpack, &a);
    sd__rkey_free(&k);
    return rc;
}

void sd_free(void *p)
{
    free(p);
}

/* ---- delete, exists, poll -------------------------------------------------------- */

void sd__build_delete(sd_pipe *p, const void *ctx, size_t i)
{
    const char *key = ctx, *tag;
    size_t keylen = strlen(key), taglen;
    int has_tag = sd__hash_tag(key, keylen, &tag, &taglen);
    (void)i;
    if (has_tag) sd__pipe_multi(p);
    sd__pipe_unlink_tensor(p, key, keylen);
    if (has_tag) sd__pipe_exec(p);
}

static int delete_key(sd_client *c, char *key)
{
    sd_request rq = {.doing = "deleting tensor", .name = key, .route_key = key, .n = 1, .build = sd__build_delete,
                     .ctx = key};
    return sd__exec(c, &rq);
}

int sd_delete_tensor(sd_client *c, const char *name)
{
    SD_ENTER(c);
    char *key;
    /* the write prefix (its own keys only), or the read prefix with deletes_from_source */
    int rc = sd__key(c, "tensor name", !c->deletes_from_source, name, &key);
    if (rc != SD_OK) return rc;
    rc = delete_key(c, key);
    free(key);
    return rc;
}

/* ---- copy, rename ------------------------------------------------------------------ */

/* As the Python client: the source read completely (read prefix), its data
 * and attrs written under the destination (write prefix) as a new generation. */
static int copy_tensor(sd_client *c, const char *source, const char *dest)
{
    sd_alloc_dest d = {NULL};
    sd_twrite tw = {.long_head = NULL};
    sd_tinfo t;
    char *attrs = NULL;
    size_t shape[SD_MAX_NDIM];
    int rc = tensor_read(c, source, sd__dest_alloc, &d, &t, &attrs);
    for (size_t i = 0; rc == SD_OK && i < t.ndim; i++) shape[i] = (size_t)t.shape[i];
    if (rc == SD_OK)
        rc = sd__twrite_init_attrs(c, &tw, dest, d.buf, t.dtype, t.ndim, shape, t.order, attrs ? attrs : "",
                                   attrs ? t.attrs_len : 0);
    if (rc == SD_OK) {
        sd_request rq = {.doing = "copying to tensor", .name = dest, .route_key = dest, .n = 1, .build = sd__build_head,
                         .ctx = &tw};
        rc = sd__write_tensors(c, &tw, 1, &rq);
    }
    sd__twrite_free(&tw);
    free(attrs);
    free(d.buf);
    return rc;
}

int sd_copy_tensor(sd_client *c, const char *source, const char *dest)
{
    SD_ENTER(c);
    char *src = NULL, *dst = NULL;
    int rc = sd__key(c, "source tensor name", 0, source, &src);
    if (rc == SD_OK) rc = sd__key(c, "destination tensor name", 1, dest, &dst);
    if (rc == SD_OK) rc = copy_tensor(c, src, dst);
    free(src);
    free(dst);
    return rc;
}

int sd_rename_tensor(sd_client *c, const char *old_name, const char *new_name)
{
    SD_ENTER(c);
    char *src = NULL, *dst = NULL;
    int rc = sd__key(c, "old tensor name", 0, old_name, &src);
    if (rc == SD_OK) rc = sd__key(c, "new tensor name", 1, new_name, &dst);
    if (rc == SD_OK && strcmp(src, dst) != 0) rc = copy_tensor(c, src, dst);
    if (rc == SD_OK && strcmp(src, dst) != 0) rc = delete_key(c, src); /* the source read, not the write prefix */
    free(src);
    free(dst);
    return rc;
}

/* An sd_check_fn: whether the key (ctx) exists. */
static int key_exists(sd_client *c, void *ctx, int *exists)
{
    const char *key = ctx;
    const char *argv[2] = {"EXISTS", key};
    redisReply *r;
    int rc = sd__exec_command(c, "checking key", key, 2, argv, NULL, &r);
    if (rc != SD_OK) return rc;
    *exists = r->type == REDIS_REPLY_INTEGER && r->integer > 0;
    freeReplyObject(r);
    return SD_OK;
}

int sd_key_exists(sd_client *c, const char *key, int *exists)
{
    SD_ENTER(c);
    int rc = sd__check_name(c, "key", key);
    if (rc != SD_OK) return rc;
    if (!exists) return sd__fail(c, SD_ERR_ARG, "exists is NULL");
    return key_exists(c, (void *)key, exists);
}

int sd_poll_key(sd_client *c, const char *key, int interval_ms, int tries, int *exists)
{
    SD_ENTER(c);
    int rc = sd__check_name(c, "key", key);
    return rc != SD_OK ? rc : sd__poll(c, interval_ms, tries, key_exists, (void *)key, exists);
}

int sd_tensor_exists(sd_client *c, const char *name, int *exists)
{
    SD_ENTER(c);
    if (!exists) return sd__fail(c, SD_ERR_ARG, "exists is NULL");
    sd_rkey k;
    int rc = sd__read_key(c, "tensor name", name, &k);
    if (rc != SD_OK) return rc;
    sd_fallback_check f = {key_exists, &k};
    rc = sd__check_fallback(c, &f, exists);
    sd__rkey_free(&k);
    return rc;
}

int sd_poll_tensor(sd_client *c, const char *name, int interval_ms, int tries, int *exists)
{
    SD_ENTER(c);
    sd_rkey k;
    int rc = sd__read_key(c, "tensor name", name, &k);
    if (rc != SD_OK) return rc;
    sd_fallback_check f = {key_exists, &k};
    rc = sd__poll(c, interval_ms, tries, sd__check_fallback, &f, exists);
    sd__rkey_free(&k);
    return rc;
}
