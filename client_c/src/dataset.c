/*
 * dataset.c: the in-memory dataset: named tensors (owned copies) and
 * metadata fields, each a list of scalars of one dtype or a list of strings.
 * Putting it into the store and reading it back is dataset_io.c's job.
 */
#include "sd_internal.h"

#include <stdlib.h>
#include <string.h>

int sd_dataset_new(sd_dataset **out, const char *name)
{
    if (!out) return SD_ERR_ARG;
    *out = NULL;
    if (!name || !*name || strlen(name) > SD_MAX_NAME || strpbrk(name, "{}")) return SD_ERR_ARG;
    sd_dataset *ds = calloc(1, sizeof *ds);
    if (!ds) return SD_ERR_NOMEM;
    ds->name = strdup(name);
    if (!ds->name) {
        free(ds);
        return SD_ERR_NOMEM;
    }
    *out = ds;
    return SD_OK;
}

static void free_tensor(sd_dtensor *t)
{
    free(t->name);
    free(t->data);
}

void sd_dataset_free(sd_dataset *ds)
{
    if (!ds) return;
    for (size_t i = 0; i < ds->nt; i++) free_tensor(&ds->tensors[i]);
    for (size_t i = 0; i < ds->nm; i++) {
        free(ds->meta[i].name);
        free(ds->meta[i].values);
        sd__strv_free(&ds->meta[i].strings);
    }
    free(ds->tensors);
    free(ds->meta);
    free((void *)ds->scratch);
    free(ds->name);
    free(ds);
}

const char *sd_dataset_name(const sd_dataset *ds)
{
    return ds ? ds->name : NULL;
}

sd_dtensor *sd__ds_find_tensor(const sd_dataset *ds, const char *name)
{
    for (size_t i = 0; i < ds->nt; i++)
        if (strcmp(ds->tensors[i].name, name) == 0) return &ds->tensors[i];
    return NULL;
}

static sd_meta *find_meta(const sd_dataset *ds, const char *name)
{
    for (size_t i = 0; i < ds->nm; i++)
        if (strcmp(ds->meta[i].name, name) == 0) return &ds->meta[i];
    return NULL;
}

static int check_tensor_name(sd_dataset *ds, const char *name)
{
    if (!name || !*name) return sd__ds_fail(ds, SD_ERR_ARG, "tensor name is NULL or empty");
    if (strlen(name) > SD_MAX_NAME) return sd__ds_fail(ds, SD_ERR_ARG, "tensor name is too long");
    if (strcmp(name, "meta") == 0)
        return sd__ds_fail(ds, SD_ERR_ARG, "'meta' cannot name a dataset tensor (the key {%s}.meta is the metadata)",
                           ds->name);
    return SD_OK;
}

int sd__ds_adopt_tensor(sd_dataset *ds, const char *name, void *data, const sd_tinfo *t)
{
    sd_dtensor *slot = sd__ds_find_tensor(ds, name);
    char *copy = strdup(name);
    if (!copy) return sd__ds_fail(ds, SD_ERR_NOMEM, "out of memory adding tensor '%s'", name);
    if (slot) {
        free_tensor(slot);
    } else {
        if (ds->nt == ds->capt) {
            size_t cap = ds->capt ? 2 * ds->capt : 4;
            sd_dtensor *v = realloc(ds->tensors, cap * sizeof *v);
            if (!v) {
                free(copy);
                return sd__ds_fail(ds, SD_ERR_NOMEM, "out of memory adding tensor '%s'", name);
            }
            ds->tensors = v;
            ds->capt = cap;
        }
        slot = &ds->tensors[ds->nt++];
    }
    slot->name = copy;
    slot->dtype = t->dtype;
    slot->order = t->order;
    slot->ndim = t->ndim;
    for (size_t i = 0; i < t->ndim; i++) slot->shape[i] = (size_t)t->shape[i];
    slot->data = data;
    slot->nbytes = t->nbytes;
    return SD_OK;
}

