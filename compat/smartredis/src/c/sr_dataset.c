/*
 * sr_dataset.c: DataSet objects (c_dataset.h) over simdask's in-memory
 * dataset: add_tensor copies the caller's data (gathering the nested
 * layouts), reads hand out memory the dataset keeps until it is freed.
 */
#include "sr_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

SRError CDataSet(const char *name, const size_t name_length, void **new_dataset)
{
    static const char WHERE[] = "CDataSet";
    if (!new_dataset) return sr__fail(SRParameterError, WHERE, "new_dataset is NULL");
    *new_dataset = NULL;
    char *s;
    SRError rc = sr__string(name, name_length, "name", WHERE, &s);
    if (rc != SRNoError) return rc;
    sd_dataset *sd = NULL;
    int status = sd_dataset_new(&sd, s);
    if (status == SD_ERR_NOMEM) rc = sr__fail(SRBadAllocError, WHERE, "out of memory creating dataset '%s'", s);
    else if (status != SD_OK)
        rc = sr__fail(SRParameterError, WHERE, "invalid dataset name '%s': it must be non-empty, without '{' or '}'",
                      s);
    sr_dataset *d = rc == SRNoError ? sr__wrap_dataset(sd) : NULL;
    if (rc == SRNoError && !d) {
        sd_dataset_free(sd);
        rc = sr__fail(SRBadAllocError, WHERE, "out of memory creating dataset '%s'", s);
    }
    free(s);
    *new_dataset = d;
    return rc;
}

SRError DeallocateDataSet(void **dataset)
{
    static const char WHERE[] = "DeallocateDataSet";
    if (!dataset) return sr__fail(SRParameterError, WHERE, "dataset is NULL");
    if (!*dataset) return SRNoError;
    sr_dataset *d = sr__dataset(*dataset, WHERE);
    if (!d) return SRParameterError;
    sr__free_dataset(d);
    *dataset = NULL;
    return SRNoError;
}

/* The dataset and the name as a string. */
static SRError begin(void *dataset, const char *name, size_t len, const char *what, const char *where,
                     sr_dataset **d, char **s)
{
    *s = NULL;
    if (!(*d = sr__dataset(dataset, where))) return SRParameterError;
    return sr__string(name, len, what, where, s);
}

static SRError check(sr_dataset *d, int status, const char *where)
{
    return status == SD_OK ? SRNoError : sr__fail_dataset(d, status, where);
}

SRError add_tensor(void *dataset, const char *name, const size_t name_length, void *data, const size_t *dims,
                   const size_t n_dims, const SRTensorType type, const SRMemoryLayout mem_layout)
{
    static const char WHERE[] = "add_tensor";
    sr_dataset *d;
    char *s;
    SRError rc = begin(dataset, name, name_length, "name", WHERE, &d, &s);
    if (rc == SRNoError) rc = sr__check_tensor_args(type, mem_layout, dims, n_dims, WHERE);
    const void *flat = NULL;
    void *owned = NULL;
    sd_order order = SD_ORDER_C;
    sd_dtype dtype = sr__dtype(type);
    if (rc == SRNoError)
        rc = sr__gather(data, dims, n_dims, sd_dtype_size(dtype), mem_layout, WHERE, &flat, &owned, &order);
    if (rc == SRNoError) rc = check(d, sd_dataset_add_tensor(d->sd, s, flat, dtype, n_dims, dims, order), WHERE);
    free(owned);
    free(s);
    return rc;
}

SRError add_meta_scalar(void *dataset, const char *name, const size_t name_length, const void *data,
                        const SRMetaDataType type)
{
    static const char WHERE[] = "add_meta_scalar";
    sr_dataset *d;
    char *s;
    SRError rc = begin(dataset, name, name_length, "name", WHERE, &d, &s);
    if (rc == SRNoError && type == SRMetadataTypeString)
        rc = sr__fail(SRParameterError, WHERE, "field '%s': strings are added with add_meta_string", s);
    else if (rc == SRNoError && !sr__meta_dtype(type))
        rc = sr__fail(SRParameterError, WHERE, "field '%s': invalid metadata type %d", s, (int)type);
    if (rc == SRNoError) rc = check(d, sd_dataset_add_meta_scalar(d->sd, s, data, sr__meta_dtype(type)), WHERE);
    free(s);
    return rc;
}

