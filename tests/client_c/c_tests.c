/*
 * c_tests.c: the C client's test program, driven by test_c_client.py.
 *
 *   c_tests CASE [ARGS...]
 *
 * The store address comes from SIMDASK_ADDRESS (so sd_client_new(NULL) is
 * exercised) unless a case takes one. Every check that fails prints a line
 * "FAIL file:line ..." on stderr; the exit status is the number of failures
 * (capped), 0 when all passed. Cases that need the Python side to act in
 * between print a line and wait for one on stdin.
 */
#include "c_check.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const sd_dtype ALL_DTYPES[] = {SD_INT8,   SD_INT16,   SD_INT32,     SD_INT64,      SD_UINT8,
                                      SD_UINT16, SD_UINT32,  SD_UINT64,    SD_FLOAT16,    SD_FLOAT32,
                                      SD_FLOAT64, SD_COMPLEX64, SD_COMPLEX128, SD_BOOL};
#define N_DTYPES (sizeof ALL_DTYPES / sizeof ALL_DTYPES[0])

/* Exact IEEE half of a small integer. */
static uint16_t half_of_int(int v)
{
    if (v == 0) return 0;
    uint16_t sign = v < 0 ? 0x8000 : 0;
    unsigned a = (unsigned)(v < 0 ? -v : v);
    int e = 0;
    while ((a >> e) > 1) e++;
    unsigned mant = (a << (10 - e)) & 0x3FF;
    return (uint16_t)(sign | ((unsigned)(e + 15) << 10) | mant);
}

/* Element i of the reference arrays that test_c_client.py rebuilds in numpy. */
static void reference_fill(void *buf, sd_dtype dt, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int v = (int)i * 3 - 20;
        switch (dt) {
        case SD_INT8: ((int8_t *)buf)[i] = (int8_t)v; break;
        case SD_INT16: ((int16_t *)buf)[i] = (int16_t)(v * 1000); break;
        case SD_INT32: ((int32_t *)buf)[i] = v * 100000; break;
        case SD_INT64: ((int64_t *)buf)[i] = (int64_t)v * 10000000000LL; break;
        case SD_UINT8: ((uint8_t *)buf)[i] = (uint8_t)(i * 3); break;
        case SD_UINT16: ((uint16_t *)buf)[i] = (uint16_t)(i * 3000); break;
        case SD_UINT32: ((uint32_t *)buf)[i] = (uint32_t)i * 300000u; break;
        case SD_UINT64: ((uint64_t *)buf)[i] = (uint64_t)i * 30000000000ULL; break;
        case SD_FLOAT16: ((uint16_t *)buf)[i] = half_of_int(v); break;
        case SD_FLOAT32: ((float *)buf)[i] = (float)v * 0.5f; break;
        case SD_FLOAT64: ((double *)buf)[i] = (double)v * 0.25; break;
        case SD_COMPLEX64:
            ((float *)buf)[2 * i] = (float)v;
            ((float *)buf)[2 * i + 1] = (float)-v;
            break;
        case SD_COMPLEX128:
            ((double *)buf)[2 * i] = (double)v;
            ((double *)buf)[2 * i + 1] = (double)-v;
            break;
        case SD_BOOL: ((uint8_t *)buf)[i] = (uint8_t)(i % 2); break;
        }
    }
}

static void fill_pattern(unsigned char *p, size_t n, unsigned seed)
{
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        x = x * 1664525u + 1013904223u;
        p[i] = (unsigned char)(x >> 24);
    }
}

/* put then get and unpack must give the same bytes, dtype, shape and order back */
static void roundtrip_one(sd_client *c, const char *name, sd_dtype dt, size_t ndim, const size_t *shape, sd_order order)
{
    size_t n = 1, isz = sd_dtype_size(dt);
    for (size_t i = 0; i < ndim; i++) n *= shape[i];
    size_t nb = n * isz;
    unsigned char *a = malloc(nb ? nb : 1), *b = malloc(nb ? nb : 1);
    fill_pattern(a, nb, (unsigned)(dt * 31 + ndim));
    if (dt == SD_BOOL)
        for (size_t i = 0; i < nb; i++) a[i] &= 1;
    OK(c, sd_put_tensor(c, name, a, dt, ndim, shape, order));
    void *d = NULL;
    sd_dtype gdt;
    size_t gnd, gshape[SD_MAX_NDIM];
    sd_order gorder;
    OK(c, sd_get_tensor(c, name, &d, &gdt, &gnd, gshape, &gorder));
    CHECK(d != NULL, "%s: no data", name);
    CHECK(gdt == dt && gnd == ndim && gorder == order, "%s: got dtype %d ndim %zu order %c", name, gdt, gnd, gorder);
    for (size_t i = 0; i < ndim && gnd == ndim; i++) CHECK(gshape[i] == shape[i], "%s: dim %zu", name, i);
    CHECK(d && memcmp(d, a, nb) == 0, "%s: data differ after get", name);
    sd_free(d);
    memset(b, 0xAB, nb);
    OK(c, sd_unpack_tensor(c, name, b, nb, dt, ndim, shape, order));
    CHECK(memcmp(a, b, nb) == 0, "%s: data differ after unpack", name);
    free(a);
    free(b);
}

static int case_roundtrip(void)
{
    sd_client *c = connect_env();
    size_t s3[3] = {3, 4, 5};
    char name[64];
    for (size_t i = 0; i < N_DTYPES; i++) {
        snprintf(name, sizeof name, "rt_%s_C", sd_dtype_name(ALL_DTYPES[i]));
        roundtrip_one(c, name, ALL_DTYPES[i], 3, s3, SD_ORDER_C);
        snprintf(name, sizeof name, "rt_%s_F", sd_dtype_name(ALL_DTYPES[i]));
        roundtrip_one(c, name, ALL_DTYPES[i], 3, s3, SD_ORDER_F);
    }
    /* 0-d, empty, 1-d, 32-d */
    roundtrip_one(c, "rt_scalar", SD_FLOAT64, 0, NULL, SD_ORDER_C);
    size_t empty[2] = {0, 5};
    roundtrip_one(c, "rt_empty", SD_FLOAT32, 2, empty, SD_ORDER_C);
    size_t one[1] = {1000};
    roundtrip_one(c, "rt_1d", SD_INT64, 1, one, SD_ORDER_F);
    size_t s32[SD_MAX_NDIM];
    for (int i = 0; i < SD_MAX_NDIM; i++) s32[i] = (i % 8 == 0) ? 2 : 1;
    roundtrip_one(c, "rt_32d", SD_INT16, SD_MAX_NDIM, s32, SD_ORDER_C);
    /* around the chunking threshold (8 MiB of data) and chunk boundaries */
    size_t at[1] = {(8u << 20) / 8}, above[1] = {(8u << 20) / 8 + 1}, big[2] = {2048, 1300};
    roundtrip_one(c, "rt_at_threshold", SD_FLOAT64, 1, at, SD_ORDER_C);
    roundtrip_one(c, "rt_above_threshold", SD_FLOAT64, 1, above, SD_ORDER_C);
    roundtrip_one(c, "rt_chunked", SD_FLOAT64, 2, big, SD_ORDER_F);
    roundtrip_one(c, "rt_{tag}chunked", SD_FLOAT32, 2, big, SD_ORDER_C);
    size_t nine[1] = {(9u << 20)};
    roundtrip_one(c, "rt_x}y", SD_UINT8, 1, nine, SD_ORDER_C); /* braces without a tag: never chunked */

    /* order conversion on unpack: C stored, F requested and back */
    size_t sh[3] = {2, 3, 4};
    double cd[24], fd[24];
    for (size_t i = 0; i < 2; i++)
        for (size_t j = 0; j < 3; j++)
            for (size_t k = 0; k < 4; k++) cd[(i * 3 + j) * 4 + k] = (double)(i * 100 + j * 10 + k);
    OK(c, sd_put_tensor(c, "tr_c", cd, SD_FLOAT64, 3, sh, SD_ORDER_C));
    OK(c, sd_unpack_tensor(c, "tr_c", fd, sizeof fd, SD_FLOAT64, 3, sh, SD_ORDER_F));
    for (size_t i = 0; i < 2; i++)
        for (size_t j = 0; j < 3; j++)
            for (size_t k = 0; k < 4; k++)
                CHECK(fd[i + 2 * j + 6 * k] == (double)(i * 100 + j * 10 + k), "F unpack at %zu %zu %zu", i, j, k);
    OK(c, sd_put_tensor(c, "tr_f", fd, SD_FLOAT64, 3, sh, SD_ORDER_F));
    double back[24];
    OK(c, sd_unpack_tensor(c, "tr_f", back, sizeof back, SD_FLOAT64, 3, sh, SD_ORDER_C));
    CHECK(memcmp(back, cd, sizeof cd) == 0, "F stored, C unpacked");
    /* a larger transpose (tiles, odd sizes) in int16, and a chunked one */
    size_t s2[2] = {301, 203};
    int16_t *m = malloc(301 * 203 * 2), *mt = malloc(301 * 203 * 2);
    for (size_t i = 0; i < 301; i++)
        for (size_t j = 0; j < 203; j++) m[i * 203 + j] = (int16_t)(i * 7 + j);
    OK(c, sd_put_tensor(c, "tr_big", m, SD_INT16, 2, s2, SD_ORDER_C));
    OK(c, sd_unpack_tensor(c, "tr_big", mt, 301 * 203 * 2, SD_INT16, 2, s2, SD_ORDER_F));
    int bad = 0;
    for (size_t i = 0; i < 301; i++)
        for (size_t j = 0; j < 203; j++) bad += mt[i + 301 * j] != (int16_t)(i * 7 + j);
    CHECK(bad == 0, "%d elements wrong in the big transpose", bad);
    free(m);
    free(mt);
    size_t s4[4] = {9, 512, 3, 256}; /* 27 MiB of float64: chunked, transposed */
    size_t n4 = 9 * 512 * 3 * 256;
    double *q = malloc(n4 * 8), *qt = malloc(n4 * 8);
    for (size_t i = 0; i < n4; i++) q[i] = (double)i;
    OK(c, sd_put_tensor(c, "tr_chunked", q, SD_FLOAT64, 4, s4, SD_ORDER_F));
    OK(c, sd_unpack_tensor(c, "tr_chunked", qt, n4 * 8, SD_FLOAT64, 4, s4, SD_ORDER_C));
    bad = 0;
    for (size_t a = 0; a < 9; a++)
        for (size_t b = 0; b < 512; b++)
            for (size_t d = 0; d < 3; d++)
                for (size_t e = 0; e < 256; e++)
                    bad += qt[((a * 512 + b) * 3 + d) * 256 + e] != (double)(a + 9 * (b + 512 * (d + 3 * e)));
    CHECK(bad == 0, "%d elements wrong in the chunked transpose", bad);
    free(q);
    free(qt);

    /* overwrite a chunked tensor with a plain one, and delete a chunked one: no chunks left */
    OK(c, sd_put_tensor(c, "ow", fd, SD_FLOAT64, 3, sh, SD_ORDER_C)); /* plain first */
    double *z = calloc(big[0] * big[1], 8);
    OK(c, sd_put_tensor(c, "ow", z, SD_FLOAT64, 2, big, SD_ORDER_C));
    OK(c, sd_put_tensor(c, "ow", z, SD_FLOAT64, 2, big, SD_ORDER_C)); /* new generation, old chunks dropped */
    OK(c, sd_put_tensor(c, "ow", cd, SD_FLOAT64, 3, sh, SD_ORDER_C));
    OK(c, sd_put_tensor(c, "del", z, SD_FLOAT64, 2, big, SD_ORDER_C));
    OK(c, sd_delete_tensor(c, "del"));
    OK(c, sd_delete_tensor(c, "del")); /* a missing tensor is no error */
    free(z);
    int ex = -1;
    OK(c, sd_tensor_exists(c, "del", &ex));
    CHECK(ex == 0, "deleted tensor exists");
    OK(c, sd_tensor_exists(c, "ow", &ex));
    CHECK(ex == 1, "tensor ow missing");
    OK(c, sd_key_exists(c, "ow", &ex));
    CHECK(ex == 1, "key ow missing");
    OK(c, sd_poll_tensor(c, "ow", 1, 1, &ex));
    CHECK(ex == 1, "poll ow");
    OK(c, sd_poll_tensor(c, "never", 5, 3, &ex));
    CHECK(ex == 0, "poll never");
    int cl = -1;
    OK(c, sd_is_cluster(c, &cl));
    CHECK(cl == 0, "standalone store seen as a cluster");
    CHECK(strcmp(sd_version(), "0.1.0") == 0 || sd_version()[0] != '\0', "version");
    CHECK(sd_last_status(c) == SD_OK && sd_last_error(c)[0] == '\0', "error state not cleared after success");
    sd_client_free(c);
    return failures;
}

