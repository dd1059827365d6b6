/*
 * srcpp.h: internals of the C++ layer (not installed).
 *
 * The C++ classes are thin wrappers of the C API's objects (c_client.h,
 * c_dataset.h, c_configoptions.h); every C call goes through check(), which
 * turns a failed SRError into the matching exception (the one table is in
 * srexception.cpp); calls of simdask's C API, for what SmartRedis's C API
 * lacks, go through check_sd(). C functions share names with the methods
 * that wrap them, so calls to them are written ::name(...).
 */
#ifndef SMARTREDIS_SRCPP_H
#define SMARTREDIS_SRCPP_H

#include <string>
#include <vector>

#include "c_client.h"
#include "c_configoptions.h"
#include "c_dataset.h"
#include "c_logger.h"
#include "srcompat.h"
#include "srexception.h"

namespace SmartRedis {
namespace detail {

/* Throws the exception of `code` with this thread's last error message
 * (SRGetLastError) and location (SRGetLastErrorLocation). */
[[noreturn]] void raise_error(SRError code);

/* Throws the exception of `code` with `message`, at `where` (a method name). */
[[noreturn]] void raise_error(SRError code, const std::string& message, const std::string& where);

inline void check(SRError code)
{
    if (code != SRNoError)
        raise_error(code);
}

/* After a call of simdask's C API (simdask.h) on the client under a C API
 * client (srcompat_client): throws its error unless SD_OK. */
inline void check_sd(sd_client* c, int status, const char* where)
{
    if (status != SD_OK)
        raise_error(srcompat_fail_status(c, status, where));
}

/* The same for a call on the simdask dataset under a C API dataset. */
inline void check_sd(sd_dataset* d, int status, const char* where)
{
    if (status != SD_OK)
        raise_error(srcompat_error_of(status), sd_dataset_last_error(d), where);
}

/* A list of names as the C API takes it: pointers and lengths. */
struct NameList {
    explicit NameList(const std::vector<std::string>& names)
    {
        ptrs.reserve(names.size());
        lens.reserve(names.size());
        for (const std::string& n : names) {
            ptrs.push_back(n.c_str());
            lens.push_back(n.size());
        }
    }
    const char** data() { return ptrs.empty() ? nullptr : ptrs.data(); }
    const size_t* lengths() const { return lens.empty() ? nullptr : lens.data(); }
    size_t size() const { return ptrs.size(); }

    std::vector<const char*> ptrs;
    std::vector<size_t> lens;
};

} /* namespace detail */
} /* namespace SmartRedis */

#endif /* SMARTREDIS_SRCPP_H */
