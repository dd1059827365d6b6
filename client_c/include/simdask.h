/*
 * simdask.h: C client of the simdask in-memory tensor store.
 *
 * One opaque context (sd_client) per connection set; every function returns
 * a status code (SD_OK = 0) and the context keeps the message of its last
 * error (sd_last_error). There is no process-wide state: use one client per
 * thread (a forked child reconnects by itself). The wire format and the store commands are those of the Python
 * client (DESIGN.md, docs/protocol.md), so C, Fortran and Python read and
 * overwrite each other's tensors, datasets and lists. C++ (C++11 or later)
 * includes this header as it is; examples/cpp wraps it in RAII classes that
 * throw on errors.
 *
 *     sd_client *c;
 *     if (sd_client_new(&c, NULL) != SD_OK) {          // NULL: SIMDASK_ADDRESS
 *         fprintf(stderr, "%s\n", sd_last_error(c));
 *         sd_client_free(c);
 *         return 1;
 *     }
 *     size_t shape[2] = {64, 32};
 *     sd_put_tensor(c, "field", u, SD_FLOAT64, 2, shape, SD_ORDER_C);
 *     sd_client_free(c);
 */
#ifndef SIMDASK_H
#define SIMDASK_H

#include <limits.h>
#include <stddef.h>

/* CMake reads these three lines for the project version. */
#define SIMDASK_VERSION_MAJOR 0
#define SIMDASK_VERSION_MINOR 1
#define SIMDASK_VERSION_PATCH 0

#if defined(__GNUC__) && __GNUC__ >= 4
#define SD_API __attribute__((visibility("default")))
#else
#define SD_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Tensors have at most this many dimensions (the wire format's limit). */
#define SD_MAX_NDIM 32

/* Status codes: every function returns one of these. The numbers are part
 * of the API (the Fortran module repeats them): never renumber, only add. */
enum sd_status {
    SD_OK = 0,
    SD_ERR_ARG = 1,         /* invalid argument: NULL pointer, bad name, bad shape, small buffer */
    SD_ERR_CONNECTION = 2,  /* the store cannot be reached, the connection was lost, or the store is not
                               ready (cluster down, loading) */
    SD_ERR_NOT_FOUND = 3,   /* no such tensor, dataset, list or meta field */
    SD_ERR_FORMAT = 4,      /* a stored value is not a valid simdask tensor (corrupt, truncated, foreign) */
    SD_ERR_TYPE = 5,        /* dtype differs from the stored one, or the key holds another kind of value */
    SD_ERR_SHAPE = 6,       /* ndim or shape differs from the stored one */
    SD_ERR_TIMEOUT = 7,     /* no answer in time: connecting, a reply (io_timeout_ms), a run request */
    SD_ERR_MODEL = 8,       /* the inference service answered ERR <message> */
    SD_ERR_NOMEM = 9,       /* out of memory */
    SD_ERR_STORE = 10,      /* the store refused a command (full, or another error reply) */
    SD_ERR_AUTH = 11,       /* the store refused the password or needs one (SIMDASK_PASSWORD) */
    SD_ERR_CONCURRENT = 12  /* a chunked tensor was overwritten twice while being read: read it again */
};

/* Element types: the wire format's dtype codes. */
typedef enum sd_dtype {
    SD_INT8 = 1,
    SD_INT16 = 2,
    SD_INT32 = 3,
    SD_INT64 = 4,
    SD_UINT8 = 5,
    SD_UINT16 = 6,
    SD_UINT32 = 7,
    SD_UINT64 = 8,
    SD_FLOAT16 = 9,
    SD_FLOAT32 = 10,
    SD_FLOAT64 = 11,
    SD_COMPLEX64 = 12,
    SD_COMPLEX128 = 13,
    SD_BOOL = 14 /* one byte per element */
} sd_dtype;

/* Memory order of an array's elements: row-major (C) or column-major (Fortran). */
typedef enum sd_order { SD_ORDER_C = 'C', SD_ORDER_F = 'F' } sd_order;

typedef struct sd_client sd_client;
typedef struct sd_dataset sd_dataset;
typedef struct sd_tensor_meta sd_tensor_meta;

