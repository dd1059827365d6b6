/*
 * wire.c: the tensor blob of DESIGN.md ("Tensor wire format, version 1").
 *
 * Encoding and validation of the 16-byte fixed header, the shape, the chunk
 * reference of the chunked form, dtype sizes, and the C <-> F relayout.
 * No I/O here. Every decoder writes a message naming the key and returns -1
 * on anything malformed: never a crash, never silently wrong data.
 */
#include "sd_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

static const struct {
    const char *name;
    size_t size;
} DTYPES[] = {
    {NULL, 0},        {"int8", 1},    {"int16", 2},   {"int32", 4},      {"int64", 8},
    {"uint8", 1},     {"uint16", 2},  {"uint32", 4},  {"uint64", 8},     {"float16", 2},
    {"float32", 4},   {"float64", 8}, {"complex64", 8}, {"complex128", 16}, {"bool", 1},
};

size_t sd__itemsize(int dtype)
{
    return (dtype >= SD_INT8 && dtype <= SD_BOOL) ? DTYPES[dtype].size : 0;
}

const char *sd__dtype_str(int dtype)
{
    return (dtype >= SD_INT8 && dtype <= SD_BOOL) ? DTYPES[dtype].name : "unknown dtype";
}

const char *sd_dtype_name(sd_dtype dtype)
{
    return sd__itemsize((int)dtype) ? sd__dtype_str((int)dtype) : NULL;
}

size_t sd_dtype_size(sd_dtype dtype)
{
    return sd__itemsize((int)dtype);
}

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

int sd__nbytes(size_t ndim, const uint64_t *shape, size_t itemsize, size_t *out)
{
    /* INT64_MAX, not SIZE_MAX: room for offsets, and what numpy can index */
    const uint64_t max = SIZE_MAX / 2 < INT64_MAX ? SIZE_MAX / 2 : INT64_MAX;
    uint64_t n = itemsize;
    int zero = 0;
    for (size_t i = 0; i < ndim; i++) {
        if (shape[i] == 0) {
            zero = 1;
            continue;
        }
        if (shape[i] > max / n) return -1;
        n *= shape[i];
    }
    *out = zero ? 0 : (size_t)n;
    return 0;
}

int sd__nbytes_sz(size_t ndim, const size_t *shape, size_t itemsize, size_t *out)
{
    uint64_t s[SD_MAX_NDIM];
    if (ndim > SD_MAX_NDIM) return -1;
    for (size_t i = 0; i < ndim; i++) s[i] = shape[i];
    return sd__nbytes(ndim, s, itemsize, out);
}

uint32_t sd__plain_data_offset(size_t ndim)
{
    size_t used = SD_FIXED_HEADER + 8 * ndim;
    return (uint32_t)((used + SD_ALIGN - 1) / SD_ALIGN * SD_ALIGN);
}

void sd__encode_header(unsigned char *out, int dtype, int order, size_t ndim, const size_t *shape,
                       int chunked)
{
    uint32_t off = sd__plain_data_offset(ndim);
    memset(out, 0, off);
    memcpy(out, "SDT\x01", 4);
    out[4] = (unsigned char)dtype;
    out[5] = (unsigned char)order;
    out[6] = (unsigned char)ndim;
    out[7] = chunked ? SD_FLAG_CHUNKED : 0;
    put_u32(out + 8, 0);
    put_u32(out + 12, off);
    for (size_t i = 0; i < ndim; i++) put_u64(out + SD_FIXED_HEADER + 8 * i, (uint64_t)shape[i]);
}

uint32_t sd__data_offset(size_t ndim, size_t attrs_len)
{
    size_t used = SD_FIXED_HEADER + 8 * ndim + attrs_len;
    return (uint32_t)((used + SD_ALIGN - 1) / SD_ALIGN * SD_ALIGN);
}

