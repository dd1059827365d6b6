/*
 * sr_c_tests.c: the SmartRedis C API test program, driven by test_sr_c_*.py.
 *
 *   sr_c_tests CASE
 *
 * The store comes from SSDB (and the other SmartRedis variables the Python
 * side sets), as a SmartSim-launched program finds it. Written from
 * SmartRedis's documented C API: names, arguments and return codes.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "c_client.h"
#include "c_configoptions.h"
#include "c_dataset.h"
#include "c_logcontext.h"
#include "c_logger.h"
#include "sr_enums.h"
#include "srexception.h"

#include "sr_c_check.h"

static void *connect_client(void)
{
    void *c = NULL;
    SRError rc = SimpleCreateClient(N("sr_c_tests"), &c);
    if (rc != SRNoError) {
        fprintf(stderr, "FAIL cannot create a client (%d): %s\n", (int)rc, SRGetLastError());
        exit(100);
    }
    return c;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- tensors ----------------------------------------------------------------------- */

static const SRTensorType TYPES[] = {SRTensorTypeDouble, SRTensorTypeFloat, SRTensorTypeInt8,  SRTensorTypeInt16,
                                     SRTensorTypeInt32,  SRTensorTypeInt64, SRTensorTypeUint8, SRTensorTypeUint16};
static const size_t SIZES[] = {8, 4, 1, 2, 4, 8, 1, 2};
#define N_TYPES (sizeof TYPES / sizeof TYPES[0])

/* Element i of a test array: value (i * 3 + 1) % 100 of each type, written into p. */
static void set_value(void *p, SRTensorType t, size_t i, int v)
{
    switch (t) {
    case SRTensorTypeDouble: ((double *)p)[i] = v + 0.5; break;
    case SRTensorTypeFloat: ((float *)p)[i] = (float)v + 0.25f; break;
    case SRTensorTypeInt8: ((int8_t *)p)[i] = (int8_t)(v - 50); break;
    case SRTensorTypeInt16: ((int16_t *)p)[i] = (int16_t)(v * 300 - 1000); break;
    case SRTensorTypeInt32: ((int32_t *)p)[i] = v * 100000 - 7; break;
    case SRTensorTypeInt64: ((int64_t *)p)[i] = (int64_t)v * 10000000000LL; break;
    case SRTensorTypeUint8: ((uint8_t *)p)[i] = (uint8_t)(v + 100); break;
    case SRTensorTypeUint16: ((uint16_t *)p)[i] = (uint16_t)(v * 600); break;
    default: break;
    }
}

/* Round trip of a 2x3 tensor of every type: put contiguous, get (client memory) and unpack. */
static void tensors_types(void *c)
{
    size_t dims[2] = {2, 3};
    for (size_t k = 0; k < N_TYPES; k++) {
        unsigned char data[48], back[48];
        for (size_t i = 0; i < 6; i++) set_value(data, TYPES[k], i, (int)(i * 3 + 1));
        char name[32];
        snprintf(name, sizeof name, "t_type_%d", (int)TYPES[k]);
        OK(put_tensor(c, N(name), data, dims, 2, TYPES[k], SRMemLayoutContiguous));
        void *got = NULL;
        size_t *gdims = NULL, gn = 0;
        SRTensorType gt = SRTensorTypeInvalid;
        OK(get_tensor(c, N(name), &got, &gdims, &gn, &gt, SRMemLayoutContiguous));
        CHECK(gt == TYPES[k] && gn == 2 && gdims && gdims[0] == 2 && gdims[1] == 3, "type %d: got %d %zu-d", (int)TYPES[k],
              (int)gt, gn);
        CHECK(got && memcmp(got, data, 6 * SIZES[k]) == 0, "type %d: get_tensor differs", (int)TYPES[k]);
        memset(back, 0, sizeof back);
        OK(unpack_tensor(c, N(name), back, dims, 2, TYPES[k], SRMemLayoutContiguous));
        CHECK(memcmp(back, data, 6 * SIZES[k]) == 0, "type %d: unpack_tensor differs", (int)TYPES[k]);
        bool exists = false;
        OK(tensor_exists(c, N(name), &exists));
        CHECK(exists, "%s does not exist", name);
    }
}

/* The memory layouts, on a 2x3x4 double array a[i][j][k] = 100i + 10j + k. */
static double value3(size_t i, size_t j, size_t k)
{
    return 100.0 * i + 10.0 * j + k;
}

