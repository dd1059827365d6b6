/*
 * dataset.h: SmartRedis's DataSet on simdask (compatibility layer, C++).
 *
 * Named tensors plus metadata fields (lists of scalars or of strings), put
 * and got as one unit (Client::put_dataset / get_dataset). add_tensor copies
 * the caller's data, as SmartRedis does: a buffer reused in a time loop
 * does not change what was added. Copying a DataSet copies its tensors and
 * metadata; a moved-from DataSet may only be assigned to or destroyed.
 *
 *     SmartRedis::DataSet ds("step_10");
 *     ds.add_tensor("u", u, {nx, ny}, SRTensorTypeDouble, SRMemLayoutContiguous);
 *     ds.add_meta_scalar("time", &t, SRMetadataTypeDouble);
 *     client.put_dataset(ds);
 *
 * Memory handed out by get_tensor, get_meta_scalars and the char** forms
 * belongs to the DataSet and stays valid until it is destroyed.
 */
#ifndef SMARTREDIS_DATASET_H
#define SMARTREDIS_DATASET_H

#ifdef __cplusplus
#include <stdlib.h>

#include <ostream>
#include <string>
#include <vector>

#include "sr_enums.h"
#include "srexception.h"
#include "srobject.h"

namespace SmartRedis {

class SR_API DataSet : public SRObject {
  public:
    /* A new empty dataset; a name with braces ('{', '}') is a ParameterException. */
    DataSet(const std::string& name);
    DataSet(const DataSet& dataset);
    DataSet& operator=(const DataSet& dataset);
    DataSet(DataSet&& dataset) noexcept;
    DataSet& operator=(DataSet&& dataset) noexcept;
    virtual ~DataSet();

    /* Copies the tensor in (a name added again replaces it). dims: the
     * number of elements along each dimension. */
    void add_tensor(const std::string& name, const void* data, const std::vector<size_t>& dims,
                    const SRTensorType type, const SRMemoryLayout mem_layout);

    /* Appends one value to a metadata field, creating it; a field holds one
     * type (TypeException otherwise). For strings use add_meta_string. */
    void add_meta_scalar(const std::string& name, const void* data, const SRMetaDataType type);
    void add_meta_string(const std::string& name, const std::string& data);

    /* The tensor in memory the DataSet owns, laid out in mem_layout. */
    void get_tensor(const std::string& name, void*& data, std::vector<size_t>& dims, SRTensorType& type,
                    const SRMemoryLayout mem_layout) const;
    void get_tensor(const std::string& name, void*& data, size_t*& dims, size_t& n_dims, SRTensorType& type,
                    const SRMemoryLayout mem_layout) const;

    /* The tensor copied into the caller's memory (type and dims must match). */
    void unpack_tensor(const std::string& name, void* data, const std::vector<size_t>& dims,
                       const SRTensorType type, const SRMemoryLayout mem_layout);

    /* The values of a scalar field (memory owned by the DataSet). */
    void get_meta_scalars(const std::string& name, void*& data, size_t& length, SRMetaDataType& type) const;
    /* The strings of a string field. */
    std::vector<std::string> get_meta_strings(const std::string& name) const;
    void get_meta_strings(const std::string& name, char**& data, size_t& n_strings, size_t*& lengths) const;

    /* Whether a metadata field exists; clear_field removes one (nothing when absent). */
    bool has_field(const std::string& field_name) const;
    void clear_field(const std::string& field_name);

    std::string get_name() const { return _dsname; }
    /* Renames the dataset (an empty name is a ParameterException). */
    void set_name(std::string name);

    /* Names of the tensors, in the order they were added. */
    std::vector<std::string> get_tensor_names() const;
    void get_tensor_names(char**& data, size_t& n_strings, size_t*& lengths) const;

    /* A missing tensor is a KeyException. */
    SRTensorType get_tensor_type(const std::string& name) const;
    const std::vector<size_t> get_tensor_dims(const std::string& name) const;

    /* Names of the metadata fields, in the order they were created. */
    std::vector<std::string> get_metadata_field_names() const;
    void get_metadata_field_names(char**& data, size_t& n_strings, size_t*& lengths) const;
    /* A missing field is a KeyException. */
    SRMetaDataType get_metadata_field_type(const std::string& name) const;

    /* A description: name, tensors (type, dims), fields. */
    std::string to_string() const;

    friend class Client;

  private:
    /* Takes ownership of a C API dataset (c_dataset.h). */
    DataSet(void* c_dataset, const std::string& name);
    void* _handle() const;
    /* A new C API dataset named `name` holding copies of this one's tensors
     * and fields, leaving out field `skip_field`. */
    void* _copy_handle(const std::string& name, const std::string& skip_field) const;

    std::string _dsname;
    void* _c_dataset; /* the C API's dataset; NULL once moved from */
};

inline std::ostream& operator<<(std::ostream& stream, const DataSet& dataset)
{
    stream << dataset.to_string();
    return stream;
}

} /* namespace SmartRedis */

#endif /* __cplusplus */
#endif /* SMARTREDIS_DATASET_H */
