/*
 * c_configoptions.h: SmartRedis's C ConfigOptions API on simdask.
 *
 * A ConfigOptions object reads options from the environment when asked
 * (with the suffix given at creation, "_<suffix>" appended to each variable
 * name, for a program that talks to several stores), unless overridden.
 * Option names are the variable names without the suffix: "SSDB",
 * "SR_DB_TYPE", "SSKEYIN", "SSKEYOUT", "SR_LOG_FILE", "SR_LOG_LEVEL", the SR_*
 * timeouts; CreateClient (c_client.h) takes the client's settings from it
 * (docs/smartredis.md lists which names it reads and their SIMDASK_* fallbacks).
 * Free the object with DeallocateConfigOptions (a simdask addition).
 */
#ifndef SMARTREDIS_C_CONFIGOPTIONS_H
#define SMARTREDIS_C_CONFIGOPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sr_enums.h"
#include "srexception.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A new ConfigOptions reading the environment; db_suffix "" (length 0): no
 * suffix. */
SR_API SRError create_configoptions_from_environment(const char *db_suffix, const size_t db_suffix_length,
                                                     void **new_configoptions);

/* The option's value as an integer: SRKeyError when it is not set,
 * SRParameterError when it is not an integer. */
SR_API SRError get_integer_option(void *c_cfgopts, const char *option_name, size_t option_name_len,
                                  int64_t *result);

/* The option's value as a string in memory the object owns (valid until it
 * is freed or the option overridden again): SRKeyError when not set. */
SR_API SRError get_string_option(void *c_cfgopts, const char *option_name, size_t option_name_len,
                                 char **result, size_t *result_len);

/* Whether the option is set (in the environment or by an override). */
SR_API SRError is_configured(void *c_cfgopts, const char *option_name, size_t option_name_len,
                             bool *cfg_result);

/* Overrides for this object only (the environment is not changed). */
SR_API SRError override_integer_option(void *c_cfgopts, const char *option_name, size_t option_name_len,
                                       int64_t value);
SR_API SRError override_string_option(void *c_cfgopts, const char *option_name, size_t option_name_len,
                                      const char *value, size_t value_len);

/* Frees the object and sets *c_cfgopts to NULL (SmartRedis's C API leaked
 * these objects; calling this is optional but frees the memory). */
SR_API SRError DeallocateConfigOptions(void **c_cfgopts);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* SMARTREDIS_C_CONFIGOPTIONS_H */
