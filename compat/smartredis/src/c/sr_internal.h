/*
 * sr_internal.h: what the C layer's files share. Not installed.
 *
 *   sr_error.c    this thread's last error; the one table from simdask's status codes to SRError
 *   sr_logger.c   SR_LOG_FILE / SR_LOG_LEVEL, log lines, LogContext objects
 *   sr_config.c   ConfigOptions: the environment (with a suffix) and overrides
 *   sr_layout.c   SmartRedis's types and memory layouts onto simdask's dtypes and orders
 *   sr_client.c   clients: creation from ConfigOptions, prefixes, existence and polling
 *   sr_tensor.c   tensors of a client; the calls taking two names (copy/rename of tensors, datasets, lists)
 *   sr_dataset.c  DataSet objects (c_dataset.h)
 *   sr_list.c     datasets of a client and aggregation lists
 *   sr_model.c    models and scripts
 *
 * Every object handed to the caller as void* starts with an sr_object whose
 * magic says what it is, so a wrong or freed pointer is refused with
 * SRParameterError rather than used.
 */
#ifndef SR_INTERNAL_H
#define SR_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "c_client.h"
#include "c_configoptions.h"
#include "c_dataset.h"
#include "c_logcontext.h"
#include "c_logger.h"
#include "simdask.h"
#include "srcompat.h"

#define SR_HIDDEN __attribute__((visibility("hidden")))

enum sr_magic {
    SR_MAGIC_CLIENT = 0x53524331u,  /* "SRC1" */
    SR_MAGIC_DATASET = 0x53524431u, /* "SRD1" */
    SR_MAGIC_CONFIG = 0x53524f31u,  /* "SRO1" */
    SR_MAGIC_LOGCTX = 0x53524c31u,  /* "SRL1" */
    SR_MAGIC_FREED = 0x46524545u    /* "FREE": set before an object is freed */
};

/* Memory handed to the caller that the object owns until it is freed. */
typedef struct sr_block {
    struct sr_block *next;
    void *p;
    void (*release)(void *);
} sr_block;

typedef struct sr_object {
    uint32_t magic;
    char *log_context; /* the context of the object's log lines */
    sr_block *blocks;
} sr_object;

typedef struct sr_client {
    sr_object obj;
    sd_client *sd;
} sr_client;

typedef struct sr_dataset {
    sr_object obj;
    sd_dataset *sd;
} sr_dataset;

typedef struct sr_option {
    struct sr_option *next;
    char *name;
    char *value; /* integers are kept as their text */
} sr_option;

typedef struct sr_config {
    sr_object obj;
    char *suffix; /* "" for none */
    sr_option *overrides;
} sr_config;

typedef struct sr_logctx {
    sr_object obj;
} sr_logctx;

/* ---- sr_error.c ------------------------------------------------------------- */

/* Records the error (message from fmt) with location `where`; returns code. */
SR_HIDDEN SRError sr__fail(SRError code, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* After a failed sd_* call: the client's (or dataset's) message, mapped by the table. */
SR_HIDDEN SRError sr__fail_client(sr_client *c, int status, const char *where);
SR_HIDDEN SRError sr__fail_dataset(sr_dataset *d, int status, const char *where);
/* SRNoError for SD_OK, else sr__fail_client. */
SR_HIDDEN SRError sr__check(sr_client *c, int status, const char *where);

/* ---- objects (sr_error.c) ------------------------------------------------------ */

/* The object behind a caller's pointer, or NULL after recording SRParameterError
 * ("<what> is NULL" / "is not a <what>"). */
SR_HIDDEN sr_client *sr__client(void *p, const char *where);
SR_HIDDEN sr_dataset *sr__dataset(const void *p, const char *where);
SR_HIDDEN sr_config *sr__config(void *p, const char *where);
/* p[0 .. len) as a NUL-terminated string (malloc'ed); NULL p: SRParameterError naming `what`. */
SR_HIDDEN SRError sr__string(const char *p, size_t len, const char *what, const char *where, char **out);
/* Memory the object keeps until it is freed (NULL p: none kept); release NULL: free. */
SR_HIDDEN int sr__keep(sr_object *o, void *p, void (*release)(void *));
/* sr__keep of n malloc'ed pointers (NULL skipped); on failure the ones not kept are freed (-1). */
SR_HIDDEN int sr__keep_all(sr_object *o, void *const *ptrs, size_t n);
SR_HIDDEN void sr__release_all(sr_object *o);
/* A wrapper of a simdask dataset (taken over, freed with it); NULL when out of
 * memory (the dataset is then still the caller's). */
