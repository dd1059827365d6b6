/*
 * sd_internal.h: what libsimdask's files share. Not installed.
 *
 * The files from the bottom up, mirroring the Python package's layers
 * (wire and transport below the protocol, the protocol below the client).
 * Each file uses only files listed above it; tests/client_c/test_c_layering.py
 * checks that with nm, so a call cycle between files cannot come back.
 *
 *   wire.c        the tensor blob: header, chunk reference, dtypes, C <-> F relayout
 *   json.c        JSON arrays of strings (tensor names, metadata strings, key lists), JSON text, attrs validation
 *   meta.c        the description of a tensor (sd_tensor_meta: dims, attrs, coords, block) as attrs JSON
 *   scripts.c     the Lua scripts: chunk cleanup, begin and end of a run, submitting a run request
 *                 (byte-identical to the Python client's)
 *   command.c     pipelined RESP commands whose payload stays in the caller's memory
 *   error.c       per-context errors, status names, the one table of server error replies
 *   poll.c        sleeping, the monotonic clock, and the one poll loop of every sd_poll_*
 *   credentials.c the per-user credentials files: where a store of this user left its password
 *   conn.c        one connection: connect, AUTH, buffered reads, raw bulk reads, writev, reply deadlines
 *   cluster.c     CRC16 slots, the hash tag, nodes, the slot map, MOVED/ASK parsing
 *   exec.c        the one exec loop: route, send, read, redirects, TRYAGAIN, resends, error replies
 *   runs.c        runs: the writer identity, begin, heartbeat, end, the current run of a group read
 *   keys.c        names and key prefixes (with their runs): the keys of tensors, lists and datasets, the
 *                 fallbacks of reads (plain key, a run begun since, "q.rest" in group q's run)
 *   tensors.c     put/get/unpack/delete/copy/rename/exists/poll of tensors
 *   dataset.c     the in-memory dataset object
 *   dataset_io.c  datasets in the store: put, get, delete, copy, rename, exists, poll
 *   lists.c       aggregation lists: append, length, polls, ranges of datasets, copy, rename, delete
 *   requests.c    run_model / run_script
 *   models.c      stored models and scripts: set (from bytes or a file), fetch, exists, poll, delete
 *   admin.c       server commands of one node: INFO, CLUSTER INFO, CONFIG GET/SET, FLUSHDB, SAVE
 *   client.c      the context: options, environment, create/free, data source, which names get prefixes
 */
#ifndef SD_INTERNAL_H
#define SD_INTERNAL_H

#include "simdask.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <hiredis/hiredis.h>

#define SD_HIDDEN __attribute__((visibility("hidden")))

#define SD_ERRSTR_LEN 1024
#define SD_CHUNK_THRESHOLD ((size_t)8 << 20) /* data above this are chunked */
#define SD_CHUNK_BYTES ((size_t)4 << 20)
#define SD_FIXED_HEADER 16
#define SD_ALIGN 64
#define SD_CHUNK_REF 32
#define SD_FLAG_CHUNKED 0x01
#define SD_NSLOTS 16384
#define SD_MAX_REDIRECTS 8
#define SD_MAX_NAME 65536
/* A chunked head names at most this many chunks (the cleanup script of
 * scripts.c removes no more, and writers never write more) of at most
 * SD_MAX_CHUNK_BYTES each (values over 512 MB hit the server's limit). */
#define SD_MAX_CHUNKS ((uint32_t)1 << 20)
#define SD_MAX_CHUNK_BYTES ((uint64_t)512 << 20)
/* attrs JSON nests at most this deep (an object holding an array is 2). */
#define SD_MAX_JSON_DEPTH 64
/* A tensor's description gives at most this many coordinates (Python's wire.MAX_COORDS). */
#define SD_MAX_COORDS 256
/* Largest header before the data: fixed part, 32 dims, no attrs, padded. */
#define SD_MAX_PLAIN_HEAD (((SD_FIXED_HEADER + 8 * SD_MAX_NDIM + SD_ALIGN - 1) / SD_ALIGN) * SD_ALIGN)

/* The prologue of every public function that takes a client or a dataset
 * (both keep err and errstr): refuse NULL, forget the last error, refuse a
 * client that only holds the message of its failed creation (sd__usable). */
#define SD_ENTER(obj)                                 \
    do {                                              \
        if (!(obj)) return SD_ERR_ARG;                \
        (obj)->err = SD_OK;                           \
        (obj)->errstr[0] = '\0';                      \
        if (sd__usable(obj) != SD_OK) return SD_ERR_ARG; \
    } while (0)

/* ---- wire.c --------------------------------------------------------------- */

