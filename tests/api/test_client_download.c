/*
 * `taskwheel task download` against a real server (docs/client.md): the file is verified
 * against download_url's size and SHA-256, a truncated file is resumed with Range and verified
 * again, a tampered or oversized file is exit 1 with a clear message and is left as it was.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "client_test.h"

static struct tw_srv srv;
static char *tok;

static void setup(void)
{
    static const char *const chains[] = { "9001", NULL };

    tw_srv_init_plugins(&srv, TW_RUNPLUGINS_DIR, NULL);
    tok = tw_srv_token(&srv, "write", chains);
}

static void teardown(void)
{
    free(tok);
    tw_srv_fini(&srv, true);
}

TestSuite(client_download, .init = setup, .fini = teardown, .timeout = 300);

static void sha256_hex(const char *p, size_t n, char out[65])
{
    unsigned char d[32];
    unsigned len = 0, i;

    cr_assert(EVP_Digest(p, n, d, &len, EVP_sha256(), NULL) == 1);
    for (i = 0; i < 32; i++)
        sprintf(out + 2 * i, "%02x", d[i]);
}

/* A task that has run once (DONE, 3 records); its download_url's size and sha256. */
static long long done_task(long long *size, char sha[65])
{
    long long id = twc_create(srv.base_url, tok, "9001");
    struct tw_resp r;
    char path[64], ids[32];
    struct tw_cmd c;

    snprintf(ids, sizeof(ids), "%lld", id);
    twc_run(&c, srv.base_url, tok, "execute", ids, "--wait", NULL);
    cr_assert_eq(c.code, 0, "%s%s", c.out, c.err);
    tw_cmd_fini(&c);
    snprintf(path, sizeof(path), "/tasks/%lld/download_url", id);
    tw_http(&srv, "GET", path, tok, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    *size = (long long)json_integer_value(json_object_get(r.json, "size"));
    snprintf(sha, 65, "%s", json_string_value(json_object_get(r.json, "sha256")));
    tw_resp_fini(&r);
    return id;
}

Test(client_download, verify_resume_and_refuse_a_tampered_file)
{
    long long size, id;
    char sha[65], got[65], ids[32], file[400];
    struct tw_cmd c;
    size_t len;
    char *data;
    FILE *f;

    id = done_task(&size, sha);
    snprintf(ids, sizeof(ids), "%lld", id);
    snprintf(file, sizeof(file), "%s/result.csv", srv.dir);

    /* Whole. */
    twc_run(&c, srv.base_url, tok, "download", ids, "-o", file, NULL);
    cr_assert_eq(c.code, 0, "%s%s", c.out, c.err);
    cr_assert(strstr(c.out, "verified") != NULL && strstr(c.out, sha) != NULL, "%s", c.out);
    tw_cmd_fini(&c);
    data = tw_slurp(file, &len);
    cr_assert_eq((long long)len, size);
    sha256_hex(data, len, got);
    cr_assert_str_eq(got, sha);
    cr_assert(strncmp(data, "id,name\r\n", 9) == 0, "%s", data);
    free(data);

    /* Cut short (an interrupted download): resumed from where it stops, then verified. */
    cr_assert_eq(truncate(file, 10), 0);
    twc_run(&c, srv.base_url, tok, "download", ids, "--output", file, NULL);
    cr_assert_eq(c.code, 0, "%s%s", c.out, c.err);
    cr_assert(strstr(c.out, "resumed at byte 10") != NULL, "%s", c.out);
    tw_cmd_fini(&c);
    data = tw_slurp(file, &len);
    cr_assert_eq((long long)len, size);
    sha256_hex(data, len, got);
    cr_assert_str_eq(got, sha);
    free(data);

    /* Already whole: only checked. */
    twc_run(&c, srv.base_url, tok, "download", ids, "-o", file, NULL);
    cr_assert_eq(c.code, 0, "%s%s", c.out, c.err);
    cr_assert(strstr(c.out, "complete already") != NULL, "%s", c.out);
    tw_cmd_fini(&c);

    /* Tampered (same size, one byte changed): exit 1, said so, and the file left alone. */
    f = fopen(file, "r+b");
    cr_assert_not_null(f);
    fseek(f, 12, SEEK_SET);
    fputc('X', f);
    fclose(f);
    twc_run(&c, srv.base_url, tok, "download", ids, "-o", file, NULL);
    cr_assert_eq(c.code, 1, "%s%s", c.out, c.err);
    cr_assert(strstr(c.err, "SHA-256 mismatch") != NULL, "%s", c.err);
    cr_assert(strstr(c.err, sha) != NULL, "%s", c.err);
    cr_assert_eq(twc_lines(c.err), 1, "%s", c.err);
    tw_cmd_fini(&c);
    data = tw_slurp(file, &len);
    cr_assert_eq((long long)len, size);
    cr_assert_eq(data[12], 'X');
    free(data);

    /* A truncated and tampered file: resumed, then the mismatch is caught. */
    cr_assert_eq(truncate(file, 20), 0);
    twc_run(&c, srv.base_url, tok, "download", ids, "-o", file, NULL);
    cr_assert_eq(c.code, 1, "%s%s", c.out, c.err);
    cr_assert(strstr(c.err, "SHA-256 mismatch") != NULL, "%s", c.err);
    tw_cmd_fini(&c);

    /* Larger than the result: not a partial download of it; untouched. */
    f = fopen(file, "ab");
    cr_assert_not_null(f);
    fputs("trailing bytes that make it too long", f);
    fclose(f);
    twc_run(&c, srv.base_url, tok, "download", ids, "-o", file, NULL);
    cr_assert_eq(c.code, 1, "%s%s", c.out, c.err);
    cr_assert(strstr(c.err, "more than the") != NULL, "%s", c.err);
    tw_cmd_fini(&c);
    data = tw_slurp(file, &len);
    cr_assert_gt((long long)len, size);
    cr_assert(strstr(data, "trailing bytes") != NULL);
    free(data);
}

Test(client_download, to_stdout_and_json)
{
    long long size, id;
    char sha[65], got[65], ids[32], file[400];
    struct tw_cmd c;
    json_t *j;

    id = done_task(&size, sha);
    snprintf(ids, sizeof(ids), "%lld", id);
    twc_run(&c, srv.base_url, tok, "download", ids, "-o", "-", NULL);
    cr_assert_eq(c.code, 0, "%s%s", c.out, c.err);
    cr_assert_eq((long long)strlen(c.out), size);
    sha256_hex(c.out, strlen(c.out), got);
    cr_assert_str_eq(got, sha);
    cr_assert(strstr(c.err, "verified") != NULL, "%s", c.err);
    tw_cmd_fini(&c);

    snprintf(file, sizeof(file), "%s/r.csv", srv.dir);
    twc_run(&c, srv.base_url, tok, "download", ids, "-o", file, "--json", NULL);
    cr_assert_eq(c.code, 0, "%s%s", c.out, c.err);
    j = twc_json(&c);
    cr_assert_str_eq(json_string_value(json_object_get(j, "sha256")), sha);
    cr_assert_eq(json_integer_value(json_object_get(j, "size")), size);
    json_decref(j);
    tw_cmd_fini(&c);
}

Test(client_download, no_result_yet_is_the_service_error)
{
    long long id = twc_create(srv.base_url, tok, "9001");
    char ids[32], file[400];
    struct tw_cmd c;
    struct stat st;

    snprintf(ids, sizeof(ids), "%lld", id);
    snprintf(file, sizeof(file), "%s/none.csv", srv.dir);
    twc_run(&c, srv.base_url, tok, "download", ids, "-o", file, NULL);
    cr_assert_eq(c.code, 1, "%s%s", c.out, c.err);
    cr_assert(strstr(c.err, "HTTP 409 task_not_done: ") != NULL, "%s", c.err);
    tw_cmd_fini(&c);
    cr_assert_neq(stat(file, &st), 0, "no file is created when there is nothing to download");
}

/* A server whose download URLs lead nowhere (results.public_url on a closed port). */
static void setup_dead_url(void)
{
    static const char *const chains[] = { "9001", NULL };

    tw_srv_init_plugins(&srv, TW_RUNPLUGINS_DIR,
                        "results: { public_url: \"http://127.0.0.1:1/nowhere\" }\n");
    tok = tw_srv_token(&srv, "write", chains);
}

Test(client_download_dead_url, a_failed_fetch_leaves_no_empty_file, .init = setup_dead_url,
     .fini = teardown, .timeout = 300)
{
    long long size, id;
    char sha[65], ids[32], file[400];
    struct tw_cmd c;
    struct stat st;
    FILE *f;

    id = done_task(&size, sha);
    snprintf(ids, sizeof(ids), "%lld", id);
    snprintf(file, sizeof(file), "%s/never.csv", srv.dir);
    twc_run(&c, srv.base_url, tok, "download", ids, "-o", file, NULL);
    cr_assert_eq(c.code, 1, "%s%s", c.out, c.err);
    cr_assert(strstr(c.err, "download from http://127.0.0.1:1 failed") != NULL, "%s", c.err);
    cr_assert_eq(twc_lines(c.err), 1, "%s", c.err);
    tw_cmd_fini(&c);
    cr_assert_neq(stat(file, &st), 0, "the empty file made for it is gone");

    /* A partial file the user had is kept as it was. */
    f = fopen(file, "w");
    cr_assert_not_null(f);
    fputs("id,", f);
    fclose(f);
    twc_run(&c, srv.base_url, tok, "download", ids, "-o", file, NULL);
    cr_assert_eq(c.code, 1, "%s%s", c.out, c.err);
    tw_cmd_fini(&c);
    cr_assert_eq(stat(file, &st), 0);
    cr_assert_eq(st.st_size, 3);
}
