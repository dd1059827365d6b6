/*
 * sr_cpp_tests.cpp: the C++ SmartRedis API against a real simdask store,
 * written from SmartRedis's documented behaviour. One program, one case per
 * argv[1] (test_sr_cpp_*.py run them against standalone, Unix-socket and
 * cluster stores): the store comes from SSDB, as SmartSim sets it.
 * A failed check prints "FAIL file:line ..." on stderr; the exit status is
 * the number of failures (0: all passed), 2 for an unknown case.
 */
#include <stdint.h>
#include <string.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "client.h"
#include "configoptions.h"
#include "dataset.h"
#include "logcontext.h"
#include "logger.h"
#include "srexception.h"

using namespace SmartRedis;

static int failures = 0;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            failures++;                                                              \
            std::fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);     \
        }                                                                            \
    } while (0)

/* The statement must not throw (a failure is counted, the case goes on). */
#define CHECK_NOTHROW(...)                                                                       \
    do {                                                                                         \
        try {                                                                                    \
            __VA_ARGS__;                                                                         \
        } catch (Exception & e) {                                                                \
            failures++;                                                                          \
            std::fprintf(stderr, "FAIL %s:%d: %s threw %s: %s\n", __FILE__, __LINE__, #__VA_ARGS__, \
                         e.exception_class().c_str(), e.what());                                 \
        }                                                                                        \
    } while (0)

/* The statement must throw an exception of exactly class E (by
 * exception_class()) whose message contains `text`, and which is this
 * thread's last error (SRGetLastError); returns its message. */
#define EXPECT_THROW(E, text, ...) expect_throw<E>([&]() { __VA_ARGS__; }, #E, (text), #__VA_ARGS__, __LINE__)

template <class E>
static std::string expect_throw(const std::function<void()>& f, const char* class_name, const std::string& text,
                                const char* stmt, int line)
{
    try {
        f();
    } catch (E& e) {
        std::string msg = e.what();
        if (e.exception_class() != class_name) {
            failures++;
            std::fprintf(stderr, "FAIL line %d: %s threw %s, not %s: %s\n", line, stmt, e.exception_class().c_str(),
                         class_name, msg.c_str());
        }
        if (msg.find(text) == std::string::npos) {
            failures++;
            std::fprintf(stderr, "FAIL line %d: %s: message '%s' lacks '%s'\n", line, stmt, msg.c_str(), text.c_str());
        }
        if (std::string(SRGetLastError()) != msg) {
            failures++;
            std::fprintf(stderr, "FAIL line %d: SRGetLastError() '%s' is not the message '%s'\n", line,
                         SRGetLastError(), msg.c_str());
        }
        return msg;
    } catch (Exception& e) {
        failures++;
        std::fprintf(stderr, "FAIL line %d: %s threw %s, not %s: %s\n", line, stmt, e.exception_class().c_str(),
                     class_name, e.what());
        return e.what();
    } catch (std::exception& e) {
        failures++;
        std::fprintf(stderr, "FAIL line %d: %s threw a non-SmartRedis exception: %s\n", line, stmt, e.what());
        return e.what();
    }
    failures++;
    std::fprintf(stderr, "FAIL line %d: %s did not throw %s\n", line, stmt, class_name);
    return "";
}

static std::string env_or(const char* name, const char* fallback)
{
    const char* v = std::getenv(name);
    return v != nullptr ? v : fallback;
}

/* ---- tensors: every type in every layout ----------------------------------------- */

/* A 3-D array as nested pointers, each row allocated on its own. */
template <class T>
struct Nested3 {
    Nested3(size_t ni, size_t nj, size_t nk) : rows(ni * nj), row_ptrs(ni * nj), planes(ni)
    {
        for (size_t r = 0; r < ni * nj; r++) {
            rows[r].assign(nk, T(0));
            row_ptrs[r] = rows[r].data();
        }
        for (size_t i = 0; i < ni; i++)
            planes[i] = &row_ptrs[i * nj];
    }
    T*** get() { return planes.data(); }
    std::vector<std::vector<T>> rows;
    std::vector<T*> row_ptrs;
    std::vector<T**> planes;
};

