/*
 * c_client.h: SmartRedis's C client API on simdask (compatibility layer).
 *
 * The functions, arguments and return codes are SmartRedis 0.6's, so a
 * program written against SmartRedis's C API compiles and runs unchanged;
 * each call is a thin translation onto simdask's C client (simdask.h).
 *
 *     void *client = NULL;
 *     if (SimpleCreateClient("sim", 3, &client) != SRNoError) {
 *         fprintf(stderr, "%s\n", SRGetLastError());
 *         return 1;
 *     }
 *     size_t dims[2] = {64, 32};
 *     put_tensor(client, "u", 1, u, dims, 2, SRTensorTypeDouble, SRMemLayoutContiguous);
 *     DeleteCClient(&client);
 *
 * Conventions:
 *   - Names come with their length (excluding any terminating NUL), so they
 *     need not be NUL-terminated. A NULL pointer where a value is needed is
 *     SRParameterError.
 *   - Every call returns SRNoError or an error code; SRGetLastError() gives
 *     the message (per thread, srexception.h).
 *   - Keys: with SSKEYOUT set, tensors, datasets and lists are written under
 *     "<SSKEYOUT>.<name>" and read from the first prefix of SSKEYIN (see
 *     set_data_source); use_*_ensemble_prefix switch that per kind (on by
 *     default for tensors, datasets and lists when the variables are set, off
 *     for models and scripts). The layout is SmartRedis's: docs/smartredis.md.
 *   - Models and scripts run through simdask's inference service (a serving
 *     loop, started by the Store or InferenceServer): backends TORCH and ONNX;
 *     TF and TFLITE are refused with SRParameterError.
 *   - A client is used by one thread at a time (as in SmartRedis).
 */
#ifndef SMARTREDIS_C_CLIENT_H
#define SMARTREDIS_C_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "sr_enums.h"
#include "srexception.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- construction ---------------------------------------------------------- */

/* A client configured from the environment (SSDB, SR_DB_TYPE, SSKEYIN,
 * SSKEYOUT, SR_* timeouts, with SIMDASK_* beside them: docs/smartredis.md).
 * logger_name names the client in log lines. */
SR_API SRError SimpleCreateClient(const char *logger_name, const size_t logger_name_length, void **new_client);

/* A client configured by a ConfigOptions object (c_configoptions.h); the
 * client copies what it needs, the options may be freed afterwards. */
SR_API SRError CreateClient(void *config_options, const char *logger_name, const size_t logger_name_length,
                            void **new_client);

/* Deprecated constructor: `cluster` is accepted but not needed (simdask
 * finds out whether SSDB names a cluster); otherwise SimpleCreateClient. */
SR_API SRError SmartRedisCClient(bool cluster, const char *logger_name, const size_t logger_name_length,
                                 void **new_client);

/* Frees the client and everything it handed out (get_tensor, get_model,
 * get_script memory); sets *c_client to NULL. NULL *c_client is fine. */
SR_API SRError DeleteCClient(void **c_client);

/* ---- datasets -------------------------------------------------------------- */

SR_API SRError put_dataset(void *c_client, void *dataset);
/* *dataset: a new dataset (free it with DeallocateDataSet). A missing
 * dataset is SRKeyError. */
SR_API SRError get_dataset(void *c_client, const char *name, const size_t name_length, void **dataset);
SR_API SRError rename_dataset(void *c_client, const char *old_name, const size_t old_name_length,
                              const char *new_name, const size_t new_name_length);
SR_API SRError copy_dataset(void *c_client, const char *src_name, const size_t src_name_length,
                            const char *dest_name, const size_t dest_name_length);
SR_API SRError delete_dataset(void *c_client, const char *name, const size_t name_length);

/* ---- tensors --------------------------------------------------------------- */

/* Writes the tensor (the data are sent, not kept). */
SR_API SRError put_tensor(void *c_client, const char *name, const size_t name_length, void *data,
                          const size_t *dims, const size_t n_dims, SRTensorType type, SRMemoryLayout mem_layout);