void sd__encode_header_attrs(unsigned char *out, int dtype, int order, size_t ndim, const size_t *shape,
                             int chunked, const char *attrs, uint32_t attrs_len)
{
    uint32_t off = sd__data_offset(ndim, attrs_len);
    sd__encode_header(out, dtype, order, ndim, shape, chunked);
    memset(out + SD_FIXED_HEADER + 8 * ndim, 0, off - SD_FIXED_HEADER - 8 * ndim);
    put_u32(out + 8, attrs_len);
    put_u32(out + 12, off);
    memcpy(out + SD_FIXED_HEADER + 8 * ndim, attrs, attrs_len);
}

void sd__encode_chunkref(unsigned char *out, const sd_chunkref *ref)
{
    put_u32(out, ref->n_chunks);
    put_u32(out + 4, 0);
    put_u64(out + 8, ref->chunk_bytes);
    memcpy(out + 16, ref->generation, 16);
}

int sd__decode_fixed(const unsigned char *h, sd_tinfo *t, const char *key, char *why, size_t n)
{
    if (memcmp(h, "SDT", 3) != 0) {
        snprintf(why, n, "value at key '%s' is not a simdask tensor (bad magic)", key);
        return -1;
    }
    if (h[3] != 1) {
        snprintf(why, n, "tensor at key '%s' has wire format version %u; this client reads version 1", key,
                 (unsigned)h[3]);
        return -1;
    }
    if (sd__itemsize(h[4]) == 0) {
        snprintf(why, n, "tensor at key '%s' has unknown dtype code %u", key, (unsigned)h[4]);
        return -1;
    }
    if (h[5] != 'C' && h[5] != 'F') {
        snprintf(why, n, "tensor at key '%s' has invalid order byte 0x%02x", key, (unsigned)h[5]);
        return -1;
    }
    if (h[6] > SD_MAX_NDIM) {
        snprintf(why, n, "tensor at key '%s' claims %u dimensions (at most %d)", key, (unsigned)h[6],
                 SD_MAX_NDIM);
        return -1;
    }
    if (h[7] & ~SD_FLAG_CHUNKED) {
        snprintf(why, n, "tensor at key '%s' has unknown flag bits 0x%02x", key, (unsigned)h[7]);
        return -1;
    }
    t->dtype = h[4];
    t->order = h[5];
    t->ndim = h[6];
    t->chunked = h[7] & SD_FLAG_CHUNKED;
    t->attrs_len = get_u32(h + 8);
    t->data_offset = get_u32(h + 12);
    uint64_t attrs_end = SD_FIXED_HEADER + 8 * (uint64_t)t->ndim + t->attrs_len;
    if (t->data_offset % SD_ALIGN || t->data_offset < attrs_end) {
        snprintf(why, n, "tensor at key '%s' has invalid data_offset %u (header and attrs end at %llu)", key,
                 (unsigned)t->data_offset, (unsigned long long)attrs_end);
        return -1;
    }
    return 0;
}

int sd__decode_shape(const unsigned char *s, sd_tinfo *t, const char *key, char *why, size_t n)
{
    for (size_t i = 0; i < t->ndim; i++) t->shape[i] = get_u64(s + 8 * i);
    if (sd__nbytes(t->ndim, t->shape, sd__itemsize(t->dtype), &t->nbytes) != 0) {
        char shp[400];
        sd__format_shape(shp, sizeof shp, t->ndim, t->shape);
        snprintf(why, n, "tensor at key '%s' has a shape %s whose size overflows", key, shp);
        return -1;
    }
    return 0;
}

int sd__check_length(const sd_tinfo *t, uint64_t len, const char *key, char *why, size_t n)
{
    uint64_t want = (uint64_t)t->data_offset + (t->chunked ? SD_CHUNK_REF : (uint64_t)t->nbytes);
    if (len != want) {
        char shp[400];
        sd__format_shape(shp, sizeof shp, t->ndim, t->shape);
        snprintf(why, n, "%s at key '%s' is %llu bytes but its header implies %llu (%s %s): truncated or corrupt",
                 t->chunked ? "chunked head" : "tensor", key, (unsigned long long)len, (unsigned long long)want,
                 sd__dtype_str(t->dtype), shp);
        return -1;
    }
    return 0;
}

