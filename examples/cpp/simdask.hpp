// simdask.hpp: a small C++17 layer over simdask's C header (simdask.h), as a
// C++ simulation would write one: RAII owners of the C handles and C status
// codes turned into exceptions. It is an example to copy and extend, not an
// installed part of the client; every call below is one simdask.h call.
//
//     simdask::Client client;                       // SIMDASK_ADDRESS
//     simdask::TensorMeta meta;
//     meta.dims({"y", "x"}).attr("units", "K");
//     client.put("T.0001", field.data(), {ny, nx}, &meta);
//     if (auto kappa = client.take_scalar("kappa")) use(*kappa);
#pragma once

#include <simdask.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace simdask {

// A failed simdask call: the C status code (SD_ERR_*) and the message the
// C client kept for it, which names the key, the address or the model.
class Error : public std::runtime_error {
public:
    Error(int status, const std::string &what, const char *message)
        : std::runtime_error(what + " failed (" + sd_status_name(status) + "): " + (message ? message : "")),
          status_(status) {}
    int status() const noexcept { return status_; }

private:
    int status_;
};

// Element types of the C header for the C++ types a simulation stores.
template <typename T> constexpr sd_dtype dtype_of();
template <> constexpr sd_dtype dtype_of<double>() { return SD_FLOAT64; }
template <> constexpr sd_dtype dtype_of<float>() { return SD_FLOAT32; }
template <> constexpr sd_dtype dtype_of<std::int32_t>() { return SD_INT32; }
template <> constexpr sd_dtype dtype_of<std::int64_t>() { return SD_INT64; }

// The description stored in a tensor's header (dims, attrs, coordinates):
// owns an sd_tensor_meta. Setters return *this, so that they chain.
class TensorMeta {
public:
    TensorMeta() {
        sd_tensor_meta *m = nullptr;
        if (int rc = sd_tensor_meta_new(&m); rc != SD_OK) throw Error(rc, "sd_tensor_meta_new", "out of memory");
        meta_.reset(m);
    }
    TensorMeta &dims(const std::vector<std::string> &names) {
        std::vector<const char *> c_names;
        for (const auto &n : names) c_names.push_back(n.c_str());
        return check(sd_tensor_meta_set_dims(get(), c_names.size(), c_names.data()));
    }
    TensorMeta &attr(const std::string &name, const std::string &value) {
        return check(sd_tensor_meta_set_attr_string(get(), name.c_str(), value.c_str()));
    }
    TensorMeta &attr(const std::string &name, const char *value) { return attr(name, std::string(value)); }
    TensorMeta &attr(const std::string &name, double value) {
        return check(sd_tensor_meta_set_attr_double(get(), name.c_str(), value));
    }
    TensorMeta &attr(const std::string &name, long long value) {
        return check(sd_tensor_meta_set_attr_int(get(), name.c_str(), value));
    }
    // A coordinate of the key (the model time of a step).
    TensorMeta &coord(const std::string &name, double value) {
        return check(sd_tensor_meta_set_coord_scalar(get(), name.c_str(), value));
    }
    // The coordinate along dimension `dim`.
    TensorMeta &coord(const std::string &dim, const std::vector<double> &values) {
        return check(sd_tensor_meta_set_coord_array(get(), dim.c_str(), values.data(), values.size()));
    }
    sd_tensor_meta *get() const noexcept { return meta_.get(); }

private:
    struct Free {
        void operator()(sd_tensor_meta *m) const noexcept { sd_tensor_meta_free(m); }
    };
    TensorMeta &check(int rc) {
        if (rc != SD_OK) throw Error(rc, "describing a tensor", sd_tensor_meta_last_error(get()));
        return *this;
    }
    std::unique_ptr<sd_tensor_meta, Free> meta_;
};

