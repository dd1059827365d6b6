/*
 * command.c: pipelined RESP commands whose large arguments stay where they are.
 *
 * Small arguments are copied into one buffer; a large argument part (tensor
 * data, a chunk) is recorded as a pointer into the caller's memory, so that
 * conn.c hands the list to sendmsg() as one iovec array: a tensor's bytes go
 * from the caller's array to the socket without a copy, and all chunk SETs
 * of a tensor leave in one go. Building never touches a client or a
 * connection (as hiredis's redisFormatCommandArgv); an allocation failure
 * is remembered in `oom` and reported when the pipeline is sent.
 *
 * While an -ASK redirect is followed (`asking`), every command outside a
 * transaction gets its own ASKING in front, and a MULTI block one in front
 * of MULTI: the server keeps the ASKING flag through a transaction.
 */
#include "sd_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXT_MIN 4096 /* smaller external parts are copied: fewer iovecs */

void sd__pipe_reset(sd_pipe *p, int asking)
{
    p->len = 0;
    p->nsegs = 0;
    p->ncmds = 0;
    p->asking = asking;
    p->in_multi = 0;
    p->oom = 0;
}

void sd__pipe_free(sd_pipe *p)
{
    free(p->buf);
    free(p->segs);
    memset(p, 0, sizeof *p);
}

static sd_seg *new_seg(sd_pipe *p)
{
    if (p->nsegs == p->capsegs) {
        size_t cap = p->capsegs ? 2 * p->capsegs : 16;
        sd_seg *s = realloc(p->segs, cap * sizeof *s);
        if (!s) {
            p->oom = 1;
            return NULL;
        }
        p->segs = s;
        p->capsegs = cap;
    }
    return &p->segs[p->nsegs++];
}

static void put(sd_pipe *p, const void *s, size_t n)
{
    if (p->oom || n == 0) return;
    if (p->len + n > p->cap) {
        size_t cap = p->cap ? p->cap : 1024;
        while (cap < p->len + n) cap *= 2;
        char *b = realloc(p->buf, cap);
        if (!b) {
            p->oom = 1;
            return;
        }
        p->buf = b;
        p->cap = cap;
    }
    memcpy(p->buf + p->len, s, n);
    /* extend the last inline segment when it ends here */
    sd_seg *last = p->nsegs ? &p->segs[p->nsegs - 1] : NULL;
    if (last && !last->ext && last->off + last->len == p->len) {
        last->len += n;
    } else {
        sd_seg *g = new_seg(p);
        if (!g) return;
        g->ext = NULL;
        g->off = p->len;
        g->len = n;
    }
    p->len += n;
}

static void put_len(sd_pipe *p, char type, size_t n)
{
    char tmp[32];
    int w = snprintf(tmp, sizeof tmp, "%c%zu\r\n", type, n);
    put(p, tmp, (size_t)w);
}

void sd__pipe_arg(sd_pipe *p, const void *s, size_t len)
{
    put_len(p, '$', len);
    put(p, s, len);
    put(p, "\r\n", 2);
}

void sd__pipe_begin(sd_pipe *p, size_t argc)
{
    if (p->asking && !p->in_multi) {
        put_len(p, '*', 1);
        sd__pipe_arg(p, "ASKING", 6);
        p->ncmds++;
    }
    put_len(p, '*', argc);
    p->ncmds++;
}

void sd__pipe_argz(sd_pipe *p, const char *s)
{
    sd__pipe_arg(p, s, strlen(s));
}

void sd__pipe_arg_begin(sd_pipe *p, size_t total)
{
    put_len(p, '$', total);
}

void sd__pipe_part(sd_pipe *p, const void *s, size_t len)
{
    put(p, s, len);
}

void sd__pipe_part_ext(sd_pipe *p, const void *s, size_t len)
{
    if (len < EXT_MIN) {
        put(p, s, len);
        return;
    }
    if (p->oom) return;
    sd_seg *g = new_seg(p);
    if (!g) return;
    g->ext = s;
    g->off = 0;
    g->len = len;
}

void sd__pipe_arg_end(sd_pipe *p)
{
    put(p, "\r\n", 2);
}

void sd__pipe_cmd(sd_pipe *p, int argc, const char *const *argv, const size_t *lens)
{
    sd__pipe_begin(p, (size_t)argc);
    for (int i = 0; i < argc; i++) sd__pipe_arg(p, argv[i], lens ? lens[i] : strlen(argv[i]));
}

void sd__pipe_multi(sd_pipe *p)
{
    sd__pipe_begin(p, 1);
    sd__pipe_arg(p, "MULTI", 5);
    p->in_multi = 1;
}

void sd__pipe_exec(sd_pipe *p)
{
    sd__pipe_begin(p, 1);
    sd__pipe_arg(p, "EXEC", 4);
    p->in_multi = 0;
}