template <class T>
static void tensor_roundtrip(Client& c, SRTensorType type, const std::string& tag)
{
    const size_t ni = 3, nj = 4, nk = 5, n = ni * nj * nk;
    const std::vector<size_t> dims = {ni, nj, nk};
    std::vector<T> src(n);
    for (size_t i = 0; i < n; i++)
        src[i] = static_cast<T>((i % 100) + 1);
    auto at = [&](size_t i, size_t j, size_t k) { return src[(i * nj + j) * nk + k]; };

    /* contiguous: both get_tensor forms and unpack_tensor (full dims, and {n}) */
    const std::string cname = "c_" + tag;
    c.put_tensor(cname, src.data(), dims, type, SRMemLayoutContiguous);
    void* data = nullptr;
    std::vector<size_t> got_dims;
    SRTensorType got_type = SRTensorTypeInvalid;
    c.get_tensor(cname, data, got_dims, got_type, SRMemLayoutContiguous);
    CHECK(got_type == type);
    CHECK(got_dims == dims);
    CHECK(std::memcmp(data, src.data(), n * sizeof(T)) == 0);

    size_t* cdims = nullptr;
    size_t n_dims = 0;
    c.get_tensor(cname, data, cdims, n_dims, got_type, SRMemLayoutContiguous);
    CHECK(n_dims == 3 && cdims[0] == ni && cdims[1] == nj && cdims[2] == nk);
    CHECK(std::memcmp(data, src.data(), n * sizeof(T)) == 0);

    std::vector<T> out(n, T(0));
    c.unpack_tensor(cname, out.data(), dims, type, SRMemLayoutContiguous);
    CHECK(out == src);
    /* SmartRedis's documented form for a contiguous buffer: dims {number of elements} */
    std::fill(out.begin(), out.end(), T(0));
    CHECK_NOTHROW(c.unpack_tensor(cname, out.data(), {n}, type, SRMemLayoutContiguous));
    CHECK(out == src);

    /* nested: put from pointer arrays, get and unpack into them */
    Nested3<T> nested(ni, nj, nk);
    for (size_t i = 0; i < ni; i++)
        for (size_t j = 0; j < nj; j++)
            for (size_t k = 0; k < nk; k++)
                nested.get()[i][j][k] = at(i, j, k);
    const std::string nname = "n_" + tag;
    c.put_tensor(nname, nested.get(), dims, type, SRMemLayoutNested);
    std::fill(out.begin(), out.end(), T(0));
    c.unpack_tensor(nname, out.data(), dims, type, SRMemLayoutContiguous);
    CHECK(out == src);
    c.get_tensor(nname, data, got_dims, got_type, SRMemLayoutNested);
    T*** got_nested = static_cast<T***>(data);
    bool nested_ok = got_dims == dims;
    for (size_t i = 0; nested_ok && i < ni; i++)
        for (size_t j = 0; j < nj; j++)
            for (size_t k = 0; k < nk; k++)
                nested_ok = nested_ok && got_nested[i][j][k] == at(i, j, k);
    CHECK(nested_ok);
    Nested3<T> into(ni, nj, nk);
    c.unpack_tensor(cname, into.get(), dims, type, SRMemLayoutNested);
    CHECK(into.rows == nested.rows);

    /* Fortran (column-major) contiguous: the same logical array */
    std::vector<T> fort(n);
    for (size_t i = 0; i < ni; i++)
        for (size_t j = 0; j < nj; j++)
            for (size_t k = 0; k < nk; k++)
                fort[i + ni * (j + nj * k)] = at(i, j, k);
    const std::string fname = "f_" + tag;
    c.put_tensor(fname, fort.data(), dims, type, SRMemLayoutFortranContiguous);
    c.get_tensor(fname, data, got_dims, got_type, SRMemLayoutContiguous);
    CHECK(got_dims == dims);
    CHECK(std::memcmp(data, src.data(), n * sizeof(T)) == 0);
    c.get_tensor(cname, data, got_dims, got_type, SRMemLayoutFortranContiguous);
    CHECK(std::memcmp(data, fort.data(), n * sizeof(T)) == 0);
    std::fill(out.begin(), out.end(), T(0));
    c.unpack_tensor(cname, out.data(), dims, type, SRMemLayoutFortranContiguous);
    CHECK(out == fort);
}

static void case_tensors()
{
    Client c("tensors");
    tensor_roundtrip<double>(c, SRTensorTypeDouble, "double");
    tensor_roundtrip<float>(c, SRTensorTypeFloat, "float");
    tensor_roundtrip<int8_t>(c, SRTensorTypeInt8, "int8");
    tensor_roundtrip<int16_t>(c, SRTensorTypeInt16, "int16");
    tensor_roundtrip<int32_t>(c, SRTensorTypeInt32, "int32");
    tensor_roundtrip<int64_t>(c, SRTensorTypeInt64, "int64");
    tensor_roundtrip<uint8_t>(c, SRTensorTypeUint8, "uint8");
    tensor_roundtrip<uint16_t>(c, SRTensorTypeUint16, "uint16");

    /* copy, rename, delete, exists, poll; a 1-element tensor */
    double one = 42.0;
    c.put_tensor("one", &one, {1}, SRTensorTypeDouble, SRMemLayoutContiguous);
    CHECK(c.tensor_exists("one"));
    CHECK(c.key_exists("one"));
    c.copy_tensor("one", "two");
    c.rename_tensor("two", "three");
    CHECK(!c.tensor_exists("two"));
    CHECK(c.poll_tensor("three", 10, 3));
    double back = 0;
    c.unpack_tensor("three", &back, {1}, SRTensorTypeDouble, SRMemLayoutContiguous);
    CHECK(back == 42.0);
    c.delete_tensor("three");
    CHECK(!c.tensor_exists("three"));
    CHECK(!c.poll_tensor("three", 10, 2));
    CHECK(!c.poll_key("three", 10, 2));
    CHECK(c.poll_key("one", 10, 2));

    /* for the Python side to read: tensor "xlang" (3, 4) float32 0..11 */
    std::vector<float> x(12);
    for (size_t i = 0; i < x.size(); i++)
        x[i] = static_cast<float>(i);
    c.put_tensor("xlang", x.data(), {3, 4}, SRTensorTypeFloat, SRMemLayoutContiguous);
    std::printf("to_string: %s\n", c.to_string().c_str());
    std::ostringstream os;
    os << c;
    CHECK(os.str() == c.to_string());
}

/* ---- errors: which class, which message ------------------------------------------ */

