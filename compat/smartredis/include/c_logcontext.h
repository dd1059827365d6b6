/*
 * c_logcontext.h: SmartRedis's C LogContext API on simdask: a named context
 * for log lines written by code that has no client or dataset at hand
 * (c_logger.h).
 */
#ifndef SMARTREDIS_C_LOGCONTEXT_H
#define SMARTREDIS_C_LOGCONTEXT_H

#include <stddef.h>

#include "sr_enums.h"
#include "srexception.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A new log context named `context`. */
SR_API SRError SmartRedisCLogContext(const char *context, const size_t context_length, void **new_logcontext);

/* Frees it and sets *logcontext to NULL. */
SR_API SRError DeallocateLogContext(void **logcontext);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* SMARTREDIS_C_LOGCONTEXT_H */