static int case_put_dtypes(void)
{
    sd_client *c = connect_env();
    size_t shape[3] = {2, 3, 4};
    unsigned char buf[24 * 16];
    char name[64];
    for (size_t i = 0; i < N_DTYPES; i++) {
        reference_fill(buf, ALL_DTYPES[i], 24);
        snprintf(name, sizeof name, "dt_%s", sd_dtype_name(ALL_DTYPES[i]));
        OK(c, sd_put_tensor(c, name, buf, ALL_DTYPES[i], 3, shape, SD_ORDER_C));
    }
    double f[24];
    for (size_t i = 0; i < 2; i++)
        for (size_t j = 0; j < 3; j++)
            for (size_t k = 0; k < 4; k++) f[i + 2 * j + 6 * k] = (double)(i * 100 + j * 10 + k);
    OK(c, sd_put_tensor(c, "dt_float64_F", f, SD_FLOAT64, 3, shape, SD_ORDER_F));
    size_t nbig = (20u << 20) / 4; /* chunked float32 */
    float *big = malloc(nbig * 4);
    for (size_t i = 0; i < nbig; i++) big[i] = (float)(i % 1000);
    size_t bshape[2] = {nbig / 1024, 1024};
    OK(c, sd_put_tensor(c, "dt_big", big, SD_FLOAT32, 2, bshape, SD_ORDER_C));
    free(big);
    double scalar = 2.5;
    OK(c, sd_put_tensor(c, "dt_scalar", &scalar, SD_FLOAT64, 0, NULL, SD_ORDER_C));
    sd_client_free(c);
    return failures;
}

static int case_unpack_python(void)
{
    sd_client *c = connect_env();
    size_t shape[3] = {2, 3, 4};
    double a[24];
    float f[24];
    /* py_c: numpy arange(24.0).reshape(2, 3, 4), C order */
    OK(c, sd_unpack_tensor(c, "py_c", a, sizeof a, SD_FLOAT64, 3, shape, SD_ORDER_C));
    for (size_t i = 0; i < 24; i++) CHECK(a[i] == (double)i, "py_c C[%zu] = %g", i, a[i]);
    OK(c, sd_unpack_tensor(c, "py_c", a, sizeof a, SD_FLOAT64, 3, shape, SD_ORDER_F));
    for (size_t i = 0; i < 2; i++)
        for (size_t j = 0; j < 3; j++)
            for (size_t k = 0; k < 4; k++)
                CHECK(a[i + 2 * j + 6 * k] == (double)(i * 12 + j * 4 + k), "py_c F at %zu %zu %zu", i, j, k);
    /* py_f: the same values as float32 in F order */
    OK(c, sd_unpack_tensor(c, "py_f", f, sizeof f, SD_FLOAT32, 3, shape, SD_ORDER_C));
    for (size_t i = 0; i < 24; i++) CHECK(f[i] == (float)i, "py_f C[%zu] = %g", i, (double)f[i]);
    void *d;
    sd_dtype dt;
    size_t nd, sh[SD_MAX_NDIM];
    sd_order o;
    OK(c, sd_get_tensor(c, "py_f", &d, &dt, &nd, sh, &o));
    CHECK(dt == SD_FLOAT32 && nd == 3 && sh[0] == 2 && sh[1] == 3 && sh[2] == 4 && o == SD_ORDER_F, "py_f header");
    sd_free(d);
    /* py_big: arange(2621440, dtype=int64), written chunked by Python */
    size_t n = 2621440, bs[1] = {n};
    int64_t *b = malloc(n * 8);
    OK(c, sd_unpack_tensor(c, "py_big", b, n * 8, SD_INT64, 1, bs, SD_ORDER_C));
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) bad += b[i] != (int64_t)i;
    CHECK(bad == 0, "py_big: %zu wrong", bad);
    OK(c, sd_get_tensor(c, "py_big", &d, &dt, &nd, sh, &o));
    CHECK(dt == SD_INT64 && nd == 1 && sh[0] == n && memcmp(d, b, n * 8) == 0, "py_big get");
    sd_free(d);
    free(b);
    /* py_plain_big: 20 MiB float64 arange written plain (no chunks): a refused unpack drops the
     * connection instead of draining 20 MiB, and the next call reconnects */
    double *pb = malloc(n * 8);
    EXPECT(c, SD_ERR_TYPE, sd_unpack_tensor(c, "py_plain_big", pb, n * 8, SD_INT64, 1, bs, SD_ORDER_C));
    OK(c, sd_unpack_tensor(c, "py_plain_big", pb, n * 8, SD_FLOAT64, 1, bs, SD_ORDER_C));
    bad = 0;
    for (size_t i = 0; i < n; i++) bad += pb[i] != (double)i;
    CHECK(bad == 0, "py_plain_big: %zu wrong", bad);
    free(pb);
    /* py_attrs: a tensor with dims and attrs (skipped by C) */
    OK(c, sd_unpack_tensor(c, "py_attrs", a, sizeof a, SD_FLOAT64, 3, shape, SD_ORDER_C));
    CHECK(a[23] == 23.0, "py_attrs");
    /* py_bool, py_c64 */
    unsigned char bo[6];
    size_t s6[1] = {6};
    OK(c, sd_unpack_tensor(c, "py_bool", bo, sizeof bo, SD_BOOL, 1, s6, SD_ORDER_C));
    for (int i = 0; i < 6; i++) CHECK(bo[i] == (i % 3 == 0), "py_bool[%d]", i);
    float cx[12];
    OK(c, sd_unpack_tensor(c, "py_c64", cx, sizeof cx, SD_COMPLEX64, 1, s6, SD_ORDER_C));
    for (int i = 0; i < 6; i++) CHECK(cx[2 * i] == (float)i && cx[2 * i + 1] == (float)(-2 * i), "py_c64[%d]", i);
    sd_client_free(c);
    return failures;
}

