/*
 * c_models.c: the C client's stored models and scripts, and its copies and
 * renames of tensors, driven by test_c_models.py (the store address from
 * SIMDASK_ADDRESS):
 *
 *   c_models model NAME FILE BACKEND DEVICE BATCH MIN_BATCH MIN_TIMEOUT TAG
 *       sd_set_model_from_file with those settings (inputs "x", outputs "y");
 *   c_models script NAME FILE DEVICE    sd_set_script_from_file;
 *   c_models delete KIND NAME           sd_delete_model / sd_delete_script;
 *   c_models copy SOURCE DEST           sd_copy_tensor;
 *   c_models rename OLD NEW             sd_rename_tensor;
 *
 * each prints "STATUS <status name> <version>" and "MESSAGE <message>" for
 * the test to check;
 *
 *   c_models run NAME     puts x = [[1, 2, 3]], runs model NAME on it into y
 *                         and checks y == 2 x (the test's model doubles);
 *   c_models misuse       NULL and failed clients, bad arguments.
 *
 * Failed checks print "FAIL ..." lines; the exit status is their number.
 */
#include "c_check.h"

static void report(sd_client *c, int rc, long long version)
{
    printf("STATUS %s %lld\nMESSAGE %s\n", sd_status_name(rc), version, sd_last_error(c));
}

static int case_model(char **a)
{
    sd_client *c = connect_env();
    const char *inputs[1] = {"x"}, *outputs[1] = {"y"};
    sd_model_options opt;
    long long version = -1;
    sd_model_options_init(&opt);
    opt.device = a[3];
    opt.batch_size = atoi(a[4]);
    opt.min_batch_size = atoi(a[5]);
    opt.min_batch_timeout_ms = atoi(a[6]);
    opt.tag = a[7];
    opt.n_inputs = opt.n_outputs = 1;
    opt.inputs = inputs;
    opt.outputs = outputs;
    int rc = sd_set_model_from_file(c, a[0], a[1], a[2], &opt, &version);
    report(c, rc, version);
    sd_client_free(c);
    return failures;
}

static int case_script(char **a)
{
    sd_client *c = connect_env();
    long long version = -1;
    int rc = sd_set_script_from_file(c, a[0], a[1], a[2], &version);
    report(c, rc, version);
    sd_client_free(c);
    return failures;
}

static int case_delete(char **a)
{
    sd_client *c = connect_env();
    int rc = strcmp(a[0], "model") == 0 ? sd_delete_model(c, a[1]) : sd_delete_script(c, a[1]);
    report(c, rc, 0);
    sd_client_free(c);
    return failures;
}

static int case_copy(const char *how, char **a)
{
    sd_client *c = connect_env();
    int rc = strcmp(how, "copy") == 0 ? sd_copy_tensor(c, a[0], a[1]) : sd_rename_tensor(c, a[0], a[1]);
    report(c, rc, 0);
    sd_client_free(c);
    return failures;
}

static int case_run(const char *name)
{
    sd_client *c = connect_env();
    float x[3] = {1, 2, 3}, y[3] = {0, 0, 0};
    size_t shape[2] = {1, 3};
    const char *inputs[1] = {"c_x"}, *outputs[1] = {"c_y"};
    int exists = 0;
    OK(c, sd_model_exists(c, name, &exists));
    CHECK(exists, "model '%s' exists", name);
    OK(c, sd_put_tensor(c, "c_x", x, SD_FLOAT32, 2, shape, SD_ORDER_C));
    OK(c, sd_run_model(c, name, 1, inputs, 1, outputs, 60000));
    OK(c, sd_unpack_tensor(c, "c_y", y, sizeof y, SD_FLOAT32, 2, shape, SD_ORDER_C));
    CHECK(y[0] == 2 && y[1] == 4 && y[2] == 6, "y = %g %g %g", y[0], y[1], y[2]);
    sd_client_free(c);
    return failures;
}