/* Options of sd_client_new_with_options. Initialise with sd_options_init;
 * a NULL string takes the environment variable named in its comment, an
 * empty string means "none" even when the variable is set.
 *
 * Timeouts are in ms. sd_options_init reads each from its variable (in
 * seconds, decimals allowed: SIMDASK_IO_TIMEOUT=0.5), else takes the
 * default; a value set after it wins over the environment. A field left at
 * SD_TIMEOUT_UNSET (what sd_options_init leaves where a variable does not
 * parse) is resolved the same way by sd_client_new_with_options, which
 * fails with SD_ERR_ARG naming the variable when it does not parse. Any
 * other value <= 0 takes the default, except for io_timeout_ms, where it
 * means no limit. */
#define SD_TIMEOUT_UNSET INT_MIN
typedef struct sd_options {
    const char *address;         /* SIMDASK_ADDRESS: host:port, [v6]:port, unix:///path, or a cluster list */
    const char *password;        /* SIMDASK_PASSWORD: sent as AUTH on every connection. When neither is
                                    set (NULL and the variable unset or empty), the password that a store
                                    of this user left in its credentials file of the address (of one of a
                                    cluster list) in SIMDASK_CREDENTIALS_DIR, else ~/.simdask/credentials
                                    (docs/protocol.md, "Addresses"); a store without a password is then
                                    used without it. "": no password */
    const char *key_prefix;      /* SIMDASK_KEY_PREFIX: prefix of the keys this client writes */
    const char *key_prefixes_in; /* SIMDASK_KEY_PREFIXES_IN: comma-separated prefixes it reads */
    int connect_timeout_ms; /* SIMDASK_CONNECT_TIMEOUT: opening a connection (TCP or Unix socket),
                               default 10000 (simdask.yaml client.connect-timeout, seconds) */
    int io_timeout_ms;      /* SIMDASK_IO_TIMEOUT (0: no limit): each reply must come within this (the
                               wait for a run's answer excepted), each write must progress within it,
                               default 300000 (simdask.yaml client.socket-timeout, seconds) */
    int run_timeout_ms;     /* SIMDASK_RUN_TIMEOUT: what timeout_ms = 0 means for sd_run_model/sd_run_script,
                               default 60000 (simdask.yaml inference.run-timeout, seconds) */
    int run_lease_ms;       /* SIMDASK_RUN_LEASE: how long a writer's heartbeat lasts (beaten at most every
                               quarter of it, on writes); a writer silent for longer counts as dead,
                               default 60000 (simdask.yaml runs.lease, seconds) */
    /* The run the client writes in comes from SIMDASK_RUN_ID, SIMDASK_RUN_WRITERS and
       SIMDASK_RUN_WRITER, else from the MPI or Slurm launcher ("runs" below), or from sd_begin_run. */
    int no_launcher_runs;   /* 1: an MPI or srun launch alone makes no run (only SIMDASK_RUN_ID or
                               sd_begin_run do), so that keys keep SmartRedis's names (libsmartredis sets
                               it); default 0 */
    int deletes_from_source; /* 1: sd_delete_tensor, sd_delete_dataset and sd_delete_list delete at the read
                                prefix (sd_set_data_source), SmartRedis's rule (libsmartredis sets it);
                                default 0: at the write prefix, so a client deletes only its own keys */
    const char *node;       /* SIMDASK_NODE: the node this client is on, else (unset or empty) the host name up
                               to its first dot; sd_run_model/sd_run_script go to a serving loop of this node
                               when one is alive, else to any (docs/protocol.md, "Run requests"). "": to any */
} sd_options;

/* ---- client --------------------------------------------------------------- */

/* Waiting and retrying (docs/protocol.md, "Timeouts and limits"): no call
 * waits longer than its own timeouts, also when the store stops answering.
 * Connecting takes at most connect_timeout_ms, each reply io_timeout_ms, a
 * poll `tries` checks `interval_ms` apart (each check one reply), a run
 * request its timeout_ms. A connection that the store closed meanwhile (a
 * restart) is reopened before it is used. A command that fails on a dropped
 * connection, or finds the store refusing connections, is sent again with
 * backoff for up to 2 s (never past the call's own deadline), unless the
 * store may already have done it and doing it twice would differ (appending
 * to a list, a run request, the head of a chunked write): that fails with
 * SD_ERR_CONNECTION. Timeouts are not retried. Messages of connection errors
 * name the store's address and the key or name the call was about. */

SD_API void sd_options_init(sd_options *opt);

/* Connects to the store (NULL address: SIMDASK_ADDRESS); SD_ERR_AUTH when
 * the store refuses the password or needs one. On failure other than
 * SD_ERR_NOMEM, *out is still a client that holds the message
 * (sd_last_error); free it with sd_client_free either way. */
