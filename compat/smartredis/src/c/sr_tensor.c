/*
 * sr_tensor.c: a client's tensors (c_client.h): put, get (into memory the
 * client keeps until DeleteCClient), unpack, copy, rename, delete.
 */
#include "sr_internal.h"

#include <stdlib.h>
#include <string.h>

/* The client and the name as a string; NULL client: SRParameterError recorded. */
static SRError begin(void *c_client, const char *name, size_t len, const char *where, sr_client **c, char **s)
{
    *s = NULL;
    if (!(*c = sr__client(c_client, where))) return SRParameterError;
    return sr__string(name, len, "name", where, s);
}

SRError put_tensor(void *c_client, const char *name, const size_t name_length, void *data, const size_t *dims,
                   const size_t n_dims, SRTensorType type, SRMemoryLayout mem_layout)
{
    static const char WHERE[] = "put_tensor";
    sr_client *c;
    char *key;
    SRError rc = begin(c_client, name, name_length, WHERE, &c, &key);
    if (rc == SRNoError) rc = sr__check_tensor_args(type, mem_layout, dims, n_dims, WHERE);
    const void *flat = NULL;
    void *owned = NULL;
    sd_order order = SD_ORDER_C;
    sd_dtype dtype = sr__dtype(type);
    if (rc == SRNoError)
        rc = sr__gather(data, dims, n_dims, sd_dtype_size(dtype), mem_layout, WHERE, &flat, &owned, &order);
    if (rc == SRNoError) rc = sr__check(c, sd_put_tensor(c->sd, key, flat, dtype, n_dims, dims, order), WHERE);
    free(owned);
    free(key);
    return rc;
}

SRError get_tensor(void *c_client, const char *name, const size_t name_length, void **data, size_t **dims,
                   size_t *n_dims, SRTensorType *type, SRMemoryLayout mem_layout)
{
    static const char WHERE[] = "get_tensor";
    sr_client *c;
    char *key;
    SRError rc = begin(c_client, name, name_length, WHERE, &c, &key);
    if (rc == SRNoError && (!data || !dims || !n_dims || !type))
        rc = sr__fail(SRParameterError, WHERE, "data, dims, n_dims or type is NULL");
    if (rc == SRNoError && (mem_layout < SRMemLayoutNested || mem_layout > SRMemLayoutFortranContiguous))
        rc = sr__fail(SRParameterError, WHERE, "invalid memory layout %d", (int)mem_layout);
    void *stored = NULL;
    sd_dtype dtype = 0;
    size_t ndim = 0, shape[SD_MAX_NDIM];
    sd_order order = SD_ORDER_C;
    if (rc == SRNoError) rc = sr__check(c, sd_get_tensor(c->sd, key, &stored, &dtype, &ndim, shape, &order), WHERE);
    if (rc == SRNoError && !sr__tensor_type(dtype))
        rc = sr__fail(SRTypeError, WHERE, "tensor '%s' holds %s elements, which SmartRedis has no type for", key,
                      sd_dtype_name(dtype) ? sd_dtype_name(dtype) : "unknown");
    if (rc == SRNoError && ndim == 0)
        rc = sr__fail(SRTypeError, WHERE, "tensor '%s' is a 0-dimensional scalar, which SmartRedis has no form for",
                      key);
    void *result = NULL, *keep[3] = {NULL, NULL, NULL}; /* data, pointer arrays, dims */
    if (rc == SRNoError)
        rc = sr__shape_for_caller(stored, order, shape, ndim, sd_dtype_size(dtype), mem_layout, WHERE, &result,
                                  &keep[0], &keep[1]);
    if (rc == SRNoError && !(keep[2] = malloc(ndim * sizeof *shape))) {
        free(keep[0]);
        free(keep[1]);
        rc = sr__fail(SRBadAllocError, WHERE, "out of memory for tensor '%s'", key);
    }
    if (rc == SRNoError && sr__keep_all(&c->obj, keep, 3) != 0)
        rc = sr__fail(SRBadAllocError, WHERE, "out of memory for tensor '%s'", key);
    if (rc == SRNoError) {
        memcpy(keep[2], shape, ndim * sizeof *shape);
        *data = result;
        *dims = keep[2];
        *n_dims = ndim;
        *type = sr__tensor_type(dtype);
    }
    sd_free(stored);
    free(key);
    return rc;
}