static int case_misuse(void)
{
    sd_client *c = connect_env(), *failed = NULL;
    const char *in[1] = {"x"};
    float x = 1;
    int exists = 1;
    long long version = 7;
    /* no client at all: every call refuses it, and sd_last_error(NULL) says so */
    CHECK(sd_set_model(NULL, "m", "PK", 2, "TORCH", NULL, NULL) == SD_ERR_ARG, "NULL client");
    CHECK(sd_put_tensor(NULL, "x", &x, SD_FLOAT32, 0, NULL, SD_ORDER_C) == SD_ERR_ARG, "NULL client put");
    CHECK(sd_run_model(NULL, "m", 1, in, 1, in, 0) == SD_ERR_ARG, "NULL client run");
    CHECK(strstr(sd_last_error(NULL), "no client") && strstr(sd_last_error(NULL), "sd_client_new"), "%s",
          sd_last_error(NULL));
    /* a client whose creation failed (a bad address) answers with SD_ERR_ARG, never a crash */
    EXPECT(failed, SD_ERR_ARG, sd_client_new(&failed, "not-an-address"));
    EXPECT(failed, SD_ERR_ARG, sd_put_tensor(failed, "x", &x, SD_FLOAT32, 0, NULL, SD_ORDER_C));
    MSG_HAS(failed, "sd_client_new failed");
    EXPECT(failed, SD_ERR_ARG, sd_model_exists(failed, "m", &exists));
    EXPECT(failed, SD_ERR_ARG, sd_run_model(failed, "m", 1, in, 1, in, 1000));
    sd_client_free(failed);
    /* bad arguments, each named in its message, and the version counter left alone */
    EXPECT(c, SD_ERR_ARG, sd_set_model(c, "", "PK", 2, "TORCH", NULL, NULL));
    EXPECT(c, SD_ERR_ARG, sd_set_model(c, "m", "x", 1, "TENSORFLOW", NULL, NULL));
    MSG_HAS(c, "TENSORFLOW");
    EXPECT(c, SD_ERR_ARG, sd_set_model(c, "m", "x", 1, NULL, NULL, NULL));
    EXPECT(c, SD_ERR_ARG, sd_set_model(c, "m", "", 0, "ONNX", NULL, &version));
    MSG_HAS(c, "empty");
    CHECK(version == 7, "version untouched: %lld", version);
    sd_model_options opt;
    sd_model_options_init(&opt);
    opt.device = "TPU";
    EXPECT(c, SD_ERR_ARG, sd_set_model(c, "m", "x", 1, "ONNX", &opt, NULL));
    MSG_HAS(c, "TPU");
    opt.device = "gpu:";
    EXPECT(c, SD_ERR_ARG, sd_set_model(c, "m", "x", 1, "ONNX", &opt, NULL));
    opt.device = "gpu:1";
    opt.batch_size = 4;
    opt.min_batch_size = 8;
    EXPECT(c, SD_ERR_ARG, sd_set_model(c, "m", "x", 1, "ONNX", &opt, NULL));
    MSG_HAS(c, "min_batch_size");
    opt.min_batch_size = 0;
    opt.n_inputs = 1;
    EXPECT(c, SD_ERR_ARG, sd_set_model(c, "m", "x", 1, "ONNX", &opt, NULL));
    opt.n_inputs = 0;
    opt.tag = "\xff not UTF-8";
    EXPECT(c, SD_ERR_ARG, sd_set_model(c, "m", "x", 1, "ONNX", &opt, NULL));
    MSG_HAS(c, "UTF-8");
    EXPECT(c, SD_ERR_ARG, sd_set_model_from_file(c, "m", "/nonexistent/model.pt", "TORCH", NULL, NULL));
    MSG_HAS(c, "/nonexistent/model.pt");
    EXPECT(c, SD_ERR_ARG, sd_set_script(c, "s", " \n\t", NULL, NULL));
    EXPECT(c, SD_ERR_ARG, sd_set_script(c, "s", NULL, NULL, NULL));
    EXPECT(c, SD_ERR_ARG, sd_model_exists(c, "m", NULL));
    EXPECT(c, SD_ERR_NOT_FOUND, sd_delete_model(c, "c_never_stored"));
    MSG_HAS(c, "c_never_stored");
    OK(c, sd_model_exists(c, "c_never_stored", &exists));
    CHECK(!exists, "c_never_stored does not exist");
    /* ONNX bytes are not inspected: any non-empty bytes are stored */
    opt.device = "gpu:1";
    opt.tag = "t";
    OK(c, sd_set_model(c, "c_onnx", "\x08\x07", 2, "onnx", &opt, &version));
    CHECK(version >= 1, "version %lld", version);
    OK(c, sd_model_exists(c, "c_onnx", &exists));
    CHECK(exists, "c_onnx exists");
    OK(c, sd_delete_model(c, "c_onnx"));
    EXPECT(c, SD_ERR_NOT_FOUND, sd_delete_script(c, "c_onnx"));
    sd_client_free(c);
    return failures;
}

int main(int argc, char **argv)
{
    const char *cs = argc > 1 ? argv[1] : "";
    if (strcmp(cs, "model") == 0 && argc == 10) return case_model(argv + 2);
    if (strcmp(cs, "script") == 0 && argc == 5) return case_script(argv + 2);
    if (strcmp(cs, "delete") == 0 && argc == 4) return case_delete(argv + 2);
    if ((strcmp(cs, "copy") == 0 || strcmp(cs, "rename") == 0) && argc == 4) return case_copy(cs, argv + 2);
    if (strcmp(cs, "run") == 0 && argc == 3) return case_run(argv[2]);
    if (strcmp(cs, "misuse") == 0) return case_misuse();
    fprintf(stderr, "unknown case or wrong arguments: %s\n", cs);
    return 2;
}