typedef struct sd_tinfo {
    int dtype;
    int order;
    size_t ndim;
    uint64_t shape[SD_MAX_NDIM];
    uint32_t attrs_len;
    uint32_t data_offset;
    int chunked;
    size_t nbytes; /* data bytes */
} sd_tinfo;

typedef struct sd_chunkref {
    uint32_t n_chunks;
    uint64_t chunk_bytes;
    unsigned char generation[16];
} sd_chunkref;

SD_HIDDEN size_t sd__itemsize(int dtype);
SD_HIDDEN const char *sd__dtype_str(int dtype);
/* prod(shape) * itemsize, 0 on success, -1 when the product of the shape's
 * non-zero dims times itemsize passes INT64_MAX (so a zero-size shape with
 * huge dims is refused too, as numpy refuses it). */
SD_HIDDEN int sd__nbytes(size_t ndim, const uint64_t *shape, size_t itemsize, size_t *out);
SD_HIDDEN int sd__nbytes_sz(size_t ndim, const size_t *shape, size_t itemsize, size_t *out);
/* data_offset of a header with no attrs. */
SD_HIDDEN uint32_t sd__plain_data_offset(size_t ndim);
/* Writes the header (fixed part, shape, zero padding) into out[data_offset]. */
SD_HIDDEN void sd__encode_header(unsigned char *out, int dtype, int order, size_t ndim,
                                 const size_t *shape, int chunked);
/* data_offset of a header with attrs_len bytes of attrs, and that header:
 * fixed part, shape, the attrs JSON, zero padding, in out[0, data_offset). */
SD_HIDDEN uint32_t sd__data_offset(size_t ndim, size_t attrs_len);
SD_HIDDEN void sd__encode_header_attrs(unsigned char *out, int dtype, int order, size_t ndim, const size_t *shape,
                                       int chunked, const char *attrs, uint32_t attrs_len);
SD_HIDDEN void sd__encode_chunkref(unsigned char *out, const sd_chunkref *ref);
/* Validates the fixed 16 bytes; fills dtype, order, ndim, flags, attrs_len,
 * data_offset. why gets a message naming `key` on failure (returns -1). */
SD_HIDDEN int sd__decode_fixed(const unsigned char *h, sd_tinfo *t, const char *key, char *why, size_t n);
/* Reads the shape after the fixed header, validates data_offset against it,
 * computes nbytes. */
SD_HIDDEN int sd__decode_shape(const unsigned char *s, sd_tinfo *t, const char *key, char *why, size_t n);
/* Checks the value length against the header. */
SD_HIDDEN int sd__check_length(const sd_tinfo *t, uint64_t len, const char *key, char *why, size_t n);
/* Validates the chunk reference: reserved word 0, 0 < chunk_bytes <=
 * SD_MAX_CHUNK_BYTES, n_chunks = ceil(nbytes / chunk_bytes) <= SD_MAX_CHUNKS. */
SD_HIDDEN int sd__decode_chunkref(const unsigned char *r, const sd_tinfo *t, sd_chunkref *ref,
                                  const char *key, char *why, size_t n);
/* Bool elements must be 0 or 1 (numpy would read any other byte as true). */
SD_HIDDEN int sd__check_bools(const unsigned char *data, size_t n, const char *key, char *why, size_t nwhy);
/* Decodes a whole plain-form blob in memory (metadata scalars). */
SD_HIDDEN int sd__decode_blob(const unsigned char *v, size_t len, sd_tinfo *t, const unsigned char **data,
                              const char *key, char *why, size_t n);
/* Copies an array between C and F layouts of the same logical shape. */
SD_HIDDEN void sd__relayout(void *dst, const void *src, size_t itemsize, size_t ndim, const size_t *shape,
                            int dst_order);
SD_HIDDEN void sd__format_shape(char *out, size_t n, size_t ndim, const uint64_t *shape);
SD_HIDDEN void sd__format_shape_sz(char *out, size_t n, size_t ndim, const size_t *shape);
SD_HIDDEN int sd__random_bytes(unsigned char *out, size_t n);
SD_HIDDEN void sd__hex(char *out, const unsigned char *in, size_t n); /* out: 2n+1 chars */

/* ---- json.c --------------------------------------------------------------- */

typedef struct sd_strv {
    char **v;
    size_t n, cap;
} sd_strv;

