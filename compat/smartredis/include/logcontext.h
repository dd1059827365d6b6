/*
 * logcontext.h: SmartRedis's LogContext on simdask (compatibility layer, C++):
 * a named context for log lines written by code that has no client or
 * dataset at hand.
 *
 *     SmartRedis::LogContext ctx("solver");
 *     SmartRedis::log_data(&ctx, LLInfo, "step 10 done");
 */
#ifndef SMARTREDIS_LOGCONTEXT_H
#define SMARTREDIS_LOGCONTEXT_H

#ifdef __cplusplus
#include <string>

#include "srobject.h"

namespace SmartRedis {

class SR_API LogContext : public SRObject {
  public:
    /* logs "New LogContext created" at LLDebug */
    LogContext(const std::string& logging_name);
    virtual ~LogContext() = default;
};

} /* namespace SmartRedis */

#endif /* __cplusplus */
#endif /* SMARTREDIS_LOGCONTEXT_H */
