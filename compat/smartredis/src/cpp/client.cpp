/*
 * client.cpp: Client over the C API's client (c_client.h): each method
 * passes its arguments on and turns a failed SRError into an exception.
 */
#include "client.h"

#include <utility>

#include "srcpp.h"

namespace SmartRedis {

using detail::check;
using detail::NameList;

namespace {

const char* name_or_default(const char* logger_name)
{
    return logger_name != nullptr ? logger_name : "default";
}

/* The client made by `create`, or the exception of its failure (a client
 * handed back with a failure is freed). */
template <class Create>
void* new_c_client(Create create)
{
    void* handle = nullptr;
    SRError code = create(&handle);
    if (code != SRNoError) {
        std::string message = SRGetLastError();
        std::string where = SRGetLastErrorLocation();
        ::DeleteCClient(&handle);
        detail::raise_error(code, message, where);
    }
    return handle;
}

} /* namespace */

Client::Client(const char* logger_name)
    : SRObject(name_or_default(logger_name)),
      _c_client(new_c_client([this](void** out) { return ::SimpleCreateClient(_lname.c_str(), _lname.size(), out); }))
{
    log_data(LLDebug, "New client created");
}

Client::Client(ConfigOptions* cfgopts, const std::string& logger_name) : SRObject(logger_name), _c_client(nullptr)
{
    if (cfgopts == nullptr)
        detail::raise_error(SRParameterError, "Client: the ConfigOptions pointer is NULL", "Client");
    void* options = cfgopts->_handle();
    _c_client = new_c_client([&](void** out) { return ::CreateClient(options, _lname.c_str(), _lname.size(), out); });
    log_data(LLDebug, "New client created");
}

Client::Client(bool cluster, const std::string& logger_name)
    : SRObject(logger_name),
      _c_client(new_c_client(
          [&](void** out) { return ::SmartRedisCClient(cluster, _lname.c_str(), _lname.size(), out); }))
{
    log_data(LLDebug, "New client created");
}

Client::Client(Client&& client) noexcept : SRObject(std::move(client)), _c_client(client._c_client)
{
    client._c_client = nullptr;
}

Client& Client::operator=(Client&& client) noexcept
{
    if (this != &client) {
        ::DeleteCClient(&_c_client);
        SRObject::operator=(std::move(client));
        _c_client = client._c_client;
        client._c_client = nullptr;
    }
    return *this;
}

Client::~Client()
{
    if (_c_client != nullptr) {
        ::DeleteCClient(&_c_client);
        log_data(LLDebug, "Client destroyed");
    }
}

void* Client::_handle() const
{
    if (_c_client == nullptr)
        detail::raise_error(SRRuntimeError, "this Client was moved from: assign a Client to it before using it",
                            "Client");
    return _c_client;
}

/* ---- datasets ---- */

void Client::put_dataset(DataSet& dataset)
{
    check(::put_dataset(_handle(), dataset._handle()));
}

DataSet Client::get_dataset(const std::string& name)
{
    void* handle = nullptr;
    check(::get_dataset(_handle(), name.c_str(), name.size(), &handle));
    return DataSet(handle, name);
}

void Client::rename_dataset(const std::string& old_name, const std::string& new_name)
{
    check(::rename_dataset(_handle(), old_name.c_str(), old_name.size(), new_name.c_str(), new_name.size()));
}

void Client::copy_dataset(const std::string& src_name, const std::string& dest_name)
{
    check(::copy_dataset(_handle(), src_name.c_str(), src_name.size(), dest_name.c_str(), dest_name.size()));
}

void Client::delete_dataset(const std::string& name)
{
    check(::delete_dataset(_handle(), name.c_str(), name.size()));
}

/* ---- tensors ---- */

void Client::put_tensor(const std::string& name, const void* data, const std::vector<size_t>& dims,
                        const SRTensorType type, const SRMemoryLayout mem_layout)
{
    check(::put_tensor(_handle(), name.c_str(), name.size(), const_cast<void*>(data), dims.data(), dims.size(), type,
                       mem_layout));
}

void Client::get_tensor(const std::string& name, void*& data, std::vector<size_t>& dims, SRTensorType& type,
                        const SRMemoryLayout mem_layout)
{
    size_t* c_dims = nullptr;
    size_t n_dims = 0;
    get_tensor(name, data, c_dims, n_dims, type, mem_layout);
    dims.assign(c_dims, c_dims + n_dims);
}

void Client::get_tensor(const std::string& name, void*& data, size_t*& dims, size_t& n_dims, SRTensorType& type,
                        const SRMemoryLayout mem_layout)
{
    check(::get_tensor(_handle(), name.c_str(), name.size(), &data, &dims, &n_dims, &type, mem_layout));
}

void Client::unpack_tensor(const std::string& name, void* data, const std::vector<size_t>& dims,
                           const SRTensorType type, const SRMemoryLayout mem_layout)
{
    check(::unpack_tensor(_handle(), name.c_str(), name.size(), data, dims.data(), dims.size(), type, mem_layout));
}

void Client::rename_tensor(const std::string& old_name, const std::string& new_name)
{
    check(::rename_tensor(_handle(), old_name.c_str(), old_name.size(), new_name.c_str(), new_name.size()));
}

void Client::delete_tensor(const std::string& name)
{
    check(::delete_tensor(_handle(), name.c_str(), name.size()));
}

void Client::copy_tensor(const std::string& src_name, const std::string& dest_name)
{
    check(::copy_tensor(_handle(), src_name.c_str(), src_name.size(), dest_name.c_str(), dest_name.size()));
}

/* ---- models and scripts ---- */

void Client::set_model_from_file(const std::string& name, const std::string& model_file, const std::string& backend,
                                 const std::string& device, int batch_size, int min_batch_size,
                                 int min_batch_timeout, const std::string& tag,
                                 const std::vector<std::string>& inputs, const std::vector<std::string>& outputs)
{
    NameList in(inputs), out(outputs);
    check(::set_model_from_file(_handle(), name.c_str(), name.size(), model_file.c_str(), model_file.size(),
                                backend.c_str(), backend.size(), device.c_str(), device.size(), batch_size,
                                min_batch_size, min_batch_timeout, tag.c_str(), tag.size(), in.data(), in.lengths(),
                                in.size(), out.data(), out.lengths(), out.size()));
}

void Client::set_model_from_file_multigpu(const std::string& name, const std::string& model_file,
                                          const std::string& backend, int first_gpu, int num_gpus, int batch_size,
                                          int min_batch_size, int min_batch_timeout, const std::string& tag,
                                          const std::vector<std::string>& inputs,
                                          const std::vector<std::string>& outputs)
{
    NameList in(inputs), out(outputs);
    check(::set_model_from_file_multigpu(_handle(), name.c_str(), name.size(), model_file.c_str(), model_file.size(),
                                         backend.c_str(), backend.size(), first_gpu, num_gpus, batch_size,
                                         min_batch_size, min_batch_timeout, tag.c_str(), tag.size(), in.data(),
                                         in.lengths(), in.size(), out.data(), out.lengths(), out.size()));
}

void Client::set_model(const std::string& name, const std::string_view& model, const std::string& backend,
                       const std::string& device, int batch_size, int min_batch_size, int min_batch_timeout,
                       const std::string& tag, const std::vector<std::string>& inputs,
                       const std::vector<std::string>& outputs)
{
    NameList in(inputs), out(outputs);
    check(::set_model(_handle(), name.c_str(), name.size(), model.data(), model.size(), backend.c_str(),
                      backend.size(), device.c_str(), device.size(), batch_size, min_batch_size, min_batch_timeout,
                      tag.c_str(), tag.size(), in.data(), in.lengths(), in.size(), out.data(), out.lengths(),
                      out.size()));
}

void Client::set_model_multigpu(const std::string& name, const std::string_view& model, const std::string& backend,
                                int first_gpu, int num_gpus, int batch_size, int min_batch_size,
                                int min_batch_timeout, const std::string& tag, const std::vector<std::string>& inputs,
                                const std::vector<std::string>& outputs)
{
    NameList in(inputs), out(outputs);
    check(::set_model_multigpu(_handle(), name.c_str(), name.size(), model.data(), model.size(), backend.c_str(),
                               backend.size(), first_gpu, num_gpus, batch_size, min_batch_size, min_batch_timeout,
                               tag.c_str(), tag.size(), in.data(), in.lengths(), in.size(), out.data(), out.lengths(),
                               out.size()));
}

std::string_view Client::get_model(const std::string& name)
{
    size_t length = 0;
    const char* model = nullptr;
    check(::get_model(_handle(), name.c_str(), name.size(), &length, &model));
    return std::string_view(model, length);
}

void Client::set_script_from_file(const std::string& name, const std::string& device, const std::string& script_file)
{
    check(::set_script_from_file(_handle(), name.c_str(), name.size(), device.c_str(), device.size(),
                                 script_file.c_str(), script_file.size()));
}

void Client::set_script_from_file_multigpu(const std::string& name, const std::string& script_file, int first_gpu,
                                           int num_gpus)
{
    check(::set_script_from_file_multigpu(_handle(), name.c_str(), name.size(), script_file.c_str(),
                                          script_file.size(), first_gpu, num_gpus));
}

void Client::set_script(const std::string& name, const std::string& device, const std::string_view& script)
{
    check(::set_script(_handle(), name.c_str(), name.size(), device.c_str(), device.size(), script.data(),
                       script.size()));
}

void Client::set_script_multigpu(const std::string& name, const std::string_view& script, int first_gpu,
                                 int num_gpus)
{
    check(::set_script_multigpu(_handle(), name.c_str(), name.size(), script.data(), script.size(), first_gpu,
                                num_gpus));
}

std::string_view Client::get_script(const std::string& name)
{
    const char* script = nullptr;
    size_t length = 0;
    check(::get_script(_handle(), name.c_str(), name.size(), &script, &length));
    return std::string_view(script, length);
}

void Client::run_model(const std::string& name, const std::vector<std::string> inputs,
                       const std::vector<std::string> outputs)
{
    NameList in(inputs), out(outputs);
    check(::run_model(_handle(), name.c_str(), name.size(), in.data(), in.lengths(), in.size(), out.data(),
                      out.lengths(), out.size()));
}

void Client::run_model_multigpu(const std::string& name, const std::vector<std::string> inputs,
                                const std::vector<std::string> outputs, int offset, int first_gpu, int num_gpus)
{
    NameList in(inputs), out(outputs);
    check(::run_model_multigpu(_handle(), name.c_str(), name.size(), in.data(), in.lengths(), in.size(), out.data(),
                               out.lengths(), out.size(), offset, first_gpu, num_gpus));
}

void Client::run_script(const std::string& name, const std::string& function, const std::vector<std::string> inputs,
                        const std::vector<std::string> outputs)
{
    NameList in(inputs), out(outputs);
    check(::run_script(_handle(), name.c_str(), name.size(), function.c_str(), function.size(), in.data(),
                       in.lengths(), in.size(), out.data(), out.lengths(), out.size()));
}

void Client::run_script_multigpu(const std::string& name, const std::string& function,
                                 const std::vector<std::string> inputs, const std::vector<std::string> outputs,
                                 int offset, int first_gpu, int num_gpus)
{
    NameList in(inputs), out(outputs);
    check(::run_script_multigpu(_handle(), name.c_str(), name.size(), function.c_str(), function.size(), in.data(),
                                in.lengths(), in.size(), out.data(), out.lengths(), out.size(), offset, first_gpu,
                                num_gpus));
}

void Client::delete_model(const std::string& name)
{
    check(::delete_model(_handle(), name.c_str(), name.size()));
}

void Client::delete_model_multigpu(const std::string& name, int first_gpu, int num_gpus)
{
    check(::delete_model_multigpu(_handle(), name.c_str(), name.size(), first_gpu, num_gpus));
}

void Client::delete_script(const std::string& name)
{
    check(::delete_script(_handle(), name.c_str(), name.size()));
}

void Client::delete_script_multigpu(const std::string& name, int first_gpu, int num_gpus)
{
    check(::delete_script_multigpu(_handle(), name.c_str(), name.size(), first_gpu, num_gpus));
}

/* ---- existence and polling ---- */

bool Client::key_exists(const std::string& key)
{
    bool exists = false;
    check(::key_exists(_handle(), key.c_str(), key.size(), &exists));
    return exists;
}

bool Client::model_exists(const std::string& name)
{
    bool exists = false;
    check(::model_exists(_handle(), name.c_str(), name.size(), &exists));
    return exists;
}

bool Client::tensor_exists(const std::string& name)
{
    bool exists = false;
    check(::tensor_exists(_handle(), name.c_str(), name.size(), &exists));
    return exists;
}

bool Client::dataset_exists(const std::string& name)
{
    bool exists = false;
    check(::dataset_exists(_handle(), name.c_str(), name.size(), &exists));
    return exists;
}

bool Client::poll_key(const std::string& key, int poll_frequency_ms, int num_tries)
{
    bool exists = false;
    check(::poll_key(_handle(), key.c_str(), key.size(), poll_frequency_ms, num_tries, &exists));
    return exists;
}

bool Client::poll_tensor(const std::string& name, int poll_frequency_ms, int num_tries)
{
    bool exists = false;
    check(::poll_tensor(_handle(), name.c_str(), name.size(), poll_frequency_ms, num_tries, &exists));
    return exists;
}

bool Client::poll_dataset(const std::string& name, int poll_frequency_ms, int num_tries)
{
    bool exists = false;
    check(::poll_dataset(_handle(), name.c_str(), name.size(), poll_frequency_ms, num_tries, &exists));
    return exists;
}

bool Client::poll_model(const std::string& name, int poll_frequency_ms, int num_tries)
{
    bool exists = false;
    check(::poll_model(_handle(), name.c_str(), name.size(), poll_frequency_ms, num_tries, &exists));
    return exists;
}

/* ---- key prefixes ---- */

void Client::set_data_source(std::string source_id)
{
    check(::set_data_source(_handle(), source_id.c_str(), source_id.size()));
}

void Client::use_tensor_ensemble_prefix(bool use_prefix)
{
    check(::use_tensor_ensemble_prefix(_handle(), use_prefix));
}

void Client::use_dataset_ensemble_prefix(bool use_prefix)
{
    check(::use_dataset_ensemble_prefix(_handle(), use_prefix));
}

void Client::use_model_ensemble_prefix(bool use_prefix)
{
    check(::use_model_ensemble_prefix(_handle(), use_prefix));
}

void Client::use_list_ensemble_prefix(bool use_prefix)
{
    check(::use_list_ensemble_prefix(_handle(), use_prefix));
}

/* ---- server calls: simdask's C API on the client under the C API client ---- */

namespace {

sd_client* sd_of(void* c_client)
{
    return srcompat_client(c_client);
}

/* A string simdask allocated, copied and freed. */
std::string take(char* text)
{
    std::string out(text != nullptr ? text : "");
    sd_free(text);
    return out;
}

/* The lines of an INFO-style reply, without their "\r". */
std::vector<std::string> lines_of(const std::string& text)
{
    std::vector<std::string> lines;
    size_t start = 0;
    while (start < text.size()) {
        size_t end = text.find('\n', start);
        if (end == std::string::npos)
            end = text.size();
        std::string line = text.substr(start, end - start);
        if (!line.empty() && line.back() == '\r')
            line.pop_back();
        lines.push_back(line);
        start = end + 1;
    }
    return lines;
}

/* "field:value" into map[field] = value (lines without ':' are skipped). */
void add_field(parsed_reply_map& map, const std::string& line)
{
    const size_t colon = line.find(':');
    if (colon != std::string::npos)
        map[line.substr(0, colon)] = line.substr(colon + 1);
}

} /* namespace */

parsed_reply_nested_map Client::get_db_node_info(const std::string address)
{
    sd_client* c = sd_of(_handle());
    char* text = nullptr;
    detail::check_sd(c, sd_db_info(c, address.c_str(), nullptr, &text), "get_db_node_info");
    parsed_reply_nested_map info;
    std::string section;
    for (const std::string& line : lines_of(take(text))) {
        if (line.empty())
            continue;
        if (line[0] == '#') {
            const size_t start = line.find_first_not_of("# ");
            section = start == std::string::npos ? "" : line.substr(start);
            info[section];
        } else {
            add_field(info[section], line);
        }
    }
    return info;
}

parsed_reply_map Client::get_db_cluster_info(const std::string address)
{
    sd_client* c = sd_of(_handle());
    char* text = nullptr;
    detail::check_sd(c, sd_cluster_info(c, address.c_str(), &text), "get_db_cluster_info");
    parsed_reply_map info;
    for (const std::string& line : lines_of(take(text)))
        add_field(info, line);
    return info;
}

parsed_reply_map Client::get_ai_info(const std::string& address, const std::string& key, bool reset_stat)
{
    (void)reset_stat;
    sd_client* c = sd_of(_handle());
    char* text = nullptr;
    detail::check_sd(c, sd_db_info(c, address.c_str(), "server", &text), "get_ai_info");
    sd_free(text);
    char* source = nullptr;
    const int status = sd_get_script(c, key.c_str(), &source);
    sd_free(source);
    if (status == SD_OK)
        return parsed_reply_map{{"key", key}, {"type", "SCRIPT"}, {"backend", "TORCH"}};
    if (status != SD_ERR_NOT_FOUND)
        detail::check_sd(c, status, "get_ai_info");
    if (!model_exists(key))
        detail::raise_error(SRRuntimeError, "get_ai_info: no model or script '" + key + "' is stored", "get_ai_info");
    return parsed_reply_map{{"key", key}, {"type", "MODEL"}};
}

void Client::flush_db(const std::string address)
{
    sd_client* c = sd_of(_handle());
    detail::check_sd(c, sd_flush_db(c, address.c_str()), "flush_db");
}

std::unordered_map<std::string, std::string> Client::config_get(const std::string expression,
                                                                const std::string address)
{
    sd_client* c = sd_of(_handle());
    char** pairs = nullptr;
    size_t count = 0;
    detail::check_sd(c, sd_config_get(c, address.c_str(), expression.c_str(), &pairs, &count), "config_get");
    std::unordered_map<std::string, std::string> values;
    try {
        for (size_t i = 0; i < count; i++)
            values[pairs[2 * i]] = pairs[2 * i + 1];
    } catch (...) {
        sd_strings_free(pairs, 2 * count);
        throw;
    }
    sd_strings_free(pairs, 2 * count);
    return values;
}

void Client::config_set(const std::string config_param, const std::string value, const std::string address)
{
    sd_client* c = sd_of(_handle());
    detail::check_sd(c, sd_config_set(c, address.c_str(), config_param.c_str(), value.c_str()), "config_set");
}

void Client::save(const std::string address)
{
    sd_client* c = sd_of(_handle());
    detail::check_sd(c, sd_save(c, address.c_str()), "save");
}

void Client::set_model_chunk_size(int chunk_size)
{
    (void)_handle();
    if (chunk_size <= 0)
        detail::raise_error(SRParameterError,
                            "set_model_chunk_size: the chunk size must be positive, not " + std::to_string(chunk_size),
                            "set_model_chunk_size");
}

/* ---- aggregation lists ---- */

void Client::append_to_list(const std::string& list_name, const DataSet& dataset)
{
    check(::append_to_list(_handle(), list_name.c_str(), list_name.size(), dataset._handle()));
}

void Client::delete_list(const std::string& list_name)
{
    check(::delete_list(_handle(), list_name.c_str(), list_name.size()));
}

void Client::copy_list(const std::string& src_name, const std::string& dest_name)
{
    check(::copy_list(_handle(), src_name.c_str(), src_name.size(), dest_name.c_str(), dest_name.size()));
}

void Client::rename_list(const std::string& src_name, const std::string& dest_name)
{
    check(::rename_list(_handle(), src_name.c_str(), src_name.size(), dest_name.c_str(), dest_name.size()));
}

int Client::get_list_length(const std::string& list_name)
{
    int length = 0;
    check(::get_list_length(_handle(), list_name.c_str(), list_name.size(), &length));
    return length;
}

bool Client::poll_list_length(const std::string& name, int list_length, int poll_frequency_ms, int num_tries)
{
    bool reached = false;
    check(::poll_list_length(_handle(), name.c_str(), name.size(), list_length, poll_frequency_ms, num_tries,
                             &reached));
    return reached;
}

bool Client::poll_list_length_gte(const std::string& name, int list_length, int poll_frequency_ms, int num_tries)
{
    bool reached = false;
    check(::poll_list_length_gte(_handle(), name.c_str(), name.size(), list_length, poll_frequency_ms, num_tries,
                                 &reached));
    return reached;
}

bool Client::poll_list_length_lte(const std::string& name, int list_length, int poll_frequency_ms, int num_tries)
{
    bool reached = false;
    check(::poll_list_length_lte(_handle(), name.c_str(), name.size(), list_length, poll_frequency_ms, num_tries,
                                 &reached));
    return reached;
}

std::vector<DataSet> Client::get_datasets_from_list(const std::string& list_name)
{
    void** datasets = nullptr;
    size_t count = 0;
    check(::get_datasets_from_list(_handle(), list_name.c_str(), list_name.size(), &datasets, &count));
    return _adopt(datasets, count);
}

std::vector<DataSet> Client::get_dataset_list_range(const std::string& list_name, int start_index, int end_index)
{
    void** datasets = nullptr;
    size_t count = 0;
    check(::get_dataset_list_range(_handle(), list_name.c_str(), list_name.size(), start_index, end_index, &datasets,
                                   &count));
    return _adopt(datasets, count);
}

std::vector<DataSet> Client::_adopt(void** datasets, size_t count)
{
    std::vector<DataSet> out;
    size_t next = 0;
    try {
        out.reserve(count);
        for (; next < count; next++) {
            sd_dataset* sd = srcompat_dataset(datasets[next]);
            DataSet ds(datasets[next], sd != nullptr ? sd_dataset_name(sd) : "");
            datasets[next] = nullptr; /* owned by ds */
            out.push_back(std::move(ds));
        }
    } catch (...) {
        for (size_t i = next; i < count; i++)
            ::DeallocateDataSet(&datasets[i]);
        free(datasets);
        throw;
    }
    free(datasets);
    return out;
}

std::string Client::to_string() const
{
    return ::client_to_string(_handle());
}

} /* namespace SmartRedis */
