/*
 * srobject.h: SmartRedis's SRObject on simdask (compatibility layer, C++).
 *
 * The base of every C++ object that can be a logging context (Client,
 * DataSet, LogContext): its name starts the log lines written through it.
 * Lines go where the C logger writes them (SR_LOG_FILE, SR_LOG_LEVEL:
 * c_logger.h), so C and C++ code of one program log to the same place.
 */
#ifndef SMARTREDIS_SROBJECT_H
#define SMARTREDIS_SROBJECT_H

#ifdef __cplusplus
#include <string>

#include "sr_enums.h"
#include "srexception.h"

namespace SmartRedis {

class SR_API SRObject {
  public:
    /* logging_name: the context of the lines this object logs. */
    SRObject(const std::string& logging_name);
    SRObject(const SRObject& other) = default;
    SRObject(SRObject&& other) noexcept = default;
    SRObject& operator=(const SRObject& other) = default;
    SRObject& operator=(SRObject&& other) noexcept = default;
    virtual ~SRObject() = default;

    /* Logs `data` when `level` is at or below SR_LOG_LEVEL. */
    virtual void log_data(SRLoggingLevel level, const std::string& data) const;
    /* The same, the text prefixed "WARNING: " / "ERROR: ". */
    virtual void log_warning(SRLoggingLevel level, const std::string& data) const;
    virtual void log_error(SRLoggingLevel level, const std::string& data) const;

    /* The logging name given at construction. */
    virtual std::string get_context() const { return _lname; }

  protected:
    std::string _lname;
};

} /* namespace SmartRedis */

#endif /* __cplusplus */
#endif /* SMARTREDIS_SROBJECT_H */