static void tensors_layouts(void *c)
{
    size_t dims[3] = {2, 3, 4};
    double contiguous[2][3][4], fortran[24];
    for (size_t i = 0; i < 2; i++)
        for (size_t j = 0; j < 3; j++)
            for (size_t k = 0; k < 4; k++) {
                contiguous[i][j][k] = value3(i, j, k);
                fortran[i + 2 * j + 6 * k] = value3(i, j, k); /* column-major */
            }
    /* nested: pointer arrays over rows, data[i][j][k] */
    double rows[6][4], *row_ptrs[6], **plane_ptrs[2];
    for (size_t i = 0; i < 2; i++) {
        for (size_t j = 0; j < 3; j++) {
            for (size_t k = 0; k < 4; k++) rows[i * 3 + j][k] = value3(i, j, k);
            row_ptrs[i * 3 + j] = rows[i * 3 + j];
        }
        plane_ptrs[i] = &row_ptrs[i * 3];
    }
    /* fortran nested: data[k][j][i], innermost run along the first dimension */
    double runs[12][2], *run_ptrs[12], **fplane_ptrs[4];
    for (size_t k = 0; k < 4; k++) {
        for (size_t j = 0; j < 3; j++) {
            for (size_t i = 0; i < 2; i++) runs[k * 3 + j][i] = value3(i, j, k);
            run_ptrs[k * 3 + j] = runs[k * 3 + j];
        }
        fplane_ptrs[k] = &run_ptrs[k * 3];
    }
    OK(put_tensor(c, N("lay_c"), contiguous, dims, 3, SRTensorTypeDouble, SRMemLayoutContiguous));
    OK(put_tensor(c, N("lay_f"), fortran, dims, 3, SRTensorTypeDouble, SRMemLayoutFortranContiguous));
    OK(put_tensor(c, N("lay_n"), plane_ptrs, dims, 3, SRTensorTypeDouble, SRMemLayoutNested));
    OK(put_tensor(c, N("lay_fn"), fplane_ptrs, dims, 3, SRTensorTypeDouble, SRMemLayoutFortranNested));
    const char *names[4] = {"lay_c", "lay_f", "lay_n", "lay_fn"};
    for (int t = 0; t < 4; t++) {
        /* every stored form reads back as the same array, in every layout */
        double got_c[2][3][4], got_f[24];
        OK(unpack_tensor(c, N(names[t]), got_c, dims, 3, SRTensorTypeDouble, SRMemLayoutContiguous));
        CHECK(memcmp(got_c, contiguous, sizeof got_c) == 0, "%s unpacked contiguous differs", names[t]);
        OK(unpack_tensor(c, N(names[t]), got_f, dims, 3, SRTensorTypeDouble, SRMemLayoutFortranContiguous));
        CHECK(memcmp(got_f, fortran, sizeof got_f) == 0, "%s unpacked fortran-contiguous differs", names[t]);
        double nrows[6][4], *nrow_ptrs[6], **nplanes[2];
        memset(nrows, 0, sizeof nrows);
        for (size_t r = 0; r < 6; r++) nrow_ptrs[r] = nrows[r];
        for (size_t i = 0; i < 2; i++) nplanes[i] = &nrow_ptrs[i * 3];
        OK(unpack_tensor(c, N(names[t]), nplanes, dims, 3, SRTensorTypeDouble, SRMemLayoutNested));
        CHECK(memcmp(nrows, rows, sizeof rows) == 0, "%s unpacked nested differs", names[t]);
        double fruns[12][2], *frun_ptrs[12], **fplanes[4];
        memset(fruns, 0, sizeof fruns);
        for (size_t r = 0; r < 12; r++) frun_ptrs[r] = fruns[r];
        for (size_t k = 0; k < 4; k++) fplanes[k] = &frun_ptrs[k * 3];
        OK(unpack_tensor(c, N(names[t]), fplanes, dims, 3, SRTensorTypeDouble, SRMemLayoutFortranNested));
        CHECK(memcmp(fruns, runs, sizeof runs) == 0, "%s unpacked fortran-nested differs", names[t]);

        void *got;
        size_t *gdims, gn;
        SRTensorType gt;
        OK(get_tensor(c, N(names[t]), &got, &gdims, &gn, &gt, SRMemLayoutNested));
        double ***nested = got;
        int same = gn == 3;
        for (size_t i = 0; same && i < 2; i++)
            for (size_t j = 0; j < 3; j++)
                for (size_t k = 0; k < 4; k++) same = same && nested[i][j][k] == value3(i, j, k);
        CHECK(same, "%s: get_tensor nested differs", names[t]);
        OK(get_tensor(c, N(names[t]), &got, &gdims, &gn, &gt, SRMemLayoutFortranNested));
        double ***fnested = got;
        same = gn == 3 && gdims[0] == 2 && gdims[2] == 4;
        for (size_t i = 0; same && i < 2; i++)
            for (size_t j = 0; j < 3; j++)
                for (size_t k = 0; k < 4; k++) same = same && fnested[k][j][i] == value3(i, j, k);
        CHECK(same, "%s: get_tensor fortran-nested differs", names[t]);
        OK(get_tensor(c, N(names[t]), &got, &gdims, &gn, &gt, SRMemLayoutFortranContiguous));
        CHECK(memcmp(got, fortran, sizeof fortran) == 0, "%s: get_tensor fortran-contiguous differs", names[t]);
        OK(get_tensor(c, N(names[t]), &got, &gdims, &gn, &gt, SRMemLayoutContiguous));
        CHECK(memcmp(got, contiguous, sizeof contiguous) == 0, "%s: get_tensor contiguous differs", names[t]);
    }
}

/* get_tensor's memory belongs to the client: valid after later calls, until DeleteCClient. */
static void tensors_memory(void *c)
{
    size_t dims[1] = {3};
    int32_t a[3] = {1, 2, 3}, b[3] = {7, 8, 9};
    OK(put_tensor(c, N("mem_a"), a, dims, 1, SRTensorTypeInt32, SRMemLayoutContiguous));
    OK(put_tensor(c, N("mem_b"), b, dims, 1, SRTensorTypeInt32, SRMemLayoutContiguous));
    void *ga, *gb;
    size_t *da, *db, na, nb;
    SRTensorType ta, tb;
    OK(get_tensor(c, N("mem_a"), &ga, &da, &na, &ta, SRMemLayoutContiguous));
    OK(get_tensor(c, N("mem_b"), &gb, &db, &nb, &tb, SRMemLayoutContiguous));
    OK(put_tensor(c, N("mem_a"), b, dims, 1, SRTensorTypeInt32, SRMemLayoutContiguous));
    CHECK(ga != gb && memcmp(ga, a, sizeof a) == 0 && memcmp(gb, b, sizeof b) == 0 && da[0] == 3,
          "get_tensor memory changed by later calls");
}

static void tensors_names(void *c)
{
    size_t dims[1] = {4};
    float v[4] = {1, 2, 3, 4}, back[4];
    bool exists = true;
    OK(put_tensor(c, N("src"), v, dims, 1, SRTensorTypeFloat, SRMemLayoutContiguous));
    OK(copy_tensor(c, N("src"), N("copied")));
    OK(unpack_tensor(c, N("copied"), back, dims, 1, SRTensorTypeFloat, SRMemLayoutContiguous));
    CHECK(memcmp(back, v, sizeof v) == 0, "copy differs");
    OK(rename_tensor(c, N("copied"), N("moved")));
    OK(tensor_exists(c, N("copied"), &exists));
    CHECK(!exists, "renamed tensor still under its old name");
    OK(tensor_exists(c, N("moved"), &exists));
    CHECK(exists, "renamed tensor not under its new name");
    OK(delete_tensor(c, N("moved")));
    OK(tensor_exists(c, N("moved"), &exists));
    CHECK(!exists, "deleted tensor exists");
    OK(poll_tensor(c, N("src"), 10, 3, &exists));
    CHECK(exists, "poll_tensor missed an existing tensor");
    OK(poll_tensor(c, N("never"), 10, 3, &exists));
    CHECK(!exists, "poll_tensor found a missing tensor");
    OK(key_exists(c, N("src"), &exists));
    CHECK(exists, "key_exists missed the unprefixed key");
    OK(poll_key(c, N("src"), 10, 2, &exists));
    CHECK(exists, "poll_key missed the key");
    OK(poll_key(c, N("nokey"), 10, 2, &exists));
    CHECK(!exists, "poll_key found a missing key");
    /* names need not be NUL-terminated: the length counts */
    OK(put_tensor(c, "partXYZ", 4, v, dims, 1, SRTensorTypeFloat, SRMemLayoutContiguous));
    OK(tensor_exists(c, N("part"), &exists));
    CHECK(exists, "a name given with its length was not stored under that length");
}

