/*
 * sr_layout.c: SmartRedis's tensor and metadata types and its memory layouts
 * in simdask's terms.
 *
 * A tensor's dims are in the array's own index order in every layout, as
 * SmartRedis has them, and so is the shape simdask stores: a Fortran array
 * a(10, 20) put as SRMemLayoutFortranContiguous is stored with shape
 * (10, 20) in column-major order, and reads as the same (10, 20) array from
 * C, Python or Fortran.
 *
 *   SRMemLayoutContiguous          one row-major block (simdask's C order)
 *   SRMemLayoutFortranContiguous   one column-major block (simdask's F order)
 *   SRMemLayoutNested              pointer arrays, data[i][j][k] for dims (I, J, K): the
 *                                  outer levels arrays of pointers, the last a contiguous row
 *   SRMemLayoutFortranNested       pointer arrays indexed the other way round, data[k][j][i]
 *                                  for dims (I, J, K): the innermost contiguous run is along
 *                                  the first dimension (column-major at the innermost level)
 *
 * Nested data are gathered into one block (C order for Nested, F order for
 * FortranNested) before simdask sees them, and scattered back after a read.
 */
#include "sr_internal.h"

#include <stdlib.h>
#include <string.h>

static const struct {
    SRTensorType type;
    sd_dtype dtype;
} TENSOR_TYPES[] = {
    {SRTensorTypeDouble, SD_FLOAT64}, {SRTensorTypeFloat, SD_FLOAT32}, {SRTensorTypeInt8, SD_INT8},
    {SRTensorTypeInt16, SD_INT16},    {SRTensorTypeInt32, SD_INT32},   {SRTensorTypeInt64, SD_INT64},
    {SRTensorTypeUint8, SD_UINT8},    {SRTensorTypeUint16, SD_UINT16},
};

