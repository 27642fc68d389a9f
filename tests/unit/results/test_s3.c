/*
 * The S3 client (results/s3.c) against real peers: s3rver as the store, the AWS SDK for
 * JavaScript v3 as an independent reader and as the oracle for pre-signed URLs.
 */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "results/s3.h"
#include "s3peer.h"

#define AKID "S3RVER"
#define SECRET "S3RVER"

static struct tw_s3peer peer;

static void setup(void)
{
    tw_s3peer_start(&peer, "exports");
}

static void teardown(void)
{
    tw_s3peer_fini(&peer);
}

static struct tw_s3_conf conf_for(const struct tw_s3peer *p)
{
    return (struct tw_s3_conf){
        .endpoint = p->endpoint,
        .region = "us-east-1",
        .bucket = p->bucket,
        .prefix = "taskwheel/",
        .path_style = 1,
        .access_key_id = AKID,
        .secret_access_key = SECRET,
        .session_token = "",
        .part_size = TW_S3_MIN_PART,
        .timeout_s = 10,
        .retry_base_ms = 20,
    };
}

/* Deterministic bytes that do not compress or repeat at part boundaries. */
static char *pattern(size_t n)
{
    char *b = malloc(n);
    unsigned x = 12345;

    cr_assert_not_null(b);
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        b[i] = (char)(x >> 16);
    }
    return b;
}

/* What the SDK reads back: "SIZE SHA256". */
static void sdk_get(const char *key, char *out, size_t cap)
{
    const char *args[] = { "get.js", peer.endpoint, "us-east-1", peer.bucket, key, NULL };

    cr_assert_eq(tw_s3peer_node(AKID, SECRET, out, cap, args), 0, "get.js failed for %s", key);
}

static void upload(const struct tw_s3_conf *c, const char *key, const char *data, size_t len,
                   size_t chunk, unsigned *parts)
{
    struct tw_s3_upload *u;
    struct tw_err err;
    uint64_t bytes = 0;

    cr_assert_eq(tw_s3_upload_open(c, key, &u, &err), TW_OK, "%s", err.msg);
    for (size_t off = 0; off < len; off += chunk) {
        size_t n = len - off < chunk ? len - off : chunk;

        cr_assert_eq(tw_s3_upload_write(u, data + off, n, &err), TW_OK, "%s", err.msg);
    }
    *parts = tw_s3_upload_parts(u);
    cr_assert_eq(tw_s3_upload_commit(u, &bytes, &err), TW_OK, "%s", err.msg);
    cr_assert_eq(bytes, len);
}

TestSuite(s3, .init = setup, .fini = teardown, .timeout = 300);

Test(s3, small_object_is_one_put_and_reads_back_equal)
{
    struct tw_s3_conf c = conf_for(&peer);
    static const char text[] = "id,name\n1,Zoë\n";
    char got[200], want[200], sha[65];
    unsigned parts;

    upload(&c, "1764/7/users.csv", text, strlen(text), 3, &parts);
    cr_assert_eq(parts, 0, "a small object is a single PUT, not a multipart upload");
    tw_sha256_hex(text, strlen(text), sha);
    snprintf(want, sizeof(want), "%zu %s", strlen(text), sha);
    sdk_get("taskwheel/1764/7/users.csv", got, sizeof(got));
    cr_assert_str_eq(got, want);
}

Test(s3, large_object_goes_up_in_parts_and_reads_back_equal)
{
    struct tw_s3_conf c = conf_for(&peer);
    size_t len = 2 * TW_S3_MIN_PART + 12345;
    char *data = pattern(len), got[200], want[200], sha[65];
    unsigned parts;

    upload(&c, "1764/8/ledger.csv.gz", data, len, 65536, &parts);
    cr_assert_eq(parts, 2, "two full parts before commit, the third sent by commit");
    tw_sha256_hex(data, len, sha);
    snprintf(want, sizeof(want), "%zu %s", len, sha);
    sdk_get("taskwheel/1764/8/ledger.csv.gz", got, sizeof(got));
    cr_assert_str_eq(got, want);
    free(data);
}

Test(s3, exactly_one_part_size_is_a_single_put)
{
    struct tw_s3_conf c = conf_for(&peer);
    char *data = pattern(TW_S3_MIN_PART);
    unsigned parts;
    char got[200];

    upload(&c, "1764/9/x.json", data, TW_S3_MIN_PART, TW_S3_MIN_PART, &parts);
    cr_assert_eq(parts, 0);
    sdk_get("taskwheel/1764/9/x.json", got, sizeof(got));
    cr_assert_eq(atol(got), (long)TW_S3_MIN_PART);
    free(data);
}

static size_t sink(char *p, size_t s, size_t n, void *arg)
{
    FILE *f = arg;

    return fwrite(p, s, n, f);
}