SD_API int sd_client_new(sd_client **out, const char *address);
SD_API int sd_client_new_with_options(sd_client **out, const sd_options *opt);
/* NULL is fine. The caller's pointer still points at the freed client: set
 * it to NULL, so that a call by mistake after the free is refused (below). */
SD_API void sd_client_free(sd_client *c);

/* Message and status of the client's last failed call ("" and SD_OK after a success).
 * Every call given a NULL client returns SD_ERR_ARG, and sd_last_error(NULL)
 * says that there is no client. A client whose sd_client_new failed on its
 * address or options answers every call with SD_ERR_ARG saying so; one that
 * could not connect tries again on each call. */
SD_API const char *sd_last_error(const sd_client *c);
SD_API int sd_last_status(const sd_client *c);

/* Whether the store is a cluster (1) or one server (0). */
SD_API int sd_is_cluster(const sd_client *c, int *is_cluster);

/* Reads from now on use `prefix` (one of SIMDASK_KEY_PREFIXES_IN, the
 * client's own write prefix, or "" for none), and the run of its group that
 * is current when it is first read ("runs" below). */
SD_API int sd_set_data_source(sd_client *c, const char *prefix);

/* Which names get the key prefixes (SmartRedis's use_*_ensemble_prefix):
 * tensors (run request inputs and outputs included), datasets and
 * aggregation lists do unless switched off (use_prefix 0: the bare name, in
 * no run); models and scripts do not unless switched on, and then get
 * "prefix." without a run (the write prefix when stored, the read prefix
 * otherwise). A list's entries follow the dataset switch. */
SD_API int sd_use_tensor_prefix(sd_client *c, int use_prefix);
SD_API int sd_use_dataset_prefix(sd_client *c, int use_prefix);
SD_API int sd_use_list_prefix(sd_client *c, int use_prefix);
SD_API int sd_use_model_prefix(sd_client *c, int use_prefix);

/* ---- runs (docs/protocol.md "Runs") ---------------------------------------- */

/* A writer group is every process writing under one key prefix P (maybe
 * ""); a run is one execution of it (one process, or the ranks of one MPI
 * job), numbered 1, 2, ... by the store. A client in run n writes (and
 * deletes) under "P@n.name" ("@n.name" for P = ""), so reruns never mix.
 * The client writes in a run when:
 *   1. SIMDASK_RUN_ID names it; writer SIMDASK_RUN_WRITER of
 *      SIMDASK_RUN_WRITERS (default: the launcher's rank and task count:
 *      OMPI_COMM_WORLD_RANK of _SIZE when that is set, else SLURM_PROCID of
 *      SLURM_STEP_NUM_TASKS (else SLURM_NTASKS) when SLURM_STEP_ID is set,
 *      else PMI_RANK of PMI_SIZE (MPICH's Hydra, Intel MPI); else 0 of 1);
 *   2. else under Open MPI's mpirun: run id "ompi:" PMIX_NAMESPACE (or
 *      OMPI_MCA_ess_base_jobid), writer OMPI_COMM_WORLD_RANK of _SIZE;
 *   3. else under Slurm's srun (SLURM_STEP_ID set): "slurm:<job>.<step>",
 *      writer SLURM_PROCID of SLURM_STEP_NUM_TASKS (else SLURM_NTASKS);
 *   4. else only once the program calls sd_begin_run (else: plain keys).
 * Under 1-3 the run begins at the first write or delete (or sd_end_run);
 * sd_begin_run begins one at once. A read never begins a run. While in a
 * run, writes beat a heartbeat at most every quarter of run_lease_ms.
 * Reads of the client's own group use its own run once that has begun
 * (also after sd_end_run); before that, and for any other group, they use
 * the run of the group chosen by sd_set_data_source, that is its current
 * run when it is first read (kept until sd_set_data_source again; plain
 * keys for a group with no runs): a process of a run that only reads reads
 * the current run, and begins no empty one.
 * A read of key K that finds nothing looks next, in this order:
 *   1. if K is run-scoped ("P@n.name"): the plain key ("P.name", "name"
 *      for P = ""), so that keys written outside any run (a steering
 *      parameter) show in every run, while keys of another run never do;
 *   2. else, if the read group P had no run when resolved: its current run
 *      again; a run begun since is kept (all later reads use it) and
 *      "P@n.name" is read (a reader that polls before the writers' first
 *      write finds their key);
 *   3. for a tensor name "q.rest" (q non-empty, without any of "{},@"):
 *      "q@m.rest" when writer group q has run m as this client resolves
 *      it (kept per group, looked up again while it had none): SmartSim's
 *      "ens_0.y" for member ens_0's tensor y.
 * This holds for sd_get_tensor, sd_unpack_tensor, sd_tensor_exists,
 * sd_poll_tensor (each try), sd_get_dataset, sd_dataset_exists and
 * sd_poll_dataset; not lists, copy/rename sources nor run request inputs.
 * A hit costs nothing extra, each step a round trip on a miss only; a miss
 * everywhere's SD_ERR_NOT_FOUND message names every key tried
 * ("... '@1.ens_0.y' not found (nor at 'ens_0.y', 'ens_0@1.y')").
 * Key prefixes must not contain '@'. Errors name the group and the run id. */

