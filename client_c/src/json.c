/*
 * json.c: the only JSON simdask's C client needs: arrays of strings
 * (a dataset's tensor names, metadata strings, the key lists of run
 * requests). Writes UTF-8 as is and escapes what JSON requires; reads the
 * full string escape syntax (\uXXXX with surrogate pairs, as Python's json
 * module writes by default). A growing text and JSON strings for writers
 * (meta.c's descriptions). And a validator for a tensor's attrs and its
 * description (docs/protocol.md, "Describing a tensor"), which C does not
 * use but must not pass on when malformed: the same checks as Python's.
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

void sd__text_put(sd_text *b, const char *s, size_t n)
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

void sd__json_put_string(sd_text *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    sd__text_put(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[7];
        switch (*p) {
        case '"': sd__text_put(b, "\\\"", 2); break;
        case '\\': sd__text_put(b, "\\\\", 2); break;
        case '\n': sd__text_put(b, "\\n", 2); break;
        case '\r': sd__text_put(b, "\\r", 2); break;
        case '\t': sd__text_put(b, "\\t", 2); break;
        case '\b': sd__text_put(b, "\\b", 2); break;
        case '\f': sd__text_put(b, "\\f", 2); break;
        default:
            if (*p < 0x20) {
                memcpy(esc, "\\u00", 4);
                esc[4] = hex[*p >> 4];
                esc[5] = hex[*p & 15];
                sd__text_put(b, esc, 6);
            } else {
                sd__text_put(b, (const char *)p, 1);
            }
        }
    }
    sd__text_put(b, "\"", 1);
}

int sd__json_encode_strings(char *const *v, size_t n, char **out, size_t *outlen)
{
    sd_text b = {0};
    sd__text_put(&b, "[", 1);
    for (size_t i = 0; i < n; i++) {
        if (i) sd__text_put(&b, ",", 1);
        sd__json_put_string(&b, v[i]);
    }
    sd__text_put(&b, "]", 1);
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

static void put_utf8(sd_text *b, unsigned cp)
{
    char u[4];
    if (cp < 0x80) {
        u[0] = (char)cp;
        sd__text_put(b, u, 1);
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        sd__text_put(b, u, 2);
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        sd__text_put(b, u, 3);
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        sd__text_put(b, u, 4);
    }
}

/* Parses one string starting at the opening quote; *pp moves past it. */
static int parse_string(const char **pp, const char *end, sd_text *b)
{
    const char *p = *pp + 1;
    b->len = 0;
    sd__text_put(b, "", 0);
    while (p < end && *p != '"') {
        if ((unsigned char)*p < 0x20) return -1;
        if (*p != '\\') {
            const char *q = p;
            while (q < end && *q != '"' && *q != '\\' && (unsigned char)*q >= 0x20) q++;
            sd__text_put(b, p, (size_t)(q - p));
            p = q;
            continue;
        }
        if (++p >= end) return -1;
        switch (*p) {
        case '"': sd__text_put(b, "\"", 1); break;
        case '\\': sd__text_put(b, "\\", 1); break;
        case '/': sd__text_put(b, "/", 1); break;
        case 'b': sd__text_put(b, "\b", 1); break;
        case 'f': sd__text_put(b, "\f", 1); break;
        case 'n': sd__text_put(b, "\n", 1); break;
        case 'r': sd__text_put(b, "\r", 1); break;
        case 't': sd__text_put(b, "\t", 1); break;
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
    sd_text b = {0};
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

/* A value's type ('o'bject, 'a'rray, 's'tring, 'n'ull, 'b'oolean, 'd' a number,
 * NaN and Infinity included), for an array or object its count of elements
 * or members, and for an array whether they are all strings or all numbers. */
typedef struct jsum {
    char type;
    size_t count;
    int all_strings, all_numbers;
} jsum;

/* A member of the top-level object that Python's reader looks at (the last one of a name counts, as there):
 * its value's summary and where its text starts. */
typedef struct jmember {
    int present;
    jsum sum;
    const unsigned char *at;
} jmember;

typedef struct jtop {
    jmember dims, attrs, coords, block;
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
    sum->all_strings = sum->all_numbers = 1;
    jws(j);
    if (j->p < j->end && *j->p == ']') {
        j->p++;
        return 0;
    }
    for (;;) {
        if (jvalue(j, &elem) != 0) return -1;
        sum->count++;
        sum->all_strings = sum->all_strings && elem.type == 's';
        sum->all_numbers = sum->all_numbers && elem.type == 'd';
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

/* Members up to the closing brace (the opening one is read), counted in sum; top: note the members it names. */
static int jobject(jcur *j, jsum *sum, jtop *top)
{
    static const char *const NAMES[] = {"dims", "attrs", "coords", "block"};
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
        jws(j);
        const unsigned char *at = j->p;
        if (jvalue(j, &member) != 0) return -1;
        sum->count++;
        for (size_t k = 0; top && k < sizeof NAMES / sizeof *NAMES; k++) {
            if (strcmp(name, NAMES[k]) != 0) continue;
            jmember *m = k == 0 ? &top->dims : k == 1 ? &top->attrs : k == 2 ? &top->coords : &top->block;
            *m = (jmember){1, member, at};
        }
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
    rc = sum->type == 'o' ? jobject(j, sum, top) : jarray(j, sum);
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
    case 't': sum->type = 'b'; return jliteral(j, "true");
    case 'f': sum->type = 'b'; return jliteral(j, "false");
    case 'N': sum->type = 'd'; return jliteral(j, "NaN");
    case 'I': sum->type = 'd'; return jliteral(j, "Infinity");
    default:
        sum->type = 'd';
        return (*j->p == '-' || (*j->p >= '0' && *j->p <= '9')) ? jnumber(j) : jfail(j, "invalid JSON");
    }
}

/* ---- the second look: members whose content matters ---------------------------------- */

/* What follows reads text that jvalue has validated (strings end, brackets
 * close, before `end`), so it checks no syntax. */

/* The next code point of a string being read (at a character inside it), or
 * -1 at its closing quote: a surrogate pair escaped as two \u escapes is one
 * code point, a lone escaped surrogate itself, as Python's json reads them. */
static long jcode_point(const unsigned char **pp, const unsigned char *end)
{
    static const char SIMPLE[] = "\"\\/bfnrt", MEANS[] = "\"\\/\b\f\n\r\t";
    const unsigned char *p = *pp;
    unsigned cp, lo;
    if (*p == '"') return -1;
    if (*p != '\\') {
        size_t n = *p < 0x80 ? 1 : *p < 0xE0 ? 2 : *p < 0xF0 ? 3 : 4;
        cp = n == 1 ? *p : n == 2 ? *p & 0x1Fu : n == 3 ? *p & 0x0Fu : *p & 0x07u;
        for (size_t i = 1; i < n; i++) cp = cp << 6 | (p[i] & 0x3Fu);
        *pp = p + n;
        return (long)cp;
    }
    if (p[1] != 'u') {
        *pp = p + 2;
        return (unsigned char)MEANS[(const char *)memchr(SIMPLE, p[1], sizeof SIMPLE - 1) - SIMPLE];
    }
    hex4((const char *)p + 2, (const char *)end, &cp);
    p += 6;
    if (cp >= 0xD800 && cp < 0xDC00 && end - p >= 6 && p[0] == '\\' && p[1] == 'u' &&
        hex4((const char *)p + 2, (const char *)end, &lo) == 0 && lo >= 0xDC00 && lo < 0xE000) {
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        p += 6;
    }
    *pp = p;
    return (long)cp;
}

/* Whether the strings at a and b (their opening quotes) hold the same text. */
static int jsame(const unsigned char *a, const unsigned char *b, const unsigned char *end)
{
    a++, b++;
    for (;;) {
        long x = jcode_point(&a, end), y = jcode_point(&b, end);
        if (x != y) return 0;
        if (x < 0) return 1;
    }
}

/* Moves past a member's name and its colon to the value. */
static void jname(jcur *j, char *name, size_t namecap)
{
    jstring(j, name, namecap);
    jws(j);
    j->p++;
    jws(j);
}

/* After a value: past the comma to the next member or element; 0 at the closing bracket. */
static int jnext(jcur *j)
{
    jws(j);
    if (*j->p != ',') return 0;
    j->p++;
    jws(j);
    return 1;
}

/* The index of the string at name among the strings of the array at dims, or -1. */
static long jdim_index(const unsigned char *dims, const unsigned char *name, const unsigned char *end)
{
    jcur j = {dims + 1, dims, end, 0, NULL};
    jws(&j);
    if (*j.p == ']') return -1;
    for (long i = 0;; i++) {
        if (jsame(j.p, name, end)) return i;
        jstring(&j, NULL, 0);
        if (!jnext(&j)) return -1;
    }
}

/* "coords": an object of at most SD_MAX_COORDS members, each named once: a
 * number or a string (a coordinate of the key) not named like a dimension,
 * or a list of numbers along the dimension of its name, as long as it. */
static const char *check_coords(const jtop *top, const uint64_t *shape, const unsigned char *end)
{
    const unsigned char *names[SD_MAX_COORDS];
    if (top->coords.sum.type != 'o') return "an invalid description: \"coords\" is not a JSON object";
    if (top->coords.sum.count > SD_MAX_COORDS)
        return "an invalid description: more than " SD_STR(SD_MAX_COORDS) " coordinates";
    int named = top->dims.present && top->dims.sum.type == 'a';
    jcur j = {top->coords.at + 1, top->coords.at, end, 0, NULL};
    jws(&j);
    if (*j.p == '}') return NULL;
    for (size_t n = 0;; n++) {
        jsum value;
        const unsigned char *name = j.p;
        for (size_t k = 0; k < n; k++)
            if (jsame(names[k], name, end)) return "an invalid description: \"coords\" names a coordinate twice";
        names[n] = name;
        jname(&j, NULL, 0);
        jvalue(&j, &value);
        long axis = named ? jdim_index(top->dims.at, name, end) : -1;
        if (value.type == 'a' && value.all_numbers) {
            if (axis < 0) return "an invalid description: a coordinate list along no dimension of the tensor";
            if (value.count != shape[axis])
                return "an invalid description: a coordinate list whose length is not its dimension's";
        } else if (value.type == 'd' || value.type == 's') {
            if (axis >= 0) return "an invalid description: a scalar coordinate named like a dimension";
        } else {
            return "an invalid description: a coordinate that is not a number, a string or a list of numbers";
        }
        if (!jnext(&j)) return NULL;
    }
}

/* An integer in [0, 2^63) as JSON writes one (no fraction, no exponent; -0 is 0). */
static int jindex(jcur *j, uint64_t *out)
{
    const uint64_t max = (uint64_t)INT64_MAX;
    uint64_t v = 0;
    int negative = *j->p == '-';
    j->p += negative;
    if (*j->p < '0' || *j->p > '9') return -1;
    for (; *j->p >= '0' && *j->p <= '9'; j->p++) {
        unsigned digit = (unsigned)(*j->p - '0');
        if (v > (max - digit) / 10) return -1;
        v = v * 10 + digit;
    }
    if (*j->p == '.' || *j->p == 'e' || *j->p == 'E' || (negative && v)) return -1;
    *out = v;
    return 0;
}

/* The array at `at`: exactly ndim such integers. */
static int jindices(const unsigned char *at, const unsigned char *end, size_t ndim, uint64_t *out)
{
    jcur j = {at + 1, at, end, 0, NULL};
    if (*at != '[') return -1;
    jws(&j);
    if (*j.p == ']') return ndim == 0 ? 0 : -1;
    for (size_t n = 0;; n++) {
        if (n == ndim || jindex(&j, &out[n]) != 0) return -1;
        if (!jnext(&j)) return n + 1 == ndim ? 0 : -1;
    }
}

/* "block": {"shape": [...], "start": [...]} (other members ignored), one
 * integer in [0, 2^63) per dimension each, the tensor inside the shape. */
static const char *check_block(const jtop *top, size_t ndim, const uint64_t *shape, const unsigned char *end)
{
    const char *bad = "an invalid description: \"block\" is not {\"shape\": [...], \"start\": [...]} with one "
                      "integer in [0, 2^63) per dimension";
    const unsigned char *global_at = NULL, *start_at = NULL;
    uint64_t global[SD_MAX_NDIM], start[SD_MAX_NDIM];
    if (top->block.sum.type != 'o') return bad;
    jcur j = {top->block.at + 1, top->block.at, end, 0, NULL};
    jws(&j);
    while (*j.p == '"') {
        char name[8];
        jsum value;
        jname(&j, name, sizeof name);
        if (strcmp(name, "shape") == 0) global_at = j.p;
        if (strcmp(name, "start") == 0) start_at = j.p;
        jvalue(&j, &value);
        if (!jnext(&j)) break;
    }
    if (!global_at || !start_at || jindices(global_at, end, ndim, global) != 0 ||
        jindices(start_at, end, ndim, start) != 0)
        return bad;
    for (size_t i = 0; i < ndim; i++)
        if (start[i] + shape[i] > global[i]) return "an invalid description: a \"block\" outside its global shape";
    return NULL;
}

/* The checks of Python's wire._decode_attrs on a parsed document (shape NULL: those that need none). */
static const char *check_members(const jtop *top, size_t ndim, const uint64_t *shape, const unsigned char *end)
{
    /* "dims": null counts as absent there (dict.get); "attrs": null does not */
    const jsum *dims = &top->dims.sum;
    if (top->dims.present && dims->type != 'n' && !(dims->type == 'a' && dims->count == ndim && dims->all_strings))
        return "attrs whose \"dims\" is not a list of one string per dimension";
    if (top->attrs.present && top->attrs.sum.type != 'o') return "attrs whose \"attrs\" is not a JSON object";
    if (!shape) return NULL;
    const char *bad = top->coords.present ? check_coords(top, shape, end) : NULL;
    return bad ? bad : top->block.present ? check_block(top, ndim, shape, end) : NULL;
}

int sd__json_check_description(const char *s, size_t len, size_t ndim, const uint64_t *shape, char *why, size_t n)
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
    const char *bad = doc.type == 'o' ? check_members(&top, ndim, shape, j.end) : "attrs that are not a JSON object";
    if (bad) snprintf(why, n, "%s", bad);
    return bad ? -1 : 0;
}

int sd__json_check_attrs(const char *s, size_t len, size_t ndim, char *why, size_t n)
{
    return sd__json_check_description(s, len, ndim, NULL, why, n);
}
