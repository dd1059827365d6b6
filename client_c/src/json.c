/*
 * json.c: the only JSON simdask's C client needs: arrays of strings
 * (a dataset's tensor names, metadata strings, the key lists of run
 * requests). Writes UTF-8 as is and escapes what JSON requires; reads the
 * full string escape syntax (\uXXXX with surrogate pairs, as Python's json
 * module writes by default). And a validator for a tensor's attrs, which C
 * does not use but must not pass on when malformed.
 */
#include "sd_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SD_STR_(x) #x
#define SD_STR(x) SD_STR_(x)

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

/* ---- validating a tensor's attrs ----------------------------------------------- */

/* What Python's json.loads takes (so whatever the Python writer writes,
 * NaN and Infinity included), in strictly valid UTF-8, nested at most
 * SD_MAX_JSON_DEPTH deep: a recursive descent that builds nothing. */
typedef struct jcur {
    const unsigned char *p, *start, *end;
    int depth;
    const char *why; /* the first problem found */
} jcur;

/* A value's type ('o'bject, 'a'rray, 's'tring, 'n'ull, 'v' any other), and for
 * an array its length and whether all its elements are strings. */
typedef struct jsum {
    char type;
    size_t count;
    int all_strings;
} jsum;

/* The members of the top-level object that Python's reader looks at (the last one of a name counts, as there). */
typedef struct jtop {
    int has_dims, has_attrs;
    jsum dims, attrs;
} jtop;

static int jvalue(jcur *j, jsum *sum);

static int jfail(jcur *j, const char *why)
{
    if (!j->why) j->why = why;
    return -1;
}

static void jws(jcur *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')) j->p++;
}

static int jliteral(jcur *j, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, word, n) != 0) return jfail(j, "invalid JSON");
    j->p += n;
    return 0;
}

/* One UTF-8 sequence, strictly: no overlong forms, no surrogates, at most U+10FFFF. */
static int jutf8(jcur *j)
{
    static const unsigned MIN[5] = {0, 0, 0x80, 0x800, 0x10000};
    unsigned ch = *j->p, cp;
    size_t n;
    if (ch < 0x80) n = 1, cp = ch;
    else if ((ch & 0xE0) == 0xC0) n = 2, cp = ch & 0x1F;
    else if ((ch & 0xF0) == 0xE0) n = 3, cp = ch & 0x0F;
    else if ((ch & 0xF8) == 0xF0) n = 4, cp = ch & 0x07;
    else return jfail(j, "invalid UTF-8");
    if ((size_t)(j->end - j->p) < n) return jfail(j, "invalid UTF-8");
    for (size_t i = 1; i < n; i++) {
        if ((j->p[i] & 0xC0) != 0x80) return jfail(j, "invalid UTF-8");
        cp = cp << 6 | (j->p[i] & 0x3F);
    }
    if (cp < MIN[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp < 0xE000)) return jfail(j, "invalid UTF-8");
    j->p += n;
    return 0;
}

/* One escape after a backslash; *ascii gets the character when it is ASCII, else 0. */
static int jescape(jcur *j, char *ascii)
{
    static const char SIMPLE[] = "\"\\/bfnrt", MEANS[] = "\"\\/\b\f\n\r\t";
    unsigned cp;
    const char *hit = j->p + 1 < j->end ? memchr(SIMPLE, j->p[1], sizeof SIMPLE - 1) : NULL;
    if (hit) {
        *ascii = MEANS[hit - SIMPLE];
        j->p += 2;
        return 0;
    }
    if (j->p + 1 >= j->end || j->p[1] != 'u' || hex4((const char *)j->p + 2, (const char *)j->end, &cp) != 0)
        return jfail(j, "invalid escape in a string");
    *ascii = cp < 0x80 ? (char)cp : 0; /* lone surrogates pass, as in Python */
    j->p += 6;
    return 0;
}

/* A string from its opening quote. Its text, when short and ASCII, goes to
 * name (NUL-terminated, namecap > 1) so that members can be told apart. */
static int jstring(jcur *j, char *name, size_t namecap)
{
    size_t len = 0;
    int plain = 1; /* the text so far fits name */
    j->p++;
    for (;;) {
        char ascii = 0;
        if (j->p >= j->end) return jfail(j, "unterminated string");
        if (*j->p == '"') break;
        if (*j->p < 0x20) return jfail(j, "control character in a string");
        if (*j->p == '\\') {
            if (jescape(j, &ascii) != 0) return -1;
        } else {
            ascii = *j->p < 0x80 ? (char)*j->p : 0;
            if (jutf8(j) != 0) return -1;
        }
        plain = plain && ascii && len + 1 < namecap;
        if (plain && name) name[len++] = ascii;
    }
    j->p++;
    if (name) name[plain ? len : 0] = '\0';
    return 0;
}

static int jdigits(jcur *j)
{
    const unsigned char *from = j->p;
    while (j->p < j->end && *j->p >= '0' && *j->p <= '9') j->p++;
    return j->p > from ? 0 : jfail(j, "invalid number");
}