/* Begins a run of the client's group now. run_id NULL: the environment's
 * (1-3), else a random one, which only a run of one writer may take (the
 * writers of a run of several must pass the same id, e.g. one that rank 0
 * broadcast). writer < 0, writers < 0: the environment's (as in 1), else 0
 * and 1; 0 <= writer < writers. All writers of a run must give the same
 * writers count (else SD_ERR_STORE naming both counts). An id whose run this
 * writer index has taken part in already gives a new run (a launcher's id
 * reused). SD_ERR_ARG while the client is in a run it has not ended. */
SD_API int sd_begin_run(sd_client *c, const char *run_id, int writer, int writers);
/* Ends this writer's part of its run (the run has ended once all its
 * writers have); writes after it fail with SD_ERR_ARG until sd_begin_run.
 * A pending environment run is begun first, so that a writer that wrote
 * nothing still counts as ended. Without a run: nothing to do. sd_client_free
 * ends the run the client began in this process; a process that dies does
 * not end it (readers see the writer dead once its heartbeat expires). */
SD_API int sd_end_run(sd_client *c);
/* The number of the run the client writes in (or last wrote in, after
 * sd_end_run); 0 when it has begun none (an environment run begins at the
 * first write). */
SD_API int sd_run_number(sd_client *c, long long *run);

/* ---- tensors -------------------------------------------------------------- */

/* Key prefixes: names are written (and deleted) under SIMDASK_KEY_PREFIX
 * ("p.name", "p@n.name" in run n) and read from the first of
 * SIMDASK_KEY_PREFIXES_IN, else from the client's own prefix
 * (docs/protocol.md). Names must be non-empty; dataset names must not
 * contain braces. */

/* Writes the array (shape in the array's own index order, elements in
 * `order`) without copying it; data above 8 MiB go in 4 MiB chunks. */
SD_API int sd_put_tensor(sd_client *c, const char *name, const void *data, sd_dtype dtype,
                         size_t ndim, const size_t *shape, sd_order order);

/* ---- describing a tensor (docs/protocol.md "Describing a tensor") -------- */

/* What a tensor means, stored in its header so that simdask.open_dataset
 * opens it with names, units and coordinates, the same from C, Fortran or
 * Python. Set the fields once, write with sd_put_tensor_meta every step
 * (setting a name again replaces its value: the step's time, say):
 *
 *     sd_tensor_meta *m;
 *     const char *dims[2] = {"z", "x"};            // theta[nz][nx], C order
 *     size_t global[2] = {NZ, NX}, start[2] = {0, x0};
 *     sd_tensor_meta_new(&m);
 *     sd_tensor_meta_set_dims(m, 2, dims);
 *     sd_tensor_meta_set_attr_string(m, "units", "K");
 *     sd_tensor_meta_set_coord_array(m, "x", x_of_this_rank, nx);
 *     sd_tensor_meta_set_block(m, 2, global, start);
 *     for (step ...) {
 *         sd_tensor_meta_set_coord_scalar(m, "time", t);
 *         sd_put_tensor_meta(c, name, theta, SD_FLOAT64, 2, shape, SD_ORDER_C, m);
 *     }
 *     sd_tensor_meta_free(m);
 *
 * Everything is in the array's own index order, as its shape: a Fortran
 * theta(nx, nz) written in SD_ORDER_F says dims {"x", "z"}, global shape
 * {NX, NZ} and start {x0, 0}; it is the same memory as C's theta[nz][nx]
 * with {"z", "x"}, and opens as the same xarray variable (the bridge shows
 * every tensor in its memory's row-major order). Starts are 0-based.
 * Errors of the sd_tensor_meta_* calls are kept in the object
 * (sd_tensor_meta_last_error); sd_tensor_meta_new fails only for a NULL
 * out (SD_ERR_ARG) or out of memory, leaving *out NULL. */