SD_HIDDEN int sd__strv_push(sd_strv *sv, const char *s, size_t len);
SD_HIDDEN void sd__strv_free(sd_strv *sv);
/* Appends the JSON array of the strings to *out (malloc'ed, NUL-terminated). */
SD_HIDDEN int sd__json_encode_strings(char *const *v, size_t n, char **out, size_t *outlen);
/* Parses a JSON array of strings; -1 on malformed input, -2 out of memory. */
SD_HIDDEN int sd__json_decode_strings(const char *s, size_t len, sd_strv *out);
/* Validates a tensor's attrs as Python's reader does (json.loads, then the
 * checks of wire._decode_attrs): UTF-8 JSON, an object, "dims" a list of
 * ndim strings and "attrs" an object where present; nesting at most
 * SD_MAX_JSON_DEPTH. -1 with the reason in why (no key: the caller's). */
SD_HIDDEN int sd__json_check_attrs(const char *s, size_t len, size_t ndim, char *why, size_t n);
/* sd__json_check_attrs and the checks of a description that need the
 * tensor's shape (docs/protocol.md, "Describing a tensor"): "coords" and
 * "block" as wire._decode_attrs checks them. */
SD_HIDDEN int sd__json_check_description(const char *s, size_t len, size_t ndim, const uint64_t *shape, char *why,
                                         size_t n);

/* A growing NUL-terminated text (JSON being written); oom: an allocation
 * failed and the text is incomplete. Start from {0}; free(p). */
typedef struct sd_text {
    char *p;
    size_t len, cap;
    int oom;
} sd_text;

SD_HIDDEN void sd__text_put(sd_text *t, const char *s, size_t n);
/* Appends s as a JSON string: quoted, with what JSON requires escaped. */
SD_HIDDEN void sd__json_put_string(sd_text *t, const char *s);

/* ---- meta.c --------------------------------------------------------------- */

/* The description as attrs JSON (docs/protocol.md, "Describing a tensor"),
 * after checking it against the tensor: dims one per dimension, each list
 * coordinate along a dimension and as long, each scalar one not named like a
 * dimension, the block ndim-d with the tensor inside it. -1: the reason in
 * why; -2: out of memory. *json is malloc'ed (NULL with *len 0 when the
 * description is empty). */
SD_HIDDEN int sd__meta_json(const sd_tensor_meta *m, size_t ndim, const size_t *shape, char **json, size_t *len,
                            char *why, size_t n);

/* ---- scripts.c ------------------------------------------------------------ */

SD_HIDDEN extern const char sd__cleanup_script[];
SD_HIDDEN extern const size_t sd__cleanup_script_len;
SD_HIDDEN extern const char sd__begin_run_script[];
SD_HIDDEN extern const size_t sd__begin_run_script_len;
SD_HIDDEN extern const char sd__end_run_script[];
SD_HIDDEN extern const size_t sd__end_run_script_len;
SD_HIDDEN extern const char sd__submit_script[];
SD_HIDDEN extern const size_t sd__submit_script_len;

/* ---- command.c ------------------------------------------------------------ */

typedef struct sd_seg {
    const void *ext; /* NULL: bytes at buf[off] */
    size_t off, len;
} sd_seg;

/* A pipeline of commands being built. */
typedef struct sd_pipe {
    char *buf;
    size_t len, cap;
    sd_seg *segs;
    size_t nsegs, capsegs;
    size_t ncmds;  /* replies to expect */
    int asking;    /* an -ASK is being followed: ASKING goes before each command or MULTI block */
    int in_multi;
    int oom;
} sd_pipe;

SD_HIDDEN void sd__pipe_reset(sd_pipe *p, int asking);
SD_HIDDEN void sd__pipe_free(sd_pipe *p);
SD_HIDDEN void sd__pipe_begin(sd_pipe *p, size_t argc);
SD_HIDDEN void sd__pipe_arg(sd_pipe *p, const void *s, size_t len);
SD_HIDDEN void sd__pipe_argz(sd_pipe *p, const char *s);
/* An argument made of several parts: begin(total), part()/part_ext()..., end(). */
SD_HIDDEN void sd__pipe_arg_begin(sd_pipe *p, size_t total);
SD_HIDDEN void sd__pipe_part(sd_pipe *p, const void *s, size_t len);
SD_HIDDEN void sd__pipe_part_ext(sd_pipe *p, const void *s, size_t len); /* not copied */
SD_HIDDEN void sd__pipe_arg_end(sd_pipe *p);
SD_HIDDEN void sd__pipe_cmd(sd_pipe *p, int argc, const char *const *argv, const size_t *lens);
/* MULTI and EXEC around a transaction (while asking, one ASKING before MULTI). */
SD_HIDDEN void sd__pipe_multi(sd_pipe *p);
SD_HIDDEN void sd__pipe_exec(sd_pipe *p);

/* ---- error.c -------------------------------------------------------------- */

