/*
 * tensor.c: tensors in the store, as docs/protocol.md says.
 *
 * Writing: data above 8 MiB go to 4 MiB chunk keys first (all SETs in one
 * pipeline), then MULTI / EVAL cleanup / SET head / EXEC; the payload goes
 * from the caller's array to the socket (pipe.c). Reading: GET, the header
 * is parsed off the socket, the data are received straight into their
 * destination (a new buffer, or the caller's for unpack); a chunked head
 * pulls its chunks through a window of pipelined GETs, and a missing chunk
 * re-reads the head once.
 */
#include "sd_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define CHUNK_WINDOW 8 /* chunk GETs in flight: bounds the replies the server buffers */
#define SKIP_MAX ((size_t)16 << 20) /* unwanted value bytes drained rather than reconnecting */

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
    size_t nbytes;
    int rc = check_array(c, key, data, dtype, ndim, shape, order, &nbytes);
    if (rc != SD_OK) return rc;
    tw->key = key;
    tw->keylen = strlen(key);
    tw->data = data;
    tw->nbytes = nbytes;
    tw->has_tag = sd__chunk_tag(key, tw->keylen, &tw->tag, &tw->taglen);
    tw->chunked = tw->has_tag && nbytes > SD_CHUNK_THRESHOLD;
    sd__encode_header(tw->head, dtype, order, ndim, shape, tw->chunked);
    tw->headlen = sd__plain_data_offset(ndim);
    if (tw->chunked) {
        size_t n = (nbytes + SD_CHUNK_BYTES - 1) / SD_CHUNK_BYTES;
        if (n > 1048576)
            return sd__fail(c, SD_ERR_ARG, "tensor '%s' is too large (%zu bytes, at most 2^20 chunks)", key, nbytes);
        tw->ref.n_chunks = (uint32_t)n;
        tw->ref.chunk_bytes = SD_CHUNK_BYTES;
        if (sd__random_bytes(tw->ref.generation, 16) != 0)
            return sd__fail(c, SD_ERR_STORE, "no random bytes for the chunk generation of '%s'", key);
        sd__hex(tw->genhex, tw->ref.generation, 16);
        sd__encode_chunkref(tw->head + tw->headlen, &tw->ref);
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

void sd__pipe_chunks(sd_pipe *p, const sd_twrite *tw, int asking)
{
    if (!tw->chunked) return;
    const char *data = tw->data;
    for (size_t i = 0; i < tw->ref.n_chunks; i++) {
        size_t off = i * SD_CHUNK_BYTES;
        size_t len = tw->nbytes - off < SD_CHUNK_BYTES ? tw->nbytes - off : SD_CHUNK_BYTES;
        if (asking) sd__pipe_asking(p);
        sd__pipe_begin(p, 3);
        sd__pipe_arg(p, "SET", 3);
        pipe_chunk_key(p, tw->tag, tw->taglen, tw->genhex, i);
        sd__pipe_arg_begin(p, len);
        sd__pipe_part_ext(p, data + off, len);
        sd__pipe_arg_end(p);
    }
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

void sd__pipe_head(sd_pipe *p, const sd_twrite *tw)
{
    if (tw->has_tag) pipe_cleanup(p, tw->key, tw->keylen, tw->tag, tw->taglen);
    sd__pipe_begin(p, 3);
    sd__pipe_arg(p, "SET", 3);
    sd__pipe_arg(p, tw->key, tw->keylen);
    size_t datalen = tw->chunked ? 0 : tw->nbytes;
    sd__pipe_arg_begin(p, tw->headlen + datalen);
    sd__pipe_part(p, tw->head, tw->headlen);
    if (datalen) sd__pipe_part_ext(p, tw->data, datalen);
    sd__pipe_arg_end(p);
}

void sd__pipe_unlink_tensor(sd_pipe *p, const char *key, size_t keylen)
{
    const char *tag;
    size_t taglen;
    if (sd__chunk_tag(key, keylen, &tag, &taglen)) pipe_cleanup(p, key, keylen, tag, taglen);
    sd__pipe_begin(p, 2);
    sd__pipe_arg(p, "UNLINK", 6);
    sd__pipe_arg(p, key, keylen);
}

typedef struct chunk_ctx {
    const sd_twrite *tw;
    size_t n;
} chunk_ctx;

static void build_chunks(sd_client *c, sd_pipe *p, void *ctx, int asking)
{
    const chunk_ctx *x = ctx;
    (void)c;
    for (size_t i = 0; i < x->n; i++) sd__pipe_chunks(p, &x->tw[i], asking);
}

static void build_unlink_chunks(sd_client *c, sd_pipe *p, void *ctx, int asking)
{
    const chunk_ctx *x = ctx;
    (void)c;
    for (size_t i = 0; i < x->n; i++) {
        const sd_twrite *tw = &x->tw[i];
        if (!tw->chunked) continue;
        if (asking) sd__pipe_asking(p);
        sd__pipe_begin(p, 1 + tw->ref.n_chunks);
        sd__pipe_arg(p, "UNLINK", 6);
        for (size_t j = 0; j < tw->ref.n_chunks; j++) pipe_chunk_key(p, tw->tag, tw->taglen, tw->genhex, j);
    }
}

int sd__write_chunks(sd_client *c, const sd_twrite *tw, size_t n, const char *route_key, const char *doing)
{
    chunk_ctx x = {tw, n};
    sd_collect col = {0};
    int any = 0;
    for (size_t i = 0; i < n; i++) any |= tw[i].chunked;
    if (!any) return SD_OK;
    int rc = sd__run_pipe(c, route_key, strlen(route_key), doing, build_chunks, &x, &col);
    if (rc == SD_OK || rc == SD_ERR_CONNECTION || rc == SD_ERR_TIMEOUT || rc == SD_ERR_NOMEM) return rc;
    /* The store refused a chunk (e.g. full): remove the ones written, so
     * nothing changed, and report the first error. */
    int err = c->err;
    char msg[SD_ERRSTR_LEN];
    memcpy(msg, c->errstr, sizeof msg);
    memset(&col, 0, sizeof col);
    sd__run_pipe(c, route_key, strlen(route_key), doing, build_unlink_chunks, &x, &col);
    c->err = err;
    memcpy(c->errstr, msg, sizeof msg);
    return rc;
}

static void build_head(sd_client *c, sd_pipe *p, void *ctx, int asking)
{
    const sd_twrite *tw = ctx;
    (void)c;
    if (asking) sd__pipe_asking(p);
    if (!tw->has_tag) { /* braces without a valid tag: never chunked, plain SET */
        sd__pipe_head(p, tw);
        return;
    }
    sd__pipe_begin(p, 1);
    sd__pipe_arg(p, "MULTI", 5);
    sd__pipe_head(p, tw);
    sd__pipe_begin(p, 1);
    sd__pipe_arg(p, "EXEC", 4);
}

int sd_put_tensor(sd_client *c, const char *name, const void *data, sd_dtype dtype, size_t ndim,
                  const size_t *shape, sd_order order)
{
    if (!c) return SD_ERR_ARG;
    sd__clear(c);
    int rc = sd__check_name(c, "tensor name", name);
    if (rc != SD_OK) return rc;
    char *key;
    if ((rc = sd__key(c, 1, name, &key)) != SD_OK) return rc;
    sd_twrite tw;
    rc = sd__twrite_init(c, &tw, key, data, (int)dtype, ndim, shape, (int)order);
    if (rc == SD_OK) {
        char doing[300];
        sd_collect col = {0};
        snprintf(doing, sizeof doing, "writing tensor '%.200s'", key);
        /* chunks in one pipelined round trip, then (only if they all landed)
         * the head transaction, which also drops the previous chunks */
        rc = sd__write_chunks(c, &tw, 1, key, doing);
        if (rc == SD_OK) rc = sd__run_pipe(c, key, tw.keylen, doing, build_head, &tw, &col);
    }
    free(key);
    return rc;
}

/* ---- reading ---------------------------------------------------------------- */

/* Skips the rest of a value whose first `got` bytes were read, then reports
 * why. A long rest is not worth receiving: the connection is dropped instead
 * (the next call reconnects). */
static int bad_value(sd_client *c, sd_node *n, long long len, size_t got, int code, const char *why)
{
    size_t rest = (size_t)len - got;
    if (rest > SKIP_MAX) {
        sd__conn_close(&n->conn);
    } else {
        int rc = sd__conn_skip(c, n, rest);
        if (rc == SD_OK) rc = sd__conn_crlf(c, n);
        if (rc != SD_OK) return rc;
    }
    return sd__fail(c, code, "%s", why);
}

/* Reads and validates the header of the value whose bulk length was read;
 * leaves the stream at data_offset. */
static int read_header(sd_client *c, sd_node *n, const char *key, long long len, sd_tinfo *t)
{
    unsigned char h[SD_FIXED_HEADER + 8 * SD_MAX_NDIM];
    char why[SD_ERRSTR_LEN];
    int rc;
    if (len < SD_FIXED_HEADER) {
        snprintf(why, sizeof why, "value at key '%s' is not a simdask tensor: %lld bytes, shorter than the 16-byte header",
                 key, len);
        return bad_value(c, n, len, 0, SD_ERR_FORMAT, why);
    }
    if ((rc = sd__conn_read_exact(c, n, h, SD_FIXED_HEADER)) != SD_OK) return rc;
    if (sd__decode_fixed(h, t, key, why, sizeof why) != 0)
        return bad_value(c, n, len, SD_FIXED_HEADER, SD_ERR_FORMAT, why);
    size_t need = SD_FIXED_HEADER + 8 * t->ndim;
    if ((unsigned long long)len < need) {
        snprintf(why, sizeof why, "tensor at key '%s' is truncated: %lld bytes, header needs %zu", key, len, need);
        return bad_value(c, n, len, SD_FIXED_HEADER, SD_ERR_FORMAT, why);
    }
    if ((rc = sd__conn_read_exact(c, n, h + SD_FIXED_HEADER, need - SD_FIXED_HEADER)) != SD_OK) return rc;
    if (sd__decode_shape(h + SD_FIXED_HEADER, t, key, why, sizeof why) != 0 ||
        sd__check_length(t, (uint64_t)len, key, why, sizeof why) != 0)
        return bad_value(c, n, len, need, SD_ERR_FORMAT, why);
    return sd__conn_skip(c, n, t->data_offset - need); /* attrs (not used in C) and padding */
}

typedef struct chunk_read {
    size_t n_missing, first_missing;
    int format_error, store_error;
    char why[SD_ERRSTR_LEN];
    sd_redirect redirect;
} chunk_read;

static void send_chunk_get(sd_client *c, sd_pipe *p, const char *tag, size_t taglen, const char *genhex, size_t i,
                           int asking)
{
    (void)c;
    if (asking) sd__pipe_asking(p);
    sd__pipe_begin(p, 2);
    sd__pipe_arg(p, "GET", 3);
    pipe_chunk_key(p, tag, taglen, genhex, i);
}

/* GETs every chunk into dst, CHUNK_WINDOW requests in flight. Reads every
 * reply whatever happens, so the connection stays in step. */
static int read_chunks(sd_client *c, sd_node *n, const char *key, const sd_tinfo *t, const sd_chunkref *ref,
                       int asking, unsigned char *dst, chunk_read *cr)
{
    const char *tag;
    size_t taglen;
    char genhex[33];
    sd_pipe *p = &c->pipe;
    int rc;
    memset(cr, 0, sizeof *cr);
    if (!sd__chunk_tag(key, strlen(key), &tag, &taglen)) {
        cr->format_error = 1;
        snprintf(cr->why, sizeof cr->why, "chunked head at key '%s', whose braces allow no chunks", key);
        return SD_OK;
    }
    sd__hex(genhex, ref->generation, 16);
    size_t nch = ref->n_chunks, next = 0;
    sd__pipe_reset(p);
    for (; next < nch && next < CHUNK_WINDOW; next++) send_chunk_get(c, p, tag, taglen, genhex, next, asking);
    if ((rc = sd__pipe_send(c, n, p)) != SD_OK) return rc;
    for (size_t i = 0; i < nch; i++) {
        redisReply *r = NULL;
        long long len = 0;
        if (asking) {
            if ((rc = sd__conn_read_reply(c, n, &r)) != SD_OK) return rc;
            freeReplyObject(r);
        }
        if ((rc = sd__conn_read_bulk_len(c, n, &len, &r)) != SD_OK) return rc;
        if (next < nch) { /* keep the window full */
            sd__pipe_reset(p);
            send_chunk_get(c, p, tag, taglen, genhex, next++, asking);
            if ((rc = sd__pipe_send(c, n, p)) != SD_OK) {
                if (r) freeReplyObject(r);
                return rc;
            }
        }
        size_t off = i * ref->chunk_bytes;
        size_t want = t->nbytes - off < ref->chunk_bytes ? t->nbytes - off : (size_t)ref->chunk_bytes;
        if (r) {
            sd_redirect rd;
            if (r->type == REDIS_REPLY_ERROR && sd__parse_redirect(r->str, r->len, &rd)) {
                if (!cr->redirect.kind) cr->redirect = rd;
                if (!cr->n_missing++) cr->first_missing = i;
            } else if (!cr->store_error && !cr->format_error) {
                cr->store_error = 1;
                snprintf(cr->why, sizeof cr->why, "the store refused reading chunk %zu of tensor '%s': %.300s", i, key,
                         r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply type");
            }
            freeReplyObject(r);
        } else if (len < 0) {
            if (!cr->n_missing++) cr->first_missing = i;
        } else if ((unsigned long long)len != want) {
            if (!cr->format_error)
                snprintf(cr->why, sizeof cr->why,
                         "chunk %zu of tensor '%s' is %lld bytes, expected %zu: truncated or corrupt", i, key, len,
                         want);
            cr->format_error = 1;
            if ((rc = sd__conn_skip(c, n, (size_t)len)) != SD_OK || (rc = sd__conn_crlf(c, n)) != SD_OK) return rc;
        } else {
            if ((rc = sd__conn_read_exact(c, n, dst + off, want)) != SD_OK || (rc = sd__conn_crlf(c, n)) != SD_OK)
                return rc;
        }
    }
    return SD_OK;
}

int sd__tensor_read(sd_client *c, const char *key, sd_dest_fn dest, void *ctx, sd_tinfo *t)
{
    size_t keylen = strlen(key);
    sd_node *ask = NULL;
    int reread = 0, redirects = 0;
    unsigned char lastgen[16];
    size_t lastmissing = 0;
    for (;;) {
        sd_node *n;
        int asking = ask != NULL, rc;
        if (asking) {
            n = ask;
            ask = NULL;
        } else if ((rc = sd__route(c, key, keylen, &n)) != SD_OK) {
            return rc;
        }
        if ((rc = sd__conn_ready(c, n)) != SD_OK) return rc;
        sd_pipe *p = &c->pipe;
        sd__pipe_reset(p);
        if (asking) sd__pipe_asking(p);
        sd__pipe_begin(p, 2);
        sd__pipe_arg(p, "GET", 3);
        sd__pipe_arg(p, key, keylen);
        if ((rc = sd__pipe_send(c, n, p)) != SD_OK) return rc;
        redisReply *r = NULL;
        long long len = 0;
        if (asking) {
            if ((rc = sd__conn_read_reply(c, n, &r)) != SD_OK) return rc;
            freeReplyObject(r);
        }
        if ((rc = sd__conn_read_bulk_len(c, n, &len, &r)) != SD_OK) return rc;
        if (r) {
            sd_redirect rd;
            if (r->type == REDIS_REPLY_ERROR && sd__parse_redirect(r->str, r->len, &rd)) {
                freeReplyObject(r);
                if (++redirects > SD_MAX_REDIRECTS)
                    return sd__fail(c, SD_ERR_STORE, "too many cluster redirects reading tensor '%s'", key);
                if ((rc = sd__follow_redirect(c, &rd, &ask)) != SD_OK) return rc;
                continue;
            }
            if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "WRONGTYPE", 9) == 0)
                rc = sd__fail(c, SD_ERR_FORMAT, "key '%s' holds a list, hash or set, not a tensor", key);
            else
                rc = sd__fail(c, SD_ERR_STORE, "the store refused reading tensor '%s': %.300s", key,
                              r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply type");
            freeReplyObject(r);
            return rc;
        }
        if (len < 0) return sd__fail(c, SD_ERR_NOT_FOUND, "tensor '%s' not found", key);
        if ((rc = read_header(c, n, key, len, t)) != SD_OK) return rc;
        void *dst = NULL;
        if (!t->chunked) {
            if ((rc = dest(c, ctx, key, t, &dst)) != SD_OK) {
                char why[SD_ERRSTR_LEN];
                memcpy(why, c->errstr, sizeof why);
                return bad_value(c, n, len, t->data_offset, rc, why);
            }
            if ((rc = sd__conn_read_exact(c, n, dst, t->nbytes)) != SD_OK) return rc;
            return sd__conn_crlf(c, n);
        }
        unsigned char raw[SD_CHUNK_REF];
        sd_chunkref ref;
        char why[SD_ERRSTR_LEN];
        if ((rc = sd__conn_read_exact(c, n, raw, SD_CHUNK_REF)) != SD_OK || (rc = sd__conn_crlf(c, n)) != SD_OK)
            return rc;
        if (sd__decode_chunkref(raw, t, &ref, key, why, sizeof why) != 0) return sd__fail(c, SD_ERR_FORMAT, "%s", why);
        if (reread && memcmp(lastgen, ref.generation, 16) == 0) {
            char gen[33];
            sd__hex(gen, ref.generation, 16);
            return sd__fail(c, SD_ERR_FORMAT, "tensor '%s' is incomplete: chunk %zu of %u (generation %s) is missing",
                            key, lastmissing, (unsigned)ref.n_chunks, gen);
        }
        if ((rc = dest(c, ctx, key, t, &dst)) != SD_OK) return rc;
        chunk_read cr;
        if ((rc = read_chunks(c, n, key, t, &ref, asking, dst, &cr)) != SD_OK) return rc;
        if (cr.store_error) return sd__fail(c, SD_ERR_STORE, "%s", cr.why);
        if (cr.format_error) return sd__fail(c, SD_ERR_FORMAT, "%s", cr.why);
        if (cr.n_missing == 0) return SD_OK;
        if (cr.redirect.kind && (rc = sd__follow_redirect(c, &cr.redirect, &ask)) != SD_OK) return rc;
        if (reread) {
            char gen[33];
            sd__hex(gen, ref.generation, 16);
            return sd__fail(c, SD_ERR_FORMAT, "tensor '%s' is incomplete: chunk %zu of %u (generation %s) is missing",
                            key, cr.first_missing, (unsigned)ref.n_chunks, gen);
        }
        reread = 1; /* a concurrent overwrite: the head now names another generation */
        memcpy(lastgen, ref.generation, 16);
        lastmissing = cr.first_missing;
    }
}

/* Large buffers get transparent huge pages where the kernel offers them on
 * request: receiving into fresh memory then costs one page fault per 2 MiB
 * instead of one per 4 KiB. Freed with free() (sd_free) like any other. */
void *sd__alloc_data(size_t n)
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
    d->buf = sd__alloc_data(t->nbytes);
    if (!d->buf) return sd__fail(c, SD_ERR_NOMEM, "out of memory for the %zu bytes of tensor '%s'", t->nbytes, key);
    *dst = d->buf;
    return SD_OK;
}

int sd__check_unpack(sd_client *c, const char *what, const char *key, const sd_tinfo *t, int dtype, size_t ndim,
                     const size_t *shape)
{
    char stored[400], wanted[400];
    int same = t->ndim == ndim;
    for (size_t i = 0; same && i < ndim; i++) same = t->shape[i] == shape[i];
    sd__format_shape(stored, sizeof stored, t->ndim, t->shape);
    if (t->dtype != dtype)
        return sd__fail(c, SD_ERR_TYPE, "%s '%s' is %s with shape %s, not %s", what, key, sd__dtype_str(t->dtype),
                        stored, sd__dtype_str(dtype));
    if (!same) {
        sd__format_shape_sz(wanted, sizeof wanted, ndim, shape);
        return sd__fail(c, SD_ERR_SHAPE, "%s '%s' has shape %s (%s), not %s", what, key, stored,
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
} unpack_dest;

static int dest_unpack(sd_client *c, void *ctx, const char *key, const sd_tinfo *t, void **dst)
{
    unpack_dest *u = ctx;
    int rc = sd__check_unpack(c, "tensor", key, t, u->dtype, u->ndim, u->shape);
    if (rc != SD_OK) return rc;
    if (t->order == u->order || t->ndim < 2) {
        *dst = u->buffer;
        return SD_OK;
    }
    free(u->tmp);
    u->tmp = sd__alloc_data(t->nbytes);
    if (!u->tmp) return sd__fail(c, SD_ERR_NOMEM, "out of memory transposing tensor '%s'", key);
    *dst = u->tmp;
    return SD_OK;
}

int sd_get_tensor(sd_client *c, const char *name, void **data, sd_dtype *dtype, size_t *ndim,
                  size_t shape[SD_MAX_NDIM], sd_order *order)
{
    if (!c) return SD_ERR_ARG;
    sd__clear(c);
    int rc = sd__check_name(c, "tensor name", name);
    if (rc != SD_OK) return rc;
    if (!data || !dtype || !ndim || !shape || !order)
        return sd__fail(c, SD_ERR_ARG, "sd_get_tensor('%s'): an output pointer is NULL", name);
    *data = NULL;
    char *key;
    if ((rc = sd__key(c, 0, name, &key)) != SD_OK) return rc;
    sd_alloc_dest d = {NULL};
    sd_tinfo t;
    rc = sd__tensor_read(c, key, sd__dest_alloc, &d, &t);
    free(key);
    if (rc != SD_OK) {
        free(d.buf);
        return rc;
    }
    *data = d.buf;
    *dtype = (sd_dtype)t.dtype;
    *order = (sd_order)t.order;
    *ndim = t.ndim;
    for (size_t i = 0; i < t.ndim; i++) shape[i] = (size_t)t.shape[i];
    return SD_OK;
}

int sd_unpack_tensor(sd_client *c, const char *name, void *buffer, size_t buffer_bytes, sd_dtype dtype, size_t ndim,
                     const size_t *shape, sd_order order)
{
    if (!c) return SD_ERR_ARG;
    sd__clear(c);
    int rc = sd__check_name(c, "tensor name", name);
    if (rc != SD_OK) return rc;
    size_t need;
    if ((rc = check_array(c, name, buffer, (int)dtype, ndim, shape, (int)order, &need)) != SD_OK) return rc;
    if (buffer_bytes < need) {
        char shp[400];
        sd__format_shape_sz(shp, sizeof shp, ndim, shape);
        return sd__fail(c, SD_ERR_ARG, "buffer of %zu bytes is too small for tensor '%s' (%s %s: %zu bytes)",
                        buffer_bytes, name, sd__dtype_str((int)dtype), shp, need);
    }
    char *key;
    if ((rc = sd__key(c, 0, name, &key)) != SD_OK) return rc;
    unpack_dest u = {buffer, (int)dtype, (int)order, ndim, shape, NULL};
    sd_tinfo t;
    rc = sd__tensor_read(c, key, dest_unpack, &u, &t);
    free(key);
    if (rc == SD_OK && u.tmp) sd__relayout(buffer, u.tmp, sd__itemsize((int)dtype), ndim, shape, (int)order);
    free(u.tmp);
    return rc;
}

/* ---- delete, exists, poll -------------------------------------------------------- */

typedef struct del_ctx {
    const char *key;
    size_t keylen;
} del_ctx;

static void build_delete(sd_client *c, sd_pipe *p, void *ctx, int asking)
{
    const del_ctx *d = ctx;
    const char *tag;
    size_t taglen;
    (void)c;
    if (asking) sd__pipe_asking(p);
    if (!sd__chunk_tag(d->key, d->keylen, &tag, &taglen)) {
        sd__pipe_unlink_tensor(p, d->key, d->keylen);
        return;
    }
    sd__pipe_begin(p, 1);
    sd__pipe_arg(p, "MULTI", 5);
    sd__pipe_unlink_tensor(p, d->key, d->keylen);
    sd__pipe_begin(p, 1);
    sd__pipe_arg(p, "EXEC", 4);
}

int sd_delete_tensor(sd_client *c, const char *name)
{
    if (!c) return SD_ERR_ARG;
    sd__clear(c);
    int rc = sd__check_name(c, "tensor name", name);
    if (rc != SD_OK) return rc;
    char *key;
    if ((rc = sd__key(c, 0, name, &key)) != SD_OK) return rc; /* as the Python client: the read prefix */
    del_ctx d = {key, strlen(key)};
    char doing[300];
    sd_collect col = {0};
    snprintf(doing, sizeof doing, "deleting tensor '%.200s'", key);
    rc = sd__run_pipe(c, key, d.keylen, doing, build_delete, &d, &col);
    free(key);
    return rc;
}

static int exists_key(sd_client *c, const char *key, int *exists)
{
    const char *argv[2] = {"EXISTS", key};
    redisReply *r;
    char doing[300];
    snprintf(doing, sizeof doing, "checking key '%.200s'", key);
    int rc = sd__command_ok(c, doing, key, 2, argv, NULL, &r);
    if (rc != SD_OK) return rc;
    *exists = r->type == REDIS_REPLY_INTEGER && r->integer > 0;
    freeReplyObject(r);
    return SD_OK;
}

int sd_key_exists(sd_client *c, const char *key, int *exists)
{
    if (!c) return SD_ERR_ARG;
    sd__clear(c);
    int rc = sd__check_name(c, "key", key);
    if (rc != SD_OK) return rc;
    if (!exists) return sd__fail(c, SD_ERR_ARG, "exists is NULL");
    return exists_key(c, key, exists);
}

int sd_tensor_exists(sd_client *c, const char *name, int *exists)
{
    if (!c) return SD_ERR_ARG;
    sd__clear(c);
    int rc = sd__check_name(c, "tensor name", name);
    if (rc != SD_OK) return rc;
    if (!exists) return sd__fail(c, SD_ERR_ARG, "exists is NULL");
    char *key;
    if ((rc = sd__key(c, 0, name, &key)) != SD_OK) return rc;
    rc = exists_key(c, key, exists);
    free(key);
    return rc;
}

int sd_poll_tensor(sd_client *c, const char *name, int interval_ms, int tries, int *exists)
{
    if (!c) return SD_ERR_ARG;
    sd__clear(c);
    if (interval_ms < 0 || tries < 1)
        return sd__fail(c, SD_ERR_ARG, "poll needs interval_ms >= 0 and tries >= 1 (got %d, %d)", interval_ms, tries);
    for (int i = 0; i < tries; i++) {
        int rc = sd_tensor_exists(c, name, exists);
        if (rc != SD_OK || *exists) return rc;
        if (i + 1 < tries) sd__sleep_ms(interval_ms);
    }
    return SD_OK;
}