SD_API int sd_tensor_meta_new(sd_tensor_meta **out);
SD_API void sd_tensor_meta_free(sd_tensor_meta *m); /* NULL is fine */
SD_API const char *sd_tensor_meta_last_error(const sd_tensor_meta *m);

/* Dimension names, one per dimension (copied). */
SD_API int sd_tensor_meta_set_dims(sd_tensor_meta *m, size_t ndim, const char *const *names);
/* Free-form attrs (xarray's attrs): a string (UTF-8), a double or an integer. */
SD_API int sd_tensor_meta_set_attr_string(sd_tensor_meta *m, const char *name, const char *value);
SD_API int sd_tensor_meta_set_attr_double(sd_tensor_meta *m, const char *name, double value);
SD_API int sd_tensor_meta_set_attr_int(sd_tensor_meta *m, const char *name, long long value);
/* A coordinate of the key, not of an axis (the model time of a step): it
 * opens as a coordinate along the template's fields, e.g. time(step). Its
 * name must not be one of the dims. */
SD_API int sd_tensor_meta_set_coord_scalar(sd_tensor_meta *m, const char *name, double value);
SD_API int sd_tensor_meta_set_coord_string(sd_tensor_meta *m, const char *name, const char *value);
/* The coordinate along dimension `dim` (one of the dims): n values, n the
 * tensor's length along it; for a block, the values of the block's part. */
SD_API int sd_tensor_meta_set_coord_array(sd_tensor_meta *m, const char *dim, const double *values, size_t n);
/* The tensor is the block of a global array of shape global_shape whose
 * first element is at index start (0-based); the bridge assembles the
 * global array from all blocks (e.g. every MPI rank's) without a concat. */
SD_API int sd_tensor_meta_set_block(sd_tensor_meta *m, size_t ndim, const size_t *global_shape,
                                    const size_t *start);
/* sd_put_tensor with the description in the header (meta NULL: none). A
 * description that does not fit the tensor (dims not one per dimension, a
 * coordinate list not as long as its dimension or along none, a block of
 * another ndim or reaching past the global shape, a string not UTF-8) is
 * SD_ERR_ARG naming the key, and nothing is written. At most 256
 * coordinates. */
SD_API int sd_put_tensor_meta(sd_client *c, const char *name, const void *data, sd_dtype dtype, size_t ndim,
                              const size_t *shape, sd_order order, const sd_tensor_meta *meta);

/* Reading refuses, with SD_ERR_FORMAT and a message naming the key, any
 * value that is not a valid tensor (DESIGN.md's wire format), before it
 * allocates anything for it: besides the header's fields, the attrs must be
 * a JSON object (valid UTF-8, nested at most 64 deep; "dims", when present,
 * a list of ndim strings; "coords" and "block", when present, as
 * docs/protocol.md's "Describing a tensor" says), bool elements 0 or 1, and a chunked head must
 * name ceil(nbytes / chunk_bytes) chunks, at most 2^20 of at most 512 MiB,
 * whose lengths the store confirms before the data are fetched. */

/* Reads a tensor into a new buffer (freed with sd_free), in the order it was
 * stored; shape must have room for SD_MAX_NDIM entries. */
SD_API int sd_get_tensor(sd_client *c, const char *name, void **data, sd_dtype *dtype,
                         size_t *ndim, size_t shape[SD_MAX_NDIM], sd_order *order);

/* Reads a tensor into the caller's buffer. dtype, ndim and shape must be the
 * stored ones (SD_ERR_TYPE / SD_ERR_SHAPE otherwise); the elements are laid
 * out in `order`, transposed on the fly when the stored order differs. A 1-D
 * shape {n}, n the element count of a stored tensor of 2 or more dimensions,
 * unpacks it flat: its elements in `order` (SD_ORDER_C: row-major), as
 * SmartRedis's contiguous layout does. */
SD_API int sd_unpack_tensor(sd_client *c, const char *name, void *buffer, size_t buffer_bytes,
                            sd_dtype dtype, size_t ndim, const size_t *shape, sd_order order);

/* Deletes a tensor and its chunks (a missing tensor is not an error). Deletes
 * use the write prefix and its run, as writes do: a client never deletes
 * another group's or another run's keys. */
SD_API int sd_delete_tensor(sd_client *c, const char *name);
/* Copies tensor `source` (read prefix) to `dest` (write prefix): its data and
 * its description, written as a new tensor (docs/protocol.md "Deleting,
 * copying, renaming"). Renaming is a copy, then sd_delete_tensor of the old
 * name (nothing when both name the same key). */
