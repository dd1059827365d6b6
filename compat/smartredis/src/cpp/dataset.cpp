/*
 * dataset.cpp: DataSet over the C API's dataset (c_dataset.h). The C object
 * copies what add_tensor is given and owns what its getters hand out. What
 * returns std::string or std::vector reads the simdask dataset under it
 * (srcompat_dataset), which hands out nothing to keep. A copy of a DataSet,
 * a renamed DataSet and one with a field cleared are new C objects built
 * from the old one's tensors and fields.
 */
#include "dataset.h"

#include <utility>

#include "srcpp.h"

namespace SmartRedis {

using detail::check;

namespace {

/* Frees a C dataset unless released (for building one that may fail half-way). */
class Owned {
  public:
    explicit Owned(void* handle) : _handle(handle) {}
    ~Owned() { ::DeallocateDataSet(&_handle); }
    Owned(const Owned&) = delete;
    Owned& operator=(const Owned&) = delete;
    void* get() const { return _handle; }
    void* release()
    {
        void* h = _handle;
        _handle = nullptr;
        return h;
    }

  private:
    void* _handle;
};

/* The simdask dataset under a C API dataset. */
sd_dataset* sd_of(void* c_dataset)
{
    return srcompat_dataset(c_dataset);
}

std::vector<std::string> strings_of(const char* const* data, size_t count)
{
    return std::vector<std::string>(data, data + count);
}

void* new_c_dataset(const std::string& name)
{
    void* handle = nullptr;
    check(::CDataSet(name.c_str(), name.size(), &handle));
    return handle;
}

} /* namespace */

DataSet::DataSet(const std::string& name) : SRObject(name), _dsname(name), _c_dataset(new_c_dataset(name))
{
    log_data(LLDebug, "New DataSet created");
}

DataSet::DataSet(void* c_dataset, const std::string& name) : SRObject(name), _dsname(name), _c_dataset(c_dataset)
{
}

DataSet::DataSet(const DataSet& dataset)
    : SRObject(dataset), _dsname(dataset._dsname), _c_dataset(dataset._copy_handle(dataset._dsname, ""))
{
}

DataSet& DataSet::operator=(const DataSet& dataset)
{
    if (this != &dataset) {
        DataSet copy(dataset);
        *this = std::move(copy);
    }
    return *this;
}

DataSet::DataSet(DataSet&& dataset) noexcept
    : SRObject(std::move(dataset)), _dsname(std::move(dataset._dsname)), _c_dataset(dataset._c_dataset)
{
    dataset._c_dataset = nullptr;
}

DataSet& DataSet::operator=(DataSet&& dataset) noexcept
{
    if (this != &dataset) {
        ::DeallocateDataSet(&_c_dataset);
        SRObject::operator=(std::move(dataset));
        _dsname = std::move(dataset._dsname);
        _c_dataset = dataset._c_dataset;
        dataset._c_dataset = nullptr;
    }
    return *this;
}

DataSet::~DataSet()
{
    if (_c_dataset != nullptr) {
        ::DeallocateDataSet(&_c_dataset);
        log_data(LLDebug, "DataSet destroyed");
    }
}

void* DataSet::_handle() const
{
    if (_c_dataset == nullptr)
        detail::raise_error(SRRuntimeError, "this DataSet was moved from: assign a DataSet to it before using it",
                            "DataSet");
    return _c_dataset;
}

void* DataSet::_copy_handle(const std::string& name, const std::string& skip_field) const
{
    sd_dataset* src = sd_of(_handle());
    Owned out(new_c_dataset(name));
    for (const std::string& tensor : get_tensor_names()) {
        const void* data = nullptr;
        sd_dtype dtype;
        size_t ndim = 0;
        const size_t* shape = nullptr;
        sd_order order;
        detail::check_sd(src, sd_dataset_get_tensor(src, tensor.c_str(), &data, &dtype, &ndim, &shape, &order),
                         "DataSet");
        const SRMemoryLayout layout = order == SD_ORDER_F ? SRMemLayoutFortranContiguous : SRMemLayoutContiguous;
        check(::add_tensor(out.get(), tensor.c_str(), tensor.size(), const_cast<void*>(data), shape, ndim,
                           get_tensor_type(tensor), layout));
    }
    for (const std::string& field : get_metadata_field_names()) {
        if (field == skip_field)
            continue;
        const SRMetaDataType type = get_metadata_field_type(field);
        if (type == SRMetadataTypeString) {
            for (const std::string& value : get_meta_strings(field))
                check(::add_meta_string(out.get(), field.c_str(), field.size(), value.c_str(), value.size()));
            continue;
        }
        const void* values = nullptr;
        size_t count = 0;
        sd_dtype dtype;
        detail::check_sd(src, sd_dataset_get_meta_scalars(src, field.c_str(), &values, &count, &dtype), "DataSet");
        const size_t size = sd_dtype_size(dtype);
        for (size_t i = 0; i < count; i++)
            check(::add_meta_scalar(out.get(), field.c_str(), field.size(),
                                    static_cast<const unsigned char*>(values) + i * size, type));
    }
    return out.release();
}

void DataSet::add_tensor(const std::string& name, const void* data, const std::vector<size_t>& dims,
                         const SRTensorType type, const SRMemoryLayout mem_layout)
{
    check(::add_tensor(_handle(), name.c_str(), name.size(), const_cast<void*>(data), dims.data(), dims.size(), type,
                       mem_layout));
}

void DataSet::add_meta_scalar(const std::string& name, const void* data, const SRMetaDataType type)
{
    check(::add_meta_scalar(_handle(), name.c_str(), name.size(), data, type));
}

void DataSet::add_meta_string(const std::string& name, const std::string& data)
{
    check(::add_meta_string(_handle(), name.c_str(), name.size(), data.c_str(), data.size()));
}

void DataSet::get_tensor(const std::string& name, void*& data, std::vector<size_t>& dims, SRTensorType& type,
                         const SRMemoryLayout mem_layout) const
{
    size_t* c_dims = nullptr;
    size_t n_dims = 0;
    get_tensor(name, data, c_dims, n_dims, type, mem_layout);
    dims.assign(c_dims, c_dims + n_dims);
}

void DataSet::get_tensor(const std::string& name, void*& data, size_t*& dims, size_t& n_dims, SRTensorType& type,
                         const SRMemoryLayout mem_layout) const
{
    check(::get_dataset_tensor(_handle(), name.c_str(), name.size(), &data, &dims, &n_dims, &type, mem_layout));
}

void DataSet::unpack_tensor(const std::string& name, void* data, const std::vector<size_t>& dims,
                            const SRTensorType type, const SRMemoryLayout mem_layout)
{
    check(::unpack_dataset_tensor(_handle(), name.c_str(), name.size(), data, dims.data(), dims.size(), type,
                                  mem_layout));
}

void DataSet::get_meta_scalars(const std::string& name, void*& data, size_t& length, SRMetaDataType& type) const
{
    check(::get_meta_scalars(_handle(), name.c_str(), name.size(), &length, &type, &data));
}

std::vector<std::string> DataSet::get_meta_strings(const std::string& name) const
{
    sd_dataset* ds = sd_of(_handle());
    const char* const* values = nullptr;
    size_t count = 0;
    detail::check_sd(ds, sd_dataset_get_meta_strings(ds, name.c_str(), &values, &count), "get_meta_strings");
    return strings_of(values, count);
}

void DataSet::get_meta_strings(const std::string& name, char**& data, size_t& n_strings, size_t*& lengths) const
{
    check(::get_meta_strings(_handle(), name.c_str(), name.size(), &data, &n_strings, &lengths));
}

bool DataSet::has_field(const std::string& field_name) const
{
    for (const std::string& field : get_metadata_field_names()) {
        if (field == field_name)
            return true;
    }
    return false;
}

void DataSet::clear_field(const std::string& field_name)
{
    if (!has_field(field_name))
        return;
    void* rebuilt = _copy_handle(_dsname, field_name);
    ::DeallocateDataSet(&_c_dataset);
    _c_dataset = rebuilt;
}

void DataSet::set_name(std::string name)
{
    if (name.empty())
        detail::raise_error(SRParameterError, "a DataSet name must not be empty", "set_name");
    void* renamed = _copy_handle(name, "");
    ::DeallocateDataSet(&_c_dataset);
    _c_dataset = renamed;
    _dsname = std::move(name);
}

std::vector<std::string> DataSet::get_tensor_names() const
{
    sd_dataset* ds = sd_of(_handle());
    const char* const* names = nullptr;
    size_t count = 0;
    detail::check_sd(ds, sd_dataset_tensor_names(ds, &names, &count), "get_tensor_names");
    return strings_of(names, count);
}

void DataSet::get_tensor_names(char**& data, size_t& n_strings, size_t*& lengths) const
{
    check(::get_tensor_names(_handle(), &data, &n_strings, &lengths));
}

SRTensorType DataSet::get_tensor_type(const std::string& name) const
{
    SRTensorType type = SRTensorTypeInvalid;
    check(::get_tensor_type(_handle(), name.c_str(), name.size(), &type));
    return type;
}

const std::vector<size_t> DataSet::get_tensor_dims(const std::string& name) const
{
    std::vector<size_t> dims(8);
    for (;;) {
        size_t* room = dims.data();
        size_t n = dims.size();
        SRError code = ::get_tensor_dims(_handle(), name.c_str(), name.size(), &room, &n);
        if (code == SRBadAllocError && n > dims.size()) {
            dims.resize(n);
            continue;
        }
        check(code);
        dims.resize(n);
        return dims;
    }
}

std::vector<std::string> DataSet::get_metadata_field_names() const
{
    sd_dataset* ds = sd_of(_handle());
    const char* const* names = nullptr;
    size_t count = 0;
    detail::check_sd(ds, sd_dataset_meta_names(ds, &names, &count), "get_metadata_field_names");
    return strings_of(names, count);
}

void DataSet::get_metadata_field_names(char**& data, size_t& n_strings, size_t*& lengths) const
{
    check(::get_metadata_field_names(_handle(), &data, &n_strings, &lengths));
}

SRMetaDataType DataSet::get_metadata_field_type(const std::string& name) const
{
    SRMetaDataType type = SRMetadataTypeInvalid;
    check(::get_metadata_field_type(_handle(), name.c_str(), name.size(), &type));
    return type;
}

std::string DataSet::to_string() const
{
    return ::dataset_to_string(_handle());
}

} /* namespace SmartRedis */