SRError add_meta_string(void *dataset, const char *name, const size_t name_length, const char *data,
                        const size_t data_length)
{
    static const char WHERE[] = "add_meta_string";
    sr_dataset *d;
    char *s, *value = NULL;
    SRError rc = begin(dataset, name, name_length, "name", WHERE, &d, &s);
    if (rc == SRNoError) rc = sr__string(data, data_length, "data", WHERE, &value);
    if (rc == SRNoError) rc = check(d, sd_dataset_add_meta_string(d->sd, s, value), WHERE);
    free(value);
    free(s);
    return rc;
}

/* The tensor's stored data, type, dims and order. */
typedef struct stored_tensor {
    const void *data;
    sd_dtype dtype;
    size_t ndim;
    const size_t *shape;
    sd_order order;
} stored_tensor;

static SRError find_tensor(sr_dataset *d, const char *name, const char *where, stored_tensor *t)
{
    return check(d, sd_dataset_get_tensor(d->sd, name, &t->data, &t->dtype, &t->ndim, &t->shape, &t->order), where);
}

SRError get_dataset_tensor(void *dataset, const char *name, const size_t name_length, void **data, size_t **dims,
                           size_t *n_dims, SRTensorType *type, const SRMemoryLayout mem_layout)
{
    static const char WHERE[] = "get_dataset_tensor";
    sr_dataset *d;
    char *s;
    stored_tensor t;
    SRError rc = begin(dataset, name, name_length, "name", WHERE, &d, &s);
    if (rc == SRNoError && (!data || !dims || !n_dims || !type))
        rc = sr__fail(SRParameterError, WHERE, "data, dims, n_dims or type is NULL");
    if (rc == SRNoError && (mem_layout < SRMemLayoutNested || mem_layout > SRMemLayoutFortranContiguous))
        rc = sr__fail(SRParameterError, WHERE, "invalid memory layout %d", (int)mem_layout);
    if (rc == SRNoError) rc = find_tensor(d, s, WHERE, &t);
    if (rc == SRNoError && (!sr__tensor_type(t.dtype) || t.ndim == 0))
        rc = sr__fail(SRTypeError, WHERE, "tensor '%s' of dataset '%s' has no SmartRedis type or form (%s, %zu-d)", s,
                      d->obj.log_context, sd_dtype_name(t.dtype) ? sd_dtype_name(t.dtype) : "unknown", t.ndim);
    void *result = NULL, *keep[3] = {NULL, NULL, NULL};
    if (rc == SRNoError)
        rc = sr__shape_for_caller(t.data, t.order, t.shape, t.ndim, sd_dtype_size(t.dtype), mem_layout, WHERE,
                                  &result, &keep[0], &keep[1]);
    if (rc == SRNoError && !(keep[2] = malloc(t.ndim * sizeof *t.shape))) {
        free(keep[0]);
        free(keep[1]);
        rc = sr__fail(SRBadAllocError, WHERE, "out of memory");
    }
    if (rc == SRNoError && sr__keep_all(&d->obj, keep, 3) != 0) rc = sr__fail(SRBadAllocError, WHERE, "out of memory");
    if (rc == SRNoError) {
        memcpy(keep[2], t.shape, t.ndim * sizeof *t.shape);
        *data = result;
        *dims = keep[2];
        *n_dims = t.ndim;
        *type = sr__tensor_type(t.dtype);
    }
    free(s);
    return rc;
}

SRError unpack_dataset_tensor(void *dataset, const char *name, const size_t name_length, void *data,
                              const size_t *dims, const size_t n_dims, const SRTensorType type,
                              const SRMemoryLayout mem_layout)
{
    static const char WHERE[] = "unpack_dataset_tensor";
    sr_dataset *d;
    char *s;
    SRError rc = begin(dataset, name, name_length, "name", WHERE, &d, &s);
    if (rc == SRNoError) rc = sr__check_tensor_args(type, mem_layout, dims, n_dims, WHERE);
    if (rc == SRNoError && !data) rc = sr__fail(SRParameterError, WHERE, "data is NULL");
    if (rc != SRNoError) {
        free(s);
        return rc;
    }
    sd_dtype dtype = sr__dtype(type);
    size_t bytes = sd_dtype_size(dtype);
    for (size_t i = 0; i < n_dims; i++) bytes *= dims[i];
    int nested = (mem_layout == SRMemLayoutNested || mem_layout == SRMemLayoutFortranNested) && n_dims > 1;
    void *block = nested ? malloc(bytes) : data;
    if (!block) rc = sr__fail(SRBadAllocError, WHERE, "out of memory");
    if (rc == SRNoError)
        rc = check(d, sd_dataset_unpack_tensor(d->sd, s, block, bytes, dtype, n_dims, dims, sr__order(mem_layout)),
                   WHERE);
    if (rc == SRNoError && nested) sr__scatter(data, block, dims, n_dims, sd_dtype_size(dtype), mem_layout);
    if (nested) free(block);
    free(s);
    return rc;
}

