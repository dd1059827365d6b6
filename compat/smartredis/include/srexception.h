/*
 * srexception.h: SmartRedis's error codes (simdask compatibility layer).
 *
 * Every C API call returns an SRError; after a failure SRGetLastError() gives
 * the message, which is simdask's own text (it names the key, the address or
 * the model). The last error is kept per thread: a call in one thread never
 * changes what another thread reads. How simdask's status codes map onto
 * these is in docs/smartredis.md (one table: src/c/sr_error.c).
 */
#ifndef SMARTREDIS_SREXCEPTION_H
#define SMARTREDIS_SREXCEPTION_H

#include <stdio.h>
#include <stdlib.h>

#include "sr_enums.h"

#if defined(__GNUC__) && __GNUC__ >= 4
#define SR_API __attribute__((visibility("default")))
#else
#define SR_API
#endif

/* Numbers are SmartRedis 0.6's. */
typedef enum {
    SRNoError = 0,        /* success */
    SRBadAllocError = 1,  /* out of memory */
    SRDatabaseError = 2,  /* the store cannot be reached or refused a command */
    SRInternalError = 3,  /* a stored value is not what the library wrote (corrupt, foreign) */
    SRRuntimeError = 4,   /* an operation failed: a model or script run, a concurrent overwrite */
    SRParameterError = 5, /* a bad argument: NULL pointer, bad name, layout, shape or backend */
    SRTimeoutError = 6,   /* no answer in time */
    SRKeyError = 7,       /* no such tensor, dataset, list, model, field or option */
    SRInvalidError = 8,   /* not an error: an unset SRError variable */
    SRTypeError = 9       /* the type differs from the stored one */
} SRError;

#ifdef __cplusplus
extern "C" {
#endif

/* The message of this thread's last failed call ("no error" when none failed yet).
 * The text stays valid until this thread's next failing call. */
SR_API const char *SRGetLastError(void);

/* Where the last error happened: the C API function that failed
 * ("unavailable" when none failed yet). */
SR_API const char *SRGetLastErrorLocation(void);

#ifdef __cplusplus
} /* extern "C" */
#endif

#ifdef __cplusplus
/* ---- C++ exception classes: see src/cpp ---------------------------------- */
/*
 * What the C++ API (client.h, dataset.h, configoptions.h) throws: one class
 * per SRError, all derived from SmartRedis::Exception (itself a
 * std::exception). what() is simdask's message (it names the key, the
 * address or the model), to_error_code() the SRError, where() the API
 * function that failed. Constructing one also makes it this thread's last
 * error (SRGetLastError); one made with a source position (the
 * SR*Exception(txt) macros below) is logged at LLInfo too, as in SmartRedis.
 *
 *     try {
 *         client.get_tensor("u", data, dims, type, SRMemLayoutContiguous);
 *     } catch (const SmartRedis::KeyException& e) {   // no tensor "u"
 *         std::cerr << e.what() << "\n";
 *     }
 */
#include <exception>
#include <string>

namespace SmartRedis {

class SR_API Exception : public std::exception {
  public:
    /* A message; where() says "unavailable". */
    Exception(const char* what_arg);
    /* A message and the place it was raised (SRRuntimeException(txt) etc. below fill these). */
    Exception(const char* what_arg, const char* file, int line);
    Exception(const std::string& what_arg, const char* file, int line);
    Exception(const Exception& other) = default;
    /* Wraps a standard exception: its what() becomes the message. */
    Exception(const std::exception& other) noexcept;
    Exception& operator=(const Exception& other) = default;
    Exception(Exception&& other) = default;
    Exception& operator=(Exception&& other) = default;
    virtual ~Exception() override = default;

    /* The SRError of this kind of exception (SRInvalidError for the base class). */
    virtual SRError to_error_code() const noexcept { return SRInvalidError; }
    /* The class name without the namespace: "Exception", "KeyException", ... */
    virtual std::string exception_class() { return "Exception"; }
    const char* what() const noexcept override { return _msg.c_str(); }
    /* Where it was raised: the failing API function, a source position, or "unavailable". */
    virtual const char* where() const noexcept { return _loc.c_str(); }

  protected:
    std::string _msg;
    std::string _loc;
};

/* Out of memory (SRBadAllocError). */
class SR_API BadAllocException : public Exception {
  public:
    using Exception::Exception;
    SRError to_error_code() const noexcept override { return SRBadAllocError; }
    std::string exception_class() override { return "BadAllocException"; }
};

/* The store cannot be reached or refused a command (SRDatabaseError). */
class SR_API DatabaseException : public Exception {
  public:
    using Exception::Exception;
    SRError to_error_code() const noexcept override { return SRDatabaseError; }
    std::string exception_class() override { return "DatabaseException"; }
};

/* An operation failed: a model or script run, no serving loop (SRRuntimeError). */
class SR_API RuntimeException : public Exception {
  public:
    using Exception::Exception;
    SRError to_error_code() const noexcept override { return SRRuntimeError; }
    std::string exception_class() override { return "RuntimeException"; }
};

/* A bad argument: name, layout, dims, backend, option value (SRParameterError). */
class SR_API ParameterException : public Exception {
  public:
    using Exception::Exception;
    SRError to_error_code() const noexcept override { return SRParameterError; }
    std::string exception_class() override { return "ParameterException"; }
};

/* No answer in time (SRTimeoutError). */
class SR_API TimeoutException : public Exception {
  public:
    using Exception::Exception;
    SRError to_error_code() const noexcept override { return SRTimeoutError; }
    std::string exception_class() override { return "TimeoutException"; }
};

/* A stored value is not what the library wrote (SRInternalError). */
class SR_API InternalException : public Exception {
  public:
    using Exception::Exception;
    SRError to_error_code() const noexcept override { return SRInternalError; }
    std::string exception_class() override { return "InternalException"; }
};

/* No such tensor, dataset, list, model, field or option (SRKeyError). */
class SR_API KeyException : public Exception {
  public:
    using Exception::Exception;
    SRError to_error_code() const noexcept override { return SRKeyError; }
    std::string exception_class() override { return "KeyException"; }
};

/* The type differs from the stored one (SRTypeError). */
class SR_API TypeException : public Exception {
  public:
    using Exception::Exception;
    SRError to_error_code() const noexcept override { return SRTypeError; }
    std::string exception_class() override { return "TypeException"; }
};

} /* namespace SmartRedis */

/* An exception carrying the source position it is raised at, as SmartRedis spells them. */
#define SRBadAllocException(txt) BadAllocException(txt, __FILE__, __LINE__)
#define SRDatabaseException(txt) DatabaseException(txt, __FILE__, __LINE__)
#define SRRuntimeException(txt) RuntimeException(txt, __FILE__, __LINE__)
#define SRParameterException(txt) ParameterException(txt, __FILE__, __LINE__)
#define SRTimeoutException(txt) TimeoutException(txt, __FILE__, __LINE__)
#define SRInternalException(txt) InternalException(txt, __FILE__, __LINE__)
#define SRKeyException(txt) KeyException(txt, __FILE__, __LINE__)
#define SRTypeException(txt) TypeException(txt, __FILE__, __LINE__)
#endif /* __cplusplus */

#endif /* SMARTREDIS_SREXCEPTION_H */