static const struct {
    SRMetaDataType type;
    sd_dtype dtype;
} META_TYPES[] = {
    {SRMetadataTypeDouble, SD_FLOAT64}, {SRMetadataTypeFloat, SD_FLOAT32}, {SRMetadataTypeInt32, SD_INT32},
    {SRMetadataTypeInt64, SD_INT64},    {SRMetadataTypeUint32, SD_UINT32}, {SRMetadataTypeUint64, SD_UINT64},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

sd_dtype sr__dtype(SRTensorType type)
{
    for (size_t i = 0; i < COUNT(TENSOR_TYPES); i++)
        if (TENSOR_TYPES[i].type == type) return TENSOR_TYPES[i].dtype;
    return (sd_dtype)0;
}

SRTensorType sr__tensor_type(sd_dtype dtype)
{
    for (size_t i = 0; i < COUNT(TENSOR_TYPES); i++)
        if (TENSOR_TYPES[i].dtype == dtype) return TENSOR_TYPES[i].type;
    return SRTensorTypeInvalid;
}

sd_dtype sr__meta_dtype(SRMetaDataType type)
{
    for (size_t i = 0; i < COUNT(META_TYPES); i++)
        if (META_TYPES[i].type == type) return META_TYPES[i].dtype;
    return (sd_dtype)0;
}

SRMetaDataType sr__meta_type(sd_dtype dtype)
{
    for (size_t i = 0; i < COUNT(META_TYPES); i++)
        if (META_TYPES[i].dtype == dtype) return META_TYPES[i].type;
    return SRMetadataTypeInvalid;
}

SRError sr__check_tensor_args(SRTensorType type, SRMemoryLayout layout, const size_t *dims, size_t n_dims,
                              const char *where)
{
    if (!sr__dtype(type)) return sr__fail(SRParameterError, where, "invalid tensor type %d", (int)type);
    if (layout < SRMemLayoutNested || layout > SRMemLayoutFortranContiguous)
        return sr__fail(SRParameterError, where, "invalid memory layout %d", (int)layout);
    if (n_dims == 0) return sr__fail(SRParameterError, where, "n_dims is 0: a tensor has at least one dimension");
    if (n_dims > SD_MAX_NDIM)
        return sr__fail(SRParameterError, where, "n_dims is %zu: at most %d dimensions", n_dims, SD_MAX_NDIM);
    if (!dims) return sr__fail(SRParameterError, where, "dims is NULL");
    for (size_t i = 0; i < n_dims; i++)
        if (dims[i] == 0) return sr__fail(SRParameterError, where, "dims[%zu] is 0", i);
    return SRNoError;
}

sd_order sr__order(SRMemoryLayout layout)
{
    return layout == SRMemLayoutFortranContiguous || layout == SRMemLayoutFortranNested ? SD_ORDER_F : SD_ORDER_C;
}

static int nested(SRMemoryLayout layout)
{
    return layout == SRMemLayoutNested || layout == SRMemLayoutFortranNested;
}

/* The dims in the order the pointer levels index them: as given for Nested,
 * reversed for FortranNested. */
static void level_dims(const size_t *dims, size_t n, SRMemoryLayout layout, size_t *out)
{
    for (size_t i = 0; i < n; i++) out[i] = layout == SRMemLayoutFortranNested ? dims[n - 1 - i] : dims[i];
}

/* Walks the pointer arrays below p (level of n levels), copying each innermost
 * run to or from the block at *pos. to_block: gather, else scatter. */
static void walk(void *p, const size_t *ld, size_t level, size_t n, size_t itemsize, unsigned char **pos,
                 int to_block)
{
    if (level + 1 == n) {
        size_t bytes = ld[level] * itemsize;
        if (to_block) memcpy(*pos, p, bytes);
        else memcpy(p, *pos, bytes);
        *pos += bytes;
        return;
    }
    void **ptrs = p;
    for (size_t i = 0; i < ld[level]; i++) walk(ptrs[i], ld, level + 1, n, itemsize, pos, to_block);
}

static size_t elements(const size_t *dims, size_t n)
{
    size_t count = 1;
    for (size_t i = 0; i < n; i++) count *= dims[i];
    return count;
}

SRError sr__gather(const void *data, const size_t *dims, size_t n_dims, size_t itemsize, SRMemoryLayout layout,
                   const char *where, const void **flat, void **owned, sd_order *order)
{
    *owned = NULL;
    *order = sr__order(layout);
    if (!data) return sr__fail(SRParameterError, where, "data is NULL");
    if (!nested(layout) || n_dims == 1) {
        *flat = data;
        return SRNoError;
    }
    size_t ld[SD_MAX_NDIM];
    level_dims(dims, n_dims, layout, ld);
    unsigned char *block = malloc(elements(dims, n_dims) * itemsize), *pos = block;
    if (!block) return sr__fail(SRBadAllocError, where, "out of memory gathering nested data");
    walk((void *)data, ld, 0, n_dims, itemsize, &pos, 1);
    *flat = *owned = block;
    return SRNoError;
}

void sr__scatter(void *data, const void *flat, const size_t *dims, size_t n_dims, size_t itemsize,
                 SRMemoryLayout layout)
{
    size_t ld[SD_MAX_NDIM];
    level_dims(dims, n_dims, layout, ld);
    unsigned char *pos = (unsigned char *)flat;
    walk(data, ld, 0, n_dims, itemsize, &pos, 0);
}

/* Copies src (order `from`) into dst in the other order: element (i0..in-1)
 * of the array goes from its place in one order to its place in the other. */
static void transpose(void *dst, const void *src, sd_order from, const size_t *dims, size_t n, size_t itemsize)
{
    size_t idx[SD_MAX_NDIM] = {0}, count = elements(dims, n);
    size_t sc[SD_MAX_NDIM], fs[SD_MAX_NDIM]; /* strides (in elements) of the C and F orders */
    for (size_t i = n, s = 1; i-- > 0;) {
        sc[i] = s;
        s *= dims[i];
    }
    for (size_t i = 0, s = 1; i < n; i++) {
        fs[i] = s;
        s *= dims[i];
    }
    const size_t *src_st = from == SD_ORDER_C ? sc : fs, *dst_st = from == SD_ORDER_C ? fs : sc;
    for (size_t k = 0; k < count; k++) {
        size_t so = 0, d = 0;
        for (size_t i = 0; i < n; i++) {
            so += idx[i] * src_st[i];
            d += idx[i] * dst_st[i];
        }
        memcpy((unsigned char *)dst + d * itemsize, (const unsigned char *)src + so * itemsize, itemsize);
        for (size_t i = n; i-- > 0;) { /* next index, last dimension fastest */
            if (++idx[i] < dims[i]) break;
            idx[i] = 0;
        }
    }
}

/* Pointer arrays over block for nested levels ld (n levels): one allocation. */
static void *build_pointers(unsigned char *block, const size_t *ld, size_t n, size_t itemsize)
{
    size_t total = 0, level_count = 1;
    for (size_t l = 0; l + 1 < n; l++) {
        level_count *= ld[l];
        total += level_count;
    }
    void **ptrs = malloc(total * sizeof *ptrs);
    if (!ptrs) return NULL;
    /* level l's pointers start at offset[l]; each points into level l+1's array, the last level's into block */
    size_t offset = 0, count = 1;
    for (size_t l = 0; l + 1 < n; l++) {
        size_t next = offset + count * ld[l];
        for (size_t i = 0; i < count * ld[l]; i++) {
            if (l + 2 < n) ptrs[offset + i] = &ptrs[next + i * ld[l + 1]];
            else ptrs[offset + i] = block + i * ld[l + 1] * itemsize;
        }
        offset = next;
        count *= ld[l];
    }
    return ptrs;
}

SRError sr__shape_for_caller(const void *flat, sd_order from, const size_t *dims, size_t n_dims, size_t itemsize,
                             SRMemoryLayout layout, const char *where, void **result, void **keep_data,
                             void **keep_pointers)
{
    size_t bytes = elements(dims, n_dims) * itemsize;
    sd_order want = sr__order(layout);
    *keep_pointers = NULL;
    unsigned char *block = malloc(bytes ? bytes : 1);
    if (!block) return sr__fail(SRBadAllocError, where, "out of memory for the tensor's %zu bytes", bytes);
    if (want == from || n_dims == 1) memcpy(block, flat, bytes);
    else transpose(block, flat, from, dims, n_dims, itemsize);
    *keep_data = *result = block;
    if (nested(layout) && n_dims > 1) {
        size_t ld[SD_MAX_NDIM];
        level_dims(dims, n_dims, layout, ld);
        void *ptrs = build_pointers(block, ld, n_dims, itemsize);
        if (!ptrs) {
            free(block);
            *keep_data = *result = NULL;
            return sr__fail(SRBadAllocError, where, "out of memory for the nested pointer arrays");
        }
        *keep_pointers = *result = ptrs;
    }
    return SRNoError;
}
