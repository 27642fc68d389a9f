/*
 * AWS Signature Version 4 (core/sigv4.c) against the worked examples of AWS's S3 documentation
 * ("Signature Calculations for the Authorization Header" and "Authenticating Requests: Using
 * Query Parameters"): the example credentials, bucket, times and the signatures AWS publishes,
 * byte for byte. The AWS SDK for JavaScript is the second, independent oracle (tests/s3/).
 */
#include <criterion/criterion.h>
#include <string.h>

#include "core/sigv4.h"

#define AKID "AKIAIOSFODNN7EXAMPLE"
#define SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define HOST "examplebucket.s3.amazonaws.com"
/* Fri, 24 May 2013 00:00:00 GMT */
#define EXAMPLE_TIME ((time_t)1369353600)

static const struct tw_sigv4_creds creds = { AKID, SECRET, NULL, "us-east-1", "s3" };

static const char *signature_of(const char *authorization)
{
    const char *s = strstr(authorization, "Signature=");

    cr_assert_not_null(s, "no signature in %s", authorization);
    return s + strlen("Signature=");
}

Test(sigv4, amz_date)
{
    char d[17];

    tw_sigv4_amz_date(EXAMPLE_TIME, d);
    cr_assert_str_eq(d, "20130524T000000Z");
}

Test(sigv4, aws_example_get_object)
{
    const struct tw_sigv4_pair h[] = {
        { "Host", HOST },
        { "Range", "bytes=0-9" },
        { "x-amz-content-sha256", TW_SIGV4_EMPTY_SHA256 },
        { "x-amz-date", "20130524T000000Z" },
    };
    struct tw_sigv4_request req = { "GET", "/test.txt", NULL, 0, h, 4, TW_SIGV4_EMPTY_SHA256 };
    struct tw_err err;
    char auth[512];

    cr_assert_eq(tw_sigv4_authorization(&creds, &req, EXAMPLE_TIME, auth, sizeof(auth), &err),
                 TW_OK, "%s", err.msg);
    cr_assert_str_eq(auth, "AWS4-HMAC-SHA256 Credential=" AKID "/20130524/us-east-1/s3/"
                           "aws4_request,SignedHeaders=host;range;x-amz-content-sha256;"
                           "x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48"
                           "dd91039c6036bdb41");
}