/* Reads a tensor into memory the client allocates and owns: *data (laid out
 * in mem_layout; for the nested layouts, pointer arrays over one block), *dims
 * (n_dims entries), *type. The memory stays valid until DeleteCClient, so
 * prefer unpack_tensor in loops. */
SR_API SRError get_tensor(void *c_client, const char *name, const size_t name_length, void **data,
                          size_t **dims, size_t *n_dims, SRTensorType *type, SRMemoryLayout mem_layout);

/* Reads a tensor into the caller's memory; type, n_dims and dims must be the
 * stored ones (SRTypeError / SRParameterError naming both otherwise). */
SR_API SRError unpack_tensor(void *c_client, const char *name, const size_t name_length, void *result,
                             const size_t *dims, const size_t n_dims, SRTensorType type,
                             SRMemoryLayout mem_layout);

SR_API SRError rename_tensor(void *c_client, const char *old_name, const size_t old_name_length,
                             const char *new_name, const size_t new_name_length);
SR_API SRError delete_tensor(void *c_client, const char *name, const size_t name_length);
SR_API SRError copy_tensor(void *c_client, const char *src_name, const size_t src_name_length,
                           const char *dest_name, const size_t dest_name_length);

/* ---- models and scripts ---------------------------------------------------- */

/* backend: "TORCH" or "ONNX" (any case). device: "CPU", "GPU" or "GPU:<n>".
 * batch_size, min_batch_size, min_batch_timeout (ms) and tag are kept with the
 * model for the serving loops; inputs/outputs (TensorFlow node names in
 * SmartRedis) are kept for information, and may be NULL with n = 0. */
SR_API SRError set_model_from_file(void *c_client, const char *name, const size_t name_length,
                                   const char *model_file, const size_t model_file_length, const char *backend,
                                   const size_t backend_length, const char *device, const size_t device_length,
                                   const int batch_size, const int min_batch_size, const int min_batch_timeout,
                                   const char *tag, const size_t tag_length, const char **inputs,
                                   const size_t *input_lengths, const size_t n_inputs, const char **outputs,
                                   const size_t *output_lengths, const size_t n_outputs);

/* The _multigpu variants store the model once per GPU first_gpu ..
 * first_gpu + num_gpus - 1, as "<name>.GPU:<i>" with device "GPU:<i>" (the
 * key names SmartRedis used); run_*_multigpu runs the copy on GPU
 * first_gpu + offset % num_gpus, delete_*_multigpu deletes all copies. */
SR_API SRError set_model_from_file_multigpu(void *c_client, const char *name, const size_t name_length,
                                            const char *model_file, const size_t model_file_length,
                                            const char *backend, const size_t backend_length, const int first_gpu,
                                            const int num_gpus, const int batch_size, const int min_batch_size,
                                            const int min_batch_timeout, const char *tag, const size_t tag_length,
                                            const char **inputs, const size_t *input_lengths,
                                            const size_t n_inputs, const char **outputs,
                                            const size_t *output_lengths, const size_t n_outputs);

SR_API SRError set_model(void *c_client, const char *name, const size_t name_length, const char *model,
                         const size_t model_length, const char *backend, const size_t backend_length,
                         const char *device, const size_t device_length, const int batch_size,
                         const int min_batch_size, const int min_batch_timeout, const char *tag,
                         const size_t tag_length, const char **inputs, const size_t *input_lengths,
                         const size_t n_inputs, const char **outputs, const size_t *output_lengths,
                         const size_t n_outputs);

SR_API SRError set_model_multigpu(void *c_client, const char *name, const size_t name_length, const char *model,
                                  const size_t model_length, const char *backend, const size_t backend_length,
                                  const int first_gpu, const int num_gpus, const int batch_size,
                                  const int min_batch_size, const int min_batch_timeout, const char *tag,
                                  const size_t tag_length, const char **inputs, const size_t *input_lengths,
                                  const size_t n_inputs, const char **outputs, const size_t *output_lengths,
                                  const size_t n_outputs);

