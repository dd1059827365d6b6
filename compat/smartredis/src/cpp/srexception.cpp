/*
 * srexception.cpp: SmartRedis::Exception and the one table from the C API's
 * SRError codes to the exception classes the C++ API throws.
 */
#include "srexception.h"

#include <string>

#include "srcompat.h"
#include "srcpp.h"

namespace SmartRedis {

namespace {

const char kUnavailable[] = "unavailable";

std::string position(const char* file, int line)
{
    return "\"" + std::string(file != nullptr ? file : "?") + "\", line " + std::to_string(line);
}

void log_raised(const std::string& msg, const std::string& loc)
{
    static const char context[] = "SmartRedis Library";
    const std::string text = "ERROR: Exception at " + loc + ": " + msg;
    log_data_noexcept_string(context, sizeof(context) - 1, LLInfo, text.c_str(), text.size());
}

} /* namespace */

Exception::Exception(const char* what_arg) : _msg(what_arg != nullptr ? what_arg : ""), _loc(kUnavailable)
{
    srcompat_set_last_error(_msg.c_str(), _loc.c_str());
}

Exception::Exception(const char* what_arg, const char* file, int line)
    : _msg(what_arg != nullptr ? what_arg : ""), _loc(position(file, line))
{
    srcompat_set_last_error(_msg.c_str(), _loc.c_str());
    log_raised(_msg, _loc);
}

Exception::Exception(const std::string& what_arg, const char* file, int line)
    : _msg(what_arg), _loc(position(file, line))
{
    srcompat_set_last_error(_msg.c_str(), _loc.c_str());
    log_raised(_msg, _loc);
}

Exception::Exception(const std::exception& other) noexcept : _msg(other.what()), _loc(kUnavailable) {}

namespace detail {

namespace {

/* An exception of class E whose where() names the failing API call. */
template <class E>
class Located : public E {
  public:
    Located(const std::string& message, const std::string& where) : E(message.c_str())
    {
        this->_loc = where.empty() ? kUnavailable : where;
        srcompat_set_last_error(this->_msg.c_str(), this->_loc.c_str());
    }
};

template <class E>
[[noreturn]] void raise_as(const std::string& message, const std::string& where)
{
    throw Located<E>(message, where);
}

struct Row {
    SRError code;
    void (*raise)(const std::string&, const std::string&);
};

/* The table: each SRError and the class thrown for it. */
const Row kTable[] = {
    {SRBadAllocError, raise_as<BadAllocException>},   {SRDatabaseError, raise_as<DatabaseException>},
    {SRInternalError, raise_as<InternalException>},   {SRRuntimeError, raise_as<RuntimeException>},
    {SRParameterError, raise_as<ParameterException>}, {SRTimeoutError, raise_as<TimeoutException>},
    {SRKeyError, raise_as<KeyException>},             {SRTypeError, raise_as<TypeException>},
};

} /* namespace */

void raise_error(SRError code, const std::string& message, const std::string& where)
{
    for (const Row& row : kTable) {
        if (row.code == code)
            row.raise(message, where);
    }
    raise_as<InternalException>("unexpected SRError " + std::to_string(static_cast<int>(code)) + ": " + message,
                                where);
}

void raise_error(SRError code)
{
    const char* message = SRGetLastError();
    const char* where = SRGetLastErrorLocation();
    raise_error(code, message != nullptr ? message : "", where != nullptr ? where : "");
}

} /* namespace detail */
} /* namespace SmartRedis */