SD_API int sd_copy_tensor(sd_client *c, const char *source, const char *dest);
SD_API int sd_rename_tensor(sd_client *c, const char *old_name, const char *new_name);
SD_API int sd_tensor_exists(sd_client *c, const char *name, int *exists);

/* Checks up to `tries` times, `interval_ms` apart; *exists tells whether it appeared. */
SD_API int sd_poll_tensor(sd_client *c, const char *name, int interval_ms, int tries, int *exists);

/* Whether a raw store key exists (no prefix applied); sd_poll_key checks
 * up to `tries` times, `interval_ms` apart. */
SD_API int sd_key_exists(sd_client *c, const char *key, int *exists);
SD_API int sd_poll_key(sd_client *c, const char *key, int interval_ms, int tries, int *exists);

/* ---- models and scripts (docs/protocol.md "Run requests") ----------------- */

/* Stored as the Python client stores them, so that any client runs them: a
 * model's bytes as a uint8 tensor at simdask:model:{<name>} with its settings
 * and version in the tensor's attrs (chunked above 8 MiB, as any tensor),
 * a script's TorchScript source likewise at simdask:script:{<name>}. Names
 * get no key prefix. Each store bumps the name's version counter first
 * (serving loops reload a model whose version changed); *version, when not
 * NULL, gets the new version. */

/* The settings of a model besides its bytes (Python's set_model keywords).
 * Initialise with sd_model_options_init: device "CPU", no batching, no tag. */
typedef struct sd_model_options {
    const char *device;        /* "CPU", "GPU" or "GPU:n" (any case; NULL: "CPU"): where serving loops run it */
    int batch_size;            /* join requests along their first dimension up to this many rows (0: none) */
    int min_batch_size;        /* a batch waits for this many rows (at most batch_size) ... */
    int min_batch_timeout_ms;  /* ... this long (0: the service's default, 100 ms) */
    const char *tag;           /* free-form (NULL: "") */
    size_t n_inputs;           /* names of the model's inputs and outputs (informative) */
    const char *const *inputs;
    size_t n_outputs;
    const char *const *outputs;
} sd_model_options;

SD_API void sd_model_options_init(sd_model_options *opt);

/* Stores `nbytes` bytes of a model for `backend` "TORCH" (a TorchScript
 * archive, as torch.jit.save writes it) or "ONNX" (any case); opt NULL: the
 * defaults. Bytes that are no TorchScript archive are SD_ERR_ARG; a
 * torch.export archive (.pt2) is refused with SD_ERR_MODEL, since loading
 * one can run arbitrary code (docs/security.md). */
SD_API int sd_set_model(sd_client *c, const char *name, const void *model, size_t nbytes, const char *backend,
                        const sd_model_options *opt, long long *version);
/* sd_set_model with the bytes of the file at `path` (SD_ERR_ARG naming it when it cannot be read). */
SD_API int sd_set_model_from_file(sd_client *c, const char *name, const char *path, const char *backend,
                                  const sd_model_options *opt, long long *version);
/* Stores TorchScript source (not blank) for run_script; device as in sd_model_options (NULL: "CPU"). */
SD_API int sd_set_script(sd_client *c, const char *name, const char *source, const char *device, long long *version);
SD_API int sd_set_script_from_file(sd_client *c, const char *name, const char *path, const char *device,
                                   long long *version);
/* The stored bytes of a model (free with sd_free; *nbytes of them) and the
 * source of a script (NUL-terminated, free with sd_free); a missing one is
 * SD_ERR_NOT_FOUND. */
SD_API int sd_get_model(sd_client *c, const char *name, void **model, size_t *nbytes);
SD_API int sd_get_script(sd_client *c, const char *name, char **source);
/* Whether a model or a script named `name` exists (Python's model_exists);
 * sd_poll_model checks up to `tries` times, `interval_ms` apart. */
SD_API int sd_model_exists(sd_client *c, const char *name, int *exists);
SD_API int sd_poll_model(sd_client *c, const char *name, int interval_ms, int tries, int *exists);
/* Deletes a stored model or script; a missing one is SD_ERR_NOT_FOUND. */
SD_API int sd_delete_model(sd_client *c, const char *name);
SD_API int sd_delete_script(sd_client *c, const char *name);

/* ---- inference requests (DESIGN.md "Inference requests") ------------------ */