int sd__decode_chunkref(const unsigned char *r, const sd_tinfo *t, sd_chunkref *ref, const char *key, char *why,
                        size_t n)
{
    uint32_t reserved = get_u32(r + 4);
    ref->n_chunks = get_u32(r);
    ref->chunk_bytes = get_u64(r + 8);
    memcpy(ref->generation, r + 16, 16);
    uint64_t nb = t->nbytes;
    int valid = reserved == 0 && ref->chunk_bytes > 0 && ref->chunk_bytes <= SD_MAX_CHUNK_BYTES &&
                ref->n_chunks <= SD_MAX_CHUNKS;
    if (valid) valid = (uint64_t)ref->n_chunks == nb / ref->chunk_bytes + (nb % ref->chunk_bytes != 0);
    if (!valid) {
        snprintf(why, n,
                 "chunked tensor at key '%s' has an invalid chunk reference: %u chunks of %llu bytes for "
                 "%llu bytes of data (reserved word %u; at most %u chunks of at most %llu bytes)",
                 key, (unsigned)ref->n_chunks, (unsigned long long)ref->chunk_bytes, (unsigned long long)nb,
                 (unsigned)reserved, (unsigned)SD_MAX_CHUNKS, (unsigned long long)SD_MAX_CHUNK_BYTES);
        return -1;
    }
    return 0;
}

int sd__check_bools(const unsigned char *data, size_t n, const char *key, char *why, size_t nwhy)
{
    for (size_t i = 0; i < n; i++) {
        if (data[i] > 1) {
            snprintf(why, nwhy, "bool tensor at key '%s' has element %zu = 0x%02x: bool elements must be 0 or 1", key,
                     i, (unsigned)data[i]);
            return -1;
        }
    }
    return 0;
}

int sd__decode_blob(const unsigned char *v, size_t len, sd_tinfo *t, const unsigned char **data, const char *key,
                    char *why, size_t n)
{
    if (len < SD_FIXED_HEADER) {
        snprintf(why, n, "value at key '%s' is not a simdask tensor: %zu bytes, shorter than the 16-byte header",
                 key, len);
        return -1;
    }
    if (sd__decode_fixed(v, t, key, why, n) != 0) return -1;
    if (len < SD_FIXED_HEADER + 8 * t->ndim) {
        snprintf(why, n, "tensor at key '%s' is truncated: %zu bytes, header needs %zu", key, len,
                 SD_FIXED_HEADER + 8 * t->ndim);
        return -1;
    }
    if (sd__decode_shape(v + SD_FIXED_HEADER, t, key, why, n) != 0) return -1;
    if (sd__check_length(t, len, key, why, n) != 0) return -1;
    if (t->chunked) {
        snprintf(why, n, "value at key '%s' is a chunked tensor head where a plain tensor was expected", key);
        return -1;
    }
    *data = v + t->data_offset;
    return t->dtype == SD_BOOL ? sd__check_bools(*data, t->nbytes, key, why, n) : 0;
}

/* ---- relayout -------------------------------------------------------------- */

#define SD_TILE 32

static inline void copy_elem(unsigned char *d, const unsigned char *s, size_t itemsize)
{
    switch (itemsize) {
    case 1: *d = *s; break;
    case 2: memcpy(d, s, 2); break;
    case 4: memcpy(d, s, 4); break;
    case 8: memcpy(d, s, 8); break;
    case 16: memcpy(d, s, 16); break;
    default: memcpy(d, s, itemsize);
    }
}

/* Transposes one 2-D plane: `na` elements along the destination's fastest
 * axis (source stride sa), `nb` along the source's fastest (destination
 * stride db), in cache-sized tiles. */