static int case_errors(const char *down_address)
{
    sd_client *c = NULL;
    /* construction */
    CHECK(sd_client_new(NULL, "127.0.0.1:1") == SD_ERR_ARG, "NULL out");
    EXPECT(c, SD_ERR_ARG, sd_client_new(&c, "not-an-address"));
    MSG_HAS(c, "not-an-address");
    sd_client_free(c);
    EXPECT(c, SD_ERR_ARG, sd_client_new(&c, "unix://relative/path"));
    sd_client_free(c);
    EXPECT(c, SD_ERR_ARG, sd_client_new(&c, "127.0.0.1:0"));
    sd_client_free(c);
    EXPECT(c, SD_ERR_ARG, sd_client_new(&c, "127.0.0.1:99999"));
    sd_client_free(c);
    EXPECT(c, SD_ERR_ARG, sd_client_new(&c, " , "));
    sd_client_free(c);
    EXPECT(c, SD_ERR_CONNECTION, sd_client_new(&c, down_address));
    MSG_HAS(c, down_address);
    sd_client_free(c);
    EXPECT(c, SD_ERR_CONNECTION, sd_client_new(&c, "unix:///nonexistent/simdask.sock"));
    MSG_HAS(c, "/nonexistent/simdask.sock");
    sd_client_free(c);
    char *saved = getenv("SIMDASK_ADDRESS") ? strdup(getenv("SIMDASK_ADDRESS")) : NULL;
    unsetenv("SIMDASK_ADDRESS");
    EXPECT(c, SD_ERR_ARG, sd_client_new(&c, NULL));
    MSG_HAS(c, "SIMDASK_ADDRESS");
    sd_client_free(c);
    setenv("SIMDASK_ADDRESS", saved, 1);
    free(saved);
    sd_options opt;
    sd_options_init(&opt);
    opt.key_prefix = "bad{prefix";
    EXPECT(c, SD_ERR_ARG, sd_client_new_with_options(&c, &opt));
    sd_client_free(c);
    CHECK(sd_last_error(NULL) != NULL, "sd_last_error(NULL)");
    sd_client_free(NULL);
    sd_free(NULL);
    CHECK(strcmp(sd_status_name(SD_ERR_NOT_FOUND), "SD_ERR_NOT_FOUND") == 0, "status name");
    CHECK(strcmp(sd_status_name(SD_ERR_AUTH), "SD_ERR_AUTH") == 0 && SD_ERR_AUTH == 11, "status name of SD_ERR_AUTH");
    CHECK(strcmp(sd_status_name(SD_ERR_CONCURRENT), "SD_ERR_CONCURRENT") == 0 && SD_ERR_CONCURRENT == 12,
          "status name of SD_ERR_CONCURRENT");
    CHECK(strcmp(sd_status_name(13), "unknown status") == 0, "status name 13");
    CHECK(strcmp(sd_status_name(99), "unknown status") == 0, "status name 99");
    CHECK(strcmp(sd_status_name(-1), "unknown status") == 0, "status name -1");
    CHECK(sd_dtype_name((sd_dtype)0) == NULL && sd_dtype_size((sd_dtype)15) == 0, "bad dtype helpers");

    c = connect_env();
    double d[24] = {0};
    size_t sh[3] = {2, 3, 4};
    void *out = NULL;
    sd_dtype dt;
    size_t nd, gsh[SD_MAX_NDIM];
    sd_order o;
    int ex;
    /* NULL pointers, bad names, bad arrays */
    CHECK(sd_put_tensor(NULL, "x", d, SD_FLOAT64, 3, sh, SD_ORDER_C) == SD_ERR_ARG, "NULL client");
    CHECK(sd_get_tensor(NULL, "x", &out, &dt, &nd, gsh, &o) == SD_ERR_ARG, "NULL client");
    CHECK(sd_unpack_tensor(NULL, "x", d, sizeof d, SD_FLOAT64, 3, sh, SD_ORDER_C) == SD_ERR_ARG, "NULL client");
    CHECK(sd_tensor_exists(NULL, "x", &ex) == SD_ERR_ARG && sd_delete_tensor(NULL, "x") == SD_ERR_ARG, "NULL client");
    CHECK(sd_run_model(NULL, "m", 0, NULL, 0, NULL, 0) == SD_ERR_ARG, "NULL client");
    EXPECT(c, SD_ERR_ARG, sd_put_tensor(c, NULL, d, SD_FLOAT64, 3, sh, SD_ORDER_C));
    MSG_HAS(c, "NULL");
    EXPECT(c, SD_ERR_ARG, sd_put_tensor(c, "", d, SD_FLOAT64, 3, sh, SD_ORDER_C));
    MSG_HAS(c, "empty");
    EXPECT(c, SD_ERR_ARG, sd_put_tensor(c, "x", NULL, SD_FLOAT64, 3, sh, SD_ORDER_C));
    EXPECT(c, SD_ERR_ARG, sd_put_tensor(c, "x", d, SD_FLOAT64, 3, NULL, SD_ORDER_C));
    EXPECT(c, SD_ERR_ARG, sd_put_tensor(c, "x", d, SD_FLOAT64, 33, sh, SD_ORDER_C));
    MSG_HAS(c, "33");
    EXPECT(c, SD_ERR_ARG, sd_put_tensor(c, "x", d, (sd_dtype)0, 3, sh, SD_ORDER_C));
    EXPECT(c, SD_ERR_ARG, sd_put_tensor(c, "x", d, (sd_dtype)15, 3, sh, SD_ORDER_C));
    EXPECT(c, SD_ERR_ARG, sd_put_tensor(c, "x", d, SD_FLOAT64, 3, sh, (sd_order)'X'));
    size_t huge[3] = {SIZE_MAX / 2, 4, 1}, huge2[2] = {(size_t)1 << 40, (size_t)1 << 30};
    EXPECT(c, SD_ERR_ARG, sd_put_tensor(c, "x", d, SD_FLOAT64, 3, huge, SD_ORDER_C));
    MSG_HAS(c, "overflows");
    EXPECT(c, SD_ERR_ARG, sd_put_tensor(c, "x", d, SD_FLOAT64, 2, huge2, SD_ORDER_C));
    EXPECT(c, SD_ERR_ARG, sd_unpack_tensor(c, "x", d, sizeof d, SD_FLOAT64, 2, huge2, SD_ORDER_C));
    EXPECT(c, SD_ERR_ARG, sd_get_tensor(c, "x", NULL, &dt, &nd, gsh, &o));
    EXPECT(c, SD_ERR_ARG, sd_get_tensor(c, "x", &out, &dt, &nd, NULL, &o));
    EXPECT(c, SD_ERR_ARG, sd_get_tensor(c, NULL, &out, &dt, &nd, gsh, &o));
    EXPECT(c, SD_ERR_ARG, sd_unpack_tensor(c, "x", NULL, sizeof d, SD_FLOAT64, 3, sh, SD_ORDER_C));
    EXPECT(c, SD_ERR_ARG, sd_unpack_tensor(c, "x", d, sizeof d, SD_FLOAT64, 33, sh, SD_ORDER_C));
    EXPECT(c, SD_ERR_ARG, sd_unpack_tensor(c, "x", d, sizeof d, SD_FLOAT64, 3, NULL, SD_ORDER_C));
    EXPECT(c, SD_ERR_ARG, sd_tensor_exists(c, "x", NULL));
    EXPECT(c, SD_ERR_ARG, sd_tensor_exists(c, NULL, &ex));
    EXPECT(c, SD_ERR_ARG, sd_poll_tensor(c, "x", 10, 0, &ex));
    EXPECT(c, SD_ERR_ARG, sd_poll_tensor(c, "x", -1, 3, &ex));
    EXPECT(c, SD_ERR_ARG, sd_delete_tensor(c, ""));
    EXPECT(c, SD_ERR_ARG, sd_set_data_source(c, "elsewhere"));
    EXPECT(c, SD_ERR_ARG, sd_set_data_source(c, NULL));
    /* missing, wrong dtype, wrong shape, small buffer */
    EXPECT(c, SD_ERR_NOT_FOUND, sd_get_tensor(c, "no_such_tensor", &out, &dt, &nd, gsh, &o));
    MSG_HAS(c, "no_such_tensor");
    CHECK(out == NULL, "data set on failure");
    EXPECT(c, SD_ERR_NOT_FOUND, sd_unpack_tensor(c, "no_such_tensor", d, sizeof d, SD_FLOAT64, 3, sh, SD_ORDER_C));
    CHECK(sd_last_status(c) == SD_ERR_NOT_FOUND, "last status");
    for (int i = 0; i < 24; i++) d[i] = i;
    OK(c, sd_put_tensor(c, "err_t", d, SD_FLOAT64, 3, sh, SD_ORDER_C));
    float f[24];
    EXPECT(c, SD_ERR_TYPE, sd_unpack_tensor(c, "err_t", f, sizeof f, SD_FLOAT32, 3, sh, SD_ORDER_C));
    MSG_HAS(c, "err_t");
    MSG_HAS(c, "float64");
    MSG_HAS(c, "(2, 3, 4)");
    size_t sh2[3] = {2, 4, 3}, sh1[1] = {24}, sh23[1] = {23};
    EXPECT(c, SD_ERR_SHAPE, sd_unpack_tensor(c, "err_t", d, sizeof d, SD_FLOAT64, 3, sh2, SD_ORDER_C));
    MSG_HAS(c, "(2, 3, 4)");
    MSG_HAS(c, "(2, 4, 3)");
    EXPECT(c, SD_ERR_SHAPE, sd_unpack_tensor(c, "err_t", d, sizeof d, SD_FLOAT64, 1, sh23, SD_ORDER_C));
    /* {element count} unpacks flat, in the order asked (SmartRedis's contiguous layout) */
    double flat[24];
    OK(c, sd_unpack_tensor(c, "err_t", flat, sizeof flat, SD_FLOAT64, 1, sh1, SD_ORDER_C));
    CHECK(memcmp(flat, d, sizeof flat) == 0, "flat unpack, row-major");
    OK(c, sd_unpack_tensor(c, "err_t", flat, sizeof flat, SD_FLOAT64, 1, sh1, SD_ORDER_F));
    CHECK(flat[0] == 0 && flat[1] == 12 && flat[2] == 4 && flat[23] == 23, "flat unpack, column-major");
    EXPECT(c, SD_ERR_ARG, sd_unpack_tensor(c, "err_t", d, sizeof d - 1, SD_FLOAT64, 3, sh, SD_ORDER_C));
    MSG_HAS(c, "too small");
    /* the connection is still in step after all that */
    OK(c, sd_unpack_tensor(c, "err_t", d, sizeof d, SD_FLOAT64, 3, sh, SD_ORDER_C));
    /* datasets and lists */
    sd_dataset *ds = NULL;
    CHECK(sd_dataset_new(&ds, NULL) == SD_ERR_ARG && ds == NULL, "dataset NULL name");
    CHECK(sd_dataset_new(&ds, "") == SD_ERR_ARG, "dataset empty name");
    CHECK(sd_dataset_new(&ds, "a{b}") == SD_ERR_ARG, "dataset braces");
    CHECK(sd_dataset_new(NULL, "x") == SD_ERR_ARG, "dataset NULL out");
    CHECK(sd_dataset_add_tensor(NULL, "t", d, SD_FLOAT64, 3, sh, SD_ORDER_C) == SD_ERR_ARG, "NULL dataset");
    CHECK(sd_dataset_new(&ds, "eds") == SD_OK, "dataset");
    EXPECT(c, SD_ERR_ARG, sd_put_dataset(c, ds)); /* empty */
    CHECK(sd_dataset_add_tensor(ds, "meta", d, SD_FLOAT64, 3, sh, SD_ORDER_C) == SD_ERR_ARG, "tensor 'meta'");
    CHECK(sd_dataset_add_tensor(ds, "t", d, SD_FLOAT64, 33, sh, SD_ORDER_C) == SD_ERR_ARG, "ndim 33");
    CHECK(sd_dataset_add_tensor(ds, "t", NULL, SD_FLOAT64, 3, sh, SD_ORDER_C) == SD_ERR_ARG, "NULL data");
    CHECK(sd_dataset_add_meta_scalar(ds, ".x", d, SD_FLOAT64) == SD_ERR_ARG, "reserved field");
    CHECK(sd_dataset_add_meta_scalar(ds, "x", d, SD_FLOAT64) == SD_OK, "scalar");
    CHECK(sd_dataset_add_meta_scalar(ds, "x", d, SD_INT32) == SD_ERR_TYPE, "scalar dtype change");
    CHECK(sd_dataset_add_meta_string(ds, "x", "s") == SD_ERR_TYPE, "string into scalars");
    CHECK(strstr(sd_dataset_last_error(ds), "x") != NULL, "dataset message");
    const void *vals;
    size_t cnt;
    CHECK(sd_dataset_get_meta_scalars(ds, "nope", &vals, &cnt, &dt) == SD_ERR_NOT_FOUND, "missing field");
    CHECK(sd_dataset_get_tensor(ds, "nope", &vals, &dt, &nd, (const size_t **)&out, &o) == SD_ERR_NOT_FOUND,
          "missing dataset tensor");
    sd_dataset *got = (sd_dataset *)1;
    EXPECT(c, SD_ERR_NOT_FOUND, sd_get_dataset(c, "no_such_dataset", &got));
    MSG_HAS(c, "no_such_dataset");
    CHECK(got == NULL, "dataset set on failure");
    EXPECT(c, SD_ERR_NOT_FOUND, sd_delete_dataset(c, "no_such_dataset"));
    EXPECT(c, SD_ERR_ARG, sd_get_dataset(c, "x{y}", &got));
    EXPECT(c, SD_ERR_ARG, sd_get_dataset(c, "x", NULL));
    EXPECT(c, SD_ERR_ARG, sd_append_to_list(c, "l", NULL));
    EXPECT(c, SD_ERR_ARG, sd_append_to_list(c, NULL, ds));
    size_t len;
    EXPECT(c, SD_ERR_ARG, sd_get_list_length(c, "l", NULL));
    OK(c, sd_get_list_length(c, "no_such_list", &len));
    CHECK(len == 0, "missing list length");
    sd_dataset **many;
    OK(c, sd_get_datasets_from_list(c, "no_such_list", &many, &cnt));
    CHECK(cnt == 0, "missing list");
    sd_datasets_free(many, cnt);
    sd_dataset_free(ds);
    sd_dataset_free(NULL);
    /* a key of another type */
    OK(c, sd_put_tensor(c, "err_t2", d, SD_FLOAT64, 3, sh, SD_ORDER_C));
    /* run requests: bad arguments never reach the store */
    const char *in[1] = {""};
    EXPECT(c, SD_ERR_ARG, sd_run_model(c, NULL, 0, NULL, 0, NULL, 100));
    EXPECT(c, SD_ERR_ARG, sd_run_model(c, "m", 1, NULL, 0, NULL, 100));
    EXPECT(c, SD_ERR_ARG, sd_run_model(c, "m", 1, in, 0, NULL, 100));
    EXPECT(c, SD_ERR_ARG, sd_run_script(c, "s", NULL, 0, NULL, 0, NULL, 100));
    OK(c, sd_unpack_tensor(c, "err_t", d, sizeof d, SD_FLOAT64, 3, sh, SD_ORDER_C));
    sd_client_free(c);
    return failures;
}

