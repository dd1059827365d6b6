/*
 * meta.c: sd_tensor_meta, the description of a tensor (docs/protocol.md,
 * "Describing a tensor"): dimension names, attrs, coordinates and the
 * tensor's place in a global array, set field by field (no JSON for the
 * caller to write, so that Fortran can use it as C does) and written as
 * the header's attrs JSON by sd_put_tensor_meta. Numbers are written so
 * that they read back as the same double (and as floats, not ints, in
 * Python); strings are escaped. Errors are kept per object, as sd_dataset's.
 */
#include "sd_internal.h"

#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One attr or coordinate: a string, a double, an integer, or a list of doubles. */
typedef struct meta_entry {
    char *name;
    char kind; /* 's', 'd', 'i', 'a' */
    char *text;
    double number;
    long long integer;
    double *values;
    size_t count;
} meta_entry;

typedef struct meta_list {
    meta_entry *v;
    size_t n, cap;
} meta_list;

struct sd_tensor_meta {
    int err;
    char errstr[512];
    int has_dims;
    sd_strv dims;
    meta_list attrs, coords;
    int has_block;
    size_t block_ndim;
    size_t global[SD_MAX_NDIM], start[SD_MAX_NDIM];
};

static int fail(sd_tensor_meta *m, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(sd_tensor_meta *m, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->errstr, sizeof m->errstr, fmt, ap);
    va_end(ap);
    m->err = code;
    return code;
}

static void entry_clear(meta_entry *e)
{
    free(e->text);
    free(e->values);
    e->text = NULL;
    e->values = NULL;
}

static void list_free(meta_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        entry_clear(&l->v[i]);
        free(l->v[i].name);
    }
    free(l->v);
}

int sd_tensor_meta_new(sd_tensor_meta **out)
{
    if (!out) return SD_ERR_ARG;
    *out = calloc(1, sizeof **out);
    return *out ? SD_OK : SD_ERR_NOMEM;
}

void sd_tensor_meta_free(sd_tensor_meta *m)
{
    if (!m) return;
    sd__strv_free(&m->dims);
    list_free(&m->attrs);
    list_free(&m->coords);
    free(m);
}

const char *sd_tensor_meta_last_error(const sd_tensor_meta *m)
{
    return m ? m->errstr : "no tensor description (NULL)";
}

int sd_tensor_meta_set_dims(sd_tensor_meta *m, size_t ndim, const char *const *names)
{
    SD_ENTER(m);
    sd_strv dims = {0};
    if (ndim > SD_MAX_NDIM) return fail(m, SD_ERR_ARG, "%zu dimension names: a tensor has at most %d", ndim, SD_MAX_NDIM);
    if (ndim && !names) return fail(m, SD_ERR_ARG, "names is NULL for %zu dimensions", ndim);
    for (size_t i = 0; i < ndim; i++) {
        if (!names[i]) {
            sd__strv_free(&dims);
            return fail(m, SD_ERR_ARG, "dimension name %zu is NULL", i);
        }
        if (sd__strv_push(&dims, names[i], strlen(names[i])) != 0) {
            sd__strv_free(&dims);
            return fail(m, SD_ERR_NOMEM, "out of memory for dimension names");
        }
    }
    sd__strv_free(&m->dims);
    m->dims = dims;
    m->has_dims = 1;
    return SD_OK;
}

/* The entry of `name` in the list, emptied for a new value, or a new one at its end. */
static int entry_for(sd_tensor_meta *m, meta_list *l, const char *what, const char *name, size_t most,
                     meta_entry **out)
{
    if (!name) return fail(m, SD_ERR_ARG, "%s name is NULL", what);
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->v[i].name, name) == 0) {
            entry_clear(&l->v[i]);
            *out = &l->v[i];
            return SD_OK;
        }
    }
    if (l->n == most) return fail(m, SD_ERR_ARG, "%s '%s': a tensor has at most %zu", what, name, most);
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 8;
        meta_entry *v = realloc(l->v, cap * sizeof *v);
        if (!v) return fail(m, SD_ERR_NOMEM, "out of memory for %s '%s'", what, name);
        l->v = v;
        l->cap = cap;
    }
    meta_entry *e = &l->v[l->n];
    memset(e, 0, sizeof *e);
    if (!(e->name = strdup(name))) return fail(m, SD_ERR_NOMEM, "out of memory for %s '%s'", what, name);
    l->n++;
    *out = e;
    return SD_OK;
}

static int set_string(sd_tensor_meta *m, meta_list *l, const char *what, size_t most, const char *name,
                      const char *value)
{
    meta_entry *e;
    if (!value) return fail(m, SD_ERR_ARG, "%s '%s': the value is NULL", what, name ? name : "(NULL)");
    char *copy = strdup(value);
    if (!copy) return fail(m, SD_ERR_NOMEM, "out of memory for %s '%s'", what, name ? name : "(NULL)");
    int rc = entry_for(m, l, what, name, most, &e);
    if (rc != SD_OK) {
        free(copy);
        return rc;
    }
    e->kind = 's';
    e->text = copy;
    return SD_OK;
}