static void case_errors()
{
    Client c("errors");
    void* data = nullptr;
    std::vector<size_t> dims;
    SRTensorType type;
    std::string msg = EXPECT_THROW(KeyException, "no_such_tensor",
                                   c.get_tensor("no_such_tensor", data, dims, type, SRMemLayoutContiguous));
    EXPECT_THROW(KeyException, "no_such_dataset", c.get_dataset("no_such_dataset"));
    EXPECT_THROW(KeyException, "no_such_model", c.get_model("no_such_model"));

    /* caught as the base class and as std::exception, with code and location */
    try {
        c.get_tensor("no_such_tensor", data, dims, type, SRMemLayoutContiguous);
        CHECK(false);
    } catch (Exception& e) {
        CHECK(e.to_error_code() == SRKeyError);
        CHECK(e.exception_class() == "KeyException");
        CHECK(std::string(e.where()) != "");
        CHECK(std::string(e.what()) == msg);
    }
    try {
        c.get_tensor("no_such_tensor", data, dims, type, SRMemLayoutContiguous);
    } catch (std::exception& e) {
        CHECK(std::string(e.what()) == msg);
    }

    /* type and shape mismatches on unpack */
    double d[6] = {1, 2, 3, 4, 5, 6};
    c.put_tensor("d", d, {2, 3}, SRTensorTypeDouble, SRMemLayoutContiguous);
    float f[6];
    EXPECT_THROW(TypeException, "d", c.unpack_tensor("d", f, {2, 3}, SRTensorTypeFloat, SRMemLayoutContiguous));
    double small[4];
    EXPECT_THROW(RuntimeException, "d", c.unpack_tensor("d", small, {2, 2}, SRTensorTypeDouble, SRMemLayoutContiguous));
    EXPECT_THROW(RuntimeException, "d", c.unpack_tensor("d", small, {4}, SRTensorTypeDouble, SRMemLayoutContiguous));
    EXPECT_THROW(ParameterException, "", c.put_tensor("bad", d, {2, 3}, SRTensorTypeDouble, SRMemLayoutInvalid));
    EXPECT_THROW(ParameterException, "", c.put_tensor("bad", d, {2, 3}, SRTensorTypeInvalid, SRMemLayoutContiguous));

    /* backends simdask does not run */
    EXPECT_THROW(ParameterException, "TF", c.set_model("m", "bytes", "TF", "CPU"));
    EXPECT_THROW(ParameterException, "TFLITE", c.set_model("m", "bytes", "TFLITE", "CPU"));
    EXPECT_THROW(ParameterException, "no_such_file.pt",
                 c.set_model_from_file("m", "no_such_file.pt", "TORCH", "CPU"));

    /* datasets */
    EXPECT_THROW(ParameterException, "", DataSet("bad{name}"));
    DataSet ds("ds");
    EXPECT_THROW(KeyException, "nope", ds.get_tensor_type("nope"));
    EXPECT_THROW(KeyException, "nope", ds.get_tensor_dims("nope"));
    EXPECT_THROW(KeyException, "nope", ds.get_metadata_field_type("nope"));
    EXPECT_THROW(ParameterException, "", ds.set_name(""));
    int32_t i32 = 1;
    double dbl = 2;
    ds.add_meta_scalar("field", &i32, SRMetadataTypeInt32);
    EXPECT_THROW(TypeException, "field", ds.add_meta_scalar("field", &dbl, SRMetadataTypeDouble));

    /* options */
    auto opts = ConfigOptions::create_from_environment("");
    EXPECT_THROW(KeyException, "SR_NO_SUCH_OPTION", opts->get_integer_option("SR_NO_SUCH_OPTION"));
    EXPECT_THROW(KeyException, "SR_NO_SUCH_OPTION", opts->get_string_option("SR_NO_SUCH_OPTION"));
    opts->override_string_option("SR_WORDS", "not a number");
    EXPECT_THROW(ParameterException, "SR_WORDS", opts->get_integer_option("SR_WORDS"));

    /* a prefix that is none of SSKEYIN's */
    EXPECT_THROW(ParameterException, "nobody", c.set_data_source("nobody"));

    /* exceptions made by the program itself */
    try {
        throw SRRuntimeException("made here");
    } catch (RuntimeException& e) {
        CHECK(std::string(e.what()) == "made here");
        CHECK(std::string(e.where()).find("sr_cpp_tests.cpp") != std::string::npos);
        CHECK(e.to_error_code() == SRRuntimeError);
    }
    Exception plain("plain");
    CHECK(std::string(plain.where()) == "unavailable");
    CHECK(plain.to_error_code() == SRInvalidError);
    std::runtime_error std_error("standard");
    Exception wrapped(std_error);
    CHECK(std::string(wrapped.what()) == "standard");
    const SRError codes[] = {BadAllocException("x").to_error_code(), DatabaseException("x").to_error_code(),
                             InternalException("x").to_error_code(), RuntimeException("x").to_error_code(),
                             ParameterException("x").to_error_code(), TimeoutException("x").to_error_code(),
                             KeyException("x").to_error_code(),      TypeException("x").to_error_code()};
    const SRError expected[] = {SRBadAllocError,  SRDatabaseError, SRInternalError, SRRuntimeError,
                                SRParameterError, SRTimeoutError,  SRKeyError,      SRTypeError};
    CHECK(std::memcmp(codes, expected, sizeof codes) == 0);
}

/* A store that does not answer: SSDB names a closed port. */
static void case_unreachable()
{
    EXPECT_THROW(DatabaseException, "127.0.0.1:1", {
        Client c("unreachable");
        double x = 1;
        c.put_tensor("x", &x, {1}, SRTensorTypeDouble, SRMemLayoutContiguous);
    });
}

/* ---- datasets ------------------------------------------------------------------- */