/* Reads a value written raw by the test: must fail with `code`, name the key, and leave the client usable. */
static int case_corrupt(const char *key, const char *code_name, size_t n)
{
    sd_client *c = connect_env();
    int code = -1;
    for (int i = 0; strcmp(sd_status_name(i), "unknown status") != 0; i++)
        if (strcmp(sd_status_name(i), code_name) == 0) code = i;
    CHECK(code >= 0, "unknown status %s", code_name);
    void *out = (void *)1;
    sd_dtype dt;
    size_t nd, sh[SD_MAX_NDIM];
    sd_order o;
    EXPECT(c, code, sd_get_tensor(c, key, &out, &dt, &nd, sh, &o));
    MSG_HAS(c, key);
    CHECK(out == NULL, "data pointer set on failure");
    printf("get: %s\n", sd_last_error(c));
    /* unpack as the float64 (n,) the header claims (where it is readable) */
    size_t s1[1] = {n}, s4[1] = {4};
    double *buf = malloc(n * 8 > 64 * 8 ? n * 8 : 64 * 8);
    int rc = sd_unpack_tensor(c, key, buf, n * 8, SD_FLOAT64, 1, s1, SD_ORDER_C);
    CHECK(rc == code, "unpack returned %s: %s", sd_status_name(rc), sd_last_error(c));
    printf("unpack: %s\n", sd_last_error(c));
    /* still in step */
    double v[4] = {1, 2, 3, 4};
    OK(c, sd_put_tensor(c, "after_corrupt", v, SD_FLOAT64, 1, s4, SD_ORDER_C));
    OK(c, sd_unpack_tensor(c, "after_corrupt", buf, 32, SD_FLOAT64, 1, s4, SD_ORDER_C));
    CHECK(buf[3] == 4.0, "after_corrupt");
    free(buf);
    sd_client_free(c);
    return failures;
}

/* The store goes away while the client holds connections. */
static int case_down_midway(void)
{
    sd_client *c = connect_env();
    size_t s[1] = {1000};
    double *v = calloc(1000, 8), *big = calloc((16u << 20) / 8, 8);
    size_t bs[1] = {(16u << 20) / 8};
    OK(c, sd_put_tensor(c, "before", v, SD_FLOAT64, 1, s, SD_ORDER_C));
    wait_line("READY");
    int rc = sd_put_tensor(c, "after", v, SD_FLOAT64, 1, s, SD_ORDER_C);
    CHECK(rc == SD_ERR_CONNECTION, "put to a dead store: %s %s", sd_status_name(rc), sd_last_error(c));
    printf("put: %s\n", sd_last_error(c));
    rc = sd_put_tensor(c, "after_big", big, SD_FLOAT64, 1, bs, SD_ORDER_C);
    CHECK(rc == SD_ERR_CONNECTION, "big put to a dead store: %s", sd_status_name(rc));
    rc = sd_unpack_tensor(c, "before", v, 8000, SD_FLOAT64, 1, s, SD_ORDER_C);
    CHECK(rc == SD_ERR_CONNECTION, "get from a dead store: %s", sd_status_name(rc));
    MSG_HAS(c, "127.0.0.1");
    printf("unpack: %s\n", sd_last_error(c));
    free(v);
    free(big);
    sd_client_free(c);
    return failures;
}

/* A child process must not share the parent's sockets. */
static int case_fork(void)
{
    sd_client *c = connect_env();
    size_t s[1] = {3};
    double v[3] = {1, 2, 3}, w[3];
    OK(c, sd_put_tensor(c, "fork_t", v, SD_FLOAT64, 1, s, SD_ORDER_C));
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        for (int i = 0; i < 50; i++) {
            OK(c, sd_unpack_tensor(c, "fork_t", w, sizeof w, SD_FLOAT64, 1, s, SD_ORDER_C));
            OK(c, sd_put_tensor(c, "fork_child", v, SD_FLOAT64, 1, s, SD_ORDER_C));
        }
        sd_client_free(c);
        _exit(failures ? 1 : 0);
    }
    for (int i = 0; i < 50; i++) OK(c, sd_unpack_tensor(c, "fork_t", w, sizeof w, SD_FLOAT64, 1, s, SD_ORDER_C));
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child failed");
    int ex;
    OK(c, sd_tensor_exists(c, "fork_child", &ex));
    CHECK(ex == 1, "child's tensor missing");
    sd_client_free(c);
    return failures;
}

static void make_dataset(sd_dataset **out, const char *name, double scale)
{
    sd_dataset *ds;
    CHECK(sd_dataset_new(&ds, name) == SD_OK, "dataset_new");
    double u[12];
    for (int i = 0; i < 12; i++) u[i] = i * scale;
    size_t su[2] = {3, 4}, sv[1] = {5}, sf[2] = {2, 3};
    int32_t v[5] = {-2, -1, 0, 1, 2};
    double f[6] = {0, 10, 1, 11, 2, 12}; /* F order of [[0,1,2],[10,11,12]] */
    CHECK(sd_dataset_add_tensor(ds, "u", u, SD_FLOAT64, 2, su, SD_ORDER_C) == SD_OK, "%s", sd_dataset_last_error(ds));
    CHECK(sd_dataset_add_tensor(ds, "v", v, SD_INT32, 1, sv, SD_ORDER_C) == SD_OK, "%s", sd_dataset_last_error(ds));
    CHECK(sd_dataset_add_tensor(ds, "f", f, SD_FLOAT64, 2, sf, SD_ORDER_F) == SD_OK, "%s", sd_dataset_last_error(ds));
    size_t nbig = (12u << 20) / 4, sb[1] = {nbig};
    float *big = malloc(nbig * 4);
    for (size_t i = 0; i < nbig; i++) big[i] = (float)(i % 4096);
    CHECK(sd_dataset_add_tensor(ds, "big", big, SD_FLOAT32, 1, sb, SD_ORDER_C) == SD_OK, "big");
    free(big);
    double t0 = 0.5, t1 = 1.5 * scale;
    int32_t step = 7;
    CHECK(sd_dataset_add_meta_scalar(ds, "time", &t0, SD_FLOAT64) == SD_OK, "time");
    CHECK(sd_dataset_add_meta_scalar(ds, "time", &t1, SD_FLOAT64) == SD_OK, "time");
    CHECK(sd_dataset_add_meta_scalar(ds, "step", &step, SD_INT32) == SD_OK, "step");
    CHECK(sd_dataset_add_meta_string(ds, "units", "m/s") == SD_OK, "units");
    CHECK(sd_dataset_add_meta_string(ds, "units", "K") == SD_OK, "units");
    CHECK(sd_dataset_add_meta_string(ds, "note", "quote \" backslash \\ tab\t \xc3\xbcnic\xc3\xb6" "de") == SD_OK, "note");
    *out = ds;
}

