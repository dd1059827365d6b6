/*
 * sd_internal.h: what libsimdask's modules share. Not installed.
 *
 *   wire.c     tensor blob header, chunk reference, dtypes, relayout
 *   json.c     JSON arrays of strings (tensor names, metadata strings, keys)
 *   conn.c     one connection: connect, AUTH, buffered reads, raw bulk reads, writev
 *   pipe.c     building pipelined RESP commands whose payload stays in the caller's memory
 *   cluster.c  CRC16 slots, hash tags, the slot map, MOVED/ASK
 *   client.c   the context: options, environment, errors, prefixes, generic commands
 *   tensor.c   put/get/unpack/delete/exists/poll of tensors
 *   dataset.c  the in-memory dataset object
 *   dstore.c   datasets and aggregation lists in the store
 *   request.c  run_model / run_script
 *   scripts.c  the Lua cleanup script (byte-identical to the Python client's)
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
/* Largest header before the data: fixed part, 32 dims, no attrs, padded. */
#define SD_MAX_PLAIN_HEAD (((SD_FIXED_HEADER + 8 * SD_MAX_NDIM + SD_ALIGN - 1) / SD_ALIGN) * SD_ALIGN)

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
/* prod(shape) * itemsize, 0 on success, -1 on overflow. */
SD_HIDDEN int sd__nbytes(size_t ndim, const uint64_t *shape, size_t itemsize, size_t *out);
SD_HIDDEN int sd__nbytes_sz(size_t ndim, const size_t *shape, size_t itemsize, size_t *out);
/* data_offset of a header with no attrs. */
SD_HIDDEN uint32_t sd__plain_data_offset(size_t ndim);
/* Writes the header (fixed part, shape, zero padding) into out[data_offset]. */
SD_HIDDEN void sd__encode_header(unsigned char *out, int dtype, int order, size_t ndim,
                                 const size_t *shape, int chunked);
SD_HIDDEN void sd__encode_chunkref(unsigned char *out, const sd_chunkref *ref);
/* Validates the fixed 16 bytes; fills dtype, order, ndim, flags, attrs_len,
 * data_offset. why gets a message naming `key` on failure (returns -1). */
SD_HIDDEN int sd__decode_fixed(const unsigned char *h, sd_tinfo *t, const char *key, char *why, size_t n);
/* Reads the shape after the fixed header, validates data_offset against it,
 * computes nbytes. */
SD_HIDDEN int sd__decode_shape(const unsigned char *s, sd_tinfo *t, const char *key, char *why, size_t n);
/* Checks the value length against the header. */
SD_HIDDEN int sd__check_length(const sd_tinfo *t, uint64_t len, const char *key, char *why, size_t n);
SD_HIDDEN int sd__decode_chunkref(const unsigned char *r, const sd_tinfo *t, sd_chunkref *ref,
                                  const char *key, char *why, size_t n);
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

/* ---- conn.c --------------------------------------------------------------- */

typedef struct sd_conn {
    int fd; /* -1: closed */
    redisContext *rc;
    redisReader *reader;
    char *rbuf;
    size_t rpos, rlen, rcap;
    pid_t pid;  /* process that opened it: a forked child reconnects */
    size_t pending; /* replies sent for but not read: reconnect if an error left some */
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
 * left with unread replies). */
SD_HIDDEN int sd__conn_ready(sd_client *c, sd_node *n);
SD_HIDDEN int sd__conn_writev(sd_client *c, sd_node *n, struct iovec *iov, int cnt);
/* One complete reply through hiredis's reader; *out is freed with freeReplyObject. */
SD_HIDDEN int sd__conn_read_reply(sd_client *c, sd_node *n, redisReply **out);
/* A bulk reply's length (-1: nil) with the payload left unread, or, when the
 * reply is no bulk string, that reply in *other (*len untouched). */