/* The stored model's bytes in memory the client owns (valid until DeleteCClient). */
SR_API SRError get_model(void *c_client, const char *name, const size_t name_length, size_t *model_length,
                         const char **model);

SR_API SRError set_script_from_file(void *c_client, const char *name, const size_t name_length,
                                    const char *device, const size_t device_length, const char *script_file,
                                    const size_t script_file_length);
SR_API SRError set_script_from_file_multigpu(void *c_client, const char *name, const size_t name_length,
                                             const char *script_file, const size_t script_file_length,
                                             const int first_gpu, const int num_gpus);
SR_API SRError set_script(void *c_client, const char *name, const size_t name_length, const char *device,
                          const size_t device_length, const char *script, const size_t script_length);
SR_API SRError set_script_multigpu(void *c_client, const char *name, const size_t name_length,
                                   const char *script, const size_t script_length, const int first_gpu,
                                   const int num_gpus);

/* The stored script's source in memory the client owns (valid until DeleteCClient). */
SR_API SRError get_script(void *c_client, const char *name, const size_t name_length, const char **script,
                          size_t *script_length);

/* Runs function `function` of the script on the named input tensors (read
 * prefix) and writes the outputs (write prefix); waits up to SR_MODEL_TIMEOUT
 * ms. With no serving loop running, or an unknown script, it fails at once
 * (SRRuntimeError) saying what to start. */
SR_API SRError run_script(void *c_client, const char *name, const size_t name_length, const char *function,
                          const size_t function_length, const char **inputs, const size_t *input_lengths,
                          const size_t n_inputs, const char **outputs, const size_t *output_lengths,
                          const size_t n_outputs);
SR_API SRError run_script_multigpu(void *c_client, const char *name, const size_t name_length,
                                   const char *function, const size_t function_length, const char **inputs,
                                   const size_t *input_lengths, const size_t n_inputs, const char **outputs,
                                   const size_t *output_lengths, const size_t n_outputs, const int offset,
                                   const int first_gpu, const int num_gpus);

/* As run_script, for a model. */
SR_API SRError run_model(void *c_client, const char *name, const size_t name_length, const char **inputs,
                         const size_t *input_lengths, const size_t n_inputs, const char **outputs,
                         const size_t *output_lengths, const size_t n_outputs);
SR_API SRError run_model_multigpu(void *c_client, const char *name, const size_t name_length,
                                  const char **inputs, const size_t *input_lengths, const size_t n_inputs,
                                  const char **outputs, const size_t *output_lengths, const size_t n_outputs,
                                  const int offset, const int first_gpu, const int num_gpus);

/* A missing model or script is SRKeyError. */
SR_API SRError delete_model(void *c_client, const char *name, const size_t name_length);
SR_API SRError delete_model_multigpu(void *c_client, const char *name, const size_t name_length,
                                     const int first_gpu, const int num_gpus);
SR_API SRError delete_script(void *c_client, const char *name, const size_t name_length);
SR_API SRError delete_script_multigpu(void *c_client, const char *name, const size_t name_length,
                                      const int first_gpu, const int num_gpus);

/* ---- existence and polling ------------------------------------------------- */

/* key_exists and poll_key take the key as it is (no prefix). */
SR_API SRError key_exists(void *c_client, const char *key, const size_t key_length, bool *exists);
SR_API SRError tensor_exists(void *c_client, const char *name, const size_t name_length, bool *exists);
/* A model or a script of that name. */
SR_API SRError model_exists(void *c_client, const char *name, const size_t name_length, bool *exists);
SR_API SRError dataset_exists(void *c_client, const char *name, const size_t name_length, bool *exists);

/* Check up to num_tries times, poll_frequency_ms apart; *exists says whether
 * it appeared. */
SR_API SRError poll_key(void *c_client, const char *key, const size_t key_length, const int poll_frequency_ms,
                        const int num_tries, bool *exists);