static int case_tensors(void)
{
    void *c = connect_client();
    tensors_types(c);
    tensors_layouts(c);
    tensors_memory(c);
    tensors_names(c);
    OK(DeleteCClient(&c));
    CHECK(c == NULL, "DeleteCClient left the pointer set");
    OK(DeleteCClient(&c)); /* NULL: nothing to do */
    return failures;
}

/* Tensors for the Python side to read, and reading the one it put ("py_u": float32 3x4, arange). */
static int case_cross(void)
{
    void *c = connect_client();
    size_t dims[2] = {2, 3};
    double c_order[6] = {0, 1, 2, 10, 11, 12};     /* a[i][j] = 10i + j */
    double f_order[6] = {0, 10, 1, 11, 2, 12};     /* the same array, column-major */
    OK(put_tensor(c, N("from_c"), c_order, dims, 2, SRTensorTypeDouble, SRMemLayoutContiguous));
    OK(put_tensor(c, N("from_f"), f_order, dims, 2, SRTensorTypeDouble, SRMemLayoutFortranContiguous));
    int16_t small[3] = {-3, 0, 3};
    size_t sdims[1] = {3};
    OK(put_tensor(c, N("from_c_i16"), small, sdims, 1, SRTensorTypeInt16, SRMemLayoutContiguous));
    size_t pdims[2] = {3, 4};
    float u[12], uf[12];
    OK(unpack_tensor(c, N("py_u"), u, pdims, 2, SRTensorTypeFloat, SRMemLayoutContiguous));
    OK(unpack_tensor(c, N("py_u"), uf, pdims, 2, SRTensorTypeFloat, SRMemLayoutFortranContiguous));
    for (size_t i = 0; i < 3; i++)
        for (size_t j = 0; j < 4; j++) {
            CHECK(u[i * 4 + j] == (float)(i * 4 + j), "py_u[%zu][%zu] = %g", i, j, u[i * 4 + j]);
            CHECK(uf[i + 3 * j] == (float)(i * 4 + j), "py_u(%zu,%zu) = %g (column-major)", i, j, uf[i + 3 * j]);
        }
    /* a type SmartRedis has none for */
    void *got;
    size_t *gd, gn;
    SRTensorType gt;
    EXPECT(SRTypeError, get_tensor(c, N("py_bool"), &got, &gd, &gn, &gt, SRMemLayoutContiguous));
    MSG_HAS("bool");
    OK(DeleteCClient(&c));
    return failures;
}

/* ---- errors ----------------------------------------------------------------------------- */

static void *thread_error(void *arg)
{
    (void)arg;
    void *c = connect_client();
    size_t dims[1] = {1};
    double x[1];
    SRError rc = unpack_tensor(c, N("thread_missing"), x, dims, 1, SRTensorTypeDouble, SRMemLayoutContiguous);
    int ok = rc == SRKeyError && strstr(SRGetLastError(), "thread_missing") != NULL;
    DeleteCClient(&c);
    return ok ? (void *)1 : NULL;
}

static int case_errors(void)
{
    void *c = connect_client();
    size_t dims[2] = {2, 2};
    double x[4] = {1, 2, 3, 4};
    void *got;
    size_t *gd, gn;
    SRTensorType gt;
    bool b;

    CHECK(strcmp(SRGetLastError(), "no error") == 0 && strcmp(SRGetLastErrorLocation(), "unavailable") == 0,
          "before any failure: '%s' at '%s'", SRGetLastError(), SRGetLastErrorLocation());
    EXPECT(SRKeyError, get_tensor(c, N("missing_tensor"), &got, &gd, &gn, &gt, SRMemLayoutContiguous));
    MSG_HAS("missing_tensor");
    CHECK(strcmp(SRGetLastErrorLocation(), "get_tensor") == 0, "location '%s'", SRGetLastErrorLocation());
    EXPECT(SRParameterError, put_tensor(NULL, N("x"), x, dims, 2, SRTensorTypeDouble, SRMemLayoutContiguous));
    MSG_HAS("client");
    EXPECT(SRParameterError, put_tensor(c, NULL, 1, x, dims, 2, SRTensorTypeDouble, SRMemLayoutContiguous));
    EXPECT(SRParameterError, put_tensor(c, N("x"), NULL, dims, 2, SRTensorTypeDouble, SRMemLayoutContiguous));
    EXPECT(SRParameterError, put_tensor(c, N("x"), x, dims, 2, SRTensorTypeInvalid, SRMemLayoutContiguous));
    EXPECT(SRParameterError, put_tensor(c, N("x"), x, dims, 2, SRTensorTypeDouble, SRMemLayoutInvalid));
    EXPECT(SRParameterError, put_tensor(c, N("x"), x, dims, 2, (SRTensorType)42, SRMemLayoutContiguous));
    EXPECT(SRParameterError, put_tensor(c, "", 0, x, dims, 2, SRTensorTypeDouble, SRMemLayoutContiguous));
    MSG_HAS("empty");
    /* a dataset handed where a client belongs */
    void *ds;
    OK(CDataSet(N("not_a_client"), &ds));
    EXPECT(SRParameterError, put_tensor(ds, N("x"), x, dims, 2, SRTensorTypeDouble, SRMemLayoutContiguous));
    MSG_HAS("client");
    OK(DeallocateDataSet(&ds));

    OK(put_tensor(c, N("e2x2"), x, dims, 2, SRTensorTypeDouble, SRMemLayoutContiguous));
    float f[4];
    EXPECT(SRTypeError, unpack_tensor(c, N("e2x2"), f, dims, 2, SRTensorTypeFloat, SRMemLayoutContiguous));
    MSG_HAS("e2x2");
    size_t other[2] = {4, 1};
    EXPECT(SRRuntimeError, unpack_tensor(c, N("e2x2"), x, other, 2, SRTensorTypeDouble, SRMemLayoutContiguous));
    MSG_HAS("e2x2");
    EXPECT(SRParameterError, poll_tensor(c, N("e2x2"), 10, 0, &b));
    EXPECT(SRParameterError, set_data_source(c, N("nobody")));
    MSG_HAS("nobody");

    /* the last error is per thread: another thread's failure leaves ours alone */
    EXPECT(SRKeyError, delete_dataset(c, N("main_thread_missing")));
    pthread_t t;
    void *thread_ok = NULL;
    pthread_create(&t, NULL, thread_error, NULL);
    pthread_join(t, &thread_ok);
    CHECK(thread_ok != NULL, "the other thread did not see its own error");
    MSG_HAS("main_thread_missing");
    OK(DeleteCClient(&c));
    return failures;
}