SRError get_meta_scalars(void *dataset, const char *name, const size_t name_length, size_t *length,
                         SRMetaDataType *type, void **scalar_data)
{
    static const char WHERE[] = "get_meta_scalars";
    sr_dataset *d;
    char *s;
    const void *values = NULL;
    size_t count = 0;
    sd_dtype dtype = 0;
    SRError rc = begin(dataset, name, name_length, "name", WHERE, &d, &s);
    if (rc == SRNoError && (!length || !type || !scalar_data))
        rc = sr__fail(SRParameterError, WHERE, "length, type or scalar_data is NULL");
    if (rc == SRNoError) rc = check(d, sd_dataset_get_meta_scalars(d->sd, s, &values, &count, &dtype), WHERE);
    if (rc == SRNoError && !sr__meta_type(dtype))
        rc = sr__fail(SRTypeError, WHERE, "field '%s' holds %s values, which SmartRedis has no metadata type for", s,
                      sd_dtype_name(dtype) ? sd_dtype_name(dtype) : "unknown");
    if (rc == SRNoError) {
        *length = count;
        *type = sr__meta_type(dtype);
        *scalar_data = (void *)values;
    }
    free(s);
    return rc;
}

/* names[0..n) handed out as SmartRedis hands out strings: an array of
 * pointers and one of lengths, both kept by the dataset. */
static SRError hand_out(sr_dataset *d, const char *const *names, size_t n, char ***data, size_t *n_strings,
                        size_t **lengths, const char *where)
{
    void *keep[2] = {malloc((n ? n : 1) * sizeof(char *)), malloc((n ? n : 1) * sizeof(size_t))};
    if (!keep[0] || !keep[1]) {
        free(keep[0]);
        free(keep[1]);
        return sr__fail(SRBadAllocError, where, "out of memory");
    }
    if (sr__keep_all(&d->obj, keep, 2) != 0) return sr__fail(SRBadAllocError, where, "out of memory");
    char **v = keep[0];
    size_t *l = keep[1];
    for (size_t i = 0; i < n; i++) {
        v[i] = (char *)names[i];
        l[i] = strlen(names[i]);
    }
    *data = v;
    *lengths = l;
    *n_strings = n;
    return SRNoError;
}

SRError get_meta_strings(void *dataset, const char *name, const size_t name_length, char ***data, size_t *n_strings,
                         size_t **lengths)
{
    static const char WHERE[] = "get_meta_strings";
    sr_dataset *d;
    char *s;
    const char *const *values = NULL;
    size_t count = 0;
    SRError rc = begin(dataset, name, name_length, "name", WHERE, &d, &s);
    if (rc == SRNoError && (!data || !n_strings || !lengths))
        rc = sr__fail(SRParameterError, WHERE, "data, n_strings or lengths is NULL");
    if (rc == SRNoError) rc = check(d, sd_dataset_get_meta_strings(d->sd, s, &values, &count), WHERE);
    if (rc == SRNoError) rc = hand_out(d, values, count, data, n_strings, lengths, WHERE);
    free(s);
    return rc;
}

static SRError names_of(void *dataset, int tensors, char ***data, size_t *n_strings, size_t **lengths,
                        const char *where)
{
    sr_dataset *d = sr__dataset(dataset, where);
    if (!d) return SRParameterError;
    if (!data || !n_strings || !lengths) return sr__fail(SRParameterError, where, "data, n_strings or lengths is NULL");
    const char *const *names;
    size_t n;
    SRError rc = check(d, tensors ? sd_dataset_tensor_names(d->sd, &names, &n) : sd_dataset_meta_names(d->sd, &names, &n),
                       where);
    return rc != SRNoError ? rc : hand_out(d, names, n, data, n_strings, lengths, where);
}

SRError get_tensor_names(void *dataset, char ***data, size_t *n_strings, size_t **lengths)
{
    return names_of(dataset, 1, data, n_strings, lengths, "get_tensor_names");
}

SRError get_metadata_field_names(void *dataset, char ***data, size_t *n_strings, size_t **lengths)
{
    return names_of(dataset, 0, data, n_strings, lengths, "get_metadata_field_names");
}