static int case_datasets_write(void)
{
    sd_client *c = connect_env();
    sd_dataset *a, *b;
    make_dataset(&a, "cds", 1.0);
    make_dataset(&b, "cds2", 2.0);
    OK(c, sd_put_dataset(c, a));
    OK(c, sd_put_dataset(c, b));
    OK(c, sd_append_to_list(c, "clist", a));
    OK(c, sd_append_to_list(c, "clist", b));
    int ex;
    OK(c, sd_dataset_exists(c, "cds", &ex));
    CHECK(ex == 1, "cds exists");
    OK(c, sd_poll_dataset(c, "cds2", 10, 2, &ex));
    CHECK(ex == 1, "cds2 polled");
    size_t len;
    OK(c, sd_get_list_length(c, "clist", &len));
    CHECK(len == 2, "list length %zu", len);
    OK(c, sd_poll_list_length(c, "clist", 2, 10, 2, &ex));
    CHECK(ex == 1, "poll length ==");
    OK(c, sd_poll_list_length_gte(c, "clist", 1, 10, 2, &ex));
    CHECK(ex == 1, "poll length >=");
    OK(c, sd_poll_list_length_lte(c, "clist", 1, 10, 2, &ex));
    CHECK(ex == 0, "poll length <=");
    /* read them back in C */
    sd_dataset *r;
    OK(c, sd_get_dataset(c, "cds", &r));
    const char *const *names;
    size_t n;
    CHECK(sd_dataset_tensor_names(r, &names, &n) == SD_OK && n == 4 && strcmp(names[0], "u") == 0 &&
              strcmp(names[3], "big") == 0,
          "tensor names");
    double u[12];
    size_t su[2] = {3, 4};
    CHECK(sd_dataset_unpack_tensor(r, "u", u, sizeof u, SD_FLOAT64, 2, su, SD_ORDER_F) == SD_OK, "%s",
          sd_dataset_last_error(r));
    CHECK(u[1] == 4.0 && u[3] == 1.0, "u transposed: %g %g", u[1], u[3]);
    const void *vals;
    size_t cnt;
    sd_dtype dt;
    CHECK(sd_dataset_get_meta_scalars(r, "time", &vals, &cnt, &dt) == SD_OK && cnt == 2 && dt == SD_FLOAT64 &&
              ((const double *)vals)[1] == 1.5,
          "time");
    const char *const *strs;
    CHECK(sd_dataset_get_meta_strings(r, "note", &strs, &cnt) == SD_OK && cnt == 1 &&
              strcmp(strs[0], "quote \" backslash \\ tab\t \xc3\xbcnic\xc3\xb6" "de") == 0,
          "note");
    CHECK(sd_dataset_meta_names(r, &names, &n) == SD_OK && n == 4, "meta names %zu", n);
    sd_dataset_free(r);
    sd_dataset **list;
    OK(c, sd_get_datasets_from_list(c, "clist", &list, &cnt));
    CHECK(cnt == 2 && strcmp(sd_dataset_name(list[0]), "cds") == 0 && strcmp(sd_dataset_name(list[1]), "cds2") == 0,
          "list datasets");
    sd_datasets_free(list, cnt);
    /* overwrite cds2 with fewer tensors: the dropped ones go */
    sd_dataset *small;
    double one = 1;
    CHECK(sd_dataset_new(&small, "cds3") == SD_OK, "new");
    CHECK(sd_dataset_add_meta_scalar(small, "x", &one, SD_FLOAT64) == SD_OK, "x");
    OK(c, sd_put_dataset(c, small));
    OK(c, sd_delete_dataset(c, "cds3"));
    OK(c, sd_dataset_exists(c, "cds3", &ex));
    CHECK(ex == 0, "deleted dataset exists");
    sd_dataset_free(small);
    sd_dataset_free(a);
    sd_dataset_free(b);
    sd_client_free(c);
    return failures;
}

/* Python wrote dataset "pds" (tensors a: float64 (2, 3) = arange, b: int64 (4,) = [5, 6, 7, 8],
 * scalars "dt" float32 [0.25, 0.5], "n" int64 [3], strings "tags" ["alpha", "βeta"]) and list "plist"
 * = [pds, pds2] (pds2 like pds with a = 10 * arange). */
static int case_datasets_read(void)
{
    sd_client *c = connect_env();
    sd_dataset *ds;
    OK(c, sd_get_dataset(c, "pds", &ds));
    if (!ds) return failures;
    const void *data;
    sd_dtype dt;
    size_t nd;
    const size_t *sh;
    sd_order o;
    CHECK(sd_dataset_get_tensor(ds, "a", &data, &dt, &nd, &sh, &o) == SD_OK, "%s", sd_dataset_last_error(ds));
    CHECK(dt == SD_FLOAT64 && nd == 2 && sh[0] == 2 && sh[1] == 3 && o == SD_ORDER_C && ((const double *)data)[5] == 5.0,
          "pds.a");
    int64_t b[4];
    size_t sb[1] = {4};
    CHECK(sd_dataset_unpack_tensor(ds, "b", b, sizeof b, SD_INT64, 1, sb, SD_ORDER_C) == SD_OK && b[0] == 5 && b[3] == 8,
          "pds.b");
    CHECK(sd_dataset_unpack_tensor(ds, "b", b, sizeof b, SD_INT32, 1, sb, SD_ORDER_C) == SD_ERR_TYPE, "pds.b type");
    const void *vals;
    size_t cnt;
    CHECK(sd_dataset_get_meta_scalars(ds, "dt", &vals, &cnt, &dt) == SD_OK && cnt == 2 && dt == SD_FLOAT32 &&
              ((const float *)vals)[1] == 0.5f,
          "dt");
    CHECK(sd_dataset_get_meta_scalars(ds, "n", &vals, &cnt, &dt) == SD_OK && cnt == 1 && dt == SD_INT64 &&
              ((const int64_t *)vals)[0] == 3,
          "n");
    const char *const *strs;
    CHECK(sd_dataset_get_meta_strings(ds, "tags", &strs, &cnt) == SD_OK && cnt == 2 && strcmp(strs[0], "alpha") == 0 &&
              strcmp(strs[1], "\xce\xb2" "eta") == 0,
          "tags");
    CHECK(sd_dataset_get_meta_strings(ds, "n", &strs, &cnt) == SD_ERR_TYPE, "n is no string field");
    sd_dataset_free(ds);
    sd_dataset **list;
    OK(c, sd_get_datasets_from_list(c, "plist", &list, &cnt));
    CHECK(cnt == 2, "plist has %zu", cnt);
    if (cnt == 2) {
        CHECK(sd_dataset_get_tensor(list[1], "a", &data, &dt, &nd, &sh, &o) == SD_OK && ((const double *)data)[5] == 50.0,
              "pds2.a");
        CHECK(strcmp(sd_dataset_name(list[1]), "pds2") == 0, "name %s", sd_dataset_name(list[1]));
    }
    sd_datasets_free(list, cnt);
    OK(c, sd_delete_list(c, "plist"));
    size_t len;
    OK(c, sd_get_list_length(c, "plist", &len));
    CHECK(len == 0, "deleted list");
    sd_client_free(c);
    return failures;
}

/* SIMDASK_KEY_PREFIX=member1, SIMDASK_KEY_PREFIXES_IN=member0,other (set by the test). */
static int case_prefixes(void)
{
    sd_client *c = connect_env();
    double v[3] = {1, 2, 3}, w[3];
    size_t s[1] = {3};
    OK(c, sd_put_tensor(c, "t", v, SD_FLOAT64, 1, s, SD_ORDER_C)); /* member1.t */
    OK(c, sd_unpack_tensor(c, "x", w, sizeof w, SD_FLOAT64, 1, s, SD_ORDER_C)); /* member0.x */
    CHECK(w[0] == 100.0, "member0.x = %g", w[0]);
    int ex;
    OK(c, sd_tensor_exists(c, "t", &ex));
    CHECK(ex == 0, "reads use member0, which has no t");
    OK(c, sd_set_data_source(c, "other"));
    OK(c, sd_unpack_tensor(c, "x", w, sizeof w, SD_FLOAT64, 1, s, SD_ORDER_C)); /* other.x */
    CHECK(w[0] == 200.0, "other.x = %g", w[0]);
    OK(c, sd_set_data_source(c, "member1"));
    OK(c, sd_unpack_tensor(c, "t", w, sizeof w, SD_FLOAT64, 1, s, SD_ORDER_C));
    CHECK(w[2] == 3.0, "own t");
    EXPECT(c, SD_ERR_ARG, sd_set_data_source(c, "member9"));
    sd_dataset *ds;
    CHECK(sd_dataset_new(&ds, "pd") == SD_OK, "new");
    CHECK(sd_dataset_add_tensor(ds, "t", v, SD_FLOAT64, 1, s, SD_ORDER_C) == SD_OK, "add");
    OK(c, sd_put_dataset(c, ds));           /* member1.{pd}.meta, member1.{pd}.t */
    OK(c, sd_append_to_list(c, "pl", ds));  /* member1.pl = [member1.{pd}] */
    sd_dataset **list;
    size_t cnt;
    OK(c, sd_get_datasets_from_list(c, "pl", &list, &cnt));
    CHECK(cnt == 1 && strcmp(sd_dataset_name(list[0]), "pd") == 0, "own list");
    sd_datasets_free(list, cnt);
    sd_dataset_free(ds);
    OK(c, sd_put_tensor(c, "gone", v, SD_FLOAT64, 1, s, SD_ORDER_C));
    OK(c, sd_delete_tensor(c, "gone")); /* deletes use the write prefix, member1 */
    OK(c, sd_key_exists(c, "member1.gone", &ex));
    CHECK(ex == 0, "member1.gone deleted");
    sd_client_free(c);
    return failures;
}