/* A client that cannot be made: the code and message the Python side expects (argv). */
static int case_bad_client(const char *code)
{
    void *c = (void *)1;
    SRError rc = SimpleCreateClient(N("bad"), &c);
    CHECK(c == NULL, "a failed SimpleCreateClient left a client");
    printf("%d\n%s\n", (int)rc, SRGetLastError());
    CHECK(rc == (SRError)atoi(code), "SimpleCreateClient returned %d, expected %s: %s", (int)rc, code, SRGetLastError());
    return failures;
}

/* ---- ConfigOptions ------------------------------------------------------------------------- */

static int case_config(void)
{
    void *cfg = NULL;
    char *text;
    size_t len;
    int64_t v;
    bool set;
    OK(create_configoptions_from_environment(N("S1"), &cfg));
    OK(is_configured(cfg, N("SSDB"), &set));
    CHECK(set, "SSDB_S1 not configured");
    OK(get_string_option(cfg, N("SSDB"), &text, &len));
    CHECK(strlen(getenv("SSDB_S1")) == len && strcmp(text, getenv("SSDB_S1")) == 0, "SSDB is '%s'", text);
    OK(get_integer_option(cfg, N("SR_CMD_TIMEOUT"), &v));
    CHECK(v == 7, "SR_CMD_TIMEOUT_S1 = %lld", (long long)v);
    EXPECT(SRKeyError, get_integer_option(cfg, N("NOT_SET_ANYWHERE"), &v));
    MSG_HAS("NOT_SET_ANYWHERE_S1");
    EXPECT(SRKeyError, get_string_option(cfg, N(""), &text, &len));
    EXPECT(SRParameterError, get_integer_option(cfg, N("SSKEYOUT"), &v)); /* "member", no integer */
    OK(override_integer_option(cfg, N("MY_INT"), 42));
    OK(get_integer_option(cfg, N("MY_INT"), &v));
    CHECK(v == 42, "override gave %lld", (long long)v);
    OK(override_string_option(cfg, N("SSKEYOUT"), N("other")));
    OK(get_string_option(cfg, N("SSKEYOUT"), &text, &len));
    CHECK(strcmp(text, "other") == 0 && len == 5, "override gave '%s'", text);
    OK(override_string_option(cfg, N("SSKEYOUT"), N("member")));

    /* a client from the suffixed settings: SSDB (unsuffixed) names no store */
    void *c = NULL;
    OK(CreateClient(cfg, N("suffixed"), &c));
    size_t dims[1] = {2};
    double x[2] = {1, 2};
    OK(put_tensor(c, N("cfg_t"), x, dims, 1, SRTensorTypeDouble, SRMemLayoutContiguous));
    OK(DeleteCClient(&c));
    OK(DeallocateConfigOptions(&cfg));
    CHECK(cfg == NULL, "DeallocateConfigOptions left the pointer");
    EXPECT(SRParameterError, CreateClient(NULL, N("x"), &c));
    return failures;
}

/* ---- logging ------------------------------------------------------------------------------- */

static int case_logging(void)
{
    void *c = connect_client(), *lc = NULL, *ds = NULL;
    OK(SmartRedisCLogContext(N("my_context"), &lc));
    OK(CDataSet(N("logged_ds"), &ds));
    log_data(c, LLInfo, N("from the client"));
    log_warning(lc, LLInfo, N("from the log context"));
    log_error(ds, LLDebug, N("from the dataset"));
    log_data(c, LLDeveloper, N("too verbose to appear"));
    log_data_string(N("a_string_context"), LLInfo, N("with a string context"));
    log_warning_string(N("a_string_context"), LLQuiet, N("never logged"));
    log_data(NULL, LLInfo, N("no context: nothing"));
    OK(DeallocateLogContext(&lc));
    OK(DeallocateDataSet(&ds));
    /* a failing call is logged at DEBUG */
    EXPECT(SRParameterError, delete_list(c, NULL, 0));
    OK(DeleteCClient(&c));
    return failures;
}

/* ---- datasets ------------------------------------------------------------------------------ */

static void *make_dataset(const char *name, double base)
{
    void *ds = NULL;
    double u[2][3];
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++) u[i][j] = base + 10 * i + j;
    size_t dims[2] = {2, 3};
    OK(CDataSet(N(name), &ds));
    OK(add_tensor(ds, N("u"), u, dims, 2, SRTensorTypeDouble, SRMemLayoutContiguous));
    OK(add_meta_scalar(ds, N("base"), &base, SRMetadataTypeDouble));
    return ds;
}