SRError get_tensor_type(void *dataset, const char *name, size_t name_len, SRTensorType *ttype)
{
    static const char WHERE[] = "get_tensor_type";
    sr_dataset *d;
    char *s;
    stored_tensor t;
    SRError rc = begin(dataset, name, name_len, "name", WHERE, &d, &s);
    if (rc == SRNoError && !ttype) rc = sr__fail(SRParameterError, WHERE, "ttype is NULL");
    if (rc == SRNoError) rc = find_tensor(d, s, WHERE, &t);
    if (rc == SRNoError && !sr__tensor_type(t.dtype))
        rc = sr__fail(SRTypeError, WHERE, "tensor '%s' holds %s elements, which SmartRedis has no type for", s,
                      sd_dtype_name(t.dtype) ? sd_dtype_name(t.dtype) : "unknown");
    if (rc == SRNoError) *ttype = sr__tensor_type(t.dtype);
    free(s);
    return rc;
}

SRError get_tensor_dims(void *dataset, const char *name, size_t name_len, size_t **dims, size_t *ndims)
{
    static const char WHERE[] = "get_tensor_dims";
    sr_dataset *d;
    char *s;
    stored_tensor t;
    SRError rc = begin(dataset, name, name_len, "name", WHERE, &d, &s);
    if (rc == SRNoError && (!dims || !ndims)) rc = sr__fail(SRParameterError, WHERE, "dims or ndims is NULL");
    if (rc == SRNoError) rc = find_tensor(d, s, WHERE, &t);
    if (rc == SRNoError && *ndims < t.ndim) {
        rc = sr__fail(SRBadAllocError, WHERE, "tensor '%s' has %zu dimensions: dims has room for %zu", s, t.ndim,
                      *ndims);
        *ndims = t.ndim;
    } else if (rc == SRNoError && t.ndim && !*dims) {
        rc = sr__fail(SRParameterError, WHERE, "*dims is NULL");
    } else if (rc == SRNoError) {
        memcpy(*dims, t.shape, t.ndim * sizeof *t.shape);
        *ndims = t.ndim;
    }
    free(s);
    return rc;
}

SRError get_metadata_field_type(void *dataset, const char *name, size_t name_len, SRMetaDataType *mdtype)
{
    static const char WHERE[] = "get_metadata_field_type";
    sr_dataset *d;
    char *s;
    SRError rc = begin(dataset, name, name_len, "name", WHERE, &d, &s);
    if (rc == SRNoError && !mdtype) rc = sr__fail(SRParameterError, WHERE, "mdtype is NULL");
    if (rc == SRNoError) {
        const void *values;
        const char *const *strings;
        size_t count;
        sd_dtype dtype;
        int status = sd_dataset_get_meta_scalars(d->sd, s, &values, &count, &dtype);
        if (status == SD_OK)
            *mdtype = sr__meta_type(dtype);
        else if (status == SD_ERR_TYPE && sd_dataset_get_meta_strings(d->sd, s, &strings, &count) == SD_OK)
            *mdtype = SRMetadataTypeString;
        else
            rc = check(d, status, WHERE);
    }
    free(s);
    return rc;
}

const char *dataset_to_string(void *dataset)
{
    sr_dataset *d = sr__dataset(dataset, "dataset_to_string");
    if (!d) return SRGetLastError();
    const char *const *names;
    size_t nt = 0, nm = 0;
    char *text = NULL;
    size_t cap = 256 + strlen(d->obj.log_context), len;
    if (sd_dataset_tensor_names(d->sd, &names, &nt) == SD_OK) {
        for (size_t i = 0; i < nt; i++) cap += strlen(names[i]) + 4;
    }
    if (sd_dataset_meta_names(d->sd, &names, &nm) == SD_OK) {
        for (size_t i = 0; i < nm; i++) cap += strlen(names[i]) + 4;
    }
    if ((text = malloc(cap))) {
        len = (size_t)snprintf(text, cap, "DataSet '%s': %zu tensors", d->obj.log_context, nt);
        if (sd_dataset_tensor_names(d->sd, &names, &nt) == SD_OK)
            for (size_t i = 0; i < nt; i++) len += (size_t)snprintf(text + len, cap - len, "%s%s", i ? ", " : " (", names[i]);
        if (nt) len += (size_t)snprintf(text + len, cap - len, ")");
        len += (size_t)snprintf(text + len, cap - len, "; %zu metadata fields", nm);
        if (sd_dataset_meta_names(d->sd, &names, &nm) == SD_OK)
            for (size_t i = 0; i < nm; i++) len += (size_t)snprintf(text + len, cap - len, "%s%s", i ? ", " : " (", names[i]);
        if (nm) snprintf(text + len, cap - len, ")");
    }
    return sr__thread_text(text);
}
