/*
 * The results part's helpers (results/results.h): configuration to S3 settings (credentials
 * from the file or the environment), object keys, and the settling of uploads an earlier run
 * left in flight, against s3rver (tests/s3).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "results/results.h"
#include "s3peer.h"

static struct tw_config *load(const char *yaml)
{
    struct tw_config *c = NULL;
    struct tw_err err;

    cr_assert_eq(tw_config_load_string(yaml, "t.yaml", &c, &err), TW_OK, "%s", err.msg);
    return c;
}

Test(results, keys)
{
    char key[64];
    struct tw_err err;

    cr_assert_eq(tw_results_key(1764, 12, "User_Export-12.csv", key, sizeof(key), &err), TW_OK);
    cr_assert_str_eq(key, "1764/12/User_Export-12.csv");
    cr_assert_eq(tw_results_key(1, 2, "../x", key, sizeof(key), &err), TW_EINVAL);
    cr_assert_eq(tw_results_key(1, 2, ".hidden", key, sizeof(key), &err), TW_EINVAL);
    cr_assert_eq(tw_results_key(1, 2, "a/b", key, sizeof(key), &err), TW_EINVAL);
    cr_assert_eq(tw_results_key(1, 2, "x.csv", key, 8, &err), TW_EINVAL);
    cr_assert_eq(
        tw_results_key_of_path("/var/r/1764/12/User_Export-12.csv", key, sizeof(key), &err), TW_OK);
    cr_assert_str_eq(key, "1764/12/User_Export-12.csv");
    cr_assert_eq(tw_results_key_of_path("12/x.csv", key, sizeof(key), &err), TW_EINVAL);
}

Test(results, credentials_from_the_file_else_the_environment)
{
    struct tw_config *f = load("results: {storage: s3, s3: {endpoint: 'http://h:9000', region: "
                               "us-east-1, bucket: exports, access_key_id: AK, "
                               "secret_access_key: SK}}");
    struct tw_config *e = load("results: {storage: s3, s3: {endpoint: 'http://h:9000', region: "
                               "us-east-1, bucket: exports}}");
    struct tw_s3_conf c;
    struct tw_err err;

    cr_assert(tw_results_on_s3(f));
    setenv("AWS_ACCESS_KEY_ID", "ENVAK", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "ENVSK", 1);
    setenv("AWS_SESSION_TOKEN", "TOKEN", 1);
    cr_assert_eq(tw_results_s3_conf(f, &c, &err), TW_OK);
    cr_assert_str_eq(c.access_key_id, "AK");
    cr_assert_str_eq(c.secret_access_key, "SK");
    cr_assert_str_eq(c.session_token, "", "a session token belongs to the environment's keys");
    cr_assert_eq(c.part_size, 8388608);
    cr_assert_eq(tw_results_s3_conf(e, &c, &err), TW_OK);
    cr_assert_str_eq(c.access_key_id, "ENVAK");
    cr_assert_str_eq(c.secret_access_key, "ENVSK");
    cr_assert_str_eq(c.session_token, "TOKEN");
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    unsetenv("AWS_SESSION_TOKEN");
    cr_assert_eq(tw_results_s3_conf(e, &c, &err), TW_EINVAL);
    cr_assert_not_null(strstr(err.msg, "no credentials"), "%s", err.msg);
    tw_config_destroy(f);
    tw_config_destroy(e);
}

static struct tw_s3peer peer;

static void peer_up(void)
{
    tw_s3peer_start(&peer, "exports");
}

static void peer_down(void)
{
    tw_s3peer_fini(&peer);
}

static struct tw_s3_conf conf(void)
{
    return (struct tw_s3_conf){ .endpoint = peer.endpoint,
                                .region = "us-east-1",
                                .bucket = peer.bucket,
                                .prefix = "tw/",
                                .path_style = 1,
                                .access_key_id = "S3RVER",
                                .secret_access_key = "S3RVER",
                                .session_token = "",
                                .part_size = TW_S3_MIN_PART,
                                .timeout_s = 10,
                                .retry_base_ms = 20 };
}

/* A multipart upload in flight whose id the caller never learns (its answer "lost"). */
static struct tw_s3_upload *upload_in_flight(const struct tw_s3_conf *c, const char *key)
{
    static char data[TW_S3_MIN_PART + 1];
    struct tw_s3_upload *u;
    struct tw_err err;

    cr_assert_eq(tw_s3_upload_open(c, key, &u, &err), TW_OK, "%s", err.msg);
    cr_assert_eq(tw_s3_upload_write(u, data, sizeof(data), &err), TW_OK, "%s", err.msg);
    cr_assert_neq(tw_s3_upload_id(u)[0], '\0');
    cr_assert_eq(tw_s3peer_uploads(&peer), 1);
    return u;
}

Test(results, settle_aborts_what_the_marker_names_and_what_the_store_lists, .init = peer_up,
     .fini = peer_down, .timeout = 120)
{
    struct tw_s3_conf c = conf();
    char dir[] = "/tmp/tw-results-XXXXXX", path[64];
    struct tw_s3_upload *u;
    struct tw_err err;

    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/.s3-upload", dir);
    cr_assert_eq(tw_results_settle(&c, dir, &err), TW_OK, "no marker: nothing to do");

    /* the marker names the upload */
    u = upload_in_flight(&c, "1/2/A.csv");
    cr_assert_eq(tw_results_marker_write(dir, "1/2/A.csv", tw_s3_upload_id(u), &err), TW_OK);
    cr_assert_eq(tw_results_settle(&c, dir, &err), TW_OK, "%s", err.msg);
    cr_assert_eq(tw_s3peer_uploads(&peer), 0);
    cr_assert_neq(access(path, F_OK), 0, "the marker stays after settling");
    tw_s3_upload_abort(u); /* gone already: NoSuchUpload is fine */

    /* the marker has no id (the CreateMultipartUpload answer was lost): the listing finds it */
    u = upload_in_flight(&c, "1/2/B.csv");
    cr_assert_eq(tw_results_marker_write(dir, "1/2/B.csv", "", &err), TW_OK);
    cr_assert_eq(tw_results_settle(&c, dir, &err), TW_OK, "%s", err.msg);
    cr_assert_eq(tw_s3peer_uploads(&peer), 0);
    tw_s3_upload_abort(u);

    /* the store is down: the marker stays for the next run */
    u = upload_in_flight(&c, "1/2/C.csv");
    cr_assert_eq(tw_results_marker_write(dir, "1/2/C.csv", tw_s3_upload_id(u), &err), TW_OK);
    tw_s3peer_stop(&peer, 1);
    cr_assert_neq(tw_results_settle(&c, dir, &err), TW_OK);
    cr_assert_eq(access(path, F_OK), 0, "the marker went while the upload is still there");
    tw_s3peer_restart(&peer);
    cr_assert_eq(tw_results_settle(&c, dir, &err), TW_OK, "%s", err.msg);
    cr_assert_eq(tw_s3peer_uploads(&peer), 0);
    tw_s3_upload_abort(u);
    rmdir(dir);
}