int sd_dataset_add_tensor(sd_dataset *ds, const char *name, const void *data, sd_dtype dtype, size_t ndim,
                          const size_t *shape, sd_order order)
{
    SD_ENTER(ds);
    int rc = check_tensor_name(ds, name);
    if (rc != SD_OK) return rc;
    if (sd__itemsize((int)dtype) == 0) return sd__ds_fail(ds, SD_ERR_ARG, "unknown dtype code %d", (int)dtype);
    if (order != SD_ORDER_C && order != SD_ORDER_F)
        return sd__ds_fail(ds, SD_ERR_ARG, "order must be SD_ORDER_C or SD_ORDER_F");
    if (ndim > SD_MAX_NDIM)
        return sd__ds_fail(ds, SD_ERR_ARG, "a tensor has at most %d dimensions, got %zu", SD_MAX_NDIM, ndim);
    if (ndim > 0 && !shape) return sd__ds_fail(ds, SD_ERR_ARG, "shape is NULL");
    sd_tinfo t;
    memset(&t, 0, sizeof t);
    t.dtype = (int)dtype;
    t.order = (int)order;
    t.ndim = ndim;
    for (size_t i = 0; i < ndim; i++) t.shape[i] = shape[i];
    if (sd__nbytes(ndim, t.shape, sd__itemsize((int)dtype), &t.nbytes) != 0)
        return sd__ds_fail(ds, SD_ERR_ARG, "the size of the shape of tensor '%s' overflows", name);
    if (t.nbytes && !data) return sd__ds_fail(ds, SD_ERR_ARG, "data is NULL for the non-empty tensor '%s'", name);
    void *copy = malloc(t.nbytes ? t.nbytes : 1);
    if (!copy) return sd__ds_fail(ds, SD_ERR_NOMEM, "out of memory copying tensor '%s'", name);
    if (t.nbytes) memcpy(copy, data, t.nbytes);
    rc = sd__ds_adopt_tensor(ds, name, copy, &t);
    if (rc != SD_OK) free(copy);
    return rc;
}

int sd_dataset_get_tensor(sd_dataset *ds, const char *name, const void **data, sd_dtype *dtype, size_t *ndim,
                          const size_t **shape, sd_order *order)
{
    SD_ENTER(ds);
    if (!name || !data || !dtype || !ndim || !shape || !order)
        return sd__ds_fail(ds, SD_ERR_ARG, "sd_dataset_get_tensor: a NULL argument");
    const sd_dtensor *t = sd__ds_find_tensor(ds, name);
    if (!t) return sd__ds_fail(ds, SD_ERR_NOT_FOUND, "dataset '%s' has no tensor '%s'", ds->name, name);
    *data = t->data;
    *dtype = (sd_dtype)t->dtype;
    *ndim = t->ndim;
    *shape = t->shape;
    *order = (sd_order)t->order;
    return SD_OK;
}

