/*
 * client.h: SmartRedis's C++ Client on simdask (compatibility layer).
 *
 * SmartRedis 0.6's class, methods, overloads and exceptions, so a program
 * written against SmartRedis's C++ API compiles unchanged and runs on a
 * simdask store; link with -lsmartredis (CMake: find_package(smartredis),
 * target smartredis::smartredis; pkg-config: smartredis). Each method is a
 * thin layer over the C API (c_client.h): a failure throws the
 * SmartRedis::Exception subclass of its SRError (srexception.h), whose
 * what() is simdask's message.
 *
 *     SmartRedis::Client client("simulation");     // SSDB, SSKEYIN/OUT, SR_*
 *     std::vector<double> u(nx * ny);
 *     client.put_tensor("u", u.data(), {nx, ny}, SRTensorTypeDouble, SRMemLayoutContiguous);
 *     client.run_model("net", {"u"}, {"u_pred"});
 *
 * Differences from SmartRedis (docs/smartredis.md): models and scripts run
 * in simdask's inference service (a serving loop started by the Store or an
 * InferenceServer), backends TORCH and ONNX only; the server calls act on
 * Valkey; get_ai_info and set_model_chunk_size answer as documented below.
 * A client is used by one thread at a time, as in SmartRedis.
 */
#ifndef SMARTREDIS_CLIENT_H
#define SMARTREDIS_CLIENT_H

#ifdef __cplusplus
#include <stdlib.h>
#include <string.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "configoptions.h"
#include "dataset.h"
#include "logger.h"
#include "sr_enums.h"
#include "srexception.h"
#include "srobject.h"

/* Replies of the server calls: field -> value, and section -> (field -> value). */
using parsed_reply_map = std::unordered_map<std::string, std::string>;
using parsed_reply_nested_map = std::unordered_map<std::string, parsed_reply_map>;

namespace SmartRedis {

class SR_API Client : public SRObject {
  public:
    /* A client configured from the environment (SSDB, SR_DB_TYPE, SSKEYIN,
     * SSKEYOUT, SR_* timeouts, with the SIMDASK_* variables beside them);
     * logger_name names it in log lines. DatabaseException when the store
     * cannot be reached, ParameterException for a bad setting. */
    Client(const char* logger_name);
    Client(const std::string& logger_name = "default") : Client(logger_name.c_str()) {}
    /* A client configured by `cfgopts` (the caller keeps it; the client copies what it needs). */
    Client(ConfigOptions* cfgopts, const std::string& logger_name = "default");
    /* Deprecated: `cluster` is accepted but not needed (simdask finds out
     * whether SSDB names a cluster). */
    Client(bool cluster, const std::string& logger_name = "default");

    Client(const Client& client) = delete;
    Client& operator=(const Client& client) = delete;
    Client(Client&& client) noexcept;
    Client& operator=(Client&& client) noexcept;
    /* Frees everything the client handed out (get_tensor, get_model, get_script memory). */
    virtual ~Client();

    /* ---- datasets ---- */
    void put_dataset(DataSet& dataset);
    /* A missing dataset is a KeyException. */
    DataSet get_dataset(const std::string& name);
    void rename_dataset(const std::string& old_name, const std::string& new_name);
    void copy_dataset(const std::string& src_name, const std::string& dest_name);
    void delete_dataset(const std::string& name);

    /* ---- tensors ---- */
    /* dims: the number of elements along each dimension. */
    void put_tensor(const std::string& name, const void* data, const std::vector<size_t>& dims,
                    const SRTensorType type, const SRMemoryLayout mem_layout);
    /* Reads a tensor into memory the client owns (valid until it is
     * destroyed: prefer unpack_tensor in loops). A missing tensor is a KeyException. */
    void get_tensor(const std::string& name, void*& data, std::vector<size_t>& dims, SRTensorType& type,
                    const SRMemoryLayout mem_layout);
    void get_tensor(const std::string& name, void*& data, size_t*& dims, size_t& n_dims, SRTensorType& type,
                    const SRMemoryLayout mem_layout);
    /* Reads a tensor into the caller's memory; type and dims must be the
     * stored ones (for SRMemLayoutContiguous, dims may also be {total elements}). */
    void unpack_tensor(const std::string& name, void* data, const std::vector<size_t>& dims,
                       const SRTensorType type, const SRMemoryLayout mem_layout);
    void rename_tensor(const std::string& old_name, const std::string& new_name);
    void delete_tensor(const std::string& name);
    void copy_tensor(const std::string& src_name, const std::string& dest_name);

