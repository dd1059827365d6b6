/*
 * c_dataset.h: SmartRedis's C DataSet API on simdask (compatibility layer).
 *
 * A dataset is named tensors plus metadata fields (lists of scalars or of
 * strings), put and got as one unit (put_dataset / get_dataset in
 * c_client.h). add_tensor copies the caller's data, as SmartRedis does: a
 * buffer reused in a time loop does not change what was added.
 *
 * Memory handed out by get_dataset_tensor, get_meta_scalars,
 * get_meta_strings, get_tensor_names and get_metadata_field_names belongs to
 * the dataset and stays valid until DeallocateDataSet.
 */
#ifndef SMARTREDIS_C_DATASET_H
#define SMARTREDIS_C_DATASET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sr_enums.h"
#include "srexception.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A new empty dataset named `name` (no braces '{' '}': SRParameterError). */
SR_API SRError CDataSet(const char *name, const size_t name_length, void **new_dataset);

/* Frees the dataset and sets *dataset to NULL. */
SR_API SRError DeallocateDataSet(void **dataset);

/* Copies the tensor into the dataset (a name added again replaces it). */
SR_API SRError add_tensor(void *dataset, const char *name, const size_t name_length, void *data,
                          const size_t *dims, const size_t n_dims, const SRTensorType type,
                          const SRMemoryLayout mem_layout);

/* Appends one value of `type` (not SRMetadataTypeString) to field `name`,
 * creating it; a field holds values of one type (SRTypeError otherwise). */
SR_API SRError add_meta_scalar(void *dataset, const char *name, const size_t name_length, const void *data,
                               const SRMetaDataType type);

/* Appends a string to field `name`, creating it. */
SR_API SRError add_meta_string(void *dataset, const char *name, const size_t name_length, const char *data,
                               const size_t data_length);

/* The tensor in memory the dataset owns, laid out in mem_layout. */
SR_API SRError get_dataset_tensor(void *dataset, const char *name, const size_t name_length, void **data,
                                  size_t **dims, size_t *n_dims, SRTensorType *type,
                                  const SRMemoryLayout mem_layout);

/* The tensor copied into the caller's memory (type and dims must match). */
SR_API SRError unpack_dataset_tensor(void *dataset, const char *name, const size_t name_length, void *data,
                                     const size_t *dims, const size_t n_dims, const SRTensorType type,
                                     const SRMemoryLayout mem_layout);

/* The values of a scalar field: *length values of *type at *scalar_data. */
SR_API SRError get_meta_scalars(void *dataset, const char *name, const size_t name_length, size_t *length,
                                SRMetaDataType *type, void **scalar_data);

/* The strings of a string field: *n_strings NUL-terminated strings and their lengths. */
SR_API SRError get_meta_strings(void *dataset, const char *name, const size_t name_length, char ***data,
                                size_t *n_strings, size_t **lengths);

/* Names of the tensors, in the order they were added. */
SR_API SRError get_tensor_names(void *dataset, char ***data, size_t *n_strings, size_t **lengths);

/* The element type of a tensor. */
SR_API SRError get_tensor_type(void *dataset, const char *name, size_t name_len, SRTensorType *ttype);

/* The dimensions of a tensor, written to (*dims)[0 .. ndims-1]; *ndims holds
 * the room on entry and the tensor's ndim on exit. Too little room:
 * SRBadAllocError (and *ndims says how much is needed). */
SR_API SRError get_tensor_dims(void *dataset, const char *name, size_t name_len, size_t **dims, size_t *ndims);

/* Names of the metadata fields, in the order they were created. */
SR_API SRError get_metadata_field_names(void *dataset, char ***data, size_t *n_strings, size_t **lengths);

/* The type of a metadata field (SRKeyError when it does not exist). */
SR_API SRError get_metadata_field_type(void *dataset, const char *name, size_t name_len,
                                       SRMetaDataType *mdtype);

/* A description of the dataset (name, tensors, fields); on a bad dataset,
 * the error message. Valid until the next call from this thread. */
SR_API const char *dataset_to_string(void *dataset);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* SMARTREDIS_C_DATASET_H */