Test(s3, presigned_url_is_the_sdks_and_fetches_the_object)
{
    struct tw_s3_conf c = conf_for(&peer);
    static const char text[] = "voucher,amount\nA,1.00\n";
    const char *key = "1764/10/vouchers 2026+1.csv";
    char mine[2048], sdk[2048], expires[16], when[24];
    struct tw_err err;
    unsigned parts;
    char *got = NULL;
    size_t got_len = 0;
    FILE *f;
    CURL *curl;
    long status = 0;

    upload(&c, key, text, strlen(text), 64, &parts);
    cr_assert_eq(tw_s3_presign_get(&c, key, 900, 1780000000, mine, sizeof(mine), &err), TW_OK, "%s",
                 err.msg);
    snprintf(expires, sizeof(expires), "%d", 900);
    snprintf(when, sizeof(when), "%d", 1780000000);
    {
        const char *args[] = { "presign.js",
                               peer.endpoint,
                               "us-east-1",
                               peer.bucket,
                               "taskwheel/1764/10/vouchers 2026+1.csv",
                               expires,
                               when,
                               "1",
                               NULL };

        cr_assert_eq(tw_s3peer_node(AKID, SECRET, sdk, sizeof(sdk), args), 0);
    }
    cr_assert_str_eq(mine, sdk, "the engine and the AWS SDK must pre-sign the same URL");

    /* And the URL fetches the bytes (s3rver checks the expiry, not the signature). */
    cr_assert_eq(tw_s3_presign_get(&c, key, 900, time(NULL), mine, sizeof(mine), &err), TW_OK);
    f = open_memstream(&got, &got_len);
    curl = curl_easy_init();
    curl_easy_setopt(curl, CURLOPT_URL, mine);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, f);
    cr_assert_eq(curl_easy_perform(curl), CURLE_OK);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(curl);
    fclose(f);
    cr_assert_eq(status, 200);
    cr_assert_eq(got_len, strlen(text));
    cr_assert_eq(memcmp(got, text, got_len), 0);
    free(got);
}

Test(s3, virtual_hosted_presign_matches_the_sdk_too)
{
    struct tw_s3_conf c = {
        .endpoint = "https://s3.eu-west-1.amazonaws.com",
        .region = "eu-west-1",
        .bucket = "exports",
        .prefix = "tw/",
        .path_style = 0,
        .access_key_id = "AKIAIOSFODNN7EXAMPLE",
        .secret_access_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        .part_size = TW_S3_MIN_PART,
    };
    const char *args[] = { "presign.js",
                           "https://s3.eu-west-1.amazonaws.com",
                           "eu-west-1",
                           "exports",
                           "tw/1764/3/users.csv",
                           "3600",
                           "1780000000",
                           "0",
                           NULL };
    char mine[2048], sdk[2048];
    struct tw_err err;

    cr_assert_eq(
        tw_s3_presign_get(&c, "1764/3/users.csv", 3600, 1780000000, mine, sizeof(mine), &err),
        TW_OK, "%s", err.msg);
    cr_assert_eq(tw_s3peer_node(c.access_key_id, c.secret_access_key, sdk, sizeof(sdk), args), 0);
    cr_assert_str_eq(mine, sdk);
}

Test(s3, delete_removes_and_a_missing_object_is_fine)
{
    struct tw_s3_conf c = conf_for(&peer);
    struct tw_err err;
    unsigned parts;
    char got[200];

    upload(&c, "1764/11/a.csv", "x\n", 2, 2, &parts);
    cr_assert_eq(tw_s3_delete(&c, "1764/11/a.csv", &err), TW_OK, "%s", err.msg);
    cr_assert_eq(tw_s3_delete(&c, "1764/11/a.csv", &err), TW_OK, "%s", err.msg);
    {
        const char *args[] = {
            "get.js", peer.endpoint, "us-east-1", peer.bucket, "taskwheel/1764/11/a.csv", NULL
        };

        cr_assert_neq(tw_s3peer_node(AKID, SECRET, got, sizeof(got), args), 0,
                      "the object must be gone");
    }
}

static bool exists(const char *key)
{
    const char *args[] = { "get.js", peer.endpoint, "us-east-1", peer.bucket, key, NULL };
    char got[200];

    return tw_s3peer_node(AKID, SECRET, got, sizeof(got), args) == 0;
}

/* Upload data to key and seal it: nothing published yet. */
static void seal(const struct tw_s3_conf *c, const char *key, const char *data, size_t len,
                 struct tw_s3_sealed *out)
{
    struct tw_s3_upload *u;
    struct tw_err err;
    uint64_t bytes = 0;

