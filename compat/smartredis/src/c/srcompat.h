/*
 * srcompat.h: what the C++ layer (src/cpp) uses of the C layer beyond the C
 * API. Not installed.
 *
 * - srcompat_client: the simdask client under a C API client, for the calls
 *   SmartRedis's C API lacks and its C++ API has (server commands:
 *   sd_db_info, sd_config_get, ... in simdask.h). Status codes of those calls
 *   become SmartRedis errors through srcompat_fail_status (the one table).
 * - srcompat_set_last_error: what SmartRedis's C++ exceptions do when they
 *   are made (SRSetLastError): this thread's SRGetLastError() and
 *   SRGetLastErrorLocation() then give their message and location.
 */
#ifndef SMARTREDIS_SRCOMPAT_H
#define SMARTREDIS_SRCOMPAT_H

#include "simdask.h"
#include "sr_enums.h"
#include "srexception.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The simdask client of a client made by SimpleCreateClient, CreateClient or
 * SmartRedisCClient; NULL (and SRParameterError as the last error) when
 * c_client is none. */
sd_client *srcompat_client(void *c_client);

/* The simdask dataset of a dataset made by CDataSet or read by the client;
 * NULL (and SRParameterError as the last error) when c_dataset is none. */
sd_dataset *srcompat_dataset(void *c_dataset);

/* The SRError of a simdask status code (SD_OK: SRNoError). */
SRError srcompat_error_of(int sd_status);

/* After a failed sd_* call on client c: records c's message as this thread's
 * last error (location: `where`, the API function) and returns its SRError. */
SRError srcompat_fail_status(sd_client *c, int sd_status, const char *where);

/* Records this thread's last error: its message and location (NULL: "unavailable").
 * Exported: the Fortran modules (src/fortran, libsmartredis-fortran) report
 * errors they find themselves (dims larger than the array ...) through it. */
SR_API void srcompat_set_last_error(const char *message, const char *location);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* SMARTREDIS_SRCOMPAT_H */