/* Puts nothing: the inputs must have been put already. Blocks until the
 * service answers (SD_OK, or SD_ERR_MODEL with its message) or timeout_ms
 * passes (SD_ERR_TIMEOUT). timeout_ms = 0: the client's run_timeout_ms;
 * timeout_ms < 0: no limit. The deadline covers the whole call, sending the
 * request included; the I/O timeout does not cut the wait for the answer,
 * which gets 1 s beyond the deadline to arrive, and a store that does not
 * answer at all ends the call then. Input names are read with the read
 * prefix, output names written with the write prefix (each with its run).
 * When no serving loop is running (no simdask serve, InferenceServer or
 * store started with serve=N), the store itself answers: SD_ERR_MODEL at
 * once, its message naming the model and what to start; a model that is
 * not stored is SD_ERR_MODEL as soon as a loop reads the request. */
SD_API int sd_run_model(sd_client *c, const char *model, size_t n_inputs, const char *const *inputs,
                        size_t n_outputs, const char *const *outputs, int timeout_ms);
SD_API int sd_run_script(sd_client *c, const char *script, const char *function, size_t n_inputs,
                         const char *const *inputs, size_t n_outputs, const char *const *outputs,
                         int timeout_ms);

/* ---- datasets ------------------------------------------------------------- */

/* A dataset in memory: named tensors (copied in) plus metadata fields that
 * hold a list of scalars or of strings. Errors are kept per dataset
 * (sd_dataset_last_error). sd_dataset_new fails only for a bad name
 * (NULL, empty, with braces: SD_ERR_ARG) or out of memory; *out is NULL then. */
SD_API int sd_dataset_new(sd_dataset **out, const char *name);
SD_API void sd_dataset_free(sd_dataset *ds); /* NULL is fine */
SD_API const char *sd_dataset_last_error(const sd_dataset *ds);
SD_API const char *sd_dataset_name(const sd_dataset *ds);

SD_API int sd_dataset_add_tensor(sd_dataset *ds, const char *name, const void *data, sd_dtype dtype,
                                 size_t ndim, const size_t *shape, sd_order order);
/* Pointers into the dataset, valid until it is freed or the tensor replaced. */
SD_API int sd_dataset_get_tensor(sd_dataset *ds, const char *name, const void **data,
                                 sd_dtype *dtype, size_t *ndim, const size_t **shape, sd_order *order);
SD_API int sd_dataset_unpack_tensor(sd_dataset *ds, const char *name, void *buffer, size_t buffer_bytes,
                                    sd_dtype dtype, size_t ndim, const size_t *shape, sd_order order);
/* Names in insertion order; the array lives in the dataset until the next call. */
SD_API int sd_dataset_tensor_names(sd_dataset *ds, const char *const **names, size_t *count);

/* Appends one value (of `dtype`, a number type) to the scalar field `name`. */
SD_API int sd_dataset_add_meta_scalar(sd_dataset *ds, const char *name, const void *value, sd_dtype dtype);
SD_API int sd_dataset_add_meta_string(sd_dataset *ds, const char *name, const char *value);
SD_API int sd_dataset_get_meta_scalars(sd_dataset *ds, const char *name, const void **values,
                                       size_t *count, sd_dtype *dtype);
SD_API int sd_dataset_get_meta_strings(sd_dataset *ds, const char *name, const char *const **values,
                                       size_t *count);
/* Names of the metadata fields (scalar and string) in insertion order. */
SD_API int sd_dataset_meta_names(sd_dataset *ds, const char *const **names, size_t *count);

/* Writes the dataset in one transaction (its large tensors' chunks first);
 * tensors a stored dataset of that name had and this one lacks are removed. */
SD_API int sd_put_dataset(sd_client *c, const sd_dataset *ds);
/* Reads a complete dataset into a new object (free with sd_dataset_free). */
SD_API int sd_get_dataset(sd_client *c, const char *name, sd_dataset **out);
/* Deletes its tensors and metadata (write prefix); a missing dataset is SD_ERR_NOT_FOUND. */
SD_API int sd_delete_dataset(sd_client *c, const char *name);
/* Copies dataset `source` (read prefix) to `dest` (write prefix): its
 * tensors and metadata, written as sd_put_dataset writes. Renaming is a copy,
 * then the delete of the source read (nothing when both name the same key). */
SD_API int sd_copy_dataset(sd_client *c, const char *source, const char *dest);
SD_API int sd_rename_dataset(sd_client *c, const char *old_name, const char *new_name);
SD_API int sd_dataset_exists(sd_client *c, const char *name, int *exists);
SD_API int sd_poll_dataset(sd_client *c, const char *name, int interval_ms, int tries, int *exists);