    cr_assert_eq(tw_s3_upload_open(c, key, &u, &err), TW_OK, "%s", err.msg);
    for (size_t off = 0; off < len; off += 65536) {
        size_t n = len - off < 65536 ? len - off : 65536;

        cr_assert_eq(tw_s3_upload_write(u, data + off, n, &err), TW_OK, "%s", err.msg);
    }
    cr_assert_eq(tw_s3_upload_seal(u, &bytes, out, &err), TW_OK, "%s", err.msg);
    cr_assert_eq(bytes, len);
    cr_assert_neq(out->upload_id[0], '\0', "a sealed upload is always a multipart upload");
    cr_assert_not_null(strstr(out->body, "<PartNumber>1</PartNumber>"), "%s", out->body);
}

Test(s3, a_sealed_upload_is_invisible_until_another_client_completes_it)
{
    struct tw_s3_conf c = conf_for(&peer);
    struct tw_s3_conf other = conf_for(&peer); /* as the server: only the sealed text */
    static const char small[] = "id,name\n1,Zoë\n";
    size_t len = TW_S3_MIN_PART + 777;
    char *data = pattern(len), got[200], want[200], sha[65];
    struct tw_s3_sealed a, b;
    struct tw_err err;

    seal(&c, "1764/20/small.csv", small, strlen(small), &a);
    seal(&c, "1764/20/big.csv", data, len, &b);
    cr_assert(!exists("taskwheel/1764/20/small.csv"), "a sealed upload is visible");
    cr_assert(!exists("taskwheel/1764/20/big.csv"), "a sealed upload is visible");
    cr_assert_eq(tw_s3peer_uploads(&peer), 2);

    cr_assert_eq(tw_s3_upload_complete(&other, "1764/20/small.csv", a.upload_id, a.body, a.body_len,
                                       NULL, &err),
                 TW_OK, "%s", err.msg);
    tw_sha256_hex(small, strlen(small), sha);
    snprintf(want, sizeof(want), "%zu %s", strlen(small), sha);
    sdk_get("taskwheel/1764/20/small.csv", got, sizeof(got));
    cr_assert_str_eq(got, want);

    cr_assert_eq(tw_s3_upload_complete(&other, "1764/20/big.csv", b.upload_id, b.body, b.body_len,
                                       NULL, &err),
                 TW_OK, "%s", err.msg);
    tw_sha256_hex(data, len, sha);
    snprintf(want, sizeof(want), "%zu %s", len, sha);
    sdk_get("taskwheel/1764/20/big.csv", got, sizeof(got));
    cr_assert_str_eq(got, want);
    cr_assert_eq(tw_s3peer_uploads(&peer), 0);
    tw_s3_sealed_fini(&a);
    tw_s3_sealed_fini(&b);
    free(data);
}

Test(s3, a_completion_past_its_deadline_is_not_sent)
{
    struct tw_s3_conf c = conf_for(&peer);
    struct tw_s3_sealed a;
    tw_s3_deadline past = 1; /* 1970 */
    tw_s3_deadline later = INT64_MAX;
    struct tw_err err;

    seal(&c, "1764/21/r.csv", "a,b\n", 4, &a);
    tw_err_clear(&err);
    cr_assert_eq(
        tw_s3_upload_complete(&c, "1764/21/r.csv", a.upload_id, a.body, a.body_len, &past, &err),
        TW_ECONFLICT);
    cr_assert_not_null(strstr(err.msg, "deadline passed"), "%s", err.msg);
    cr_assert(!exists("taskwheel/1764/21/r.csv"), "published past its deadline");
    cr_assert_eq(tw_s3peer_uploads(&peer), 1, "the upload is still there to abort or complete");
    /* moved on (a renewed lease): it goes through */
    cr_assert_eq(
        tw_s3_upload_complete(&c, "1764/21/r.csv", a.upload_id, a.body, a.body_len, &later, &err),
        TW_OK, "%s", err.msg);
    cr_assert(exists("taskwheel/1764/21/r.csv"));
    tw_s3_sealed_fini(&a);
}

Test(s3, completing_an_aborted_upload_names_the_store_error)
{
    struct tw_s3_conf c = conf_for(&peer);
    struct tw_s3_sealed a;
    struct tw_err err;

    seal(&c, "1764/22/r.csv", "a,b\n", 4, &a);
    cr_assert_eq(tw_s3_abort_upload(&c, "1764/22/r.csv", a.upload_id, &err), TW_OK, "%s", err.msg);
    tw_err_clear(&err);
    cr_assert_neq(
        tw_s3_upload_complete(&c, "1764/22/r.csv", a.upload_id, a.body, a.body_len, NULL, &err),
        TW_OK);
    /* S3 says 404 NoSuchUpload; s3rver a 500 (retried, then final): either is an error */
    cr_assert_not_null(strstr(err.msg, "S3 completion of taskwheel/1764/22/r.csv: "), "%s",
                       err.msg);
    cr_assert(!exists("taskwheel/1764/22/r.csv"));
    cr_assert_eq(tw_s3_upload_complete(&c, "1764/22/r.csv", "", "x", 1, NULL, &err), TW_EINVAL);
    tw_s3_sealed_fini(&a);
}