int sd_dataset_unpack_tensor(sd_dataset *ds, const char *name, void *buffer, size_t buffer_bytes, sd_dtype dtype,
                             size_t ndim, const size_t *shape, sd_order order)
{
    SD_ENTER(ds);
    if (!name) return sd__ds_fail(ds, SD_ERR_ARG, "tensor name is NULL");
    if (ndim > SD_MAX_NDIM) return sd__ds_fail(ds, SD_ERR_ARG, "ndim %zu > %d", ndim, SD_MAX_NDIM);
    if ((ndim && !shape) || (order != SD_ORDER_C && order != SD_ORDER_F))
        return sd__ds_fail(ds, SD_ERR_ARG, "shape is NULL or order invalid");
    const sd_dtensor *t = sd__ds_find_tensor(ds, name);
    if (!t) return sd__ds_fail(ds, SD_ERR_NOT_FOUND, "dataset '%s' has no tensor '%s'", ds->name, name);
    char stored[400], wanted[400];
    int same = t->ndim == ndim;
    for (size_t i = 0; same && i < ndim; i++) same = t->shape[i] == shape[i];
    sd__format_shape_sz(stored, sizeof stored, t->ndim, t->shape);
    if (t->dtype != (int)dtype)
        return sd__ds_fail(ds, SD_ERR_TYPE, "tensor '%s' of dataset '%s' is %s with shape %s, not %s", name, ds->name,
                           sd__dtype_str(t->dtype), stored, sd__dtype_str((int)dtype));
    if (!same) {
        sd__format_shape_sz(wanted, sizeof wanted, ndim, shape);
        return sd__ds_fail(ds, SD_ERR_SHAPE, "tensor '%s' of dataset '%s' has shape %s, not %s", name, ds->name, stored,
                           wanted);
    }
    if (buffer_bytes < t->nbytes || (t->nbytes && !buffer))
        return sd__ds_fail(ds, SD_ERR_ARG, "buffer of %zu bytes is too small for tensor '%s' (%zu bytes)", buffer_bytes,
                           name, t->nbytes);
    if (t->order == (int)order || ndim < 2)
        memcpy(buffer, t->data, t->nbytes);
    else
        sd__relayout(buffer, t->data, sd__itemsize(t->dtype), ndim, shape, (int)order);
    return SD_OK;
}

static int hand_out_names(sd_dataset *ds, int tensors, const char *const **names, size_t *count)
{
    size_t n = tensors ? ds->nt : ds->nm;
    const char **v = realloc((void *)ds->scratch, (n ? n : 1) * sizeof *v);
    if (!v) return sd__ds_fail(ds, SD_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) v[i] = tensors ? ds->tensors[i].name : ds->meta[i].name;
    ds->scratch = v;
    *names = v;
    *count = n;
    return SD_OK;
}

int sd_dataset_tensor_names(sd_dataset *ds, const char *const **names, size_t *count)
{
    SD_ENTER(ds);
    if (!names || !count) return sd__ds_fail(ds, SD_ERR_ARG, "names or count is NULL");
    return hand_out_names(ds, 1, names, count);
}

int sd_dataset_meta_names(sd_dataset *ds, const char *const **names, size_t *count)
{
    SD_ENTER(ds);
    if (!names || !count) return sd__ds_fail(ds, SD_ERR_ARG, "names or count is NULL");
    return hand_out_names(ds, 0, names, count);
}

int sd__ds_add_meta_field(sd_dataset *ds, const char *name, int is_string, sd_meta **out)
{
    if (ds->nm == ds->capm) {
        size_t cap = ds->capm ? 2 * ds->capm : 4;
        sd_meta *v = realloc(ds->meta, cap * sizeof *v);
        if (!v) return sd__ds_fail(ds, SD_ERR_NOMEM, "out of memory adding field '%s'", name);
        ds->meta = v;
        ds->capm = cap;
    }
    sd_meta *m = &ds->meta[ds->nm];
    memset(m, 0, sizeof *m);
    m->name = strdup(name);
    if (!m->name) return sd__ds_fail(ds, SD_ERR_NOMEM, "out of memory adding field '%s'", name);
    m->is_string = is_string;
    ds->nm++;
    *out = m;
    return SD_OK;
}

int sd__ds_meta_append(sd_dataset *ds, sd_meta *m, const void *values, size_t count)
{
    size_t size = sd__itemsize(m->dtype);
    if (m->count + count > m->cap) {
        size_t cap = m->cap ? m->cap : 4;
        while (cap < m->count + count) cap *= 2;
        unsigned char *v = realloc(m->values, cap * size);
        if (!v) return sd__ds_fail(ds, SD_ERR_NOMEM, "out of memory appending to field '%s'", m->name);
        m->values = v;
        m->cap = cap;
    }
    memcpy(m->values + m->count * size, values, count * size);
    m->count += count;
    return SD_OK;
}