Test(sigv4, aws_example_put_object)
{
    const struct tw_sigv4_pair h[] = {
        { "Host", HOST },
        { "Date", "Fri, 24 May 2013 00:00:00 GMT" },
        { "x-amz-date", "20130524T000000Z" },
        { "x-amz-storage-class", "REDUCED_REDUNDANCY" },
        { "x-amz-content-sha256",
          "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072" },
    };
    struct tw_sigv4_request req = {
        "PUT",
        "/test$file.text",
        NULL,
        0,
        h,
        5,
        "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"
    };
    struct tw_err err;
    char auth[512];

    cr_assert_eq(tw_sigv4_authorization(&creds, &req, EXAMPLE_TIME, auth, sizeof(auth), &err),
                 TW_OK, "%s", err.msg);
    cr_assert_str_eq(signature_of(auth),
                     "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
    cr_assert_not_null(strstr(auth, "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;"
                                    "x-amz-storage-class,"));
}

Test(sigv4, aws_example_get_bucket_lifecycle)
{
    const struct tw_sigv4_pair q[] = { { "lifecycle", "" } };
    const struct tw_sigv4_pair h[] = {
        { "Host", HOST },
        { "x-amz-date", "20130524T000000Z" },
        { "x-amz-content-sha256", TW_SIGV4_EMPTY_SHA256 },
    };
    struct tw_sigv4_request req = { "GET", "/", q, 1, h, 3, TW_SIGV4_EMPTY_SHA256 };
    struct tw_err err;
    char auth[512];

    cr_assert_eq(tw_sigv4_authorization(&creds, &req, EXAMPLE_TIME, auth, sizeof(auth), &err),
                 TW_OK, "%s", err.msg);
    cr_assert_str_eq(signature_of(auth),
                     "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
}

Test(sigv4, aws_example_list_objects_sorts_the_query)
{
    /* Given out of order: the canonical query string sorts by name. */
    const struct tw_sigv4_pair q[] = { { "prefix", "J" }, { "max-keys", "2" } };
    const struct tw_sigv4_pair h[] = {
        { "Host", HOST },
        { "x-amz-date", "20130524T000000Z" },
        { "x-amz-content-sha256", TW_SIGV4_EMPTY_SHA256 },
    };
    struct tw_sigv4_request req = { "GET", "/", q, 2, h, 3, TW_SIGV4_EMPTY_SHA256 };
    struct tw_err err;
    char auth[512];

    cr_assert_eq(tw_sigv4_authorization(&creds, &req, EXAMPLE_TIME, auth, sizeof(auth), &err),
                 TW_OK, "%s", err.msg);
    cr_assert_str_eq(signature_of(auth),
                     "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

Test(sigv4, aws_example_presigned_url)
{
    const struct tw_sigv4_pair h[] = { { "host", HOST } };
    struct tw_sigv4_request req = { "GET", "/test.txt", NULL, 0, h, 1, TW_SIGV4_UNSIGNED };
    struct tw_err err;
    char url[1024];

    cr_assert_eq(tw_sigv4_presign(&creds, &req, "https://" HOST, 86400, EXAMPLE_TIME, url,
                                  sizeof(url), &err),
                 TW_OK, "%s", err.msg);
    cr_assert_str_eq(url, "https://" HOST "/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256"
                          "&X-Amz-Credential=" AKID "%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
                          "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400"
                          "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d"
                          "157751f604d404&X-Amz-SignedHeaders=host");
}

Test(sigv4, encoding_keeps_unreserved_and_slashes_in_paths)
{
    char out[128];

    cr_assert_eq(tw_sigv4_encode("taskwheel/1764/7/users 2026+x~é.csv", 1, out, sizeof(out)),
                 (long)strlen("taskwheel/1764/7/users%202026%2Bx~%C3%A9.csv"));
    cr_assert_str_eq(out, "taskwheel/1764/7/users%202026%2Bx~%C3%A9.csv");
    cr_assert_eq(tw_sigv4_encode("a/b", 0, out, sizeof(out)), 5);
    cr_assert_str_eq(out, "a%2Fb");
    cr_assert_eq(tw_sigv4_encode("abcdef", 0, out, 4), -1, "must not overflow");
}

Test(sigv4, bad_input_is_an_error_not_a_signature)
{
    const struct tw_sigv4_pair h[] = { { "host", HOST } };
    struct tw_sigv4_request req = { "GET", "/k", NULL, 0, h, 1, TW_SIGV4_UNSIGNED };
    struct tw_sigv4_request nohost = { "GET", "/k", NULL, 0, NULL, 0, TW_SIGV4_UNSIGNED };
    struct tw_sigv4_creds empty = { "", "", NULL, "us-east-1", "s3" };
    struct tw_err err;
    char url[1024], tiny[40];

    cr_assert_eq(
        tw_sigv4_presign(&creds, &req, "https://" HOST, 0, EXAMPLE_TIME, url, sizeof(url), &err),
        TW_EINVAL);
    cr_assert_eq(tw_sigv4_presign(&creds, &req, "https://" HOST, 604801, EXAMPLE_TIME, url,
                                  sizeof(url), &err),
                 TW_EINVAL);
    cr_assert_eq(
        tw_sigv4_presign(&empty, &req, "https://" HOST, 60, EXAMPLE_TIME, url, sizeof(url), &err),
        TW_EINVAL);
    cr_assert_eq(tw_sigv4_presign(&creds, &nohost, "https://" HOST, 60, EXAMPLE_TIME, url,
                                  sizeof(url), &err),
                 TW_EINVAL);
    cr_assert_eq(
        tw_sigv4_presign(&creds, &req, "https://" HOST, 60, EXAMPLE_TIME, tiny, sizeof(tiny), &err),
        TW_EINVAL);
    cr_assert_eq(tw_sigv4_authorization(&creds, &req, EXAMPLE_TIME, tiny, sizeof(tiny), &err),
                 TW_EINVAL);
}