// A connection to the store: owns an sd_client (movable, not copyable, as
// the C context is one per thread). Every failure throws simdask::Error.
class Client {
public:
    // address empty: SIMDASK_ADDRESS (and the other SIMDASK_* variables).
    explicit Client(const std::string &address = "") {
        sd_client *c = nullptr;
        int rc = sd_client_new(&c, address.empty() ? nullptr : address.c_str());
        client_.reset(c); // freed also when connecting failed (it holds the message)
        check(rc, "connecting to the store (is SIMDASK_ADDRESS set?)");
    }

    // Writes the C-ordered array `data` of `shape`, described by `meta` (nullptr: no description).
    template <typename T>
    void put(const std::string &name, const T *data, const std::vector<std::size_t> &shape,
             const TensorMeta *meta = nullptr) {
        check(sd_put_tensor_meta(get(), name.c_str(), data, dtype_of<T>(), shape.size(), shape.data(), SD_ORDER_C,
                                 meta ? meta->get() : nullptr),
              "put_tensor " + name);
    }
    template <typename T> void put_scalar(const std::string &name, T value) { put(name, &value, {}); }

    // Reads the C-ordered array `name` of `shape` into `out` (resized to fit).
    template <typename T> void read(const std::string &name, const std::vector<std::size_t> &shape, std::vector<T> &out) {
        std::size_t n = 1;
        for (auto s : shape) n *= s;
        out.resize(n);
        check(sd_unpack_tensor(get(), name.c_str(), out.data(), n * sizeof(T), dtype_of<T>(), shape.size(),
                               shape.data(), SD_ORDER_C),
              "unpack_tensor " + name);
    }

    bool tensor_exists(const std::string &name) {
        int exists = 0;
        check(sd_tensor_exists(get(), name.c_str(), &exists), "tensor_exists " + name);
        return exists != 0;
    }
    // Waits up to tries * interval_ms for the tensor; whether it appeared.
    bool poll_tensor(const std::string &name, int interval_ms, int tries) {
        int exists = 0;
        check(sd_poll_tensor(get(), name.c_str(), interval_ms, tries, &exists), "poll_tensor " + name);
        return exists != 0;
    }
    void delete_tensor(const std::string &name) { check(sd_delete_tensor(get(), name.c_str()), "delete " + name); }

    // A steering value: the scalar `name` when present (then deleted, so that it is taken once).
    template <typename T = double> std::optional<T> take_scalar(const std::string &name) {
        if (!tensor_exists(name)) return std::nullopt;
        T value{};
        check(sd_unpack_tensor(get(), name.c_str(), &value, sizeof value, dtype_of<T>(), 0, nullptr, SD_ORDER_C),
              "unpack_tensor " + name);
        delete_tensor(name);
        return value;
    }

    bool model_exists(const std::string &name) {
        int exists = 0;
        check(sd_model_exists(get(), name.c_str(), &exists), "model_exists " + name);
        return exists != 0;
    }
    // Runs a stored model on tensors already put; outputs are written to the store.
    // timeout_ms 0: SIMDASK_RUN_TIMEOUT (default 60 s).
    void run_model(const std::string &model, const std::vector<std::string> &inputs,
                   const std::vector<std::string> &outputs, int timeout_ms = 0) {
        auto c_strings = [](const std::vector<std::string> &names) {
            std::vector<const char *> out;
            for (const auto &n : names) out.push_back(n.c_str());
            return out;
        };
        auto in = c_strings(inputs), out = c_strings(outputs);
        check(sd_run_model(get(), model.c_str(), in.size(), in.data(), out.size(), out.data(), timeout_ms),
              "run_model " + model);
    }

    sd_client *get() const noexcept { return client_.get(); }

private:
    struct Free {
        void operator()(sd_client *c) const noexcept { sd_client_free(c); }
    };
    void check(int rc, const std::string &what) const {
        if (rc != SD_OK) throw Error(rc, what, sd_last_error(get()));
    }
    std::unique_ptr<sd_client, Free> client_;
};

} // namespace simdask