SD_HIDDEN int sd__conn_read_bulk_len(sd_client *c, sd_node *n, long long *len, redisReply **other);
SD_HIDDEN int sd__conn_read_exact(sd_client *c, sd_node *n, void *dst, size_t len);
SD_HIDDEN int sd__conn_skip(sd_client *c, sd_node *n, size_t len);
SD_HIDDEN int sd__conn_crlf(sd_client *c, sd_node *n);
/* Socket receive timeout for the next reads (ms, 0 = none). */
SD_HIDDEN int sd__conn_set_read_timeout(sd_client *c, sd_node *n, int ms);

/* ---- pipe.c --------------------------------------------------------------- */

typedef struct sd_seg {
    const void *ext; /* NULL: bytes at buf[off] */
    size_t off, len;
} sd_seg;

typedef struct sd_pipe {
    char *buf;
    size_t len, cap;
    sd_seg *segs;
    size_t nsegs, capsegs;
    size_t ncmds; /* replies to expect */
    int oom;
} sd_pipe;

SD_HIDDEN void sd__pipe_reset(sd_pipe *p);
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
SD_HIDDEN int sd__pipe_send(sd_client *c, sd_node *n, sd_pipe *p);

/* ---- cluster.c ------------------------------------------------------------ */

typedef struct sd_redirect {
    int kind; /* 0 none, 1 MOVED, 2 ASK */
    int slot;
    char host[256];
    int port;
} sd_redirect;

SD_HIDDEN unsigned sd__key_slot(const char *key, size_t len);
/* The hash tag the chunk keys use (DESIGN.md): 1 with tag and taglen set, 0
 * when the key has braces but no valid tag (never chunked). */
SD_HIDDEN int sd__chunk_tag(const char *key, size_t len, const char **tag, size_t *taglen);
SD_HIDDEN int sd__parse_redirect(const char *err, size_t len, sd_redirect *r);
SD_HIDDEN int sd__cluster_discover(sd_client *c);
SD_HIDDEN int sd__cluster_refresh(sd_client *c, sd_node *prefer);
/* MOVED: update the map; ASK: *ask = the node to ask once. */
SD_HIDDEN int sd__follow_redirect(sd_client *c, const sd_redirect *r, sd_node **ask);
SD_HIDDEN int sd__route(sd_client *c, const char *key, size_t len, sd_node **out);
SD_HIDDEN int sd__node_add(sd_client *c, const char *host, int port, const char *path, sd_node **out);

/* ---- client.c ------------------------------------------------------------- */

struct sd_client {
    int err;
    char errstr[SD_ERRSTR_LEN];
    char *password;
    char *write_prefix; /* "" when none */
    char *read_prefix;
    sd_strv prefixes_in;
    int connect_timeout_ms, io_timeout_ms, run_timeout_ms;
    int cluster;
    sd_node **nodes;
    size_t n_nodes, cap_nodes;
    int16_t *slots; /* SD_NSLOTS node indexes, -1 unknown (cluster only) */
    sd_pipe pipe;   /* scratch for the current command */
};