static int case_datasets(void)
{
    void *c = connect_client(), *ds = NULL;
    size_t dims[2] = {2, 3};
    OK(CDataSet(N("ds1"), &ds));
    /* add_tensor copies: the buffer reused afterwards changes nothing added */
    double buffer[6] = {1, 2, 3, 4, 5, 6};
    OK(add_tensor(ds, N("first"), buffer, dims, 2, SRTensorTypeDouble, SRMemLayoutContiguous));
    for (int i = 0; i < 6; i++) buffer[i] = -1;
    OK(add_tensor(ds, N("second"), buffer, dims, 2, SRTensorTypeDouble, SRMemLayoutContiguous));
    int16_t f_order[6] = {0, 10, 1, 11, 2, 12}; /* a[i][j] = 10i + j, column-major */
    OK(add_tensor(ds, N("fortran"), f_order, dims, 2, SRTensorTypeInt16, SRMemLayoutFortranContiguous));
    /* metadata of every type */
    double d = 2.5;
    float f = 1.5f;
    int32_t i32 = -7;
    int64_t i64 = 1LL << 40;
    uint32_t u32 = 4000000000u;
    uint64_t u64 = 1ULL << 63;
    OK(add_meta_scalar(ds, N("d"), &d, SRMetadataTypeDouble));
    d = 3.5;
    OK(add_meta_scalar(ds, N("d"), &d, SRMetadataTypeDouble));
    OK(add_meta_scalar(ds, N("f"), &f, SRMetadataTypeFloat));
    OK(add_meta_scalar(ds, N("i32"), &i32, SRMetadataTypeInt32));
    OK(add_meta_scalar(ds, N("i64"), &i64, SRMetadataTypeInt64));
    OK(add_meta_scalar(ds, N("u32"), &u32, SRMetadataTypeUint32));
    OK(add_meta_scalar(ds, N("u64"), &u64, SRMetadataTypeUint64));
    OK(add_meta_string(ds, N("s"), N("hello")));
    OK(add_meta_string(ds, N("s"), N("world")));
    EXPECT(SRParameterError, add_meta_scalar(ds, N("x"), &d, SRMetadataTypeString));
    EXPECT(SRTypeError, add_meta_scalar(ds, N("d"), &f, SRMetadataTypeFloat));
    EXPECT(SRTypeError, add_meta_string(ds, N("d"), N("no")));

    /* reads on the dataset in memory */
    char **names;
    size_t n, *lengths;
    OK(get_tensor_names(ds, &names, &n, &lengths));
    CHECK(n == 3 && strcmp(names[0], "first") == 0 && strcmp(names[2], "fortran") == 0 && lengths[1] == 6,
          "tensor names: %zu", n);
    OK(get_metadata_field_names(ds, &names, &n, &lengths));
    CHECK(n == 7 && strcmp(names[0], "d") == 0 && strcmp(names[6], "s") == 0, "field names: %zu", n);
    SRTensorType tt;
    OK(get_tensor_type(ds, N("fortran"), &tt));
    CHECK(tt == SRTensorTypeInt16, "tensor type %d", (int)tt);
    size_t got_dims[4], *gd = got_dims, room = 4;
    OK(get_tensor_dims(ds, N("first"), &gd, &room));
    CHECK(room == 2 && got_dims[0] == 2 && got_dims[1] == 3, "dims %zu", room);
    room = 1;
    EXPECT(SRBadAllocError, get_tensor_dims(ds, N("first"), &gd, &room));
    CHECK(room == 2, "get_tensor_dims says %zu dims are needed", room);
    SRMetaDataType mt;
    OK(get_metadata_field_type(ds, N("s"), &mt));
    CHECK(mt == SRMetadataTypeString, "s is %d", (int)mt);
    OK(get_metadata_field_type(ds, N("u64"), &mt));
    CHECK(mt == SRMetadataTypeUint64, "u64 is %d", (int)mt);
    EXPECT(SRKeyError, get_metadata_field_type(ds, N("nofield"), &mt));
    MSG_HAS("nofield");
    OK(put_dataset(c, ds));
    OK(DeallocateDataSet(&ds));
    CHECK(ds == NULL, "DeallocateDataSet left the pointer");

    /* ... and on the dataset read back */
    bool exists = false;
    OK(dataset_exists(c, N("ds1"), &exists));
    CHECK(exists, "ds1 does not exist");
    OK(get_dataset(c, N("ds1"), &ds));
    void *data;
    size_t *tdims, nd;
    OK(get_dataset_tensor(ds, N("first"), &data, &tdims, &nd, &tt, SRMemLayoutContiguous));
    double want_first[6] = {1, 2, 3, 4, 5, 6};
    CHECK(nd == 2 && tt == SRTensorTypeDouble && memcmp(data, want_first, sizeof want_first) == 0,
          "first differs");
    OK(get_dataset_tensor(ds, N("second"), &data, &tdims, &nd, &tt, SRMemLayoutContiguous));
    CHECK(((double *)data)[0] == -1, "second differs");
    int16_t c_order[6], want_c[6] = {0, 1, 2, 10, 11, 12};
    OK(unpack_dataset_tensor(ds, N("fortran"), c_order, dims, 2, SRTensorTypeInt16, SRMemLayoutContiguous));
    CHECK(memcmp(c_order, want_c, sizeof want_c) == 0, "fortran tensor read row-major differs");
    OK(get_dataset_tensor(ds, N("fortran"), &data, &tdims, &nd, &tt, SRMemLayoutNested));
    int16_t **rows = data;
    CHECK(rows[1][2] == 12 && rows[0][1] == 1, "nested view differs");
    EXPECT(SRTypeError, unpack_dataset_tensor(ds, N("fortran"), c_order, dims, 2, SRTensorTypeInt32,
                                              SRMemLayoutContiguous));
    EXPECT(SRKeyError, get_dataset_tensor(ds, N("nothere"), &data, &tdims, &nd, &tt, SRMemLayoutContiguous));
    void *values;
    SRMetaDataType vt;
    OK(get_meta_scalars(ds, N("d"), &n, &vt, &values));
    CHECK(n == 2 && vt == SRMetadataTypeDouble && ((double *)values)[1] == 3.5, "d: %zu values", n);
    OK(get_meta_scalars(ds, N("u64"), &n, &vt, &values));
    CHECK(n == 1 && ((uint64_t *)values)[0] == u64, "u64 differs");
    OK(get_meta_scalars(ds, N("i32"), &n, &vt, &values));
    CHECK(n == 1 && vt == SRMetadataTypeInt32 && ((int32_t *)values)[0] == -7, "i32 differs");
    OK(get_meta_strings(ds, N("s"), &names, &n, &lengths));
    CHECK(n == 2 && strcmp(names[1], "world") == 0 && lengths[0] == 5, "strings differ");
    EXPECT(SRTypeError, get_meta_scalars(ds, N("s"), &n, &vt, &values));
    EXPECT(SRKeyError, get_meta_strings(ds, N("nofield"), &names, &n, &lengths));
    const char *text = dataset_to_string(ds);
    CHECK(strstr(text, "ds1") && strstr(text, "fortran"), "dataset_to_string: %s", text);
    OK(DeallocateDataSet(&ds));

    /* copy, rename, delete */
    OK(copy_dataset(c, N("ds1"), N("ds_copy")));
    OK(rename_dataset(c, N("ds_copy"), N("ds_moved")));
    OK(dataset_exists(c, N("ds_copy"), &exists));
    CHECK(!exists, "renamed dataset still under its old name");
    OK(poll_dataset(c, N("ds_moved"), 10, 3, &exists));
    CHECK(exists, "renamed dataset not found");
    OK(get_dataset(c, N("ds_moved"), &ds));
    OK(get_meta_strings(ds, N("s"), &names, &n, &lengths));
    CHECK(n == 2 && strcmp(names[0], "hello") == 0, "copied metadata differs");
    OK(DeallocateDataSet(&ds));
    OK(delete_dataset(c, N("ds_moved")));
    OK(dataset_exists(c, N("ds_moved"), &exists));
    CHECK(!exists, "deleted dataset exists");
    EXPECT(SRKeyError, get_dataset(c, N("ds_moved"), &ds));
    MSG_HAS("ds_moved");
    EXPECT(SRKeyError, copy_dataset(c, N("ds_moved"), N("x")));
    EXPECT(SRParameterError, CDataSet(N("bad{name}"), &ds));
    OK(DeleteCClient(&c));
    return failures;
}