SRError unpack_tensor(void *c_client, const char *name, const size_t name_length, void *result, const size_t *dims,
                      const size_t n_dims, SRTensorType type, SRMemoryLayout mem_layout)
{
    static const char WHERE[] = "unpack_tensor";
    sr_client *c;
    char *key;
    SRError rc = begin(c_client, name, name_length, WHERE, &c, &key);
    if (rc == SRNoError) rc = sr__check_tensor_args(type, mem_layout, dims, n_dims, WHERE);
    if (rc == SRNoError && !result) rc = sr__fail(SRParameterError, WHERE, "result is NULL");
    if (rc != SRNoError) {
        free(key);
        return rc;
    }
    sd_dtype dtype = sr__dtype(type);
    size_t bytes = sd_dtype_size(dtype);
    for (size_t i = 0; i < n_dims; i++) bytes *= dims[i];
    int nested = (mem_layout == SRMemLayoutNested || mem_layout == SRMemLayoutFortranNested) && n_dims > 1;
    void *block = nested ? malloc(bytes) : result;
    if (!block) rc = sr__fail(SRBadAllocError, WHERE, "out of memory unpacking tensor '%s'", key);
    if (rc == SRNoError)
        rc = sr__check(c, sd_unpack_tensor(c->sd, key, block, bytes, dtype, n_dims, dims, sr__order(mem_layout)),
                       WHERE);
    if (rc == SRNoError && nested) sr__scatter(result, block, dims, n_dims, sd_dtype_size(dtype), mem_layout);
    if (nested) free(block);
    free(key);
    return rc;
}

/* Two names: the client and both as strings. */
static SRError begin2(void *c_client, const char *a, size_t alen, const char *b, size_t blen, const char *where,
                      sr_client **c, char **sa, char **sb)
{
    *sb = NULL;
    SRError rc = begin(c_client, a, alen, where, c, sa);
    if (rc == SRNoError) rc = sr__string(b, blen, "destination name", where, sb);
    return rc;
}

static SRError two_names(void *c_client, const char *a, size_t alen, const char *b, size_t blen,
                         int (*call)(sd_client *, const char *, const char *), const char *where)
{
    sr_client *c;
    char *sa, *sb;
    SRError rc = begin2(c_client, a, alen, b, blen, where, &c, &sa, &sb);
    if (rc == SRNoError) rc = sr__check(c, call(c->sd, sa, sb), where);
    free(sa);
    free(sb);
    return rc;
}

SRError rename_tensor(void *c_client, const char *old_name, const size_t old_name_length, const char *new_name,
                      const size_t new_name_length)
{
    return two_names(c_client, old_name, old_name_length, new_name, new_name_length, sd_rename_tensor,
                     "rename_tensor");
}

SRError copy_tensor(void *c_client, const char *src_name, const size_t src_name_length, const char *dest_name,
                    const size_t dest_name_length)
{
    return two_names(c_client, src_name, src_name_length, dest_name, dest_name_length, sd_copy_tensor,
                     "copy_tensor");
}

SRError delete_tensor(void *c_client, const char *name, const size_t name_length)
{
    static const char WHERE[] = "delete_tensor";
    sr_client *c;
    char *key;
    SRError rc = begin(c_client, name, name_length, WHERE, &c, &key);
    if (rc == SRNoError) rc = sr__check(c, sd_delete_tensor(c->sd, key), WHERE);
    free(key);
    return rc;
}

/* ---- datasets of a client: the same shapes of call --------------------------------------- */

SRError rename_dataset(void *c_client, const char *old_name, const size_t old_name_length, const char *new_name,
                       const size_t new_name_length)
{
    return two_names(c_client, old_name, old_name_length, new_name, new_name_length, sd_rename_dataset,
                     "rename_dataset");
}

SRError copy_dataset(void *c_client, const char *src_name, const size_t src_name_length, const char *dest_name,
                     const size_t dest_name_length)
{
    return two_names(c_client, src_name, src_name_length, dest_name, dest_name_length, sd_copy_dataset,
                     "copy_dataset");
}

SRError copy_list(void *c_client, const char *src_name, const size_t src_name_length, const char *dest_name,
                  const size_t dest_name_length)
{
    return two_names(c_client, src_name, src_name_length, dest_name, dest_name_length, sd_copy_list, "copy_list");
}

SRError rename_list(void *c_client, const char *src_name, const size_t src_name_length, const char *dest_name,
                    const size_t dest_name_length)
{
    return two_names(c_client, src_name, src_name_length, dest_name, dest_name_length, sd_rename_list,
                     "rename_list");
}
