/*
 * c_keys.c: the C client's calls that SmartRedis's APIs need of the core,
 * driven by test_c_keys.py: copying and renaming datasets and lists, ranges
 * of a list, which names get the key prefixes, fetching stored models and
 * scripts, polling keys and models, and the server commands of one node.
 *
 *   c_keys CASE
 *
 * The store address comes from SIMDASK_ADDRESS; exit status = failures.
 */
#include "c_check.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static sd_dataset *dataset_of(const char *name, double base)
{
    sd_dataset *ds = NULL;
    size_t shape[1] = {3};
    double v[3] = {base, base + 1, base + 2};
    if (sd_dataset_new(&ds, name) != SD_OK) exit(101);
    CHECK(sd_dataset_add_tensor(ds, "v", v, SD_FLOAT64, 1, shape, SD_ORDER_C) == SD_OK, "add_tensor");
    CHECK(sd_dataset_add_meta_scalar(ds, "base", &base, SD_FLOAT64) == SD_OK, "add_meta_scalar");
    CHECK(sd_dataset_add_meta_string(ds, "tag", name) == SD_OK, "add_meta_string");
    return ds;
}

static double base_of(sd_dataset *ds)
{
    const void *values;
    size_t n;
    sd_dtype dt;
    if (sd_dataset_get_meta_scalars(ds, "base", &values, &n, &dt) != SD_OK || n != 1) return -1;
    return ((const double *)values)[0];
}

static int case_datasets(void)
{
    sd_client *c = connect_env();
    sd_dataset *ds = dataset_of("d1", 10), *got = NULL;
    int exists;
    OK(c, sd_put_dataset(c, ds));
    sd_dataset_free(ds);
    OK(c, sd_copy_dataset(c, "d1", "d2"));
    OK(c, sd_get_dataset(c, "d2", &got));
    CHECK(got && base_of(got) == 10 && strcmp(sd_dataset_name(got), "d2") == 0, "copy differs");
    sd_dataset_free(got);
    OK(c, sd_rename_dataset(c, "d2", "d3"));
    OK(c, sd_dataset_exists(c, "d2", &exists));
    CHECK(!exists, "d2 survived its rename");
    OK(c, sd_dataset_exists(c, "d3", &exists));
    CHECK(exists, "d3 missing after the rename");
    OK(c, sd_rename_dataset(c, "d3", "d3")); /* the same key: nothing to do */
    OK(c, sd_dataset_exists(c, "d3", &exists));
    CHECK(exists, "renaming d3 onto itself deleted it");
    EXPECT(c, SD_ERR_NOT_FOUND, sd_copy_dataset(c, "nothing", "d4"));
    MSG_HAS(c, "nothing");
    EXPECT(c, SD_ERR_ARG, sd_copy_dataset(c, "d1", "bad{name}"));
    sd_client_free(c);
    return failures;
}

static int case_lists(void)
{
    sd_client *c = connect_env();
    for (int i = 0; i < 4; i++) {
        char name[16];
        snprintf(name, sizeof name, "e%d", i);
        sd_dataset *ds = dataset_of(name, i);
        OK(c, sd_put_dataset(c, ds));
        OK(c, sd_append_to_list(c, "L", ds));
        sd_dataset_free(ds);
    }
    sd_dataset **got = NULL;
    size_t n = 0, length = 0;
    OK(c, sd_get_dataset_list_range(c, "L", 1, 2, &got, &n));
    CHECK(n == 2 && base_of(got[0]) == 1 && base_of(got[1]) == 2, "range 1..2 gave %zu", n);
    sd_datasets_free(got, n);
    OK(c, sd_get_dataset_list_range(c, "L", -1, -1, &got, &n));
    CHECK(n == 1 && base_of(got[0]) == 3, "range -1..-1 gave %zu", n);
    sd_datasets_free(got, n);
    OK(c, sd_get_dataset_list_range(c, "L", 2, 0, &got, &n));
    CHECK(n == 0, "range 2..0 gave %zu", n);
    sd_datasets_free(got, n);
    OK(c, sd_copy_list(c, "L", "L2"));
    OK(c, sd_get_list_length(c, "L2", &length));
    CHECK(length == 4, "copy has %zu entries", length);
    OK(c, sd_rename_list(c, "L2", "L3"));
    OK(c, sd_get_list_length(c, "L2", &length));
    CHECK(length == 0, "L2 has %zu entries after its rename", length);
    OK(c, sd_get_list_length(c, "L3", &length));
    CHECK(length == 4, "L3 has %zu entries", length);
    OK(c, sd_copy_list(c, "L", "L3")); /* replaces, does not append */
    OK(c, sd_get_list_length(c, "L3", &length));
    CHECK(length == 4, "copying onto L3 gave %zu entries", length);
    EXPECT(c, SD_ERR_NOT_FOUND, sd_copy_list(c, "none", "L4"));
    MSG_HAS(c, "none");
    EXPECT(c, SD_ERR_NOT_FOUND, sd_rename_list(c, "none", "L4"));
    sd_client_free(c);
    return failures;
}