/* ---- aggregation lists ----------------------------------------------------------------------- */

static double base_of(void *ds)
{
    void *values;
    size_t n;
    SRMetaDataType t;
    OK(get_meta_scalars(ds, N("base"), &n, &t, &values));
    return n ? ((double *)values)[0] : -1;
}

static void free_all(void **datasets, size_t n)
{
    for (size_t i = 0; i < n; i++) OK(DeallocateDataSet(&datasets[i]));
    free(datasets);
}

static int case_lists(void)
{
    void *c = connect_client();
    for (int i = 0; i < 5; i++) {
        char name[16];
        snprintf(name, sizeof name, "member_%d", i);
        void *ds = make_dataset(name, 100.0 * i);
        OK(put_dataset(c, ds));
        OK(append_to_list(c, N("ensemble"), ds));
        OK(DeallocateDataSet(&ds));
    }
    int length = -1;
    bool reached;
    OK(get_list_length(c, N("ensemble"), &length));
    CHECK(length == 5, "length %d", length);
    OK(get_list_length(c, N("no_list"), &length));
    CHECK(length == 0, "missing list has length %d", length);
    OK(poll_list_length(c, N("ensemble"), 5, 10, 2, &reached));
    CHECK(reached, "poll_list_length(5)");
    OK(poll_list_length(c, N("ensemble"), 4, 10, 2, &reached));
    CHECK(!reached, "poll_list_length(4)");
    OK(poll_list_length_gte(c, N("ensemble"), 3, 10, 2, &reached));
    CHECK(reached, "poll_list_length_gte(3)");
    OK(poll_list_length_gte(c, N("ensemble"), 6, 10, 2, &reached));
    CHECK(!reached, "poll_list_length_gte(6)");
    OK(poll_list_length_lte(c, N("ensemble"), 5, 10, 2, &reached));
    CHECK(reached, "poll_list_length_lte(5)");
    OK(poll_list_length_lte(c, N("ensemble"), 2, 10, 2, &reached));
    CHECK(!reached, "poll_list_length_lte(2)");
    EXPECT(SRParameterError, poll_list_length(c, N("ensemble"), -1, 10, 2, &reached));

    void **datasets = NULL;
    size_t n = 0;
    OK(get_datasets_from_list(c, N("ensemble"), &datasets, &n));
    CHECK(n == 5, "%zu datasets", n);
    for (size_t i = 0; i < n; i++) CHECK(base_of(datasets[i]) == 100.0 * i, "dataset %zu", i);
    free_all(datasets, n);
    OK(get_dataset_list_range(c, N("ensemble"), 1, 3, &datasets, &n));
    CHECK(n == 3 && base_of(datasets[0]) == 100 && base_of(datasets[2]) == 300, "range 1..3: %zu", n);
    free_all(datasets, n);
    OK(get_dataset_list_range(c, N("ensemble"), -2, -1, &datasets, &n));
    CHECK(n == 2 && base_of(datasets[1]) == 400, "range -2..-1: %zu", n);
    free_all(datasets, n);
    OK(get_dataset_list_range(c, N("ensemble"), 3, 100, &datasets, &n));
    CHECK(n == 2, "range 3..100: %zu", n);
    free_all(datasets, n);
    OK(get_dataset_list_range(c, N("ensemble"), 3, 1, &datasets, &n));
    CHECK(n == 0 && datasets == NULL, "range 3..1: %zu", n);
    OK(get_datasets_from_list(c, N("no_list"), &datasets, &n));
    CHECK(n == 0 && datasets == NULL, "missing list: %zu", n);
    void *three[3] = {NULL, NULL, NULL};
    OK(_get_dataset_list_range_allocated(c, N("ensemble"), 2, 4, three));
    CHECK(three[0] && base_of(three[0]) == 200 && base_of(three[2]) == 400, "allocated range");
    for (int i = 0; i < 3; i++) OK(DeallocateDataSet(&three[i]));
    EXPECT(SRInternalError, _get_dataset_list_range_allocated(c, N("ensemble"), 3, 7, three));

    OK(copy_list(c, N("ensemble"), N("ensemble_copy")));
    OK(get_list_length(c, N("ensemble_copy"), &length));
    CHECK(length == 5, "copied list has %d entries", length);
    OK(rename_list(c, N("ensemble_copy"), N("ensemble_moved")));
    OK(get_list_length(c, N("ensemble_copy"), &length));
    CHECK(length == 0, "renamed list still has %d entries", length);
    OK(get_list_length(c, N("ensemble_moved"), &length));
    CHECK(length == 5, "moved list has %d entries", length);
    EXPECT(SRKeyError, copy_list(c, N("no_list"), N("x")));
    MSG_HAS("no_list");
    OK(delete_list(c, N("ensemble_moved")));
    OK(get_list_length(c, N("ensemble_moved"), &length));
    CHECK(length == 0, "deleted list has %d entries", length);
    OK(DeleteCClient(&c));
    return failures;
}

/* ---- prefixes (SSKEYOUT=writer, SSKEYIN=writer,other set by the Python side) ---------------- */