/* Run requests against the test's responder: "copy" copies inputs to outputs,
 * "fail" answers ERR, "slow" never answers; script "double" doubles. */
static int case_requests(void)
{
    sd_client *c = connect_env();
    double a[4] = {1, 2, 3, 4}, b[6] = {5, 6, 7, 8, 9, 10}, r[6];
    size_t sa[2] = {2, 2}, sb[1] = {6};
    OK(c, sd_put_tensor(c, "in1", a, SD_FLOAT64, 2, sa, SD_ORDER_C));
    OK(c, sd_put_tensor(c, "in2", b, SD_FLOAT64, 1, sb, SD_ORDER_C));
    const char *in[2] = {"in1", "in2"}, *out[2] = {"out1", "out2"};
    OK(c, sd_run_model(c, "copy", 2, in, 2, out, 10000));
    OK(c, sd_unpack_tensor(c, "out1", r, sizeof r, SD_FLOAT64, 2, sa, SD_ORDER_C));
    CHECK(memcmp(r, a, sizeof a) == 0, "out1");
    OK(c, sd_unpack_tensor(c, "out2", r, sizeof r, SD_FLOAT64, 1, sb, SD_ORDER_C));
    CHECK(memcmp(r, b, sizeof b) == 0, "out2");
    EXPECT(c, SD_ERR_MODEL, sd_run_model(c, "fail", 1, in, 1, out, 10000));
    MSG_HAS(c, "exploded");
    MSG_HAS(c, "fail");
    EXPECT(c, SD_ERR_TIMEOUT, sd_run_model(c, "slow", 1, in, 1, out, 300));
    MSG_HAS(c, "slow");
    const char *dout[1] = {"doubled"};
    OK(c, sd_run_script(c, "double", "twice", 1, in + 1, 1, dout, 0));
    OK(c, sd_unpack_tensor(c, "doubled", r, sizeof r, SD_FLOAT64, 1, sb, SD_ORDER_C));
    CHECK(r[0] == 10.0 && r[5] == 20.0, "doubled %g %g", r[0], r[5]);
    EXPECT(c, SD_ERR_MODEL, sd_run_script(c, "double", "nope", 1, in, 1, dout, 10000));
    MSG_HAS(c, "nope");
    /* the connection used for the blocking pop is fine afterwards */
    OK(c, sd_run_model(c, "copy", 1, in, 1, out, -1));
    sd_client_free(c);
    /* a socket timeout shorter than the run timeout: the pop still gets its full time */
    sd_options opt;
    sd_options_init(&opt);
    opt.io_timeout_ms = 100;
    OK(c, sd_client_new_with_options(&c, &opt));
    EXPECT(c, SD_ERR_TIMEOUT, sd_run_model(c, "slow", 1, in, 1, out, 400));
    MSG_HAS(c, "no reply from the inference service");
    OK(c, sd_run_model(c, "copy", 1, in, 1, out, 5000));
    OK(c, sd_unpack_tensor(c, "out1", r, sizeof r, SD_FLOAT64, 2, sa, SD_ORDER_C));
    sd_client_free(c);
    return failures;
}

static int case_cluster(void)
{
    sd_client *c = connect_env();
    int cl = 0;
    OK(c, sd_is_cluster(c, &cl));
    CHECK(cl == 1, "cluster not detected");
    char name[64];
    double v[8], w[8];
    size_t s[1] = {8};
    for (int i = 0; i < 200; i++) {
        for (int j = 0; j < 8; j++) v[j] = i * 10 + j;
        snprintf(name, sizeof name, "cl_%d", i);
        OK(c, sd_put_tensor(c, name, v, SD_FLOAT64, 1, s, SD_ORDER_C));
    }
    for (int i = 0; i < 200; i++) {
        snprintf(name, sizeof name, "cl_%d", i);
        OK(c, sd_unpack_tensor(c, name, w, sizeof w, SD_FLOAT64, 1, s, SD_ORDER_C));
        CHECK(w[7] == i * 10 + 7, "%s", name);
    }
    size_t shape[2] = {2048, 1500}; /* 24 MiB, chunked: chunks on the head's shard */
    double *big = malloc(shape[0] * shape[1] * 8), *got = malloc(shape[0] * shape[1] * 8);
    for (size_t i = 0; i < shape[0] * shape[1]; i++) big[i] = (double)i;
    const char *bigs[3] = {"cl_big", "cl_{tagged}big", "{other}cl_big"};
    for (int i = 0; i < 3; i++) {
        OK(c, sd_put_tensor(c, bigs[i], big, SD_FLOAT64, 2, shape, SD_ORDER_C));
        memset(got, 0, shape[0] * shape[1] * 8);
        OK(c, sd_unpack_tensor(c, bigs[i], got, shape[0] * shape[1] * 8, SD_FLOAT64, 2, shape, SD_ORDER_C));
        CHECK(memcmp(got, big, shape[0] * shape[1] * 8) == 0, "%s", bigs[i]);
    }
    OK(c, sd_put_tensor(c, "cl_big", big, SD_FLOAT64, 2, shape, SD_ORDER_C)); /* overwrite drops old chunks */
    OK(c, sd_delete_tensor(c, "{other}cl_big"));
    free(big);
    free(got);
    sd_dataset *ds;
    make_dataset(&ds, "clds", 3.0);
    OK(c, sd_put_dataset(c, ds));
    OK(c, sd_append_to_list(c, "cl_list", ds));
    sd_dataset_free(ds);
    sd_dataset **list;
    size_t cnt;
    OK(c, sd_get_datasets_from_list(c, "cl_list", &list, &cnt));
    CHECK(cnt == 1, "cluster list");
    sd_datasets_free(list, cnt);
    int ex;
    OK(c, sd_dataset_exists(c, "clds", &ex));
    CHECK(ex == 1, "clds");
    sd_client_free(c);
    return failures;
}

/* Slot migration driven by the test: MOVED after a finished migration, ASK during one. */
static int case_redirects(void)
{
    sd_client *c = connect_env();
    double v[4] = {1, 2, 3, 4}, w[4];
    size_t s[1] = {4};
    size_t nbig = (10u << 20) / 8, sb[1] = {nbig};
    double *big = malloc(nbig * 8), *got = malloc(nbig * 8);
    for (size_t i = 0; i < nbig; i++) big[i] = (double)i;
    OK(c, sd_put_tensor(c, "{mv}a", v, SD_FLOAT64, 1, s, SD_ORDER_C));
    OK(c, sd_put_tensor(c, "{mv}big", big, SD_FLOAT64, 1, sb, SD_ORDER_C));
    wait_line("MIGRATE");  /* the slot of {mv} moves to another node, keys and chunks with it */
    OK(c, sd_unpack_tensor(c, "{mv}a", w, sizeof w, SD_FLOAT64, 1, s, SD_ORDER_C)); /* MOVED */
    CHECK(w[3] == 4.0, "{mv}a after MOVED");
    OK(c, sd_unpack_tensor(c, "{mv}big", got, nbig * 8, SD_FLOAT64, 1, sb, SD_ORDER_C));
    CHECK(memcmp(got, big, nbig * 8) == 0, "{mv}big after MOVED");
    OK(c, sd_put_tensor(c, "{mv}c", v, SD_FLOAT64, 1, s, SD_ORDER_C));
    wait_line("ASK"); /* the slot is now migrating back: new keys land on the importing node */
    OK(c, sd_put_tensor(c, "{mv}new", v, SD_FLOAT64, 1, s, SD_ORDER_C));
    OK(c, sd_unpack_tensor(c, "{mv}new", w, sizeof w, SD_FLOAT64, 1, s, SD_ORDER_C));
    CHECK(w[0] == 1.0, "{mv}new via ASK");
    OK(c, sd_unpack_tensor(c, "{mv}a", w, sizeof w, SD_FLOAT64, 1, s, SD_ORDER_C)); /* still on the source */
    OK(c, sd_put_tensor(c, "{mv}newbig", big, SD_FLOAT64, 1, sb, SD_ORDER_C));
    OK(c, sd_unpack_tensor(c, "{mv}newbig", got, nbig * 8, SD_FLOAT64, 1, sb, SD_ORDER_C));
    CHECK(memcmp(got, big, nbig * 8) == 0, "{mv}newbig via ASK");
    int ex;
    OK(c, sd_tensor_exists(c, "{mv}new", &ex));
    wait_line("DONE");
    free(big);
    free(got);
    sd_client_free(c);
    return failures;
}

static int case_poll(void)
{
    sd_client *c = connect_env();
    int ex = 0;
    wait_line("POLLING");
    OK(c, sd_poll_tensor(c, "later", 20, 250, &ex));
    CHECK(ex == 1, "later never appeared");
    OK(c, sd_poll_dataset(c, "later_ds", 20, 250, &ex));
    CHECK(ex == 1, "later_ds never appeared");
    OK(c, sd_poll_list_length_gte(c, "later_list", 3, 20, 250, &ex));
    CHECK(ex == 1, "later_list never grew");
    sd_client_free(c);
    return failures;
}

/* Reads a chunked tensor that Python overwrites all the time (np.full(n, k), k changing):
 * every read is one generation (all elements equal); a read that loses a chunk to an
 * overwrite re-reads the head and gets the new generation; one that loses the new
 * generation's chunks too says SD_ERR_CONCURRENT. */