SD_HIDDEN int sd__fail(sd_client *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Appends to the client's message what the failed call was about: " (reading tensor 'u')". */
SD_HIDDEN void sd__fail_context(sd_client *c, const char *doing, const char *name);
SD_HIDDEN int sd__ds_fail(sd_dataset *ds, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
SD_HIDDEN void sd__clear(sd_client *c);
/* Whether a server error reply is `prefix` or starts with `prefix` and a space. */
SD_HIDDEN int sd__reply_is(const char *reply, const char *prefix);
/* The status of a server error reply: the first match in error.c's table, else SD_ERR_STORE. */
SD_HIDDEN int sd__reply_status(const char *reply);
/* Fails with the reply's status: "the store refused <doing> '<name>': <reply>". */
SD_HIDDEN int sd__fail_reply(sd_client *c, const char *doing, const char *name, const char *reply);

/* ---- poll.c --------------------------------------------------------------- */

SD_HIDDEN void sd__sleep_ms(int ms);
/* Monotonic clock in ms: deadlines are points on it. */
SD_HIDDEN int64_t sd__now_ms(void);
/* One try of a poll: *hit = 1 when the condition holds. */
typedef int (*sd_check_fn)(sd_client *c, void *ctx, int *hit);
/* Checks up to `tries` times, `interval_ms` apart; *reached: whether a check hit. */
SD_HIDDEN int sd__poll(sd_client *c, int interval_ms, int tries, sd_check_fn check, void *ctx, int *reached);

/* ---- credentials.c -------------------------------------------------------- */

/* The password of the store server at label (host:port, [v6]:port or
 * unix:///path, as sd_node labels are; host NULL for a Unix socket) from
 * this user's credentials file of that address: 1 found (*password and *path
 * malloc'ed), 0 none, -1 out of memory. A file skipped as untrustworthy (a
 * symlink, another user's, readable or writable by others) leaves the reason
 * in *note (malloc'ed) unless a note is there already. */
SD_HIDDEN int sd__credentials_read(const char *host, const char *label, char **password, char **path, char **note);

/* ---- conn.c --------------------------------------------------------------- */

typedef struct sd_conn {
    int fd; /* -1: closed */
    redisContext *rc;
    redisReader *reader;
    char *rbuf;
    size_t rpos, rlen, rcap;
    pid_t pid;  /* process that opened it: a forked child reconnects */
    size_t pending; /* replies sent for but not read: reconnect if an error left some */
    int64_t deadline; /* the reply being read must be complete by then (sd__now_ms; 0: no limit) */
    int rcv_ms;       /* SO_RCVTIMEO as last set (0: none) */
} sd_conn;

typedef struct sd_node {
    char *host; /* NULL for a Unix socket */
    int port;
    char *path; /* Unix socket path or NULL */
    char *label; /* host:port or unix:///path, for messages */
    sd_conn conn;
} sd_node;

SD_HIDDEN void sd__conn_init(sd_conn *k);
SD_HIDDEN void sd__conn_close(sd_conn *k);
/* Opens the node's connection if closed (or opened by a parent process, or
 * left with unread replies, or closed by the store meanwhile), sending AUTH
 * when the client has a password. reuse_only: fail (unsent) rather than open
 * a new connection where the old one is gone. */
SD_HIDDEN int sd__conn_ready(sd_client *c, sd_node *n, int reuse_only);
/* Sends the pipeline in one writev, the caller's payloads included. */
SD_HIDDEN int sd__conn_send(sd_client *c, sd_node *n, const sd_pipe *p);
/* One complete reply through hiredis's reader; *out is freed with freeReplyObject. */
SD_HIDDEN int sd__conn_read_reply(sd_client *c, sd_node *n, redisReply **out);
/* A bulk reply's length (-1: nil) with the payload left unread, or, when the
 * reply is no bulk string, that reply in *other (*len untouched). */
SD_HIDDEN int sd__conn_read_bulk_len(sd_client *c, sd_node *n, long long *len, redisReply **other);
SD_HIDDEN int sd__conn_read_exact(sd_client *c, sd_node *n, void *dst, size_t len);
SD_HIDDEN int sd__conn_skip(sd_client *c, sd_node *n, size_t len);
SD_HIDDEN int sd__conn_crlf(sd_client *c, sd_node *n);

/* ---- cluster.c ------------------------------------------------------------ */

typedef struct sd_redirect {
    int kind; /* 0 none, 1 MOVED, 2 ASK */
    int slot;
    char host[256];
    int port;
} sd_redirect;

/* The key's hash tag (docs/protocol.md): in *tag, the text between the first
 * '{' and the next '}' when non-empty, else the whole key (its slot). Returns
 * 0 when the key has braces but no valid tag: such a key is never chunked. */
SD_HIDDEN int sd__hash_tag(const char *key, size_t len, const char **tag, size_t *taglen);
SD_HIDDEN int sd__parse_redirect(const char *err, size_t len, sd_redirect *r);
SD_HIDDEN int sd__node_add(sd_client *c, const char *host, int port, const char *path, sd_node **out);
SD_HIDDEN void sd__nodes_free(sd_client *c);
/* Standalone or cluster; a cluster's slot map. */
SD_HIDDEN int sd__cluster_discover(sd_client *c);
/* The node that serves key (NULL: the first node). */
SD_HIDDEN int sd__route(sd_client *c, const char *key, sd_node **out);
/* MOVED: update the map; ASK: *ask = the node to ask once. */
SD_HIDDEN int sd__follow_redirect(sd_client *c, const sd_redirect *r, sd_node **ask);

/* ---- exec.c --------------------------------------------------------------- */

/* A bulk reply of a raw request, its payload not yet received. */
typedef struct sd_value {
    sd_node *node;
    long long len; /* -1: nil */
    size_t left;   /* payload bytes not read yet */
    int stop;      /* set by the callback: send no further units (those in flight are read) */
} sd_value;

/* Appends unit i of a request: one command, or a MULTI ... EXEC block. */
typedef void (*sd_build_fn)(sd_pipe *p, const void *ctx, size_t i);
/* Receives the reply to unit i of a raw request; what it leaves unread is
 * drained by exec.c. An error ends the request with it, every reply read. */
typedef int (*sd_value_fn)(sd_client *c, void *ctx, size_t i, sd_value *v);
/* Receives the reply to unit i (one command each) of a parsed request. */
typedef int (*sd_reply_fn)(sd_client *c, void *ctx, size_t i, const redisReply *r);

/* Whether exec.c may send a request again after a dropped connection
 * (docs in exec.c): */
enum sd_resend {
    SD_RESEND_IDEMPOTENT = 0, /* always: doing it twice is doing it once (reads, SET, deletes) */
    SD_RESEND_UNSENT = 1,     /* only if none of it went out: XADD, RPUSH, a blocking pop */
    SD_RESEND_SAME_CONN = 2   /* never on another connection, nor twice: the head of a chunked
                                 write (its chunks are on this connection's server) */
};

/* Commands on the keys of one slot. */
typedef struct sd_request {
    const char *doing;     /* for messages, with name: "reading tensor" */
    const char *name;      /* the key or name it is about: "reading tensor 'u'" */
    const char *route_key; /* its slot's key; NULL: the first node */
    sd_node *node;         /* when set: this node, whatever the slots (admin.c's server commands) */
    size_t n;              /* units */
    sd_build_fn build;
    void *ctx;             /* build's and the callbacks' */
    sd_value_fn value;     /* NULL: replies parsed by hiredis; else raw: each unit one command */
    sd_reply_fn on_reply;  /* parsed replies, when set: each unit one command */
    void (*restart)(void *ctx); /* before each try (a resend, a redirect): the callbacks start over */
    size_t window;         /* raw: units in flight at most (0: all) */
    int resend;            /* enum sd_resend */
    int long_wait;         /* a blocking command: only `deadline` bounds its reply, not io_timeout_ms */
    int64_t deadline;      /* sd__now_ms(): nothing of the request waits past it, nor is retried (0: none) */
    int keep_last;         /* keep the last reply in `reply` (freed with freeReplyObject) */
    redisReply *reply;
    int unsent;            /* out: it failed before any of it went out */
} sd_request;

SD_HIDDEN int sd__exec(sd_client *c, sd_request *rq);
/* One command as argv (lens NULL: NUL-terminated arguments), built by sd__build_argv. */
typedef struct sd_argv {
    int argc;
    const char *const *argv;
    const size_t *lens;
} sd_argv;
SD_HIDDEN void sd__build_argv(sd_pipe *p, const void *ctx, size_t i);
/* One idempotent command (sent again after a dropped connection) on key's
 * node (NULL: the first node); *out, when not NULL, gets its reply. */
SD_HIDDEN int sd__exec_command(sd_client *c, const char *doing, const char *key, int argc,
                               const char *const *argv, const size_t *lens, redisReply **out);
/* Receive from a raw reply's payload: len bytes into dst, or skipped. */
SD_HIDDEN int sd__value_read(sd_client *c, sd_value *v, void *dst, size_t len);
SD_HIDDEN int sd__value_skip(sd_client *c, sd_value *v, size_t len);

/* ---- runs.c --------------------------------------------------------------- */

/* The run this client writes in (docs/protocol.md, "Runs"). */
typedef struct sd_run {
    char *env_id;      /* the environment's run id (rules 1-3); NULL: none */
    int env_writer, env_writers; /* the environment's writer and writers (also sd_begin_run's for < 0) */
    char *id;          /* the run id of the run begun or pending; NULL: none */
    int writer, writers;
    int pending;       /* an environment run not begun yet: the first write (or sd_end_run) begins it */
    long long number;  /* the run begun (0: none yet) */
    int ended;         /* sd_end_run has ended this writer's part */
    pid_t pid;         /* the process that began it: a forked child does not end it */
    int64_t beat_ms;   /* sd__now_ms of the last heartbeat */
    char *registry;    /* "simdask:{runs:P}" of the write prefix P */
    char *prefix;      /* "P@n" once begun */
    char *source;      /* the read prefix with its resolved run ("Q@m" or "Q"); NULL: not resolved yet */
    char **groups;     /* the other groups read (keys.c's "q.rest" fallback), each resolved: "q@m" or "q" */
    size_t n_groups;
} sd_run;

/* At creation, after the prefixes: the writer identity from the environment
 * (no I/O; SD_ERR_ARG naming a variable that does not parse). */
SD_HIDDEN int sd__run_init(sd_client *c, int launcher_runs);
/* The prefix keys are built with: write = 1 the write prefix with its run
 * (beginning a pending run, beating the heartbeat when due), 0 the read
 * prefix with its run (the client's own run for its own group once begun,
 * else the group's current run, resolved once; never beginning a run).
 * *prefix lives in the client. */
SD_HIDDEN int sd__run_prefix(sd_client *c, int write, const char **prefix);
/* The prefix reads of `group` use (the client's own run for its own group
 * once begun, else the group's run as resolved for reads, kept per group),
 * looking up the group's current run again when it had none: a run begun
 * since is then kept (for the read prefix: all its reads use it). Only a
 * read that found nothing calls it (keys.c). *prefix lives in the client. */
SD_HIDDEN int sd__run_refresh(sd_client *c, const char *group, const char **prefix);
/* The read prefix changed (sd_set_data_source): resolve its run again. */
SD_HIDDEN void sd__run_forget_source(sd_client *c);
/* sd_client_free: ends the run this process began and has not ended; frees. */
SD_HIDDEN void sd__run_free(sd_client *c);

/* ---- requests.c ----------------------------------------------------------- */

/* At creation: the keys of this client's node for run requests (docs/protocol.md, "Run requests") from
 * `node` (sd_options.node: NULL reads SIMDASK_NODE, else the host name up to its first dot; "": none). */
SD_HIDDEN int sd__requests_init(sd_client *c, const char *node);

/* ---- keys.c --------------------------------------------------------------- */

/* Checks a user-given name; `what` names it in the message ("tensor name"). */
SD_HIDDEN int sd__check_name(sd_client *c, const char *what, const char *name);
/* prefix "." name, malloc'ed, after checking the name (`what` names it in
 * messages); write = 1: the write prefix with its run (writes and deletes:
 * this may begin the run, and beats its heartbeat), 0: the read prefix with
 * the run resolved for it (runs.c). */
SD_HIDDEN int sd__key(sd_client *c, const char *what, int write, const char *name, char **out);
/* sd__key of an aggregation list's name (sd__key is a tensor's): each kind
 * has the prefix only while sd_use_*_prefix leaves it on. */
SD_HIDDEN int sd__list_key(sd_client *c, int write, const char *name, char **out);
/* The name models and scripts are stored and run under: "prefix.name" (the
 * write prefix when write, else the read prefix; no run) when
 * sd_use_model_prefix is on, else the name; `what` names it in messages. */
SD_HIDDEN int sd__model_name(sd_client *c, const char *what, int write, const char *name, char **out);
/* A dataset's key base "prefix.{name}" (the name checked, braces refused). */
SD_HIDDEN int sd__dataset_base(sd_client *c, int write, const char *name, char **out);
/* base "." part: a dataset's hash (part "meta") and its tensors' keys. */
SD_HIDDEN int sd__dataset_key(sd_client *c, const char *base, const char *part, char **out);

/* What a read looks at (docs/protocol.md "Runs"): `key` (malloc'ed, freed
 * with sd__rkey_free), the name with the read prefix and its run, and what
 * it was built from. A read that finds nothing at `key` looks next, in
 * order, at: the plain key (the name without the run) when `key` is
 * run-scoped, so keys written outside any run show in every run; else the
 * read group's run begun since it had none (kept from then on); and for a
 * tensor or list name "q.rest" (q non-empty, without any of "{},@"),
 * "q@m.rest" when writer group q has run m (SmartSim's name of another
 * member's tensor).
 * Each costs a round trip on a miss only. */
typedef struct sd_rkey {
    char *key;
    const char *what, *name, *open, *close; /* the caller's name; open/close: "{" "}" for a dataset */
    int scoped;                              /* key's prefix has a run */
    int unprefixed;                          /* the kind's prefix is off (sd_use_*_prefix): the bare name */
} sd_rkey;
/* sd__key's read key (write = 0) with its fallback. */
SD_HIDDEN int sd__read_key(sd_client *c, const char *what, const char *name, sd_rkey *k);
/* sd__list_key's read key (write = 0) with its fallback. */
SD_HIDDEN int sd__list_read_key(sd_client *c, const char *name, sd_rkey *k);
/* sd__dataset_base's read key base with its fallback. */
SD_HIDDEN int sd__dataset_read_base(sd_client *c, const char *name, sd_rkey *k);
SD_HIDDEN void sd__rkey_free(sd_rkey *k);
/* A read of one key (ctx: the call's); SD_ERR_NOT_FOUND when nothing is there. */
typedef int (*sd_read_fn)(sd_client *c, const char *key, void *ctx);
/* read(k->key), then the fallbacks in turn while they find nothing; a miss
 * of all names every key ("... (nor at 'p.x', 'q@1.x')"). */
SD_HIDDEN int sd__read_fallback(sd_client *c, const sd_rkey *k, sd_read_fn read, void *ctx);
/* An sd_check_fn (ctx: an sd_fallback_check) for exists and poll: check at
 * k->key, then at the fallbacks in turn; after a miss k->key is built again
 * (a poll's next try starts from a run the fallbacks found). */
typedef struct sd_fallback_check {
    sd_check_fn check; /* ctx: the key */
    sd_rkey *k;
} sd_fallback_check;
SD_HIDDEN int sd__check_fallback(sd_client *c, void *ctx, int *hit);

/* ---- tensors.c ------------------------------------------------------------ */

/* A tensor to write: the head (header, or header + chunk reference) and a
 * pointer to the caller's data. */
typedef struct sd_twrite {
    const char *key;
    size_t keylen;
    unsigned char head[SD_MAX_PLAIN_HEAD + SD_CHUNK_REF];
    unsigned char *long_head; /* the head instead, when attrs make it longer (malloc'ed: sd__twrite_free) */
    size_t headlen; /* header up to data_offset, plus the chunk reference when chunked */
    const void *data;
    size_t nbytes;
    int chunked;
    int has_tag; /* a chunk prefix exists (cleanup transaction instead of plain SET) */
    sd_chunkref ref;
    const char *tag; /* inside key: the chunk keys' hash tag */
    size_t taglen;
    char genhex[33];
} sd_twrite;

SD_HIDDEN int sd__twrite_init(sd_client *c, sd_twrite *tw, const char *key, const void *data, int dtype,
                              size_t ndim, const size_t *shape, int order);
/* sd__twrite_init with attrs JSON (attrs_len bytes, 0: none) in the header;
 * free the result with sd__twrite_free, also after a failure. */
SD_HIDDEN int sd__twrite_init_attrs(sd_client *c, sd_twrite *tw, const char *key, const void *data, int dtype,
                                    size_t ndim, const size_t *shape, int order, const char *attrs,
                                    size_t attrs_len);
SD_HIDDEN void sd__twrite_free(sd_twrite *tw);
/* Writes n tensors of one shard: the chunks of the chunked ones in one
 * pipeline (routed by head->route_key; removed again when the store refuses
 * one), then `head`, the request that writes their heads. Sets head->resend:
 * after chunks, the head goes on their connection only; if that was lost
 * first, the whole write goes again (tensors.c). */
SD_HIDDEN int sd__write_tensors(sd_client *c, sd_twrite *tw, size_t n, sd_request *head);
/* Appends the cleanup EVAL and the head SET (inside a MULTI the caller opened). */
SD_HIDDEN void sd__pipe_head(sd_pipe *p, const sd_twrite *tw);
/* Appends the cleanup EVAL and UNLINK key (inside a MULTI the caller opened). */
SD_HIDDEN void sd__pipe_unlink_tensor(sd_pipe *p, const char *key, size_t keylen);
/* sd_request builders of one tensor: its head write (ctx: an sd_twrite) and its delete (ctx: the key),
 * each in a transaction with the cleanup of its chunks when the key has a chunk prefix. */
SD_HIDDEN void sd__build_head(sd_pipe *p, const void *ctx, size_t i);
SD_HIDDEN void sd__build_delete(sd_pipe *p, const void *ctx, size_t i);

/* Where sd__tensor_read puts the data once the header is known: set *dst
 * (nbytes of room) or return an error (the value is then skipped). */
typedef int (*sd_dest_fn)(sd_client *c, void *ctx, const char *key, const sd_tinfo *t, void **dst);
SD_HIDDEN int sd__tensor_read(sd_client *c, const char *key, sd_dest_fn dest, void *ctx, sd_tinfo *t);
/* Destination that mallocs: ctx is an sd_alloc_dest. */
typedef struct sd_alloc_dest {
    void *buf;
} sd_alloc_dest;
SD_HIDDEN int sd__dest_alloc(sd_client *c, void *ctx, const char *key, const sd_tinfo *t, void **dst);

/* ---- dataset.c ------------------------------------------------------------ */

typedef struct sd_dtensor {
    char *name;
    int dtype, order;
    size_t ndim;
    size_t shape[SD_MAX_NDIM];
    void *data;
    size_t nbytes;
} sd_dtensor;

typedef struct sd_meta {
    char *name;
    int is_string;
    int dtype;          /* scalars */
    unsigned char *values;
    size_t count, cap;  /* scalars: elements; strings: entries of strings */
    sd_strv strings;
} sd_meta;

struct sd_dataset {
    char *name;
    int err;
    char errstr[512];
    sd_dtensor *tensors;
    size_t nt, capt;
    sd_meta *meta;
    size_t nm, capm;
    const char **scratch; /* name arrays handed out */
};

SD_HIDDEN sd_dtensor *sd__ds_find_tensor(const sd_dataset *ds, const char *name);
/* Takes ownership of data (malloc'ed). */
SD_HIDDEN int sd__ds_adopt_tensor(sd_dataset *ds, const char *name, void *data, const sd_tinfo *t);
SD_HIDDEN int sd__ds_add_meta_field(sd_dataset *ds, const char *name, int is_string, sd_meta **out);
SD_HIDDEN int sd__ds_meta_append(sd_dataset *ds, sd_meta *m, const void *values, size_t count);

/* ---- dataset_io.c --------------------------------------------------------- */

/* Reads the dataset whose keys start with base ("p.{ds}"), named after its tag. */
SD_HIDDEN int sd__dataset_read(sd_client *c, const char *base, sd_dataset **out);

/* ---- client.c ------------------------------------------------------------- */

struct sd_client {
    int deletes_from_source; /* sd_options.deletes_from_source */
    int err;
    char errstr[SD_ERRSTR_LEN];
    int conn_lost;     /* the last failure was a connection lost or refused (conn.c): a new one may cure it */
    int reply_ms;      /* what the request under way allows each reply (0: no limit) ... */
    int64_t until;     /* ... and the point nothing of it waits past (0: none); exec.c sets both (and a run
                          request its deadline while it builds its keys, for the run lookups of runs.c) */
    char *password;        /* "" when none */
    char *password_file;   /* the credentials file password came from (NULL: given or SIMDASK_PASSWORD) */
    char *credentials_note; /* why a credentials file was skipped, for an authentication error (NULL: none) */
    char *write_prefix; /* "" when none */
    char *read_prefix;
    sd_strv prefixes_in;
    int use_tensor_prefix, use_dataset_prefix, use_list_prefix, use_model_prefix; /* sd_use_*_prefix */
    int connect_timeout_ms, io_timeout_ms, run_timeout_ms;
    int run_lease_ms;  /* a writer's heartbeat lasts this long (runs.c) */
    char *node_loops, *node_stream; /* the keys of this client's node for run requests (NULL: no node, requests.c) */
    sd_run run;
    int cluster;
    sd_node **nodes;
    size_t n_nodes, cap_nodes;
    int16_t *slots; /* SD_NSLOTS node indexes, -1 unknown (cluster only) */
    sd_pipe pipe;   /* scratch for the current request */
};

/* Whether SD_ENTER's client can be used: one whose sd_client_new failed on
 * its options or address has no store node and fails every call saying so
 * (one that could not connect has its nodes, and connects again). */
static inline int sd__client_usable(sd_client *c)
{
    if (c->n_nodes) return SD_OK;
    return sd__fail(c, SD_ERR_ARG, "this client has no store address: its sd_client_new failed (free it with "
                    "sd_client_free, then create another)");
}

static inline int sd__always_usable(const void *obj)
{
    (void)obj;
    return SD_OK;
}

#define sd__usable(obj) _Generic((obj), sd_client *: sd__client_usable, default: sd__always_usable)(obj)

#endif /* SD_INTERNAL_H */