static void case_datasets()
{
    Client c("datasets");
    std::vector<double> buffer = {1, 2, 3, 4, 5, 6};
    DataSet ds("sim_step");
    ds.add_tensor("u", buffer.data(), {2, 3}, SRTensorTypeDouble, SRMemLayoutContiguous);
    /* add_tensor copied: the buffer reused for the next tensor does not change "u" */
    for (double& v : buffer)
        v *= 10;
    ds.add_tensor("v", buffer.data(), {6}, SRTensorTypeDouble, SRMemLayoutContiguous);
    int16_t ints[4] = {-1, 2, -3, 4};
    ds.add_tensor("i", ints, {2, 2}, SRTensorTypeInt16, SRMemLayoutFortranContiguous);

    double t0 = 0.5, t1 = 1.5;
    float fl = 2.5f;
    int32_t i32 = -7;
    int64_t i64 = -1234567890123LL;
    uint32_t u32 = 7;
    uint64_t u64 = 1234567890123ULL;
    ds.add_meta_scalar("time", &t0, SRMetadataTypeDouble);
    ds.add_meta_scalar("time", &t1, SRMetadataTypeDouble);
    ds.add_meta_scalar("f", &fl, SRMetadataTypeFloat);
    ds.add_meta_scalar("i32", &i32, SRMetadataTypeInt32);
    ds.add_meta_scalar("i64", &i64, SRMetadataTypeInt64);
    ds.add_meta_scalar("u32", &u32, SRMetadataTypeUint32);
    ds.add_meta_scalar("u64", &u64, SRMetadataTypeUint64);
    ds.add_meta_string("units", "K");
    ds.add_meta_string("units", "m/s");

    CHECK((ds.get_tensor_names() == std::vector<std::string>{"u", "v", "i"}));
    CHECK(ds.get_tensor_type("i") == SRTensorTypeInt16);
    CHECK((ds.get_tensor_dims("u") == std::vector<size_t>{2, 3}));
    CHECK((ds.get_metadata_field_names() ==
           std::vector<std::string>{"time", "f", "i32", "i64", "u32", "u64", "units"}));
    CHECK(ds.get_metadata_field_type("u64") == SRMetadataTypeUint64);
    CHECK(ds.get_metadata_field_type("units") == SRMetadataTypeString);
    CHECK(ds.has_field("units") && !ds.has_field("u"));
    CHECK(ds.get_name() == "sim_step");

    /* a copy is deep, a move leaves a DataSet that can only be assigned to */
    DataSet copy(ds);
    double extra = 9;
    copy.add_tensor("extra", &extra, {1}, SRTensorTypeDouble, SRMemLayoutContiguous);
    copy.add_meta_string("units", "Pa");
    CHECK(ds.get_tensor_names().size() == 3 && copy.get_tensor_names().size() == 4);
    CHECK(ds.get_meta_strings("units").size() == 2 && copy.get_meta_strings("units").size() == 3);
    DataSet assigned("other");
    assigned = ds;
    CHECK(assigned.get_name() == "sim_step" && assigned.get_tensor_names().size() == 3);
    DataSet moved(std::move(copy));
    CHECK(moved.get_tensor_names().size() == 4);
    EXPECT_THROW(RuntimeException, "moved", copy.get_tensor_names());
    copy = DataSet("fresh");
    CHECK(copy.get_name() == "fresh" && copy.get_tensor_names().empty());
    std::vector<DataSet> many;
    for (int k = 0; k < 5; k++)
        many.push_back(DataSet("m" + std::to_string(k)));
    CHECK(many[4].get_name() == "m4");

    /* clear_field, set_name */
    moved.clear_field("units");
    CHECK(!moved.has_field("units") && moved.has_field("time"));
    moved.clear_field("not_there");
    moved.set_name("renamed_ds");
    CHECK(moved.get_name() == "renamed_ds" && moved.get_tensor_names().size() == 4);

    /* put, get and the dataset calls of the client */
    c.put_dataset(ds);
    c.put_dataset(moved);
    CHECK(c.dataset_exists("sim_step") && c.poll_dataset("renamed_ds", 10, 3));
    CHECK(!c.dataset_exists("nope") && !c.poll_dataset("nope", 10, 2));
    for (int pass = 0; pass < 2; pass++) {
        DataSet got = pass == 0 ? c.get_dataset("sim_step") : DataSet(ds);
        CHECK(got.get_name() == "sim_step");
        std::vector<double> u(6);
        got.unpack_tensor("u", u.data(), {2, 3}, SRTensorTypeDouble, SRMemLayoutContiguous);
        CHECK((u == std::vector<double>{1, 2, 3, 4, 5, 6}));
        void* data = nullptr;
        std::vector<size_t> dims;
        SRTensorType type;
        got.get_tensor("v", data, dims, type, SRMemLayoutContiguous);
        CHECK(type == SRTensorTypeDouble && (dims == std::vector<size_t>{6}));
        CHECK(static_cast<double*>(data)[5] == 60);
        size_t* cdims = nullptr;
        size_t n_dims = 0;
        got.get_tensor("i", data, cdims, n_dims, type, SRMemLayoutContiguous);
        int16_t* iv = static_cast<int16_t*>(data); /* Fortran {{-1, 2}, {-3, 4}} column-major: rows -1,-3 / 2,4 */
        CHECK(n_dims == 2 && iv[0] == -1 && iv[1] == -3 && iv[2] == 2 && iv[3] == 4);
        got.get_tensor("u", data, dims, type, SRMemLayoutNested);
        CHECK(static_cast<double**>(data)[1][2] == 6);

        void* scalars = nullptr;
        size_t length = 0;
        SRMetaDataType mtype;
        got.get_meta_scalars("time", scalars, length, mtype);
        CHECK(mtype == SRMetadataTypeDouble && length == 2);
        CHECK(static_cast<double*>(scalars)[0] == 0.5 && static_cast<double*>(scalars)[1] == 1.5);
        got.get_meta_scalars("f", scalars, length, mtype);
        CHECK(mtype == SRMetadataTypeFloat && *static_cast<float*>(scalars) == 2.5f);
        got.get_meta_scalars("i32", scalars, length, mtype);
        CHECK(mtype == SRMetadataTypeInt32 && *static_cast<int32_t*>(scalars) == -7);
        got.get_meta_scalars("i64", scalars, length, mtype);
        CHECK(mtype == SRMetadataTypeInt64 && *static_cast<int64_t*>(scalars) == i64);
        got.get_meta_scalars("u32", scalars, length, mtype);
        CHECK(mtype == SRMetadataTypeUint32 && *static_cast<uint32_t*>(scalars) == 7);
        got.get_meta_scalars("u64", scalars, length, mtype);
        CHECK(mtype == SRMetadataTypeUint64 && *static_cast<uint64_t*>(scalars) == u64);
        CHECK((got.get_meta_strings("units") == std::vector<std::string>{"K", "m/s"}));
        char** strs = nullptr;
        size_t n_strings = 0;
        size_t* lengths = nullptr;
        got.get_meta_strings("units", strs, n_strings, lengths);
        CHECK(n_strings == 2 && lengths[1] == 3 && std::string(strs[1]) == "m/s");
        got.get_tensor_names(strs, n_strings, lengths);
        CHECK(n_strings == 3 && std::string(strs[2]) == "i" && lengths[0] == 1);
        got.get_metadata_field_names(strs, n_strings, lengths);
        std::vector<std::string> fields(strs, strs + n_strings);
        std::sort(fields.begin(), fields.end()); /* a stored dataset's fields come back in no set order */
        CHECK((fields == std::vector<std::string>{"f", "i32", "i64", "time", "u32", "u64", "units"}));
        CHECK(got.to_string().find("sim_step") != std::string::npos);
        std::ostringstream os;
        os << got;
        CHECK(os.str() == got.to_string());
    }
    CHECK(c.get_dataset("renamed_ds").get_tensor_names().size() == 4);

    /* a dataset's tensor is addressable as "{name}.tensor" in tensor calls */
    CHECK(c.tensor_exists("{sim_step}.u"));

    c.copy_dataset("sim_step", "sim_copy");
    c.rename_dataset("sim_copy", "sim_moved");
    CHECK(!c.dataset_exists("sim_copy") && c.dataset_exists("sim_moved"));
    CHECK(c.get_dataset("sim_moved").get_meta_strings("units").size() == 2);
    c.delete_dataset("sim_moved");
    CHECK(!c.dataset_exists("sim_moved"));
}