static int case_concurrent_reads(void)
{
    sd_client *c = connect_env();
    size_t n = (12u << 20) / 8, s[1] = {n};
    double *x = malloc(n * 8);
    int ok = 0, overwritten = 0, reads = 100;
    wait_line("READING");
    for (int i = 0; i < reads; i++) {
        int rc = sd_unpack_tensor(c, "flip", x, n * 8, SD_FLOAT64, 1, s, SD_ORDER_C);
        if (rc == SD_OK) {
            size_t bad = 0;
            for (size_t j = 1; j < n; j++) bad += x[j] != x[0];
            CHECK(bad == 0, "read %d mixes generations: %zu elements differ from %g", i, bad, x[0]);
            ok++;
        } else {
            CHECK(rc == SD_ERR_CONCURRENT && strstr(sd_last_error(c), "flip"), "read %d: %s %s", i,
                  sd_status_name(rc), sd_last_error(c));
            overwritten++;
        }
    }
    printf("%d consistent reads, %d overwritten twice during one read\n", ok, overwritten);
    CHECK(ok >= reads * 8 / 10, "only %d of %d reads succeeded", ok, reads);
    free(x);
    sd_client_free(c);
    return failures;
}

/* A store with a small maxmemory refuses a large put: SD_ERR_STORE naming the key, and the
 * chunks written before the refusal are removed again (the test checks the store). */
static int case_store_full(void)
{
    sd_client *c = connect_env();
    size_t n = (48u << 20) / 8, s[1] = {n};
    double *a = calloc(n, 8);
    EXPECT(c, SD_ERR_STORE, sd_put_tensor(c, "too_big", a, SD_FLOAT64, 1, s, SD_ORDER_C));
    MSG_HAS(c, "too_big");
    MSG_HAS(c, "OOM");
    printf("put: %s\n", sd_last_error(c));
    int ex = 1;
    OK(c, sd_tensor_exists(c, "too_big", &ex));
    CHECK(ex == 0, "a refused tensor exists");
    s[0] = 4;
    OK(c, sd_put_tensor(c, "small", a, SD_FLOAT64, 1, s, SD_ORDER_C));
    free(a);
    sd_client_free(c);
    return failures;
}

/* A small round trip, plain and chunked: for the static build and the password store. */
static int case_smoke(void)
{
    sd_client *c = connect_env();
    size_t n = (9u << 20) / 8 + 3, s[1] = {n};
    double *a = malloc(n * 8), *b = malloc(n * 8);
    for (size_t i = 0; i < n; i++) a[i] = (double)i * 0.5;
    OK(c, sd_put_tensor(c, "smoke_big", a, SD_FLOAT64, 1, s, SD_ORDER_C));
    OK(c, sd_unpack_tensor(c, "smoke_big", b, n * 8, SD_FLOAT64, 1, s, SD_ORDER_C));
    CHECK(memcmp(a, b, n * 8) == 0, "smoke_big");
    s[0] = 10;
    OK(c, sd_put_tensor(c, "smoke", a, SD_FLOAT64, 1, s, SD_ORDER_C));
    OK(c, sd_unpack_tensor(c, "smoke", b, 80, SD_FLOAT64, 1, s, SD_ORDER_C));
    CHECK(b[9] == 4.5, "smoke");
    free(a);
    free(b);
    sd_client_free(c);
    return failures;
}

/* Keys that hold another kind of value: SD_ERR_TYPE naming the key, on the
 * tensor read path (raw GET) and on the generic command path alike. */
static int case_wrong_type(void)
{
    sd_client *c = connect_env();
    sd_dataset *ds;
    double v[4] = {1, 2, 3, 4}, w[4];
    size_t s[1] = {4}, len;
    void *out = (void *)1;
    sd_dtype dt;
    size_t nd, sh[SD_MAX_NDIM];
    sd_order o;
    CHECK(sd_dataset_new(&ds, "wt_ds") == SD_OK && sd_dataset_add_tensor(ds, "t", v, SD_FLOAT64, 1, s, SD_ORDER_C) == SD_OK,
          "dataset");
    OK(c, sd_put_dataset(c, ds));
    OK(c, sd_append_to_list(c, "wt_list", ds)); /* the key wt_list holds a list */
    EXPECT(c, SD_ERR_TYPE, sd_get_tensor(c, "wt_list", &out, &dt, &nd, sh, &o));
    MSG_HAS(c, "wt_list");
    MSG_HAS(c, "WRONGTYPE");
    CHECK(out == NULL, "data pointer set on failure");
    EXPECT(c, SD_ERR_TYPE, sd_unpack_tensor(c, "wt_list", w, sizeof w, SD_FLOAT64, 1, s, SD_ORDER_C));
    MSG_HAS(c, "wt_list");
    OK(c, sd_put_tensor(c, "wt_tensor", v, SD_FLOAT64, 1, s, SD_ORDER_C)); /* a string key */
    EXPECT(c, SD_ERR_TYPE, sd_get_list_length(c, "wt_tensor", &len));
    MSG_HAS(c, "wt_tensor");
    MSG_HAS(c, "WRONGTYPE");
    EXPECT(c, SD_ERR_TYPE, sd_append_to_list(c, "wt_tensor", ds));
    MSG_HAS(c, "wt_tensor");
    /* still in step */
    OK(c, sd_unpack_tensor(c, "wt_tensor", w, sizeof w, SD_FLOAT64, 1, s, SD_ORDER_C));
    CHECK(w[3] == 4.0, "wt_tensor");
    sd_dataset_free(ds);
    sd_client_free(c);
    return failures;
}

/* The defaults sd_options_init gives, for the test to compare with simdask.h and simdask.yaml. */
static int case_defaults(void)
{
    sd_options opt;
    sd_options_init(&opt);
    printf("connect_timeout_ms %d\nio_timeout_ms %d\nrun_timeout_ms %d\n", opt.connect_timeout_ms,
           opt.io_timeout_ms, opt.run_timeout_ms);
    return failures;
}

/* Connecting must fail cleanly (bad password, none, ...): prints the message. */
static int case_connect_fails(const char *code_name)
{
    sd_client *c = NULL;
    int rc = sd_client_new(&c, NULL);
    if (rc == SD_OK) { /* some stores only refuse the first command */
        double v = 1;
        rc = sd_put_tensor(c, "x", &v, SD_FLOAT64, 0, NULL, SD_ORDER_C);
    }
    printf("%s: %s\n", sd_status_name(rc), sd_last_error(c));
    CHECK(strcmp(sd_status_name(rc), code_name) == 0, "got %s, expected %s", sd_status_name(rc), code_name);
    sd_client_free(c);
    return failures;
}

/* ---- describing a tensor (docs/protocol.md "Describing a tensor") ----------------------------- */

/* theta[nz][nx] = 100 step + 10 z + x + 0.25, on 2 x 3 uneven blocks (rows 0 2 5, columns 0 4 5 8), each put
 * as one rank would with its description: under "cmeta<rank>_<step>" as C lies it (shape {nz_r, nx_r}, dims
 * {"z", "x"}), and the same memory, not copied, under "fmeta<rank>_<step>" as Fortran's theta(nx, nz) (F order,
 * everything reversed). x = 0.5 i + 0.1; time = 60 step; units, long_name, levels, scale. */
static int case_described(void)
{
    enum { NZ = 5, NX = 8 };
    static const size_t rows[3] = {0, 2, 5}, cols[4] = {0, 4, 5, 8}, global_c[2] = {NZ, NX}, global_f[2] = {NX, NZ};
    static const char *const dims_c[2] = {"z", "x"}, *const dims_f[2] = {"x", "z"};
    double xs[NX], block[NZ * NX];
    sd_client *c = connect_env();
    sd_tensor_meta *mc = NULL, *mf = NULL;
    for (int i = 0; i < NX; i++) xs[i] = 0.5 * i + 0.1;
    OK(c, sd_tensor_meta_new(&mc));
    OK(c, sd_tensor_meta_new(&mf));
    sd_tensor_meta *both[2] = {mc, mf};
    OK(c, sd_tensor_meta_set_dims(mc, 2, dims_c));
    OK(c, sd_tensor_meta_set_dims(mf, 2, dims_f));
    for (int k = 0; k < 2; k++) {
        OK(c, sd_tensor_meta_set_attr_string(both[k], "units", "K"));
        OK(c, sd_tensor_meta_set_attr_string(both[k], "long_name", "potential temperature"));
        OK(c, sd_tensor_meta_set_attr_int(both[k], "levels", NZ));
        OK(c, sd_tensor_meta_set_attr_double(both[k], "scale", 1.0));
    }
    for (int step = 0; step < 2; step++) {
        for (int k = 0; k < 2; k++) OK(c, sd_tensor_meta_set_coord_scalar(both[k], "time", 60.0 * step));
        for (size_t i = 0; i < 2; i++) {
            for (size_t j = 0; j < 3; j++) {
                size_t nz = rows[i + 1] - rows[i], nx = cols[j + 1] - cols[j], rank = 3 * i + j;
                size_t shape_c[2] = {nz, nx}, shape_f[2] = {nx, nz};
                size_t start_c[2] = {rows[i], cols[j]}, start_f[2] = {cols[j], rows[i]};
                char name[64];
                for (size_t z = 0; z < nz; z++)
                    for (size_t x = 0; x < nx; x++)
                        block[z * nx + x] = 100.0 * step + 10.0 * (double)(rows[i] + z) + (double)(cols[j] + x) + 0.25;
                for (int k = 0; k < 2; k++) OK(c, sd_tensor_meta_set_coord_array(both[k], "x", xs + cols[j], nx));
                OK(c, sd_tensor_meta_set_block(mc, 2, global_c, start_c));
                OK(c, sd_tensor_meta_set_block(mf, 2, global_f, start_f));
                snprintf(name, sizeof name, "cmeta%zu_%d", rank, step);
                OK(c, sd_put_tensor_meta(c, name, block, SD_FLOAT64, 2, shape_c, SD_ORDER_C, mc));
                snprintf(name, sizeof name, "fmeta%zu_%d", rank, step);
                OK(c, sd_put_tensor_meta(c, name, block, SD_FLOAT64, 2, shape_f, SD_ORDER_F, mf));
            }
        }
    }
    sd_tensor_meta_free(mc);
    sd_tensor_meta_free(mf);
    /* numbers that must read back as the same double, text that must be escaped */
    sd_tensor_meta *m = NULL;
    double one = 1.0;
    size_t shape1[1] = {1};
    OK(c, sd_tensor_meta_new(&m));
    OK(c, sd_tensor_meta_set_attr_double(m, "third", 1.0 / 3.0));
    OK(c, sd_tensor_meta_set_attr_double(m, "tiny", 4.9406564584124654e-324));
    OK(c, sd_tensor_meta_set_attr_double(m, "huge", 1.7976931348623157e308));
    OK(c, sd_tensor_meta_set_attr_double(m, "negative_zero", -0.0));
    OK(c, sd_tensor_meta_set_attr_double(m, "one", 1.0));
    OK(c, sd_tensor_meta_set_attr_double(m, "minus_inf", -1.0 / 0.0));
    OK(c, sd_tensor_meta_set_attr_double(m, "nan", 0.0 / 0.0));
    OK(c, sd_tensor_meta_set_attr_int(m, "big", 4611686018427387904LL));
    OK(c, sd_tensor_meta_set_attr_int(m, "negative", -7));
    OK(c, sd_tensor_meta_set_attr_string(m, "text", "say \"hi\"\\\n\t\x01 caf\xc3\xa9"));
    OK(c, sd_tensor_meta_set_attr_string(m, "text", "replaced: \"caf\xc3\xa9\"\\"));
    OK(c, sd_tensor_meta_set_coord_string(m, "member", "ctl"));
    OK(c, sd_tensor_meta_set_coord_scalar(m, "time", 0.1));
    OK(c, sd_put_tensor_meta(c, "cmeta_numbers", &one, SD_FLOAT64, 1, shape1, SD_ORDER_C, m));
    OK(c, sd_put_tensor_meta(c, "cmeta_none", &one, SD_FLOAT64, 1, shape1, SD_ORDER_C, NULL));
    sd_tensor_meta_free(m);
    sd_client_free(c);
    return failures;
}