/* SIMDASK_KEY_PREFIX=w, SIMDASK_KEY_PREFIXES_IN=w,r (test_c_keys.py). */
static int case_prefixes(void)
{
    sd_client *c = connect_env();
    size_t shape[1] = {2};
    double v[2] = {1, 2};
    int exists;
    OK(c, sd_put_tensor(c, "t", v, SD_FLOAT64, 1, shape, SD_ORDER_C)); /* w.t */
    OK(c, sd_use_tensor_prefix(c, 0));
    OK(c, sd_put_tensor(c, "t_bare", v, SD_FLOAT64, 1, shape, SD_ORDER_C)); /* t_bare */
    OK(c, sd_tensor_exists(c, "t_bare", &exists));
    CHECK(exists, "t_bare not read unprefixed");
    OK(c, sd_tensor_exists(c, "t", &exists));
    CHECK(!exists, "unprefixed 't' found");
    OK(c, sd_use_tensor_prefix(c, 1));
    sd_dataset *ds = dataset_of("pd", 0);
    OK(c, sd_put_dataset(c, ds));         /* w.{pd} */
    OK(c, sd_append_to_list(c, "pl", ds)); /* w.pl: w.{pd} */
    OK(c, sd_use_dataset_prefix(c, 0));
    OK(c, sd_put_dataset(c, ds));          /* {pd} */
    OK(c, sd_use_list_prefix(c, 0));
    OK(c, sd_append_to_list(c, "pl", ds)); /* pl: {pd} */
    sd_dataset_free(ds);
    OK(c, sd_use_model_prefix(c, 1));
    OK(c, sd_set_script(c, "ps", "def f(x):\n    return x\n", NULL, NULL)); /* w.ps */
    OK(c, sd_model_exists(c, "ps", &exists));
    CHECK(exists, "prefixed script not found prefixed");
    OK(c, sd_set_data_source(c, "r"));
    OK(c, sd_model_exists(c, "ps", &exists)); /* r.ps */
    CHECK(!exists, "read prefix r found w's script");
    OK(c, sd_use_model_prefix(c, 0));
    OK(c, sd_use_tensor_prefix(c, 1));
    OK(c, sd_tensor_exists(c, "rt", &exists)); /* r.rt, put by Python */
    CHECK(exists, "r.rt not read through the data source");
    OK(c, sd_set_data_source(c, "")); /* none: unprefixed reads */
    OK(c, sd_tensor_exists(c, "t_bare", &exists));
    CHECK(exists, "the empty data source does not read unprefixed");
    EXPECT(c, SD_ERR_ARG, sd_set_data_source(c, "stranger"));
    sd_client_free(c);
    return failures;
}

static int case_models(void)
{
    sd_client *c = connect_env();
    void *bytes = NULL;
    char *source = NULL;
    size_t n = 0;
    int exists;
    OK(c, sd_set_model(c, "mo", "\x08\x01onnx!", 7, "ONNX", NULL, NULL));
    OK(c, sd_get_model(c, "mo", &bytes, &n));
    CHECK(n == 7 && memcmp(bytes, "\x08\x01onnx!", 7) == 0, "get_model gave %zu bytes", n);
    sd_free(bytes);
    OK(c, sd_set_script(c, "sc", "def f(x):\n    return x\n", "GPU", NULL));
    OK(c, sd_get_script(c, "sc", &source));
    CHECK(source && strcmp(source, "def f(x):\n    return x\n") == 0, "get_script gave '%s'", source);
    sd_free(source);
    EXPECT(c, SD_ERR_NOT_FOUND, sd_get_model(c, "absent", &bytes, &n));
    MSG_HAS(c, "absent");
    EXPECT(c, SD_ERR_NOT_FOUND, sd_get_script(c, "absent", &source));
    OK(c, sd_poll_model(c, "sc", 5, 2, &exists));
    CHECK(exists, "poll_model missed the script");
    OK(c, sd_poll_model(c, "absent", 5, 2, &exists));
    CHECK(!exists, "poll_model found 'absent'");
    OK(c, sd_poll_key(c, "simdask:model:{mo}", 5, 2, &exists));
    CHECK(exists, "poll_key missed the model's key");
    OK(c, sd_poll_key(c, "no:such:key", 5, 2, &exists));
    CHECK(!exists, "poll_key found a missing key");
    EXPECT(c, SD_ERR_ARG, sd_poll_key(c, "k", 5, 0, &exists));
    sd_client_free(c);
    return failures;
}

