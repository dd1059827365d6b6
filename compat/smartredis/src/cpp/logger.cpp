/*
 * logger.cpp: SRObject, LogContext and Logger: C++ logging through the C
 * API's logger (c_logger.h), so C and C++ lines share SR_LOG_FILE and
 * SR_LOG_LEVEL.
 */
#include "logger.h"

#include "logcontext.h"
#include "srcpp.h"
#include "srobject.h"

namespace SmartRedis {

SRObject::SRObject(const std::string& logging_name) : _lname(logging_name) {}

void SRObject::log_data(SRLoggingLevel level, const std::string& data) const
{
    log_data_noexcept_string(_lname.c_str(), _lname.size(), level, data.c_str(), data.size());
}

void SRObject::log_warning(SRLoggingLevel level, const std::string& data) const
{
    log_data(level, "WARNING: " + data);
}

void SRObject::log_error(SRLoggingLevel level, const std::string& data) const
{
    log_data(level, "ERROR: " + data);
}

LogContext::LogContext(const std::string& logging_name) : SRObject(logging_name)
{
    log_data(LLDebug, "New LogContext created");
}

Logger& Logger::get_instance()
{
    static Logger instance;
    return instance;
}

void Logger::configure_logging() {}

void Logger::log_data(const std::string& context, SRLoggingLevel level, const std::string& data)
{
    log_data_noexcept_string(context.c_str(), context.size(), level, data.c_str(), data.size());
}

} /* namespace SmartRedis */