static int set_number(sd_tensor_meta *m, meta_list *l, const char *what, size_t most, const char *name, char kind,
                      double number, long long integer)
{
    meta_entry *e;
    int rc = entry_for(m, l, what, name, most, &e);
    if (rc != SD_OK) return rc;
    e->kind = kind;
    e->number = number;
    e->integer = integer;
    return SD_OK;
}

int sd_tensor_meta_set_attr_string(sd_tensor_meta *m, const char *name, const char *value)
{
    SD_ENTER(m);
    return set_string(m, &m->attrs, "attr", SIZE_MAX, name, value);
}

int sd_tensor_meta_set_attr_double(sd_tensor_meta *m, const char *name, double value)
{
    SD_ENTER(m);
    return set_number(m, &m->attrs, "attr", SIZE_MAX, name, 'd', value, 0);
}

int sd_tensor_meta_set_attr_int(sd_tensor_meta *m, const char *name, long long value)
{
    SD_ENTER(m);
    return set_number(m, &m->attrs, "attr", SIZE_MAX, name, 'i', 0, value);
}

int sd_tensor_meta_set_coord_scalar(sd_tensor_meta *m, const char *name, double value)
{
    SD_ENTER(m);
    return set_number(m, &m->coords, "coordinate", SD_MAX_COORDS, name, 'd', value, 0);
}

int sd_tensor_meta_set_coord_string(sd_tensor_meta *m, const char *name, const char *value)
{
    SD_ENTER(m);
    return set_string(m, &m->coords, "coordinate", SD_MAX_COORDS, name, value);
}

int sd_tensor_meta_set_coord_array(sd_tensor_meta *m, const char *dim, const double *values, size_t n)
{
    SD_ENTER(m);
    meta_entry *e;
    const char *shown = dim ? dim : "(NULL)";
    if (n && !values) return fail(m, SD_ERR_ARG, "coordinate '%s': values is NULL for %zu values", shown, n);
    double *copy = n <= SIZE_MAX / sizeof *copy ? malloc(n ? n * sizeof *copy : 1) : NULL;
    if (!copy) return fail(m, SD_ERR_NOMEM, "out of memory for the %zu values of coordinate '%s'", n, shown);
    if (n) memcpy(copy, values, n * sizeof *copy);
    int rc = entry_for(m, &m->coords, "coordinate", dim, SD_MAX_COORDS, &e);
    if (rc != SD_OK) {
        free(copy);
        return rc;
    }
    e->kind = 'a';
    e->values = copy;
    e->count = n;
    return SD_OK;
}

int sd_tensor_meta_set_block(sd_tensor_meta *m, size_t ndim, const size_t *global_shape, const size_t *start)
{
    SD_ENTER(m);
    if (ndim > SD_MAX_NDIM) return fail(m, SD_ERR_ARG, "a %zu-d block: a tensor has at most %d dimensions", ndim, SD_MAX_NDIM);
    if (ndim && (!global_shape || !start)) return fail(m, SD_ERR_ARG, "global_shape or start is NULL for a %zu-d block", ndim);
    for (size_t i = 0; i < ndim; i++)
        if ((uint64_t)global_shape[i] > (uint64_t)INT64_MAX || (uint64_t)start[i] > (uint64_t)INT64_MAX)
            return fail(m, SD_ERR_ARG, "block dimension %zu: global shape and start must be below 2^63", i);
    m->has_block = 1;
    m->block_ndim = ndim;
    if (ndim) {
        memcpy(m->global, global_shape, ndim * sizeof *global_shape);
        memcpy(m->start, start, ndim * sizeof *start);
    }
    return SD_OK;
}

/* ---- the attrs JSON ------------------------------------------------------------ */

/* A double as JSON that reads back as the same double (the shortest of 15, 16, 17 digits
 * that does), with a '.' whatever the locale, and never as an integer. */
static void put_double(sd_text *t, double v)
{
    char buf[48];
    if (isnan(v) || isinf(v)) { /* what Python's json writes and reads */
        const char *word = isnan(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity";
        sd__text_put(t, word, strlen(word));
        return;
    }
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(buf, sizeof buf, "%.*g", digits, v);
        if (strtod(buf, NULL) == v) break;
    }
    const char *point = localeconv()->decimal_point;
    if (point[0] && point[0] != '.' && !point[1])
        for (char *p = buf; *p; p++)
            if (*p == point[0]) *p = '.';
    if (!strpbrk(buf, ".eE")) strcat(buf, ".0");
    sd__text_put(t, buf, strlen(buf));
}

static void put_sizes(sd_text *t, size_t n, const size_t *v)
{
    sd__text_put(t, "[", 1);
    for (size_t i = 0; i < n; i++) {
        char num[32];
        int w = snprintf(num, sizeof num, "%s%llu", i ? "," : "", (unsigned long long)v[i]);
        sd__text_put(t, num, (size_t)w);
    }
    sd__text_put(t, "]", 1);
}