Test(s3, unknown_bucket_names_the_store_error)
{
    struct tw_s3_conf c = conf_for(&peer);
    struct tw_s3_upload *u;
    struct tw_err err;

    c.bucket = "no-such-bucket";
    cr_assert_eq(tw_s3_upload_open(&c, "1/1/x.csv", &u, &err), TW_OK);
    cr_assert_eq(tw_s3_upload_write(u, "abc", 3, &err), TW_OK);
    cr_assert_neq(tw_s3_upload_commit(u, NULL, &err), TW_OK);
    cr_assert_not_null(strstr(err.msg, "NoSuchBucket"), "got: %s", err.msg);
}

Test(s3, unreachable_endpoint_is_a_clear_error_after_retries)
{
    struct tw_s3_conf c = conf_for(&peer);
    struct tw_s3_upload *u;
    struct tw_err err;

    tw_s3peer_stop(&peer, 1); /* nothing listens on its port now */
    cr_assert_eq(tw_s3_upload_open(&c, "1/1/x.csv", &u, &err), TW_OK);
    cr_assert_eq(tw_s3_upload_write(u, "abc", 3, &err), TW_OK);
    cr_assert_neq(tw_s3_upload_commit(u, NULL, &err), TW_OK);
    cr_assert_not_null(strstr(err.msg, peer.endpoint), "got: %s", err.msg);
    cr_assert_null(strstr(err.msg, SECRET "x"), "never a credential");
}

Test(s3, store_killed_mid_upload_fails_and_leaves_no_object)
{
    struct tw_s3_conf c = conf_for(&peer);
    size_t len = 3 * TW_S3_MIN_PART;
    char *data = pattern(len), got[200];
    struct tw_s3_upload *u;
    struct tw_err err;
    int rc = TW_OK;

    cr_assert_eq(tw_s3_upload_open(&c, "1764/12/big.csv", &u, &err), TW_OK);
    cr_assert_eq(tw_s3_upload_write(u, data, TW_S3_MIN_PART + 1, &err), TW_OK, "%s", err.msg);
    cr_assert_eq(tw_s3_upload_parts(u), 1);
    tw_s3peer_stop(&peer, 1);
    rc = tw_s3_upload_write(u, data + TW_S3_MIN_PART + 1, len - TW_S3_MIN_PART - 1, &err);
    if (rc == TW_OK)
        rc = tw_s3_upload_commit(u, NULL, &err);
    else
        tw_s3_upload_abort(u);
    cr_assert_neq(rc, TW_OK);
    cr_assert_not_null(strstr(err.msg, "S3 upload of taskwheel/1764/12/big.csv"), "%s", err.msg);

    tw_s3peer_restart(&peer);
    {
        const char *args[] = { "list_uploads.js", peer.endpoint,        "us-east-1",
                               peer.bucket,       "taskwheel/1764/12/", NULL };

        cr_assert_eq(tw_s3peer_node(AKID, SECRET, got, sizeof(got), args), 0);
    }
    cr_assert_eq(atoi(got), 0, "no object may appear for a failed upload (got %s)", got);
    free(data);
}

Test(s3, bad_part_size_is_refused)
{
    struct tw_s3_conf c = conf_for(&peer);
    struct tw_s3_upload *u;
    struct tw_err err;

    c.part_size = 1024;
    cr_assert_eq(tw_s3_upload_open(&c, "1/1/x.csv", &u, &err), TW_EINVAL);
    cr_assert_not_null(strstr(err.msg, "results.s3.part_size"));
}

Test(s3, wrong_access_key_names_the_store_error_code)
{
    struct tw_s3_conf c = conf_for(&peer);
    struct tw_s3_upload *u;
    struct tw_err err;

    c.access_key_id = "AKIDWRONG";
    c.secret_access_key = "wrong-secret-value";
    cr_assert_eq(tw_s3_upload_open(&c, "1/1/x.csv", &u, &err), TW_OK);
    cr_assert_eq(tw_s3_upload_write(u, "abc", 3, &err), TW_OK);
    cr_assert_neq(tw_s3_upload_commit(u, NULL, &err), TW_OK);
    cr_assert_not_null(strstr(err.msg, "InvalidAccessKeyId"), "got: %s", err.msg);
    cr_assert_null(strstr(err.msg, "wrong-secret-value"), "never the secret: %s", err.msg);
}
