/*
 * json.c: the only JSON simdask's C client needs: arrays of strings
 * (a dataset's tensor names, metadata strings, the key lists of run
 * requests). Writes UTF-8 as is and escapes what JSON requires; reads the
 * full string escape syntax (\uXXXX with surrogate pairs, as Python's json
 * module writes by default).
 */
#include "sd_internal.h"

#include <stdlib.h>
#include <string.h>

int sd__strv_push(sd_strv *sv, const char *s, size_t len)
{
    if (sv->n == sv->cap) {
        size_t cap = sv->cap ? 2 * sv->cap : 8;
        char **v = realloc(sv->v, cap * sizeof *v);
        if (!v) return -1;
        sv->v = v;
        sv->cap = cap;
    }
    char *copy = malloc(len + 1);
    if (!copy) return -1;
    memcpy(copy, s, len);
    copy[len] = '\0';
    sv->v[sv->n++] = copy;
    return 0;
}

void sd__strv_free(sd_strv *sv)
{
    for (size_t i = 0; i < sv->n; i++) free(sv->v[i]);
    free(sv->v);
    sv->v = NULL;
    sv->n = sv->cap = 0;
}

typedef struct {
    char *p;
    size_t len, cap;
    int oom;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n)
{
    if (b->oom) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

int sd__json_encode_strings(char *const *v, size_t n, char **out, size_t *outlen)
{
    static const char hex[] = "0123456789abcdef";
    sbuf b = {0};
    sb_put(&b, "[", 1);
    for (size_t i = 0; i < n; i++) {
        if (i) sb_put(&b, ",", 1);
        sb_put(&b, "\"", 1);
        for (const unsigned char *s = (const unsigned char *)v[i]; *s; s++) {
            char esc[7];
            switch (*s) {
            case '"': sb_put(&b, "\\\"", 2); break;
            case '\\': sb_put(&b, "\\\\", 2); break;
            case '\n': sb_put(&b, "\\n", 2); break;
            case '\r': sb_put(&b, "\\r", 2); break;
            case '\t': sb_put(&b, "\\t", 2); break;
            case '\b': sb_put(&b, "\\b", 2); break;
            case '\f': sb_put(&b, "\\f", 2); break;
            default:
                if (*s < 0x20) {
                    memcpy(esc, "\\u00", 4);
                    esc[4] = hex[*s >> 4];
                    esc[5] = hex[*s & 15];
                    sb_put(&b, esc, 6);
                } else {
                    sb_put(&b, (const char *)s, 1);
                }
            }
        }
        sb_put(&b, "\"", 1);
    }
    sb_put(&b, "]", 1);
    if (b.oom) {
        free(b.p);
        return -2;
    }
    *out = b.p;
    if (outlen) *outlen = b.len;
    return 0;
}

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    return p;
}

static int hex4(const char *p, const char *end, unsigned *out)
{
    unsigned v = 0;
    if (end - p < 4) return -1;
    for (int i = 0; i < 4; i++) {
        char ch = p[i];
        v <<= 4;
        if (ch >= '0' && ch <= '9')
            v |= (unsigned)(ch - '0');
        else if (ch >= 'a' && ch <= 'f')
            v |= (unsigned)(ch - 'a' + 10);
        else if (ch >= 'A' && ch <= 'F')
            v |= (unsigned)(ch - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

static void put_utf8(sbuf *b, unsigned cp)
{
    char u[4];
    if (cp < 0x80) {
        u[0] = (char)cp;
        sb_put(b, u, 1);
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        sb_put(b, u, 2);
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        sb_put(b, u, 3);
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        sb_put(b, u, 4);
    }
}

/* Parses one string starting at the opening quote; *pp moves past it. */
static int parse_string(const char **pp, const char *end, sbuf *b)
{
    const char *p = *pp + 1;
    b->len = 0;
    sb_put(b, "", 0);
    while (p < end && *p != '"') {
        if ((unsigned char)*p < 0x20) return -1;
        if (*p != '\\') {
            const char *q = p;
            while (q < end && *q != '"' && *q != '\\' && (unsigned char)*q >= 0x20) q++;
            sb_put(b, p, (size_t)(q - p));
            p = q;
            continue;
        }
        if (++p >= end) return -1;
        switch (*p) {
        case '"': sb_put(b, "\"", 1); break;
        case '\\': sb_put(b, "\\", 1); break;
        case '/': sb_put(b, "/", 1); break;
        case 'b': sb_put(b, "\b", 1); break;
        case 'f': sb_put(b, "\f", 1); break;
        case 'n': sb_put(b, "\n", 1); break;
        case 'r': sb_put(b, "\r", 1); break;
        case 't': sb_put(b, "\t", 1); break;
        case 'u': {
            unsigned cp, lo;
            if (hex4(p + 1, end, &cp) != 0) return -1;
            p += 4;
            if (cp >= 0xD800 && cp < 0xDC00) {
                if (end - p >= 7 && p[1] == '\\' && p[2] == 'u' && hex4(p + 3, end, &lo) == 0 && lo >= 0xDC00 &&
                    lo < 0xE000) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    p += 6;
                } else {
                    cp = 0xFFFD; /* lone surrogate */
                }
            } else if (cp >= 0xDC00 && cp < 0xE000) {
                cp = 0xFFFD;
            }
            if (cp == 0) return -1; /* no NUL inside C strings */
            put_utf8(b, cp);
            break;
        }
        default: return -1;
        }
        p++;
    }
    if (p >= end) return -1;
    *pp = p + 1;
    return b->oom ? -2 : 0;
}

int sd__json_decode_strings(const char *s, size_t len, sd_strv *out)
{
    const char *p = s, *end = s + len;
    sbuf b = {0};
    int rc = -1;
    p = skip_ws(p, end);
    if (p >= end || *p != '[') goto done;
    p = skip_ws(p + 1, end);
    if (p < end && *p == ']') {
        p++;
    } else {
        for (;;) {
            if (p >= end || *p != '"') goto done;
            int r = parse_string(&p, end, &b);
            if (r != 0) {
                rc = r;
                goto done;
            }
            if (sd__strv_push(out, b.p, b.len) != 0) {
                rc = -2;
                goto done;
            }
            p = skip_ws(p, end);
            if (p < end && *p == ',') {
                p = skip_ws(p + 1, end);
                continue;
            }
            if (p < end && *p == ']') {
                p++;
                break;
            }
            goto done;
        }
    }
    p = skip_ws(p, end);
    rc = p == end ? 0 : -1;
done:
    free(b.p);
    return rc;
}