static int check_field_name(sd_dataset *ds, const char *name)
{
    if (!name || !*name) return sd__ds_fail(ds, SD_ERR_ARG, "field name is NULL or empty");
    if (name[0] == '.') return sd__ds_fail(ds, SD_ERR_ARG, "field names starting with '.' are reserved: '%s'", name);
    if (strlen(name) > SD_MAX_NAME) return sd__ds_fail(ds, SD_ERR_ARG, "field name is too long");
    return SD_OK;
}

int sd_dataset_add_meta_scalar(sd_dataset *ds, const char *name, const void *value, sd_dtype dtype)
{
    SD_ENTER(ds);
    int rc = check_field_name(ds, name);
    if (rc != SD_OK) return rc;
    if (!value) return sd__ds_fail(ds, SD_ERR_ARG, "value is NULL");
    if (sd__itemsize((int)dtype) == 0) return sd__ds_fail(ds, SD_ERR_ARG, "unknown dtype code %d", (int)dtype);
    sd_meta *m = find_meta(ds, name);
    if (m && m->is_string) return sd__ds_fail(ds, SD_ERR_TYPE, "field '%s' holds strings, not scalars", name);
    if (m && m->dtype != (int)dtype)
        return sd__ds_fail(ds, SD_ERR_TYPE, "field '%s' holds %s scalars, not %s", name, sd__dtype_str(m->dtype),
                           sd__dtype_str((int)dtype));
    if (!m) {
        if ((rc = sd__ds_add_meta_field(ds, name, 0, &m)) != SD_OK) return rc;
        m->dtype = (int)dtype;
    }
    return sd__ds_meta_append(ds, m, value, 1);
}

int sd_dataset_add_meta_string(sd_dataset *ds, const char *name, const char *value)
{
    SD_ENTER(ds);
    int rc = check_field_name(ds, name);
    if (rc != SD_OK) return rc;
    if (!value) return sd__ds_fail(ds, SD_ERR_ARG, "value is NULL");
    sd_meta *m = find_meta(ds, name);
    if (m && !m->is_string) return sd__ds_fail(ds, SD_ERR_TYPE, "field '%s' holds scalars, not strings", name);
    if (!m && (rc = sd__ds_add_meta_field(ds, name, 1, &m)) != SD_OK) return rc;
    if (sd__strv_push(&m->strings, value, strlen(value)) != 0)
        return sd__ds_fail(ds, SD_ERR_NOMEM, "out of memory appending to field '%s'", name);
    return SD_OK;
}

int sd_dataset_get_meta_scalars(sd_dataset *ds, const char *name, const void **values, size_t *count,
                                sd_dtype *dtype)
{
    SD_ENTER(ds);
    if (!name || !values || !count || !dtype) return sd__ds_fail(ds, SD_ERR_ARG, "a NULL argument");
    const sd_meta *m = find_meta(ds, name);
    if (!m) return sd__ds_fail(ds, SD_ERR_NOT_FOUND, "dataset '%s' has no field '%s'", ds->name, name);
    if (m->is_string) return sd__ds_fail(ds, SD_ERR_TYPE, "field '%s' holds strings, not scalars", name);
    *values = m->values;
    *count = m->count;
    *dtype = (sd_dtype)m->dtype;
    return SD_OK;
}

int sd_dataset_get_meta_strings(sd_dataset *ds, const char *name, const char *const **values, size_t *count)
{
    SD_ENTER(ds);
    if (!name || !values || !count) return sd__ds_fail(ds, SD_ERR_ARG, "a NULL argument");
    const sd_meta *m = find_meta(ds, name);
    if (!m) return sd__ds_fail(ds, SD_ERR_NOT_FOUND, "dataset '%s' has no field '%s'", ds->name, name);
    if (!m->is_string) return sd__ds_fail(ds, SD_ERR_TYPE, "field '%s' holds scalars, not strings", name);
    *values = (const char *const *)m->strings.v;
    *count = m->strings.n;
    return SD_OK;
}