SD_HIDDEN int sd__fail(sd_client *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
SD_HIDDEN void sd__clear(sd_client *c);
/* Checks a user-given name; `what` names it in the message ("tensor name"). */
SD_HIDDEN int sd__check_name(sd_client *c, const char *what, const char *name);
/* prefix "." name, malloc'ed; write = 1: the write prefix, 0: the read prefix. */
SD_HIDDEN int sd__key(sd_client *c, int write, const char *name, char **out);
/* Dataset key base "prefix.{name}" */
SD_HIDDEN int sd__dataset_base(sd_client *c, int write, const char *name, char **out);
/* One command routed by route_key (NULL: the first node), redirects followed,
 * an error reply turned into a status naming `doing`; *out (if not NULL) gets
 * the reply, to be freed with freeReplyObject. */
SD_HIDDEN int sd__command_ok(sd_client *c, const char *doing, const char *route_key, int argc,
                             const char *const *argv, const size_t *lens, redisReply **out);
SD_HIDDEN int sd__store_error(sd_client *c, const char *doing, const char *msg, size_t len);
SD_HIDDEN void sd__sleep_ms(int ms);

/* Reads n replies, remembering the first redirect and the first other error
 * (including errors inside EXEC's array). */
typedef struct sd_collect {
    sd_redirect redirect;
    int has_error;
    char error[512];
    redisReply *last; /* the last reply, kept when keep_last is set */
    int keep_last;
} sd_collect;
SD_HIDDEN int sd__collect(sd_client *c, sd_node *n, size_t count, sd_collect *col);
/* Builds a pipeline with `build` (asking: put ASKING before each command or
 * MULTI block), sends it to the node of route_key, reads every reply,
 * follows redirects (rebuilding), and turns an error reply into a status
 * naming `doing`. col->last holds the last reply when col->keep_last. */
typedef void (*sd_build_fn)(sd_client *c, sd_pipe *p, void *ctx, int asking);
SD_HIDDEN int sd__run_pipe(sd_client *c, const char *route_key, size_t route_len, const char *doing,
                           sd_build_fn build, void *ctx, sd_collect *col);
SD_HIDDEN void sd__pipe_asking(sd_pipe *p);

/* ---- tensor.c ------------------------------------------------------------- */

/* A tensor to write: the head (header, or header + chunk reference) and a
 * pointer to the caller's data. */
typedef struct sd_twrite {
    const char *key;
    size_t keylen;
    unsigned char head[SD_MAX_PLAIN_HEAD + SD_CHUNK_REF];
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
/* Writes the chunks of the chunked ones among n tensors (one shard, routed
 * by route_key) in one pipeline; on an error reply removes them again. */
SD_HIDDEN int sd__write_chunks(sd_client *c, const sd_twrite *tw, size_t n, const char *route_key, const char *doing);
/* Appends the chunk SETs (each after ASKING when asking). */
SD_HIDDEN void sd__pipe_chunks(sd_pipe *p, const sd_twrite *tw, int asking);
/* Appends the cleanup EVAL and the head SET (inside a MULTI the caller opened). */
SD_HIDDEN void sd__pipe_head(sd_pipe *p, const sd_twrite *tw);
/* Appends MULTI, EVAL cleanup, UNLINK key (for deletes; EXEC is the caller's). */
SD_HIDDEN void sd__pipe_unlink_tensor(sd_pipe *p, const char *key, size_t keylen);

/* Where sd__tensor_read puts the data once the header is known: set *dst
 * (nbytes of room) or return an error (the value is then skipped). */
typedef int (*sd_dest_fn)(sd_client *c, void *ctx, const char *key, const sd_tinfo *t, void **dst);
SD_HIDDEN int sd__tensor_read(sd_client *c, const char *key, sd_dest_fn dest, void *ctx, sd_tinfo *t);
/* Destination that mallocs: ctx is an sd_alloc_dest. */
typedef struct sd_alloc_dest {
    void *buf;
} sd_alloc_dest;
SD_HIDDEN void *sd__alloc_data(size_t n);
SD_HIDDEN int sd__dest_alloc(sd_client *c, void *ctx, const char *key, const sd_tinfo *t, void **dst);
/* dtype/shape check of an unpack request against a stored tensor. */
SD_HIDDEN int sd__check_unpack(sd_client *c, const char *what, const char *key, const sd_tinfo *t,
                               int dtype, size_t ndim, const size_t *shape);

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

SD_HIDDEN int sd__ds_fail(sd_dataset *ds, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
SD_HIDDEN sd_dtensor *sd__ds_find_tensor(const sd_dataset *ds, const char *name);
SD_HIDDEN sd_meta *sd__ds_find_meta(const sd_dataset *ds, const char *name);
/* Takes ownership of data (malloc'ed). */
SD_HIDDEN int sd__ds_adopt_tensor(sd_dataset *ds, const char *name, void *data, const sd_tinfo *t);
SD_HIDDEN int sd__ds_add_meta_field(sd_dataset *ds, const char *name, int is_string, sd_meta **out);
SD_HIDDEN int sd__ds_meta_append(sd_dataset *ds, sd_meta *m, const void *values, size_t count);

/* ---- scripts.c ------------------------------------------------------------ */

SD_HIDDEN extern const char sd__cleanup_script[];
SD_HIDDEN extern const size_t sd__cleanup_script_len;

#endif /* SD_INTERNAL_H */