/* ---- aggregation lists ------------------------------------------------------------ */

static void case_lists()
{
    Client c("lists");
    for (int k = 0; k < 5; k++) {
        DataSet ds("entry_" + std::to_string(k));
        int32_t v = k;
        ds.add_tensor("k", &v, {1}, SRTensorTypeInt32, SRMemLayoutContiguous);
        ds.add_meta_scalar("k", &v, SRMetadataTypeInt32);
        c.put_dataset(ds);
        c.append_to_list("runs", ds);
    }
    CHECK(c.get_list_length("runs") == 5);
    CHECK(c.poll_list_length("runs", 5, 10, 2));
    CHECK(!c.poll_list_length("runs", 4, 10, 2));
    CHECK(c.poll_list_length_gte("runs", 3, 10, 2));
    CHECK(!c.poll_list_length_gte("runs", 6, 10, 2));
    CHECK(c.poll_list_length_lte("runs", 5, 10, 2));
    CHECK(!c.poll_list_length_lte("runs", 4, 10, 2));

    std::vector<DataSet> all = c.get_datasets_from_list("runs");
    CHECK(all.size() == 5);
    for (size_t k = 0; k < all.size(); k++) {
        CHECK(all[k].get_name() == "entry_" + std::to_string(k));
        int32_t v = -1;
        all[k].unpack_tensor("k", &v, {1}, SRTensorTypeInt32, SRMemLayoutContiguous);
        CHECK(v == static_cast<int32_t>(k));
    }
    std::vector<DataSet> range = c.get_dataset_list_range("runs", 1, 3);
    CHECK(range.size() == 3 && range[0].get_name() == "entry_1" && range[2].get_name() == "entry_3");
    range = c.get_dataset_list_range("runs", -2, -1);
    CHECK(range.size() == 2 && range[1].get_name() == "entry_4");
    range = c.get_dataset_list_range("runs", 3, 100);
    CHECK(range.size() == 2);
    CHECK(c.get_dataset_list_range("runs", 3, 1).empty());

    c.copy_list("runs", "runs_copy");
    c.rename_list("runs_copy", "runs_moved");
    CHECK(c.get_list_length("runs_copy") == 0 && c.get_list_length("runs_moved") == 5);
    c.delete_list("runs_moved");
    CHECK(c.get_list_length("runs_moved") == 0);
    CHECK(c.get_datasets_from_list("never_made").empty());
    CHECK(c.get_list_length("runs") == 5);
}

/* ---- prefixes: run with SSKEYOUT=ens_0 SSKEYIN=ens_0,ens_1 (the test put "ens_1.other") */

static void case_prefixes()
{
    Client c("member");
    double x = 3;
    c.put_tensor("t", &x, {1}, SRTensorTypeDouble, SRMemLayoutContiguous);
    CHECK(c.key_exists("ens_0.t"));
    CHECK(c.tensor_exists("t"));

    c.use_tensor_ensemble_prefix(false);
    c.put_tensor("bare", &x, {1}, SRTensorTypeDouble, SRMemLayoutContiguous);
    CHECK(c.key_exists("bare") && !c.key_exists("ens_0.bare"));
    c.use_tensor_ensemble_prefix(true);

    DataSet ds("ds");
    ds.add_tensor("t", &x, {1}, SRTensorTypeDouble, SRMemLayoutContiguous);
    c.put_dataset(ds);
    CHECK(c.dataset_exists("ds"));
    c.append_to_list("agg", ds);
    CHECK(c.get_list_length("agg") == 1);
    c.use_dataset_ensemble_prefix(false);
    CHECK(!c.dataset_exists("ds"));
    c.use_dataset_ensemble_prefix(true);
    c.use_list_ensemble_prefix(false);
    CHECK(c.get_list_length("agg") == 0);
    c.use_list_ensemble_prefix(true);

    /* models and scripts get no prefix unless asked */
    c.set_script("s_plain", "CPU", "def f(x):\n    return x\n");
    c.use_model_ensemble_prefix(true);
    c.set_script("s_pref", "CPU", "def f(x):\n    return x\n");
    CHECK(c.model_exists("s_pref"));
    c.use_model_ensemble_prefix(false);
    CHECK(c.model_exists("s_plain") && !c.model_exists("s_pref"));

    /* read another member's tensor */
    CHECK(!c.tensor_exists("other"));
    c.set_data_source("ens_1");
    CHECK(c.tensor_exists("other"));
    double other = 0;
    c.unpack_tensor("other", &other, {1}, SRTensorTypeDouble, SRMemLayoutContiguous);
    CHECK(other == 7);
    c.set_data_source("ens_0");
    CHECK(c.tensor_exists("t"));
}