/* -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][-+]?[0-9]+)?, or -Infinity. */
static int jnumber(jcur *j)
{
    if (*j->p == '-') j->p++;
    if (j->p < j->end && *j->p == 'I') return jliteral(j, "Infinity");
    if (j->p < j->end && *j->p == '0')
        j->p++;
    else if (jdigits(j) != 0)
        return -1;
    if (j->p < j->end && *j->p == '.') {
        j->p++;
        if (jdigits(j) != 0) return -1;
    }
    if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
        j->p++;
        if (j->p < j->end && (*j->p == '+' || *j->p == '-')) j->p++;
        if (jdigits(j) != 0) return -1;
    }
    return 0;
}

/* Elements up to the closing bracket (the opening one is read). */
static int jarray(jcur *j, jsum *sum)
{
    jsum elem;
    sum->all_strings = 1;
    jws(j);
    if (j->p < j->end && *j->p == ']') {
        j->p++;
        return 0;
    }
    for (;;) {
        if (jvalue(j, &elem) != 0) return -1;
        sum->count++;
        sum->all_strings = sum->all_strings && elem.type == 's';
        jws(j);
        if (j->p < j->end && *j->p == ',') {
            j->p++;
            continue;
        }
        if (j->p < j->end && *j->p == ']') {
            j->p++;
            return 0;
        }
        return jfail(j, "expected ',' or ']' in an array");
    }
}

/* Members up to the closing brace (the opening one is read); top: note dims and attrs. */
static int jobject(jcur *j, jtop *top)
{
    char name[8];
    jsum member;
    jws(j);
    if (j->p < j->end && *j->p == '}') {
        j->p++;
        return 0;
    }
    for (;;) {
        if (j->p >= j->end || *j->p != '"') return jfail(j, "expected a string as member name");
        if (jstring(j, name, sizeof name) != 0) return -1;
        jws(j);
        if (j->p >= j->end || *j->p != ':') return jfail(j, "expected ':' after a member name");
        j->p++;
        if (jvalue(j, &member) != 0) return -1;
        if (top && strcmp(name, "dims") == 0) top->has_dims = 1, top->dims = member;
        if (top && strcmp(name, "attrs") == 0) top->has_attrs = 1, top->attrs = member;
        jws(j);
        if (j->p < j->end && *j->p == ',') {
            j->p++;
            jws(j);
            continue;
        }
        if (j->p < j->end && *j->p == '}') {
            j->p++;
            return 0;
        }
        return jfail(j, "expected ',' or '}' in an object");
    }
}

/* An array or object (the opening bracket at j->p), one level deeper. */
static int jnested(jcur *j, jsum *sum, jtop *top)
{
    int rc;
    if (++j->depth > SD_MAX_JSON_DEPTH) return jfail(j, "nested deeper than " SD_STR(SD_MAX_JSON_DEPTH) " levels");
    sum->type = *j->p++ == '{' ? 'o' : 'a';
    rc = sum->type == 'o' ? jobject(j, top) : jarray(j, sum);
    j->depth--;
    return rc;
}

static int jvalue(jcur *j, jsum *sum)
{
    memset(sum, 0, sizeof *sum);
    sum->type = 'v';
    jws(j);
    if (j->p >= j->end) return jfail(j, "unexpected end");
    switch (*j->p) {
    case '{':
    case '[': return jnested(j, sum, NULL);
    case '"': sum->type = 's'; return jstring(j, NULL, 0);
    case 'n': sum->type = 'n'; return jliteral(j, "null");
    case 't': return jliteral(j, "true");
    case 'f': return jliteral(j, "false");
    case 'N': return jliteral(j, "NaN");
    case 'I': return jliteral(j, "Infinity");
    default: return (*j->p == '-' || (*j->p >= '0' && *j->p <= '9')) ? jnumber(j) : jfail(j, "invalid JSON");
    }
}

/* The checks of Python's wire._decode_attrs on a parsed document. */
static const char *check_members(const jtop *top, size_t ndim)
{
    /* "dims": null counts as absent there (dict.get); "attrs": null does not */
    if (top->has_dims && top->dims.type != 'n' &&
        !(top->dims.type == 'a' && top->dims.count == ndim && top->dims.all_strings))
        return "attrs whose \"dims\" is not a list of one string per dimension";
    if (top->has_attrs && top->attrs.type != 'o') return "attrs whose \"attrs\" is not a JSON object";
    return NULL;
}

int sd__json_check_attrs(const char *s, size_t len, size_t ndim, char *why, size_t n)
{
    jcur j = {(const unsigned char *)s, (const unsigned char *)s, (const unsigned char *)s + len, 0, NULL};
    jtop top;
    jsum doc;
    memset(&top, 0, sizeof top);
    memset(&doc, 0, sizeof doc);
    jws(&j);
    int rc = j.p < j.end && *j.p == '{' ? jnested(&j, &doc, &top) : jvalue(&j, &doc);
    jws(&j);
    if (rc == 0 && j.p != j.end) rc = jfail(&j, "extra data after the JSON value");
    if (rc != 0) {
        snprintf(why, n, "invalid attrs JSON (%s at byte %zu)", j.why, (size_t)(j.p - j.start));
        return -1;
    }
    const char *bad = doc.type == 'o' ? check_members(&top, ndim) : "attrs that are not a JSON object";
    if (bad) snprintf(why, n, "%s", bad);
    return bad ? -1 : 0;
}