    /* ---- models and scripts ---- */
    /* backend "TORCH" or "ONNX" ("TF" and "TFLITE" are a ParameterException);
     * device "CPU", "GPU" or "GPU:<n>"; batching settings and tag are kept
     * with the model for the serving loops; inputs/outputs (TensorFlow node
     * names) are kept for information. */
    void set_model_from_file(const std::string& name, const std::string& model_file, const std::string& backend,
                             const std::string& device, int batch_size = 0, int min_batch_size = 0,
                             int min_batch_timeout = 0, const std::string& tag = "",
                             const std::vector<std::string>& inputs = std::vector<std::string>(),
                             const std::vector<std::string>& outputs = std::vector<std::string>());
    /* The _multigpu forms store one copy per GPU first_gpu .. first_gpu + num_gpus - 1
     * (device "GPU:<i>"); run_*_multigpu runs the copy on GPU first_gpu + offset % num_gpus. */
    void set_model_from_file_multigpu(const std::string& name, const std::string& model_file,
                                      const std::string& backend, int first_gpu, int num_gpus,
                                      int batch_size = 0, int min_batch_size = 0, int min_batch_timeout = 0,
                                      const std::string& tag = "",
                                      const std::vector<std::string>& inputs = std::vector<std::string>(),
                                      const std::vector<std::string>& outputs = std::vector<std::string>());
    void set_model(const std::string& name, const std::string_view& model, const std::string& backend,
                   const std::string& device, int batch_size = 0, int min_batch_size = 0,
                   int min_batch_timeout = 0, const std::string& tag = "",
                   const std::vector<std::string>& inputs = std::vector<std::string>(),
                   const std::vector<std::string>& outputs = std::vector<std::string>());
    void set_model_multigpu(const std::string& name, const std::string_view& model, const std::string& backend,
                            int first_gpu, int num_gpus, int batch_size = 0, int min_batch_size = 0,
                            int min_batch_timeout = 0, const std::string& tag = "",
                            const std::vector<std::string>& inputs = std::vector<std::string>(),
                            const std::vector<std::string>& outputs = std::vector<std::string>());
    /* The stored bytes, in memory the client owns (valid until it is destroyed). */
    std::string_view get_model(const std::string& name);

    void set_script_from_file(const std::string& name, const std::string& device, const std::string& script_file);
    void set_script_from_file_multigpu(const std::string& name, const std::string& script_file, int first_gpu,
                                       int num_gpus);
    void set_script(const std::string& name, const std::string& device, const std::string_view& script);
    void set_script_multigpu(const std::string& name, const std::string_view& script, int first_gpu,
                             int num_gpus);
    std::string_view get_script(const std::string& name);

    /* Runs the model on the named input tensors and writes the outputs,
     * waiting up to SR_MODEL_TIMEOUT ms (TimeoutException). With no serving
     * loop running, or an unknown model, it fails at once
     * (RuntimeException) saying what to start; a model that raises is a
     * RuntimeException with its message. */
    void run_model(const std::string& name, const std::vector<std::string> inputs,
                   const std::vector<std::string> outputs);
    void run_model_multigpu(const std::string& name, const std::vector<std::string> inputs,
                            const std::vector<std::string> outputs, int offset, int first_gpu, int num_gpus);
    void run_script(const std::string& name, const std::string& function, const std::vector<std::string> inputs,
                    const std::vector<std::string> outputs);
    void run_script_multigpu(const std::string& name, const std::string& function,
                             const std::vector<std::string> inputs, const std::vector<std::string> outputs,
                             int offset, int first_gpu, int num_gpus);

    /* A missing model or script is a KeyException. */
    void delete_model(const std::string& name);
    void delete_model_multigpu(const std::string& name, int first_gpu, int num_gpus);
    void delete_script(const std::string& name);
    void delete_script_multigpu(const std::string& name, int first_gpu, int num_gpus);