/* ---- ConfigOptions: the test sets SSDB_OCEAN, SSKEYOUT_OCEAN=ocean, SR_CONN_TIMEOUT=5 */

static void case_config()
{
    auto opts = ConfigOptions::create_from_environment("OCEAN");
    CHECK(opts->is_configured("SSDB"));
    CHECK(opts->get_string_option("SSDB") == env_or("SSDB_OCEAN", "?"));
    CHECK(opts->get_string_option("SSKEYOUT") == "ocean");
    CHECK(!opts->is_configured("SR_NO_SUCH_OPTION"));
    auto plain = ConfigOptions::create_from_environment("");
    CHECK(plain->get_integer_option("SR_CONN_TIMEOUT") == 5);
    CHECK(!plain->is_configured("SSKEYOUT"));
    auto from_null = ConfigOptions::create_from_environment(static_cast<const char*>(nullptr));
    CHECK(from_null->get_integer_option("SR_CONN_TIMEOUT") == 5);

    opts->override_integer_option("MY_INT", 12);
    opts->override_string_option("MY_STR", "hello");
    CHECK(opts->is_configured("MY_INT") && opts->get_integer_option("MY_INT") == 12);
    CHECK(opts->get_string_option("MY_STR") == "hello");
    CHECK(!plain->is_configured("MY_INT"));
    std::unique_ptr<ConfigOptions> cloned(opts->clone());
    cloned->override_string_option("MY_STR", "changed");
    CHECK(cloned->get_string_option("MY_STR") == "changed" && opts->get_string_option("MY_STR") == "hello");
    CHECK(cloned->get_integer_option("MY_INT") == 12 && cloned->get_string_option("SSKEYOUT") == "ocean");
    ConfigOptions copied(*opts);
    CHECK(copied.get_string_option("MY_STR") == "hello");

    /* a client configured by the options; it outlives them */
    std::unique_ptr<Client> c(new Client(opts.get(), "ocean_model"));
    opts.reset();
    cloned.reset();
    double x = 1;
    c->put_tensor("sst", &x, {1}, SRTensorTypeDouble, SRMemLayoutContiguous);
    CHECK(c->key_exists("ocean.sst"));

    /* overrides reach the client */
    auto over = ConfigOptions::create_from_environment("OCEAN");
    over->override_string_option("SSKEYOUT", "atmos");
    Client a(over.get(), "atmos_model");
    a.put_tensor("t2m", &x, {1}, SRTensorTypeDouble, SRMemLayoutContiguous);
    CHECK(a.key_exists("atmos.t2m"));

    /* the other constructors */
    Client deprecated(false, "old_style");
    CHECK(deprecated.key_exists("ocean.sst"));
    Client by_string(std::string("by_string"));
    Client by_default;
    CHECK(by_default.key_exists("atmos.t2m"));
    EXPECT_THROW(ParameterException, "NULL", Client(static_cast<ConfigOptions*>(nullptr), "x"));
}

/* ---- moving a Client ---------------------------------------------------------------- */

static void case_move()
{
    Client a("first");
    double x = 5;
    a.put_tensor("moved_t", &x, {1}, SRTensorTypeDouble, SRMemLayoutContiguous);
    Client b(std::move(a));
    CHECK(b.tensor_exists("moved_t"));
    EXPECT_THROW(RuntimeException, "moved", a.tensor_exists("moved_t"));
    a = std::move(b);
    CHECK(a.tensor_exists("moved_t"));
    void* data = nullptr;
    std::vector<size_t> dims;
    SRTensorType type;
    a.get_tensor("moved_t", data, dims, type, SRMemLayoutContiguous);
    Client c("third");
    c = std::move(a); /* memory handed out by the client moves with it */
    CHECK(*static_cast<double*>(data) == 5);
}

/* ---- logging: SR_LOG_FILE and SR_LOG_LEVEL set by the test -------------------------- */

static void case_logging()
{
    LogContext ctx("ctx_object");
    log_data(&ctx, LLInfo, "info through an object");
    log_warning(&ctx, LLInfo, "warning through an object");
    log_error(&ctx, LLInfo, "error through an object");
    log_data("ctx_string", LLInfo, "info through a string");
    log_warning("ctx_string", LLInfo, "warning through a string");
    log_error("ctx_string", LLInfo, "error through a string");
    log_data("ctx_string", LLDebug, "debug through a string");
    log_data("ctx_string", LLDeveloper, "developer through a string");
    ctx.log_data(LLInfo, "member call");
    CHECK(ctx.get_context() == "ctx_object");
    Logger::get_instance().log_data("ctx_logger", LLInfo, "through the singleton");
    Client c("ctx_client");
    log_data(&c, LLInfo, "through a client");
    DataSet ds("ctx_dataset");
    log_data(&ds, LLInfo, "through a dataset");
    {
        struct Traced : public SRObject {
            Traced() : SRObject("ctx_traced") {}
            void call() const { LOG_API_FUNCTION(); }
        } traced;
        traced.call();
    }
}

/* ---- server calls: argv[2..] are the store's nodes; SR_TEST_CLUSTER=1 for a cluster -- */

