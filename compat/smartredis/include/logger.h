/*
 * logger.h: SmartRedis's C++ logging functions on simdask (compatibility layer).
 *
 * Lines go to SR_LOG_FILE (default: standard output) when `level` is at or
 * below SR_LOG_LEVEL (QUIET, INFO the default, DEBUG, DEVELOPER), written by
 * the same logger as the C API's (c_logger.h): see docs/smartredis.md. The
 * context is a string or any SRObject (a Client, a DataSet, a LogContext).
 *
 *     SmartRedis::log_data("solver", LLInfo, "step 10 done");
 *     SmartRedis::log_warning(&client, LLDebug, "retrying");
 *
 * C programs include c_logger.h instead; this header declares nothing for C.
 */
#ifndef SMARTREDIS_LOGGER_H
#define SMARTREDIS_LOGGER_H

#include <stdlib.h>

#include "sr_enums.h"
#include "srobject.h"

#ifdef __cplusplus
#include <string>

namespace SmartRedis {

/* The process's one logger (SmartRedis's singleton). */
class SR_API Logger {
  public:
    static Logger& get_instance();

    /* Nothing to do: the logger reads SR_LOG_FILE and SR_LOG_LEVEL when it first writes. */
    void configure_logging();

    void log_data(const std::string& context, SRLoggingLevel level, const std::string& data);
    void log_warning(const std::string& context, SRLoggingLevel level, const std::string& data)
    {
        log_data(context, level, "WARNING: " + data);
    }
    void log_error(const std::string& context, SRLoggingLevel level, const std::string& data)
    {
        log_data(context, level, "ERROR: " + data);
    }

  private:
    Logger() = default;
    ~Logger() = default;
    Logger(const Logger&) = delete;
    Logger& operator=(const Logger&) = delete;
};

inline void log_data(const std::string& context, SRLoggingLevel level, const std::string& data)
{
    Logger::get_instance().log_data(context, level, data);
}

inline void log_data(const SRObject* context, SRLoggingLevel level, const std::string& data)
{
    context->log_data(level, data);
}

inline void log_warning(const std::string& context, SRLoggingLevel level, const std::string& data)
{
    Logger::get_instance().log_warning(context, level, data);
}

inline void log_warning(const SRObject* context, SRLoggingLevel level, const std::string& data)
{
    context->log_warning(level, data);
}

inline void log_error(const std::string& context, SRLoggingLevel level, const std::string& data)
{
    Logger::get_instance().log_error(context, level, data);
}

inline void log_error(const SRObject* context, SRLoggingLevel level, const std::string& data)
{
    context->log_error(level, data);
}

/* Logs "API Function <name> called" / "... exited" at LLDebug around a scope. */
class FunctionLogger {
  public:
    FunctionLogger(const SRObject* context, const char* function_name) : _name(function_name), _context(context)
    {
        _context->log_data(LLDebug, "API Function " + _name + " called");
    }
    ~FunctionLogger() { _context->log_data(LLDebug, "API Function " + _name + " exited"); }

  private:
    std::string _name;
    const SRObject* _context;
};

/* In a member function of an SRObject: log its entry and exit. */
#define LOG_API_FUNCTION() FunctionLogger ___function_logger___(this, __func__)

} /* namespace SmartRedis */

#endif /* __cplusplus */
#endif /* SMARTREDIS_LOGGER_H */