    /* ---- existence and polling ---- */
    /* key_exists and poll_key take the key as it is (no prefix). */
    bool key_exists(const std::string& key);
    /* A model or a script of that name. */
    bool model_exists(const std::string& name);
    bool tensor_exists(const std::string& name);
    bool dataset_exists(const std::string& name);
    /* Check up to num_tries times, poll_frequency_ms apart. */
    bool poll_key(const std::string& key, int poll_frequency_ms, int num_tries);
    bool poll_tensor(const std::string& name, int poll_frequency_ms, int num_tries);
    bool poll_dataset(const std::string& name, int poll_frequency_ms, int num_tries);
    bool poll_model(const std::string& name, int poll_frequency_ms, int num_tries);

    /* ---- key prefixes (SSKEYIN / SSKEYOUT) ---- */
    /* Reads from now on use prefix source_id: one of SSKEYIN's or the client's SSKEYOUT. */
    void set_data_source(std::string source_id);
    /* Whether names of that kind get the prefixes (tensors, datasets, lists:
     * on by default when the variables are set; models and scripts: off). */
    void use_tensor_ensemble_prefix(bool use_prefix);
    void use_dataset_ensemble_prefix(bool use_prefix);
    void use_model_ensemble_prefix(bool use_prefix);
    void use_list_ensemble_prefix(bool use_prefix);

    /* ---- server calls: address "host:port" (or "unix:///path") of one of the store's servers ---- */
    /* INFO EVERYTHING of that server: section -> (field -> value). */
    parsed_reply_nested_map get_db_node_info(const std::string address);
    /* CLUSTER INFO of that server; a ParameterException on a store that is no cluster. */
    parsed_reply_map get_db_cluster_info(const std::string address);
    /* RedisAI's AI.INFO has no equivalent (models run in simdask's serving
     * loops): "key" and "type" (MODEL or SCRIPT; a script's "backend" is
     * TORCH) of a stored model or script, RuntimeException when there is
     * none; the address must name a node of the store; run statistics are
     * not kept, reset_stat does nothing. */
    parsed_reply_map get_ai_info(const std::string& address, const std::string& key, bool reset_stat);
    /* Deletes every key on that server. */
    void flush_db(const std::string address);
    /* CONFIG GET / CONFIG SET on that server. */
    std::unordered_map<std::string, std::string> config_get(const std::string expression,
                                                            const std::string address);
    void config_set(const std::string config_param, const std::string value, const std::string address);
    /* SAVE on that server (an RDB snapshot). */
    void save(const std::string address);

    /* ---- aggregation lists ---- */
    /* Appends a reference to `dataset`, which must have been put with put_dataset. */
    void append_to_list(const std::string& list_name, const DataSet& dataset);
    void delete_list(const std::string& list_name);
    void copy_list(const std::string& src_name, const std::string& dest_name);
    void rename_list(const std::string& src_name, const std::string& dest_name);
    /* A missing list has length 0. */
    int get_list_length(const std::string& list_name);
    /* Poll until the length is == (poll_list_length), >= (_gte) or <= (_lte) list_length. */
    bool poll_list_length(const std::string& name, int list_length, int poll_frequency_ms, int num_tries);
    bool poll_list_length_gte(const std::string& name, int list_length, int poll_frequency_ms, int num_tries);
    bool poll_list_length_lte(const std::string& name, int list_length, int poll_frequency_ms, int num_tries);
    /* The list's datasets in order (empty for a missing list). */
    std::vector<DataSet> get_datasets_from_list(const std::string& list_name);
    /* Those at start_index .. end_index (inclusive; negative counts from the end, -1 the last). */
    std::vector<DataSet> get_dataset_list_range(const std::string& list_name, int start_index, int end_index);

    /* RedisAI's model chunk size has no equivalent: accepted (a positive
     * size, else ParameterException) and without effect (docs/smartredis.md). */
    void set_model_chunk_size(int chunk_size);

    /* A description of the client: its store address, kind and prefixes. */
    std::string to_string() const;

  private:
    void* _c_client; /* the C API's client (c_client.h); NULL once moved from */
    void* _handle() const;
    /* DataSets owning the C API's datasets of a list call; frees the array. */
    static std::vector<DataSet> _adopt(void** datasets, size_t count);
};

inline std::ostream& operator<<(std::ostream& stream, const Client& client)
{
    stream << client.to_string();
    return stream;
}

} /* namespace SmartRedis */

#endif /* __cplusplus */
#endif /* SMARTREDIS_CLIENT_H */