static void case_server(const std::vector<std::string>& nodes)
{
    Client c("server");
    const std::string first = nodes.at(0);
    parsed_reply_nested_map info = c.get_db_node_info(first);
    CHECK(info.count("Server") == 1 && info["Server"].count("redis_version") == 1);
    CHECK(info.count("Memory") == 1 && info["Memory"].count("used_memory") == 1);

    std::unordered_map<std::string, std::string> cfg = c.config_get("slowlog-max-len", first);
    CHECK(cfg.size() == 1 && cfg.count("slowlog-max-len") == 1);
    const std::string before = cfg["slowlog-max-len"];
    c.config_set("slowlog-max-len", "321", first);
    CHECK(c.config_get("slowlog-max-len", first)["slowlog-max-len"] == "321");
    c.config_set("slowlog-max-len", before, first);
    CHECK(c.config_get("slowlog-max-len", first)["slowlog-max-len"] == before);
    CHECK(c.config_get("no-such-parameter-*", first).empty());
    CHECK(c.config_get("slowlog-*", first).size() >= 2);
    EXPECT_THROW(DatabaseException, "no-such-parameter", c.config_set("no-such-parameter", "1", first));

    c.save(first);

    if (env_or("SR_TEST_CLUSTER", "0") == "1") {
        parsed_reply_map cluster = c.get_db_cluster_info(first);
        CHECK(cluster["cluster_state"] == "ok");
        CHECK(cluster["cluster_known_nodes"] == std::to_string(nodes.size()));
    } else {
        EXPECT_THROW(ParameterException, "", c.get_db_cluster_info(first));
    }
    EXPECT_THROW(ParameterException, "127.0.0.1:1", c.get_db_node_info("127.0.0.1:1"));

    /* flush_db empties the node (each node of a cluster: its shard) */
    double x = 1;
    for (int k = 0; k < 10; k++)
        c.put_tensor("f_" + std::to_string(k), &x, {1}, SRTensorTypeDouble, SRMemLayoutContiguous);
    for (const std::string& node : nodes)
        c.flush_db(node);
    for (int k = 0; k < 10; k++)
        CHECK(!c.tensor_exists("f_" + std::to_string(k)));

    /* RedisAI-only calls answer as documented */
    c.set_script("ai_s", "CPU", "def f(x):\n    return x\n");
    parsed_reply_map ai = c.get_ai_info(first, "ai_s", false);
    CHECK(ai["key"] == "ai_s" && ai["type"] == "SCRIPT" && ai["backend"] == "TORCH");
    EXPECT_THROW(RuntimeException, "nope", c.get_ai_info(first, "nope", true));
    EXPECT_THROW(ParameterException, "127.0.0.1:1", c.get_ai_info("127.0.0.1:1", "ai_s", false));
    c.set_model_chunk_size(1 << 20);
    EXPECT_THROW(ParameterException, "0", c.set_model_chunk_size(0));
}

/* ---- models and scripts through the store's serving loops --------------------------- */

static void case_models(const char* model_path)
{
    Client c("models");
    const std::string script = "def twice(x):\n    return 2 * x\n\ndef add(a, b):\n    return a + b\n";
    c.set_script("scr", "CPU", script);
    CHECK(c.model_exists("scr") && c.poll_model("scr", 10, 3));
    CHECK(std::string(c.get_script("scr")) == script);
    std::vector<float> x = {1, 2, 3, 4};
    c.put_tensor("x", x.data(), {2, 2}, SRTensorTypeFloat, SRMemLayoutContiguous);
    c.run_script("scr", "twice", {"x"}, {"y"});
    std::vector<float> y(4);
    c.unpack_tensor("y", y.data(), {2, 2}, SRTensorTypeFloat, SRMemLayoutContiguous);
    CHECK((y == std::vector<float>{2, 4, 6, 8}));
    c.run_script("scr", "add", {"x", "y"}, {"z"});
    c.unpack_tensor("z", y.data(), {2, 2}, SRTensorTypeFloat, SRMemLayoutContiguous);
    CHECK((y == std::vector<float>{3, 6, 9, 12}));
    EXPECT_THROW(RuntimeException, "nope", c.run_script("scr", "nope", {"x"}, {"w"}));

    /* the script from a file */
    const std::string script_file = env_or("SR_TEST_SCRIPT_FILE", "");
    c.set_script_from_file("scr_file", "CPU", script_file);
    c.run_script("scr_file", "twice", {"x"}, {"y2"});
    c.unpack_tensor("y2", y.data(), {2, 2}, SRTensorTypeFloat, SRMemLayoutContiguous);
    CHECK((y == std::vector<float>{2, 4, 6, 8}));

    /* a TorchScript model (y = 3 x + 1), from a file and from bytes */
    c.set_model_from_file("lin", model_path, "TORCH", "CPU");
    CHECK(c.model_exists("lin"));
    std::string_view bytes = c.get_model("lin");
    std::ifstream in(model_path, std::ios::binary);
    std::string file_bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK(bytes == file_bytes);
    c.set_model("lin_bytes", file_bytes, "TORCH", "CPU", 0, 0, 0, "a tag");
    const std::string ssdb = env_or("SSDB", "");
    parsed_reply_map ai = c.get_ai_info(ssdb.substr(0, ssdb.find(',')), "lin_bytes", false);
    CHECK(ai["key"] == "lin_bytes" && ai["type"] == "MODEL");
    for (const char* model : {"lin", "lin_bytes"}) {
        c.run_model(model, {"x"}, {"out"});
        c.unpack_tensor("out", y.data(), {2, 2}, SRTensorTypeFloat, SRMemLayoutContiguous);
        CHECK((y == std::vector<float>{4, 7, 10, 13}));
    }
    /* a dataset's tensor as input */
    DataSet ds("inputs");
    ds.add_tensor("x", x.data(), {2, 2}, SRTensorTypeFloat, SRMemLayoutContiguous);
    c.put_dataset(ds);
    c.run_model("lin", {"{inputs}.x"}, {"out_ds"});
    c.unpack_tensor("out_ds", y.data(), {2, 2}, SRTensorTypeFloat, SRMemLayoutContiguous);
    CHECK((y == std::vector<float>{4, 7, 10, 13}));

    EXPECT_THROW(RuntimeException, "unknown_model", c.run_model("unknown_model", {"x"}, {"out"}));
    EXPECT_THROW(RuntimeException, "no_input", c.run_model("lin", {"no_input"}, {"out"}));

    c.delete_model("lin_bytes");
    CHECK(!c.model_exists("lin_bytes"));
    EXPECT_THROW(KeyException, "lin_bytes", c.delete_model("lin_bytes"));
    c.delete_script("scr_file");
    CHECK(!c.model_exists("scr_file"));
    EXPECT_THROW(KeyException, "scr_file", c.delete_script("scr_file"));

    /* multi-GPU forms: one copy per GPU, deleted together */
    c.set_model_multigpu("mg", file_bytes, "TORCH", 0, 2);
    CHECK(c.model_exists("mg.GPU:0") && c.model_exists("mg.GPU:1"));
    c.delete_model_multigpu("mg", 0, 2);
    CHECK(!c.model_exists("mg.GPU:0") && !c.model_exists("mg.GPU:1"));
    c.set_script_multigpu("sg", script, 0, 2);
    CHECK(c.model_exists("sg.GPU:1"));
    c.delete_script_multigpu("sg", 0, 2);
    CHECK(!c.model_exists("sg.GPU:1"));
}