static void plane(unsigned char *dst, const unsigned char *src, size_t itemsize, size_t na, size_t sa, size_t nb,
                  size_t db)
{
    for (size_t b0 = 0; b0 < nb; b0 += SD_TILE) {
        size_t b1 = b0 + SD_TILE < nb ? b0 + SD_TILE : nb;
        for (size_t a0 = 0; a0 < na; a0 += SD_TILE) {
            size_t a1 = a0 + SD_TILE < na ? a0 + SD_TILE : na;
            for (size_t b = b0; b < b1; b++) {
                unsigned char *d = dst + (b * db + a0) * itemsize;
                const unsigned char *s = src + (a0 * sa + b) * itemsize;
                for (size_t a = a0; a < a1; a++, d += itemsize, s += sa * itemsize) copy_elem(d, s, itemsize);
            }
        }
    }
}

void sd__relayout(void *dst, const void *src, size_t itemsize, size_t ndim, const size_t *shape, int dst_order)
{
    size_t cs[SD_MAX_NDIM], fs[SD_MAX_NDIM], total = 1;
    for (size_t k = 0; k < ndim; k++) total *= shape[k];
    if (total == 0) return;
    if (ndim < 2) {
        memcpy(dst, src, total * itemsize);
        return;
    }
    /* element strides of both layouts */
    cs[ndim - 1] = 1;
    for (size_t k = ndim - 1; k-- > 0;) cs[k] = cs[k + 1] * shape[k + 1];
    fs[0] = 1;
    for (size_t k = 1; k < ndim; k++) fs[k] = fs[k - 1] * shape[k - 1];
    const size_t *ds = dst_order == SD_ORDER_C ? cs : fs;
    const size_t *ss = dst_order == SD_ORDER_C ? fs : cs;
    size_t a = dst_order == SD_ORDER_C ? ndim - 1 : 0; /* destination's fastest axis */
    size_t b = dst_order == SD_ORDER_C ? 0 : ndim - 1; /* source's fastest axis */
    size_t idx[SD_MAX_NDIM] = {0};
    unsigned char *d = dst;
    const unsigned char *s = src;
    for (;;) {
        size_t doff = 0, soff = 0;
        for (size_t k = 0; k < ndim; k++) {
            doff += idx[k] * ds[k];
            soff += idx[k] * ss[k];
        }
        plane(d + doff * itemsize, s + soff * itemsize, itemsize, shape[a], ss[a], shape[b], ds[b]);
        /* odometer over the other axes */
        size_t k = 0;
        for (; k < ndim; k++) {
            if (k == a || k == b) continue;
            if (++idx[k] < shape[k]) break;
            idx[k] = 0;
        }
        if (k == ndim) break;
    }
}

void sd__format_shape(char *out, size_t n, size_t ndim, const uint64_t *shape)
{
    size_t used = 0;
    int w = snprintf(out, n, "(");
    used = w > 0 ? (size_t)w : 0;
    for (size_t i = 0; i < ndim && used < n; i++) {
        w = snprintf(out + used, n - used, "%s%llu", i ? ", " : "", (unsigned long long)shape[i]);
        if (w < 0) break;
        used += (size_t)w;
    }
    if (used < n) snprintf(out + used, n - used, ndim == 1 ? ",)" : ")");
}

void sd__format_shape_sz(char *out, size_t n, size_t ndim, const size_t *shape)
{
    uint64_t s[SD_MAX_NDIM];
    if (ndim > SD_MAX_NDIM) ndim = SD_MAX_NDIM;
    for (size_t i = 0; i < ndim; i++) s[i] = shape[i];
    sd__format_shape(out, n, ndim, s);
}

int sd__random_bytes(unsigned char *out, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom(out + got, n - got, 0);
        if (r < 0) {
            if (errno == EINTR) continue;
            break;
        }
        got += (size_t)r;
    }
    if (got == n) return 0;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    while (got < n) {
        ssize_t r = read(fd, out + got, n - got);
        if (r <= 0) {
            if (r < 0 && errno == EINTR) continue;
            close(fd);
            return -1;
        }
        got += (size_t)r;
    }
    close(fd);
    return 0;
}

void sd__hex(char *out, const unsigned char *in, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}