SR_HIDDEN sr_dataset *sr__wrap_dataset(sd_dataset *sd);
SR_HIDDEN void sr__free_dataset(sr_dataset *d);
/* Text valid until this thread's next call of it (the *_to_string functions). */
SR_HIDDEN const char *sr__thread_text(char *text);

/* ---- sr_logger.c -------------------------------------------------------------- */

/* Reads SR_LOG_FILE and SR_LOG_LEVEL now (a client being made): SRParameterError
 * when the level is no level or the file cannot be written. */
SR_HIDDEN SRError sr__logging_check(const char *where);
SR_HIDDEN void sr__log(const char *context, SRLoggingLevel level, const char *kind, const char *text, size_t len);
SR_HIDDEN void sr__logf(const char *context, SRLoggingLevel level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- sr_config.c -------------------------------------------------------------- */

/* The option's value as the object resolves it (an override, else the
 * variable with the suffix): *value malloc'ed, NULL when not set. */
SR_HIDDEN SRError sr__config_string(sr_config *cfg, const char *name, char **value);
/* An integer option from min to max (*value unchanged when not set); SRParameterError naming it otherwise. */
SR_HIDDEN SRError sr__config_integer(sr_config *cfg, const char *name, int64_t min, int64_t max, const char *where,
                                     int64_t *value, bool *set);
/* sr__config_integer from 1. */
SR_HIDDEN SRError sr__config_positive(sr_config *cfg, const char *name, int64_t max, const char *where,
                                      int64_t *value, bool *set);
SR_HIDDEN SRError sr__config_from_env(const char *suffix, size_t len, sr_config **out);
SR_HIDDEN void sr__config_free(sr_config *cfg);

/* ---- sr_layout.c -------------------------------------------------------------- */

/* SRTensorType <-> sd_dtype (0: none). */
SR_HIDDEN sd_dtype sr__dtype(SRTensorType type);
SR_HIDDEN SRTensorType sr__tensor_type(sd_dtype dtype);
SR_HIDDEN sd_dtype sr__meta_dtype(SRMetaDataType type);
SR_HIDDEN SRMetaDataType sr__meta_type(sd_dtype dtype);
/* Checks type, layout and dims as every tensor call needs them. */
SR_HIDDEN SRError sr__check_tensor_args(SRTensorType type, SRMemoryLayout layout, const size_t *dims, size_t n_dims,
                                        const char *where);
/* The caller's data in `layout` as one block in the order simdask takes (*order):
 * the contiguous layouts are the data themselves, the nested ones are gathered
 * into *owned (malloc'ed, free it). */
SR_HIDDEN SRError sr__gather(const void *data, const size_t *dims, size_t n_dims, size_t itemsize,
                             SRMemoryLayout layout, const char *where, const void **flat, void **owned,
                             sd_order *order);
/* The order a layout's block is in. */
SR_HIDDEN sd_order sr__order(SRMemoryLayout layout);
/* Copies a block in sr__order(layout) into the caller's nested pointer arrays. */
SR_HIDDEN void sr__scatter(void *data, const void *flat, const size_t *dims, size_t n_dims, size_t itemsize,
                           SRMemoryLayout layout);
/* A block in order `from` rearranged into a new block (malloc'ed) in the order
 * `layout` needs, with the nested layouts' pointer arrays built over it:
 * *result is what the caller receives; *blocks[0..1] what to keep. */
SR_HIDDEN SRError sr__shape_for_caller(const void *flat, sd_order from, const size_t *dims, size_t n_dims,
                                       size_t itemsize, SRMemoryLayout layout, const char *where, void **result,
                                       void **keep_data, void **keep_pointers);

#endif /* SR_INTERNAL_H */