/* run_model with no serving loop: fails at once saying what to start. */
static void case_noserve(const char* model_path)
{
    Client c("noserve");
    std::vector<float> x = {1, 2, 3, 4};
    c.put_tensor("x", x.data(), {2, 2}, SRTensorTypeFloat, SRMemLayoutContiguous);
    c.set_model_from_file("lin", model_path, "TORCH", "CPU");
    auto start = std::chrono::steady_clock::now();
    std::string msg = EXPECT_THROW(RuntimeException, "serving", c.run_model("lin", {"x"}, {"out"}));
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    std::printf("noserve: %lld ms: %s\n", static_cast<long long>(ms.count()), msg.c_str());
}

/* ---- multi-GPU runs on a machine with GPUs (SR_TEST_GPUS=n) ------------------------- */

static void case_gpu(const char* model_path)
{
    const int gpus = std::atoi(env_or("SR_TEST_GPUS", "1").c_str());
    Client c("gpu");
    std::vector<float> x = {1, 2, 3, 4};
    std::vector<float> y(4);
    c.put_tensor("x", x.data(), {2, 2}, SRTensorTypeFloat, SRMemLayoutContiguous);
    c.set_model_from_file("lin_gpu", model_path, "TORCH", "GPU");
    c.run_model("lin_gpu", {"x"}, {"out"});
    c.unpack_tensor("out", y.data(), {2, 2}, SRTensorTypeFloat, SRMemLayoutContiguous);
    CHECK((y == std::vector<float>{4, 7, 10, 13}));
    c.set_model_from_file_multigpu("lin_mg", model_path, "TORCH", 0, gpus);
    for (int offset = 0; offset < 2 * gpus; offset++) {
        std::fill(y.begin(), y.end(), 0.f);
        c.run_model_multigpu("lin_mg", {"x"}, {"out"}, offset, 0, gpus);
        c.unpack_tensor("out", y.data(), {2, 2}, SRTensorTypeFloat, SRMemLayoutContiguous);
        CHECK((y == std::vector<float>{4, 7, 10, 13}));
    }
    c.set_script_from_file_multigpu("twice_mg", env_or("SR_TEST_SCRIPT_FILE", ""), 0, gpus);
    c.run_script_multigpu("twice_mg", "twice", {"x"}, {"y"}, 1, 0, gpus);
    c.unpack_tensor("y", y.data(), {2, 2}, SRTensorTypeFloat, SRMemLayoutContiguous);
    CHECK((y == std::vector<float>{2, 4, 6, 8}));
    c.delete_model_multigpu("lin_mg", 0, gpus);
    c.delete_script_multigpu("twice_mg", 0, gpus);
}

int main(int argc, char** argv)
{
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s CASE [MODEL_FILE | NODE...]\n", argv[0]);
        return 2;
    }
    const std::string which = argv[1];
    const char* model_path = argc > 2 ? argv[2] : "";
    try {
        if (which == "tensors")
            case_tensors();
        else if (which == "errors")
            case_errors();
        else if (which == "unreachable")
            case_unreachable();
        else if (which == "datasets")
            case_datasets();
        else if (which == "lists")
            case_lists();
        else if (which == "prefixes")
            case_prefixes();
        else if (which == "config")
            case_config();
        else if (which == "move")
            case_move();
        else if (which == "logging")
            case_logging();
        else if (which == "models")
            case_models(model_path);
        else if (which == "noserve")
            case_noserve(model_path);
        else if (which == "gpu")
            case_gpu(model_path);
        else if (which == "server")
            case_server(std::vector<std::string>(argv + 2, argv + argc));
        else {
            std::fprintf(stderr, "unknown case %s\n", which.c_str());
            return 2;
        }
    } catch (Exception& e) {
        std::fprintf(stderr, "FAIL uncaught %s at %s: %s\n", e.exception_class().c_str(), e.where(), e.what());
        failures++;
    }
    if (failures == 0)
        std::printf("ok %s\n", which.c_str());
    return failures > 100 ? 100 : failures;
}
