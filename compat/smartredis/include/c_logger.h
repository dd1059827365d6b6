/*
 * c_logger.h: SmartRedis's C logging API on simdask.
 *
 * Lines go to SR_LOG_FILE (default: standard output) when `level` is at or
 * below SR_LOG_LEVEL (QUIET, INFO the default, DEBUG, DEVELOPER), as
 * "<time> <host> <context> <LEVEL>: <text>"-style lines: see docs/smartredis.md.
 * `context` is a client, a dataset or a LogContext (c_logcontext.h): its
 * name is the line's context. These calls never fail (a NULL context or text
 * logs nothing). In C the plain names log_data, log_warning, log_error and
 * their _string forms map onto the _noexcept functions, as in SmartRedis.
 */
#ifndef SMARTREDIS_C_LOGGER_H
#define SMARTREDIS_C_LOGGER_H

#include <stddef.h>
#include <stdlib.h>

#include "sr_enums.h"
#include "srexception.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifndef __cplusplus
#define log_data log_data_noexcept
#define log_warning log_warning_noexcept
#define log_error log_error_noexcept
#define log_data_string log_data_noexcept_string
#define log_warning_string log_warning_noexcept_string
#define log_error_string log_error_noexcept_string
#endif

SR_API void log_data_noexcept(const void *context, SRLoggingLevel level, const char *data, size_t data_len);
SR_API void log_warning_noexcept(const void *context, SRLoggingLevel level, const char *data, size_t data_len);
SR_API void log_error_noexcept(const void *context, SRLoggingLevel level, const char *data, size_t data_len);

/* The same with the context given as a string. */
SR_API void log_data_noexcept_string(const char *context, size_t context_len, SRLoggingLevel level,
                                     const char *data, size_t data_len);
SR_API void log_warning_noexcept_string(const char *context, size_t context_len, SRLoggingLevel level,
                                        const char *data, size_t data_len);
SR_API void log_error_noexcept_string(const char *context, size_t context_len, SRLoggingLevel level,
                                      const char *data, size_t data_len);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* SMARTREDIS_C_LOGGER_H */