static void put_entries(sd_text *t, const meta_list *l)
{
    sd__text_put(t, "{", 1);
    for (size_t i = 0; i < l->n; i++) {
        const meta_entry *e = &l->v[i];
        char num[32];
        if (i) sd__text_put(t, ",", 1);
        sd__json_put_string(t, e->name);
        sd__text_put(t, ":", 1);
        if (e->kind == 's') {
            sd__json_put_string(t, e->text);
        } else if (e->kind == 'd') {
            put_double(t, e->number);
        } else if (e->kind == 'i') {
            int w = snprintf(num, sizeof num, "%lld", e->integer);
            sd__text_put(t, num, (size_t)w);
        } else {
            sd__text_put(t, "[", 1);
            for (size_t k = 0; k < e->count; k++) {
                if (k) sd__text_put(t, ",", 1);
                put_double(t, e->values[k]);
            }
            sd__text_put(t, "]", 1);
        }
    }
    sd__text_put(t, "}", 1);
}

/* The checks of Python's writer, with its messages (sd__meta_json's comment). */
static int check(const sd_tensor_meta *m, size_t ndim, const size_t *shape, char *why, size_t n)
{
    if (m->has_dims && m->dims.n != ndim) {
        snprintf(why, n, "%zu dimension names given for a %zu-d tensor", m->dims.n, ndim);
        return -1;
    }
    for (size_t i = 0; i < m->coords.n; i++) {
        const meta_entry *e = &m->coords.v[i];
        size_t axis = ndim;
        for (size_t k = 0; m->has_dims && k < ndim; k++)
            if (strcmp(m->dims.v[k], e->name) == 0) axis = k;
        if (e->kind == 'a' && axis == ndim) {
            snprintf(why, n, "coordinate '%s' is a list but the tensor has no dimension '%s'", e->name, e->name);
            return -1;
        }
        if (e->kind == 'a' && e->count != shape[axis]) {
            snprintf(why, n, "coordinate '%s' has %zu values; dimension '%s' has %zu", e->name, e->count, e->name,
                     shape[axis]);
            return -1;
        }
        if (e->kind != 'a' && axis < ndim) {
            snprintf(why, n, "coordinate '%s' is a scalar but '%s' is a dimension of the tensor", e->name, e->name);
            return -1;
        }
    }
    if (m->has_block && m->block_ndim != ndim) {
        snprintf(why, n, "a %zu-d block given for a %zu-d tensor", m->block_ndim, ndim);
        return -1;
    }
    int fits = 1;
    for (size_t i = 0; m->has_block && i < ndim; i++) fits = fits && m->start[i] + shape[i] <= m->global[i];
    if (!fits) {
        char a[160], b[160], g[160];
        sd__format_shape_sz(a, sizeof a, ndim, shape);
        sd__format_shape_sz(b, sizeof b, ndim, m->start);
        sd__format_shape_sz(g, sizeof g, ndim, m->global);
        snprintf(why, n, "a block of shape %s at %s does not fit in the global shape %s", a, b, g);
        return -1;
    }
    return 0;
}

int sd__meta_json(const sd_tensor_meta *m, size_t ndim, const size_t *shape, char **json, size_t *len, char *why,
                  size_t n)
{
    sd_text t = {0};
    const char *sep = "{";
    uint64_t shape64[SD_MAX_NDIM];
    *json = NULL;
    *len = 0;
    if (check(m, ndim, shape, why, n) != 0) return -1;
    if (m->has_dims) {
        sd__text_put(&t, "{\"dims\":[", 9);
        for (size_t i = 0; i < m->dims.n; i++) {
            if (i) sd__text_put(&t, ",", 1);
            sd__json_put_string(&t, m->dims.v[i]);
        }
        sd__text_put(&t, "]", 1);
        sep = ",";
    }
    if (m->attrs.n) {
        sd__text_put(&t, sep, 1);
        sd__text_put(&t, "\"attrs\":", 8);
        put_entries(&t, &m->attrs);
        sep = ",";
    }
    if (m->coords.n) {
        sd__text_put(&t, sep, 1);
        sd__text_put(&t, "\"coords\":", 9);
        put_entries(&t, &m->coords);
        sep = ",";
    }
    if (m->has_block) {
        sd__text_put(&t, sep, 1);
        sd__text_put(&t, "\"block\":{\"shape\":", 17);
        put_sizes(&t, m->block_ndim, m->global);
        sd__text_put(&t, ",\"start\":", 9);
        put_sizes(&t, m->block_ndim, m->start);
        sd__text_put(&t, "}", 1);
        sep = ",";
    }
    if (sep[0] == ',') sd__text_put(&t, "}", 1);
    if (t.oom) {
        free(t.p);
        return -2;
    }
    /* what every reader checks, checked here too: a string that is not UTF-8 is refused now, not when read */
    for (size_t i = 0; i < ndim; i++) shape64[i] = shape[i];
    if (t.p && sd__json_check_description(t.p, t.len, ndim, shape64, why, n) != 0) {
        free(t.p);
        return -1;
    }
    *json = t.p;
    *len = t.len;
    return 0;
}