/* ---- aggregation lists ---------------------------------------------------- */

/* Reads (length, polls, datasets, ranges, the source of copy and rename)
 * use the read prefix and its run; where no list is there they look where a
 * tensor read looks next (docs/protocol.md "Runs": the plain key of a run,
 * a run begun since, "q.rest" in group q's run). A list that is nowhere has
 * length 0 and no entries. */
/* Appends a reference to `ds`, which must have been put with sd_put_dataset. */
SD_API int sd_append_to_list(sd_client *c, const char *list, const sd_dataset *ds);
SD_API int sd_get_list_length(sd_client *c, const char *list, size_t *length);
/* Polls until the length is == (sd_poll_list_length), >= (_gte) or <= (_lte) `length`. */
SD_API int sd_poll_list_length(sd_client *c, const char *list, size_t length, int interval_ms,
                               int tries, int *reached);
SD_API int sd_poll_list_length_gte(sd_client *c, const char *list, size_t length, int interval_ms,
                                   int tries, int *reached);
SD_API int sd_poll_list_length_lte(sd_client *c, const char *list, size_t length, int interval_ms,
                                   int tries, int *reached);
/* The list's datasets in order; free the array with sd_datasets_free. */
SD_API int sd_get_datasets_from_list(sd_client *c, const char *list, sd_dataset ***datasets,
                                     size_t *count);
/* The datasets at positions start .. end (inclusive; negatives count from
 * the end, -1 the last; an end past the list is its end; an empty range or
 * a missing list gives none), as sd_get_datasets_from_list. */
SD_API int sd_get_dataset_list_range(sd_client *c, const char *list, long long start, long long end,
                                     sd_dataset ***datasets, size_t *count);
/* Replaces list `dest` (write prefix) with the entries of list `source`
 * (read prefix; a missing one is SD_ERR_NOT_FOUND) in one transaction;
 * renaming is a copy, then the delete of the source where it was read. */
SD_API int sd_copy_list(sd_client *c, const char *source, const char *dest);
SD_API int sd_rename_list(sd_client *c, const char *old_name, const char *new_name);
SD_API void sd_datasets_free(sd_dataset **datasets, size_t count);
/* Deletes the list (write prefix), not the datasets it names. */
SD_API int sd_delete_list(sd_client *c, const char *list);

/* ---- server commands (one node) -------------------------------------------- */

/* A node is named by its address as sd_db_addresses gives it (host:port,
 * unix:///path), or by a host name resolving to the same address with the
 * same port; NULL or "" names the only node of a standalone store. */

/* The nodes serving the store, comma-separated (free with sd_free). */
SD_API int sd_db_addresses(sd_client *c, char **addresses);
/* The node's INFO text of `section` (NULL: "everything"); free with sd_free. */
SD_API int sd_db_info(sd_client *c, const char *address, const char *section, char **text);
/* The node's CLUSTER INFO text (free with sd_free); SD_ERR_ARG on a store that is no cluster. */
SD_API int sd_cluster_info(sd_client *c, const char *address, char **text);
/* CONFIG GET pattern: *count name/value pairs as 2 * *count strings
 * (names at even indices); free with sd_strings_free(*pairs, 2 * *count). */
SD_API int sd_config_get(sd_client *c, const char *address, const char *pattern, char ***pairs, size_t *count);
SD_API void sd_strings_free(char **strings, size_t n);
/* CONFIG SET name value (the store's own refusal is SD_ERR_STORE with its message). */
SD_API int sd_config_set(sd_client *c, const char *address, const char *name, const char *value);
/* FLUSHDB: deletes every key of that node (of a cluster: of that shard only). */
SD_API int sd_flush_db(sd_client *c, const char *address);
/* SAVE: the node writes its snapshot to disk now (as its configuration says where). */
SD_API int sd_save(sd_client *c, const char *address);

/* ---- helpers -------------------------------------------------------------- */

SD_API void sd_free(void *p);
SD_API const char *sd_status_name(int status);  /* "SD_ERR_NOT_FOUND" */
SD_API const char *sd_dtype_name(sd_dtype dtype); /* "float64"; NULL for an unknown code */
SD_API size_t sd_dtype_size(sd_dtype dtype);      /* bytes per element; 0 for an unknown code */
SD_API const char *sd_version(void);              /* "0.1.0" */

#ifdef __cplusplus
}
#endif

#endif /* SIMDASK_H */