/* A description that does not fit is SD_ERR_ARG naming what (the object's or the key's), and writes nothing. */
static int case_described_errors(void)
{
    static const char *const yx[2] = {"y", "x"}, *const with_null[2] = {"y", NULL};
    const char *many[SD_MAX_NDIM + 1];
    double data[8] = {0}, values[3] = {1, 2, 3};
    size_t shape[2] = {2, 4}, global[2] = {4, 4}, start[2] = {3, 0}, huge[1] = {(size_t)1 << 63}, zero[1] = {0};
    sd_client *c = connect_env();
    sd_tensor_meta *m = NULL;
    int exists = -1;
    CHECK(sd_tensor_meta_new(NULL) == SD_ERR_ARG, "sd_tensor_meta_new(NULL)");
    CHECK(sd_tensor_meta_set_dims(NULL, 0, NULL) == SD_ERR_ARG, "NULL meta");
    CHECK(strstr(sd_tensor_meta_last_error(NULL), "NULL") != NULL, "%s", sd_tensor_meta_last_error(NULL));
    OK(c, sd_tensor_meta_new(&m));
    for (int i = 0; i <= SD_MAX_NDIM; i++) many[i] = "d";
#define META_FAILS(call, text)                                                                                 \
    do {                                                                                                       \
        int rc_ = (call);                                                                                      \
        CHECK(rc_ == SD_ERR_ARG, "%s: %s", #call, sd_status_name(rc_));                                      \
        CHECK(strstr(sd_tensor_meta_last_error(m), (text)) != NULL, "'%s' lacks '%s'", sd_tensor_meta_last_error(m), \
              (text));                                                                                         \
    } while (0)
    META_FAILS(sd_tensor_meta_set_dims(m, SD_MAX_NDIM + 1, many), "at most 32");
    META_FAILS(sd_tensor_meta_set_dims(m, 2, with_null), "dimension name 1 is NULL");
    META_FAILS(sd_tensor_meta_set_attr_string(m, NULL, "K"), "attr name is NULL");
    META_FAILS(sd_tensor_meta_set_attr_string(m, "units", NULL), "attr 'units': the value is NULL");
    META_FAILS(sd_tensor_meta_set_coord_array(m, "x", NULL, 3), "values is NULL");
    META_FAILS(sd_tensor_meta_set_block(m, 1, huge, zero), "below 2^63");
    for (int i = 0; i < 256; i++) {
        char name[16];
        snprintf(name, sizeof name, "c%d", i);
        OK(c, sd_tensor_meta_set_coord_scalar(m, name, i));
    }
    META_FAILS(sd_tensor_meta_set_coord_scalar(m, "one_more", 1.0), "at most 256");
    OK(c, sd_tensor_meta_set_coord_scalar(m, "c0", -1.0)); /* replacing one is fine */
    sd_tensor_meta_free(m);
    OK(c, sd_tensor_meta_new(&m));
    OK(c, sd_tensor_meta_set_dims(m, 2, yx));
#define PUT_FAILS(text)                                                                                       \
    do {                                                                                                      \
        EXPECT(c, SD_ERR_ARG, sd_put_tensor_meta(c, "bad_meta", data, SD_FLOAT64, 2, shape, SD_ORDER_C, m));  \
        MSG_HAS(c, "'bad_meta'");                                                                             \
        MSG_HAS(c, text);                                                                                     \
    } while (0)
    EXPECT(c, SD_ERR_ARG, sd_put_tensor_meta(c, "bad_meta", data, SD_FLOAT64, 1, shape, SD_ORDER_C, m));
    MSG_HAS(c, "2 dimension names given for a 1-d tensor");
    OK(c, sd_tensor_meta_set_coord_array(m, "x", values, 3));
    PUT_FAILS("coordinate 'x' has 3 values; dimension 'x' has 4");
    OK(c, sd_tensor_meta_set_coord_array(m, "z", values, 2));
    OK(c, sd_tensor_meta_set_coord_array(m, "x", data, 4));
    PUT_FAILS("coordinate 'z' is a list but the tensor has no dimension 'z'");
    sd_tensor_meta_free(m);
    OK(c, sd_tensor_meta_new(&m));
    OK(c, sd_tensor_meta_set_dims(m, 2, yx));
    OK(c, sd_tensor_meta_set_coord_scalar(m, "y", 1.0));
    PUT_FAILS("coordinate 'y' is a scalar but 'y' is a dimension");
    sd_tensor_meta_free(m);
    OK(c, sd_tensor_meta_new(&m));
    OK(c, sd_tensor_meta_set_block(m, 2, global, start));
    PUT_FAILS("a block of shape (2, 4) at (3, 0) does not fit in the global shape (4, 4)");
    OK(c, sd_tensor_meta_set_block(m, 1, global, start));
    PUT_FAILS("a 1-d block given for a 2-d tensor");
    sd_tensor_meta_free(m);
    OK(c, sd_tensor_meta_new(&m));
    OK(c, sd_tensor_meta_set_attr_string(m, "units", "\xff\xfe"));
    PUT_FAILS("invalid UTF-8");
    OK(c, sd_tensor_exists(c, "bad_meta", &exists));
    CHECK(exists == 0, "a refused description wrote the tensor");
    sd_tensor_meta_free(m);
    sd_client_free(c);
    return failures;
#undef META_FAILS
#undef PUT_FAILS
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: c_tests CASE [ARGS]\n");
        return 2;
    }
    const char *cs = argv[1];
    int f;
    if (strcmp(cs, "roundtrip") == 0)
        f = case_roundtrip();
    else if (strcmp(cs, "put_dtypes") == 0)
        f = case_put_dtypes();
    else if (strcmp(cs, "unpack_python") == 0)
        f = case_unpack_python();
    else if (strcmp(cs, "errors") == 0 && argc > 2)
        f = case_errors(argv[2]);
    else if (strcmp(cs, "corrupt") == 0 && argc > 3)
        f = case_corrupt(argv[2], argv[3], argc > 4 ? (size_t)strtoull(argv[4], NULL, 10) : 4);
    else if (strcmp(cs, "down_midway") == 0)
        f = case_down_midway();
    else if (strcmp(cs, "fork") == 0)
        f = case_fork();
    else if (strcmp(cs, "datasets_write") == 0)
        f = case_datasets_write();
    else if (strcmp(cs, "datasets_read") == 0)
        f = case_datasets_read();
    else if (strcmp(cs, "prefixes") == 0)
        f = case_prefixes();
    else if (strcmp(cs, "requests") == 0)
        f = case_requests();
    else if (strcmp(cs, "cluster") == 0)
        f = case_cluster();
    else if (strcmp(cs, "redirects") == 0)
        f = case_redirects();
    else if (strcmp(cs, "poll") == 0)
        f = case_poll();
    else if (strcmp(cs, "concurrent_reads") == 0)
        f = case_concurrent_reads();
    else if (strcmp(cs, "store_full") == 0)
        f = case_store_full();
    else if (strcmp(cs, "smoke") == 0)
        f = case_smoke();
    else if (strcmp(cs, "wrong_type") == 0)
        f = case_wrong_type();
    else if (strcmp(cs, "defaults") == 0)
        f = case_defaults();
    else if (strcmp(cs, "described") == 0)
        f = case_described();
    else if (strcmp(cs, "described_errors") == 0)
        f = case_described_errors();
    else if (strcmp(cs, "connect_fails") == 0 && argc > 2)
        f = case_connect_fails(argv[2]);
    else {
        fprintf(stderr, "unknown case or missing arguments: %s\n", cs);
        return 2;
    }
    printf("%s: %d failure(s)\n", cs, f);
    return f > 99 ? 99 : f;
}