SR_API SRError poll_model(void *c_client, const char *name, const size_t name_length,
                          const int poll_frequency_ms, const int num_tries, bool *exists);
SR_API SRError poll_tensor(void *c_client, const char *name, const size_t name_length,
                           const int poll_frequency_ms, const int num_tries, bool *exists);
SR_API SRError poll_dataset(void *c_client, const char *name, const size_t name_length,
                            const int poll_frequency_ms, const int num_tries, bool *exists);

/* ---- key prefixes ---------------------------------------------------------- */

/* Reads from now on use prefix source_id: one of SSKEYIN's prefixes or the
 * client's own SSKEYOUT (anything else is SRParameterError). */
SR_API SRError set_data_source(void *c_client, const char *source_id, const size_t source_id_length);
/* Whether names of that kind get the prefixes (tensors, datasets and lists:
 * on by default when SSKEYIN/SSKEYOUT are set; models and scripts: off). */
SR_API SRError use_tensor_ensemble_prefix(void *c_client, bool use_prefix);
SR_API SRError use_dataset_ensemble_prefix(void *c_client, bool use_prefix);
SR_API SRError use_model_ensemble_prefix(void *c_client, bool use_prefix);
SR_API SRError use_list_ensemble_prefix(void *c_client, bool use_prefix);

/* ---- aggregation lists ----------------------------------------------------- */

/* Appends a reference to `dataset`, which must have been put with put_dataset. */
SR_API SRError append_to_list(void *c_client, const char *list_name, const size_t list_name_length,
                              const void *dataset);
SR_API SRError delete_list(void *c_client, const char *list_name, const size_t list_name_length);
SR_API SRError copy_list(void *c_client, const char *src_name, const size_t src_name_length,
                         const char *dest_name, const size_t dest_name_length);
SR_API SRError rename_list(void *c_client, const char *src_name, const size_t src_name_length,
                           const char *dest_name, const size_t dest_name_length);
/* A missing list has length 0. */
SR_API SRError get_list_length(void *c_client, const char *list_name, const size_t list_name_length,
                               int *result_length);
/* Poll until the length is == (poll_list_length), >= (_gte) or <= (_lte) list_length. */
SR_API SRError poll_list_length(void *c_client, const char *name, const size_t name_length, int list_length,
                                int poll_frequency_ms, int num_tries, bool *poll_result);
SR_API SRError poll_list_length_gte(void *c_client, const char *name, const size_t name_length, int list_length,
                                    int poll_frequency_ms, int num_tries, bool *poll_result);
SR_API SRError poll_list_length_lte(void *c_client, const char *name, const size_t name_length, int list_length,
                                    int poll_frequency_ms, int num_tries, bool *poll_result);

/* *datasets: a new array (free it with free()) of *num_datasets new datasets
 * (each freed with DeallocateDataSet); NULL and 0 for an empty or missing
 * list. */
SR_API SRError get_datasets_from_list(void *c_client, const char *list_name, const size_t list_name_length,
                                      void ***datasets, size_t *num_datasets);
/* The datasets at indices start_index .. end_index (inclusive; negative
 * counts from the end, -1 the last; an end past the list is its end; an
 * empty range gives none), allocated as get_datasets_from_list. */
SR_API SRError get_dataset_list_range(void *c_client, const char *list_name, const size_t list_name_length,
                                      const int start_index, const int end_index, void ***datasets,
                                      size_t *num_datasets);
/* As get_dataset_list_range into the caller's array of
 * end_index - start_index + 1 entries (the Fortran client's form); a range
 * that yields another count is SRInternalError. */
SR_API SRError _get_dataset_list_range_allocated(void *c_client, const char *list_name,
                                                 const size_t list_name_length, const int start_index,
                                                 const int end_index, void **datasets);

/* ---- other ----------------------------------------------------------------- */

/* A description of the client (its address, kind and prefixes); on a bad
 * client, the error message. Valid until the next call from this thread. */
SR_API const char *client_to_string(void *c_client);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* SMARTREDIS_C_CLIENT_H */
