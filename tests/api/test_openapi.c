/*
 * GET /openapi.json (docs/reference.md §15): docs/openapi.yaml served from the binary without credentials,
 * as the JSON that YAML 1.2 tools read from it (quoted "200" keys stay strings, plain numbers
 * and booleans are typed), with ETag revalidation, gzip and HEAD.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "harness.h"

static struct tw_srv srv;

static void setup(void)
{
    tw_srv_init(&srv, NULL);
}

static void teardown(void)
{
    tw_srv_fini(&srv, true);
}

TestSuite(openapi, .init = setup, .fini = teardown);

/* The node at a "/"-separated path of object keys (no escaping needed for the keys used). */
static json_t *at(json_t *j, const char *path)
{
    char buf[256], *save = NULL, *k;

    snprintf(buf, sizeof(buf), "%s", path);
    for (k = strtok_r(buf, "/", &save); k != NULL && j != NULL; k = strtok_r(NULL, "/", &save))
        j = json_object_get(j, k);
    return j;
}

Test(openapi, served_without_credentials_as_typed_json)
{
    struct tw_resp r;
    char type[64];
    json_t *e;

    tw_http(&srv, "GET", "/openapi.json", NULL, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, "%ld %s", r.status, r.body);
    cr_assert(tw_resp_header(&r, "Content-Type", type, sizeof(type)));
    cr_assert_str_eq(type, "application/json");
    cr_assert_not_null(r.json, "not JSON: %.200s", r.body);
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "openapi")), "3.1.0");
    /* every route of engine/api/router.c, with its methods; quoted "200" keys are strings */
    {
        static const char *const routes[][2] = {
            { "/tasks", "get" },
            { "/tasks", "post" },
            { "/tasks/{id}", "get" },
            { "/tasks/{id}", "put" },
            { "/tasks/{id}", "delete" },
            { "/tasks/{id}/download_url", "get" },
            { "/tasks/{id}/execute", "post" },
            { "/downloads/{chain}/{id}/{file}", "get" },
            { "/segments", "get" },
            { "/segments", "post" },
            { "/segments/{id}", "get" },
            { "/segments/{id}", "put" },
            { "/segments/{id}", "delete" },
            { "/auth/login", "post" },
            { "/healthz", "get" },
            { "/metrics", "get" },
            { "/openapi.json", "get" },
        };
        size_t i;

        for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
            json_t *item = json_object_get(at(r.json, "paths"), routes[i][0]);

            cr_assert_not_null(json_object_get(item, routes[i][1]), "no %s %s", routes[i][1],
                               routes[i][0]);
            cr_assert_not_null(json_object_get(item, "options"), "no options %s", routes[i][0]);
        }
    }
    e = json_object_get(json_object_get(json_object_get(at(r.json, "paths"), "/tasks"), "get"),
                        "responses");
    cr_assert_not_null(json_object_get(e, "200"), "responses: no \"200\" key");
    /* plain scalars typed: an integer, a boolean, a null inside an enum, "" kept a string */
    cr_assert(json_is_integer(at(r.json, "components/parameters/Limit/schema/maximum")));
    cr_assert_eq(json_integer_value(at(r.json, "components/parameters/Limit/schema/maximum")),
                 1000);
    cr_assert(json_is_false(at(r.json, "components/schemas/Task/additionalProperties")));
    cr_assert(json_is_true(at(r.json, "components/headers/X-Request-Id/required")));
    e = at(r.json, "components/schemas/TriggerInput/properties/repeat/enum");
    cr_assert(json_is_string(json_array_get(e, 0)));
    cr_assert_str_eq(json_string_value(json_array_get(e, 0)), "");
    cr_assert(json_is_null(json_array_get(e, json_array_size(e) - 1)));
    cr_assert(json_is_integer(at(r.json, "components/schemas/Error/properties/result/properties/"
                                         "code/const")));
    tw_resp_fini(&r);
}

Test(openapi, same_document_as_the_yaml_read_by_a_yaml_1_2_parser)
{
    struct tw_resp r;
    char file[400], cmd[1200];
    FILE *f;
    int rc;

    tw_http(&srv, "GET", "/openapi.json", NULL, NULL, NULL, &r);
    cr_assert_eq(r.status, 200);
    snprintf(file, sizeof(file), "%s/openapi.json", srv.dir);
    f = fopen(file, "w");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(r.body, 1, r.len, f), r.len);
    fclose(f);
    snprintf(cmd, sizeof(cmd), "node '%s/tests/openapi/same_json.mjs' '%s/docs/openapi.yaml' '%s'",
             TW_SOURCE_DIR, TW_SOURCE_DIR, file);
    rc = system(cmd);
    cr_assert_eq(rc, 0, "the served JSON differs from docs/openapi.yaml (see the line above)");
    tw_resp_fini(&r);
}

Test(openapi, etag_revalidates_gzip_and_head)
{
    struct tw_resp r, r2;
    char etag[128], hdr[160], enc[32];
    const char *inm[2] = { hdr, NULL };
    const char *gz[2] = { "Accept-Encoding: gzip", NULL };
    char *plain;
    size_t plain_len;

    tw_http(&srv, "GET", "/openapi.json", NULL, NULL, NULL, &r);
    cr_assert(tw_resp_header(&r, "ETag", etag, sizeof(etag)));
    cr_assert_eq(etag[0], '"');
    snprintf(hdr, sizeof(hdr), "If-None-Match: %s", etag);
    tw_http(&srv, "GET", "/openapi.json", NULL, inm, NULL, &r2);
    cr_assert_eq(r2.status, 304);
    cr_assert_eq(r2.len, 0);
    tw_resp_fini(&r2);
    /* another tag: the whole document */
    snprintf(hdr, sizeof(hdr), "If-None-Match: \"0000\"");
    tw_http(&srv, "GET", "/openapi.json", NULL, inm, NULL, &r2);
    cr_assert_eq(r2.status, 200);
    cr_assert_eq(r2.len, r.len);
    tw_resp_fini(&r2);

    tw_http(&srv, "GET", "/openapi.json", NULL, gz, NULL, &r2);
    cr_assert_eq(r2.status, 200);
    cr_assert(tw_resp_header(&r2, "Content-Encoding", enc, sizeof(enc)));
    cr_assert_str_eq(enc, "gzip");
    tw_gunzip(r2.body, r2.len, &plain, &plain_len);
    cr_assert_eq(plain_len, r.len);
    cr_assert_eq(memcmp(plain, r.body, r.len), 0);
    free(plain);
    tw_resp_fini(&r2);

    tw_http(&srv, "HEAD", "/openapi.json", NULL, NULL, NULL, &r2);
    cr_assert_eq(r2.status, 200);
    cr_assert_eq(r2.len, 0);
    tw_resp_fini(&r2);
    tw_resp_fini(&r);
}