/* argv: a node address as the test names it (e.g. localhost:<port>). */
static int case_admin(const char *named)
{
    sd_client *c = connect_env();
    char *addresses = NULL, *text = NULL;
    int cluster = 0;
    sd_is_cluster(c, &cluster);
    OK(c, sd_db_addresses(c, &addresses));
    printf("ADDRESSES %s\n", addresses);
    char first[256];
    snprintf(first, sizeof first, "%.*s", (int)strcspn(addresses, ","), addresses);
    OK(c, sd_db_info(c, first, "server", &text));
    CHECK(text && strstr(text, "# Server"), "INFO server: %.80s", text ? text : "(null)");
    sd_free(text);
    OK(c, sd_db_info(c, named, NULL, &text)); /* a host name resolving to the node */
    CHECK(text && strstr(text, "# Keyspace"), "INFO everything lacks # Keyspace");
    sd_free(text);
    text = NULL;
    if (cluster) {
        OK(c, sd_cluster_info(c, first, &text));
        CHECK(text && strstr(text, "cluster_state:ok"), "CLUSTER INFO: %.80s", text ? text : "(null)");
        EXPECT(c, SD_ERR_ARG, sd_db_info(c, NULL, NULL, &text));
    } else {
        EXPECT(c, SD_ERR_ARG, sd_cluster_info(c, first, &text));
        OK(c, sd_db_info(c, NULL, "server", &text)); /* the only node */
    }
    sd_free(text);
    char **pairs = NULL;
    size_t n = 0;
    OK(c, sd_config_get(c, first, "slowlog-max-len", &pairs, &n));
    CHECK(n == 1 && strcmp(pairs[0], "slowlog-max-len") == 0, "CONFIG GET gave %zu pairs", n);
    char old[32];
    snprintf(old, sizeof old, "%s", n ? pairs[1] : "128");
    sd_strings_free(pairs, 2 * n);
    OK(c, sd_config_set(c, first, "slowlog-max-len", "77"));
    OK(c, sd_config_get(c, first, "slowlog-max-len", &pairs, &n));
    CHECK(n == 1 && strcmp(pairs[1], "77") == 0, "CONFIG SET did not take");
    sd_strings_free(pairs, 2 * n);
    OK(c, sd_config_set(c, first, "slowlog-max-len", old));
    EXPECT(c, SD_ERR_STORE, sd_config_set(c, first, "no-such-parameter", "1"));
    OK(c, sd_save(c, first));
    EXPECT(c, SD_ERR_ARG, sd_flush_db(c, "10.255.255.1:1"));
    MSG_HAS(c, "10.255.255.1:1");
    /* FLUSHDB empties the node named; on a cluster every node in turn */
    size_t shape[1] = {1};
    double v[1] = {1};
    OK(c, sd_put_tensor(c, "before_flush", v, SD_FLOAT64, 1, shape, SD_ORDER_C));
    for (char *a = addresses; *a;) {
        size_t len = strcspn(a, ",");
        char node[256];
        snprintf(node, sizeof node, "%.*s", (int)len, a);
        OK(c, sd_flush_db(c, node));
        a += len + (a[len] == ',');
    }
    int exists = 1;
    OK(c, sd_key_exists(c, "before_flush", &exists));
    CHECK(!exists, "FLUSHDB of every node left a key");
    sd_free(addresses);
    sd_client_free(c);
    return failures;
}

int main(int argc, char **argv)
{
    if (argc < 2) return 2;
    const char *name = argv[1];
    int rc;
    if (strcmp(name, "datasets") == 0) rc = case_datasets();
    else if (strcmp(name, "lists") == 0) rc = case_lists();
    else if (strcmp(name, "prefixes") == 0) rc = case_prefixes();
    else if (strcmp(name, "models") == 0) rc = case_models();
    else if (strcmp(name, "admin") == 0 && argc > 2) rc = case_admin(argv[2]);
    else {
        fprintf(stderr, "unknown case %s\n", name);
        return 2;
    }
    return rc > 99 ? 99 : rc;
}
