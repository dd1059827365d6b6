/*
 * sr_enums.h: the enumerations of SmartRedis's C API (simdask compatibility layer).
 *
 * Names and numbers are SmartRedis 0.6's; programs and the Fortran modules pass
 * them by value, so never renumber. simdask maps each onto its own codes
 * (compat/smartredis/src/c/srcompat.h).
 */
#ifndef SMARTREDIS_SR_ENUMS_H
#define SMARTREDIS_SR_ENUMS_H

/* How an array given to or returned by the API is laid out in memory. */
typedef enum {
    SRMemLayoutInvalid = 0,           /* not set: refused with SRParameterError */
    SRMemLayoutNested = 1,            /* row-major, as pointers to pointers (T** for 2-D ...): the last
                                         dimension is a contiguous row */
    SRMemLayoutContiguous = 2,        /* row-major in one block (a C array) */
    SRMemLayoutFortranNested = 3,     /* column-major, as pointers to pointers */
    SRMemLayoutFortranContiguous = 4  /* column-major in one block (a Fortran array) */
} SRMemoryLayout;

/* Element type of a dataset metadata field. */
typedef enum {
    SRMetadataTypeInvalid = 0,
    SRMetadataTypeDouble = 1,
    SRMetadataTypeFloat = 2,
    SRMetadataTypeInt32 = 3,
    SRMetadataTypeInt64 = 4,
    SRMetadataTypeUint32 = 5,
    SRMetadataTypeUint64 = 6,
    SRMetadataTypeString = 7
} SRMetaDataType;

/* Element type of a tensor. */
typedef enum {
    SRTensorTypeInvalid = 0,
    SRTensorTypeDouble = 1,
    SRTensorTypeFloat = 2,
    SRTensorTypeInt8 = 3,
    SRTensorTypeInt16 = 4,
    SRTensorTypeInt32 = 5,
    SRTensorTypeInt64 = 6,
    SRTensorTypeUint8 = 7,
    SRTensorTypeUint16 = 8
} SRTensorType;

/* Logging levels (SR_LOG_LEVEL names them QUIET, INFO, DEBUG, DEVELOPER). */
typedef enum {
    LLInvalid = 0,
    LLQuiet = 1,     /* nothing is logged */
    LLInfo = 2,      /* the default */
    LLDebug = 3,
    LLDeveloper = 4
} SRLoggingLevel;

#endif /* SMARTREDIS_SR_ENUMS_H */