static int case_prefixes(void)
{
    void *c = connect_client();
    size_t dims[1] = {2};
    double x[2] = {1, 2}, back[2];
    bool exists;
    OK(put_tensor(c, N("pt"), x, dims, 1, SRTensorTypeDouble, SRMemLayoutContiguous));     /* writer.pt */
    OK(unpack_tensor(c, N("pt"), back, dims, 1, SRTensorTypeDouble, SRMemLayoutContiguous)); /* read: writer.pt */
    OK(key_exists(c, N("writer.pt"), &exists));
    CHECK(exists, "key 'writer.pt' missing");
    OK(set_data_source(c, N("other")));
    OK(unpack_tensor(c, N("ot"), back, dims, 1, SRTensorTypeDouble, SRMemLayoutContiguous)); /* other.ot (Python) */
    CHECK(back[0] == 7, "other.ot gave %g", back[0]);
    OK(use_tensor_ensemble_prefix(c, false));
    OK(put_tensor(c, N("bare"), x, dims, 1, SRTensorTypeDouble, SRMemLayoutContiguous)); /* bare */
    OK(tensor_exists(c, N("bare"), &exists));
    CHECK(exists, "unprefixed tensor not found unprefixed");
    OK(use_tensor_ensemble_prefix(c, true));
    OK(set_data_source(c, N("writer")));

    void *ds = make_dataset("pds", 1);
    OK(put_dataset(c, ds));                        /* writer.{pds} */
    OK(append_to_list(c, N("plist"), ds));         /* writer.plist, entry writer.{pds} */
    OK(use_dataset_ensemble_prefix(c, false));
    OK(put_dataset(c, ds));                        /* {pds} */
    OK(use_list_ensemble_prefix(c, false));
    OK(append_to_list(c, N("plist"), ds));         /* plist, entry {pds} */
    OK(DeallocateDataSet(&ds));
    OK(use_model_ensemble_prefix(c, true));
    OK(set_model(c, N("pm"), N("onnx-bytes"), N("ONNX"), N("CPU"), 0, 0, 0, N(""), NULL, NULL, 0, NULL, NULL, 0));
    OK(model_exists(c, N("pm"), &exists));          /* writer.pm */
    CHECK(exists, "prefixed model not found");
    OK(use_model_ensemble_prefix(c, false));
    OK(model_exists(c, N("pm"), &exists));
    CHECK(!exists, "unprefixed name found the prefixed model");
    OK(DeleteCClient(&c));
    return failures;
}

/* SSKEYOUT=writer only: reads are not prefixed (SmartRedis's rule). */
static int case_read_unprefixed(void)
{
    void *c = connect_client();
    size_t dims[1] = {2};
    double back[2];
    OK(unpack_tensor(c, N("steer"), back, dims, 1, SRTensorTypeDouble, SRMemLayoutContiguous)); /* "steer" */
    CHECK(back[1] == 9, "steer gave %g", back[1]);
    OK(DeleteCClient(&c));
    return failures;
}

/* ---- models and scripts ------------------------------------------------------------------------ */

static int case_models(const char *torch_file, const char *script_file)
{
    void *c = connect_client();
    const char *in[2] = {"a", ""}, *none[1] = {""};
    size_t in_len[2] = {1, 0}, none_len[1] = {0};
    bool exists;
    /* ONNX bytes are stored as given; a list of one empty name means none (SmartRedis's C++ default) */
    OK(set_model(c, N("m_onnx"), "\x08\x07onnx", 6, N("ONNX"), N("CPU"), 4, 2, 50, N("tagged"), none, none_len, 1,
                 none, none_len, 1));
    const char *model;
    size_t model_len;
    OK(get_model(c, N("m_onnx"), &model_len, &model));
    CHECK(model_len == 6 && memcmp(model, "\x08\x07onnx", 6) == 0, "get_model gave %zu bytes", model_len);
    OK(set_model_from_file(c, N("m_torch"), N(torch_file), N("torch"), N("gpu:1"), 0, 0, 0, N(""), NULL, NULL, 0,
                           NULL, NULL, 0));
    OK(model_exists(c, N("m_torch"), &exists));
    CHECK(exists, "m_torch missing");
    OK(poll_model(c, N("m_torch"), 10, 2, &exists));
    CHECK(exists, "poll_model missed m_torch");
    OK(poll_model(c, N("m_none"), 10, 2, &exists));
    CHECK(!exists, "poll_model found m_none");
    EXPECT(SRParameterError, set_model(c, N("m_tf"), N("bytes"), N("TF"), N("CPU"), 0, 0, 0, N(""), in, in_len, 1,
                                       in, in_len, 1));
    MSG_HAS("TORCH");
    EXPECT(SRParameterError, set_model(c, N("m_bad"), N("not a zip"), N("TORCH"), N("CPU"), 0, 0, 0, N(""), NULL,
                                       NULL, 0, NULL, NULL, 0));
    EXPECT(SRParameterError, set_model(c, N("m_bad"), N("bytes"), N("ONNX"), N("TPU"), 0, 0, 0, N(""), NULL, NULL,
                                       0, NULL, NULL, 0));
    EXPECT(SRParameterError, set_model_from_file(c, N("m_nofile"), N("/no/such/model.pt"), N("TORCH"), N("CPU"), 0,
                                                 0, 0, N(""), NULL, NULL, 0, NULL, NULL, 0));
    MSG_HAS("/no/such/model.pt");
    OK(delete_model(c, N("m_onnx")));
    EXPECT(SRKeyError, delete_model(c, N("m_onnx")));
    MSG_HAS("m_onnx");
    EXPECT(SRKeyError, get_model(c, N("m_onnx"), &model_len, &model));

    /* multi-GPU: one copy per GPU, named <name>.GPU:<i> */
    OK(set_model_multigpu(c, N("mg"), "\x08\x07onnx", 6, N("ONNX"), 1, 2, 0, 0, 0, N(""), NULL, NULL, 0, NULL, NULL,
                          0));
    OK(model_exists(c, N("mg.GPU:1"), &exists));
    CHECK(exists, "mg.GPU:1 missing");
    OK(model_exists(c, N("mg.GPU:2"), &exists));
    CHECK(exists, "mg.GPU:2 missing");
    OK(model_exists(c, N("mg.GPU:0"), &exists));
    CHECK(!exists, "mg.GPU:0 exists");
    EXPECT(SRParameterError, set_model_multigpu(c, N("mg"), N("x"), N("ONNX"), -1, 2, 0, 0, 0, N(""), NULL, NULL, 0,
                                                NULL, NULL, 0));
    EXPECT(SRParameterError, set_model_multigpu(c, N("mg"), N("x"), N("ONNX"), 0, 0, 0, 0, 0, N(""), NULL, NULL, 0,
                                                NULL, NULL, 0));
    OK(delete_model_multigpu(c, N("mg"), 1, 2));
    OK(model_exists(c, N("mg.GPU:1"), &exists));
    CHECK(!exists, "mg.GPU:1 survived delete_model_multigpu");

    /* scripts */
    const char *source = "def twice(x):\n    return 2 * x\n";
    OK(set_script(c, N("s_inline"), N("CPU"), N(source)));
    const char *got;
    size_t got_len;
    OK(get_script(c, N("s_inline"), &got, &got_len));
    CHECK(got_len == strlen(source) && strcmp(got, source) == 0, "get_script gave '%s'", got);
    OK(set_script_from_file(c, N("s_file"), N("CPU"), N(script_file)));
    OK(model_exists(c, N("s_file"), &exists));
    CHECK(exists, "s_file missing");
    OK(set_script_multigpu(c, N("sg"), N(source), 0, 2));
    OK(model_exists(c, N("sg.GPU:1"), &exists));
    CHECK(exists, "sg.GPU:1 missing");
    OK(set_script_from_file_multigpu(c, N("sfg"), N(script_file), 3, 1));
    OK(model_exists(c, N("sfg.GPU:3"), &exists));
    CHECK(exists, "sfg.GPU:3 missing");
    OK(delete_script_multigpu(c, N("sg"), 0, 2));
    OK(delete_script(c, N("s_inline")));
    EXPECT(SRKeyError, get_script(c, N("s_inline"), &got, &got_len));
    EXPECT(SRParameterError, set_script(c, N("s_blank"), N("CPU"), N("   ")));
    OK(DeleteCClient(&c));
    return failures;
}

/* run_model / run_script without any serving loop: an error at once (within 5 s on a loaded machine, not the
 * run timeout) that says what to start. */
static int case_no_service(void)
{
    void *c = connect_client();
    size_t dims[1] = {2};
    double x[2] = {1, 2};
    OK(put_tensor(c, N("rin"), x, dims, 1, SRTensorTypeDouble, SRMemLayoutContiguous));
    const char *in[1] = {"rin"}, *out[1] = {"rout"};
    size_t in_len[1] = {3}, out_len[1] = {4};
    double t0 = now_s();
    EXPECT(SRRuntimeError, run_model(c, N("m_torch"), in, in_len, 1, out, out_len, 1));
    double took = now_s() - t0;
    printf("run_model: %s\n", SRGetLastError());
    CHECK(took < 5.0, "run_model took %.2f s to fail", took);
    MSG_HAS("serving loop");
    t0 = now_s();
    EXPECT(SRRuntimeError, run_script(c, N("s_file"), N("twice"), in, in_len, 1, out, out_len, 1));
    printf("run_script: %s\n", SRGetLastError());
    CHECK(now_s() - t0 < 5.0, "run_script took %.2f s to fail", now_s() - t0);
    EXPECT(SRParameterError, run_model_multigpu(c, N("m"), in, in_len, 1, out, out_len, 1, 0, 0, 0));
    EXPECT(SRParameterError, run_script(c, N("s"), NULL, 0, in, in_len, 1, out, out_len, 1));
    OK(DeleteCClient(&c));
    return failures;
}

/* SR_MODEL_TIMEOUT is read at each run: a value that is no integer fails the run, not the client. */
static int case_model_timeout(void)
{
    void *c = connect_client();
    const char *in[1] = {"rin"}, *out[1] = {"rout"};
    size_t in_len[1] = {3}, out_len[1] = {4};
    EXPECT(SRParameterError, run_model(c, N("m"), in, in_len, 1, out, out_len, 1));
    MSG_HAS("SR_MODEL_TIMEOUT");
    OK(DeleteCClient(&c));
    return failures;
}

/* run_model and run_script answered by a serving loop: "double" (TorchScript x -> 2x) and script "scale". */
static int case_run(void)
{
    void *c = connect_client();
    size_t dims[2] = {2, 2};
    float x[4] = {1, 2, 3, 4}, y[4];
    OK(put_tensor(c, N("run_in"), x, dims, 2, SRTensorTypeFloat, SRMemLayoutContiguous));
    const char *in[1] = {"run_in"}, *out[1] = {"run_out"};
    size_t in_len[1] = {6}, out_len[1] = {7};
    OK(run_model(c, N("double"), in, in_len, 1, out, out_len, 1));
    OK(unpack_tensor(c, N("run_out"), y, dims, 2, SRTensorTypeFloat, SRMemLayoutContiguous));
    CHECK(y[0] == 2 && y[3] == 8, "run_model gave %g .. %g", y[0], y[3]);
    OK(run_script(c, N("scale"), N("triple"), in, in_len, 1, out, out_len, 1));
    OK(unpack_tensor(c, N("run_out"), y, dims, 2, SRTensorTypeFloat, SRMemLayoutContiguous));
    CHECK(y[0] == 3 && y[3] == 12, "run_script gave %g .. %g", y[0], y[3]);
    EXPECT(SRRuntimeError, run_script(c, N("scale"), N("nofunction"), in, in_len, 1, out, out_len, 1));
    MSG_HAS("nofunction");
    OK(DeleteCClient(&c));
    return failures;
}

/* ---- main ---------------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s CASE\n", argv[0]);
        return 2;
    }
    const char *name = argv[1];
    double start = now_s();
    int rc;
    if (strcmp(name, "tensors") == 0) rc = case_tensors();
    else if (strcmp(name, "cross") == 0) rc = case_cross();
    else if (strcmp(name, "errors") == 0) rc = case_errors();
    else if (strcmp(name, "bad_client") == 0 && argc > 2) rc = case_bad_client(argv[2]);
    else if (strcmp(name, "config") == 0) rc = case_config();
    else if (strcmp(name, "logging") == 0) rc = case_logging();
    else if (strcmp(name, "datasets") == 0) rc = case_datasets();
    else if (strcmp(name, "lists") == 0) rc = case_lists();
    else if (strcmp(name, "prefixes") == 0) rc = case_prefixes();
    else if (strcmp(name, "read_unprefixed") == 0) rc = case_read_unprefixed();
    else if (strcmp(name, "models") == 0 && argc > 3) rc = case_models(argv[2], argv[3]);
    else if (strcmp(name, "no_service") == 0) rc = case_no_service();
    else if (strcmp(name, "run") == 0) rc = case_run();
    else if (strcmp(name, "model_timeout") == 0) rc = case_model_timeout();
    else {
        fprintf(stderr, "unknown case %s\n", name);
        return 2;
    }
    fprintf(stderr, "case %s: %d failures in %.2f s\n", name, rc, now_s() - start);
    return rc > 99 ? 99 : rc;
}
