/*
 * Saved segments (docs/reference.md §6.4) and segment validation against an index (§6.2) through a real
 * server: CRUD, chain scoping, in-use protection, and a run that uses the segment as it is
 * when the run starts.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static struct tw_srv srv;
static char *tok;   /* write on chains 1764 and 1765 */
static char *tok_b; /* write on chain 1765 only */

static void setup(void)
{
    static const char *const both[] = { "1764", "1765", NULL };
    static const char *const b[] = { "1765", NULL };
    static const char *const seed[] = { "seed",      "--rows", "200", "--chains",
                                        "1764,1765", "--seed", "3",   NULL };

    tw_srv_init(&srv, NULL);
    cr_assert_eq(tw_srv_cli(&srv, NULL, NULL, seed), 0, "seed failed");
    tok = tw_srv_token(&srv, "write", both);
    tok_b = tw_srv_token(&srv, "write", b);
}

static void teardown(void)
{
    free(tok);
    free(tok_b);
    tw_srv_fini(&srv, true);
}

TestSuite(segments, .init = setup, .fini = teardown, .timeout = 120);

static const char big_spenders[] =
    "{\"chain\": 1764, \"name\": \"big\", \"segment\": {\"index\": \"transactions\", "
    "\"rules\": [{\"field_name\": \"total_value\", \"field_type\": \"number\", "
    "\"operator\": \"is_greater_than\", \"value\": 100}]}}";

static long create_segment(const char *body, char *id, size_t idlen)
{
    struct tw_resp r;
    long status;

    tw_http(&srv, "POST", "/segments", tok, NULL, body, &r);
    status = r.status;
    if (status == 201 && id != NULL)
        snprintf(id, idlen, "%s", json_string_value(json_object_get(r.json, "id")));
    tw_resp_fini(&r);
    return status;
}

Test(segments, crud_round_trip)
{
    char id[32], path[64], loc[64];
    struct tw_resp r;

    tw_http(&srv, "POST", "/segments", tok, NULL, big_spenders, &r);
    cr_assert_eq(r.status, 201, "%s", r.body);
    cr_assert(json_is_string(json_object_get(r.json, "id")),
              "id is a string (docs/reference.md §6.4)");
    snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(r.json, "id")));
    snprintf(path, sizeof(path), "/segments/%s", id);
    cr_assert(tw_resp_header(&r, "Location", loc, sizeof(loc)));
    cr_assert_str_eq(loc, path);
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(r.json, "segment"), "join")),
                     "all", "canonical form");
    tw_resp_fini(&r);

    tw_http(&srv, "GET", path, tok, NULL, NULL, &r);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "name")), "big");
    tw_resp_fini(&r);

    tw_http(&srv, "PUT", path, tok, NULL, "{\"name\": \"bigger\"}", &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "name")), "bigger");
    tw_resp_fini(&r);

    tw_http(&srv, "PUT", path, tok, NULL, "{\"chain\": 1765}", &r);
    tw_assert_error(&r, 400, "validation_failed", "chain");
    tw_resp_fini(&r);

    tw_http(&srv, "GET", "/segments", tok, NULL, NULL, &r);
    cr_assert_eq(r.status, 200);
    cr_assert_eq(json_array_size(r.json), 1);
    tw_resp_fini(&r);

    tw_http(&srv, "DELETE", path, tok, NULL, NULL, &r);
    cr_assert_eq(r.status, 204);
    tw_resp_fini(&r);
    tw_http(&srv, "GET", path, tok, NULL, NULL, &r);
    tw_assert_error(&r, 404, "segment_not_found", NULL);
    tw_resp_fini(&r);
}

Test(segments, validation_names_the_rule_and_lists_fields)
{
    struct tw_resp r;

    tw_http(&srv, "POST", "/segments", tok, NULL,
            "{\"chain\": 1764, \"name\": \"x\", \"segment\": {\"index\": \"users\", \"rules\": ["
            "{\"field_name\": \"id\", \"field_type\": \"number\", \"operator\": \"exists\"},"
            "{\"field_name\": \"shoe_size\", \"field_type\": \"number\", "
            "\"operator\": \"exists\"}]}}",
            &r);
    tw_assert_error(&r, 400, "validation_failed", "segment.rules[1].field_name");
    cr_assert(strstr(r.body, "firstname") != NULL, "lists the valid fields: %s", r.body);
    tw_resp_fini(&r);

    tw_http(&srv, "POST", "/segments", tok, NULL,
            "{\"chain\": 1764, \"name\": \"x\", \"segment\": {\"index\": \"users\", \"rules\": ["
            "{\"field_name\": \"firstname\", \"field_type\": \"number\", "
            "\"operator\": \"exists\"}]}}",
            &r);
    tw_assert_error(&r, 400, "validation_failed", "segment.rules[0].field_type");
    tw_resp_fini(&r);

    tw_http(&srv, "POST", "/segments", tok, NULL,
            "{\"chain\": 1764, \"name\": \"x\", \"segment\": {\"index\": \"transactions\", "
            "\"rules\": [{\"field_name\": \"barcode\", \"field_type\": \"keyword\", "
            "\"operator\": \"is\", \"value\": \"1\"}]}}",
            &r);
    tw_assert_error(&r, 400, "validation_failed", "segment.rules[0].nested");
    tw_resp_fini(&r);

    tw_http(&srv, "POST", "/segments", tok, NULL,
            "{\"chain\": 1764, \"name\": \"x\", \"segment\": {\"chain_id\": 1765, \"rules\": []}}",
            &r);
    tw_assert_error(&r, 400, "validation_failed", NULL);
    tw_resp_fini(&r);

    tw_http(&srv, "POST", "/segments", tok, NULL,
            "{\"chain\": 1764, \"name\": \"\", \"segment\": {\"rules\": []}}", &r);
    tw_assert_error(&r, 400, "validation_failed", "name");
    tw_resp_fini(&r);

    tw_http(&srv, "POST", "/segments", tok, NULL,
            "{\"chain\": 1764, \"name\": \"x\", \"segmnet\": {}}", &r);
    tw_assert_error(&r, 400, "validation_failed", "segmnet");
    tw_resp_fini(&r);

    tw_http(&srv, "GET", "/segments", tok, NULL, NULL, &r);
    cr_assert_eq(json_array_size(r.json), 0, "nothing was stored");
    tw_resp_fini(&r);
}

Test(segments, other_chains_cannot_see_or_use_them)
{
    char id[32], path[64], body[512];
    struct tw_resp r;

    cr_assert_eq(create_segment(big_spenders, id, sizeof(id)), 201);
    snprintf(path, sizeof(path), "/segments/%s", id);
    tw_http(&srv, "GET", path, tok_b, NULL, NULL, &r);
    tw_assert_error(&r, 404, "segment_not_found", NULL);
    tw_resp_fini(&r);
    tw_http(&srv, "DELETE", path, tok_b, NULL, NULL, &r);
    tw_assert_error(&r, 404, "segment_not_found", NULL);
    tw_resp_fini(&r);
    tw_http(&srv, "GET", "/segments", tok_b, NULL, NULL, &r);
    cr_assert_eq(json_array_size(r.json), 0);
    tw_resp_fini(&r);
    tw_http(&srv, "POST", "/segments", tok_b, NULL, big_spenders, &r);
    tw_assert_error(&r, 403, "permission_denied", "chain");
    tw_resp_fini(&r);

    /* A task of chain 1765 naming chain 1764's segment: 404, as if it did not exist. */
    snprintf(body, sizeof(body),
             "{\"chain\": 1765, \"desc\": \"x\", \"target\": {\"action\": \"export\", "
             "\"export_index\": \"transactions\"}, \"trigger\": {\"once\": "
             "\"2030-01-01T00:00:00Z\", \"segment_id\": \"%s\"}}",
             id);
    tw_http(&srv, "POST", "/tasks", tok, NULL, body, &r);
    tw_assert_error(&r, 404, "segment_not_found", "trigger.segment_id");
    tw_resp_fini(&r);
}

Test(segments, in_use_cannot_be_deleted_and_runs_use_the_current_rules)
{
    char id[32], path[64], body[512], task[64];
    struct tw_resp r;
    json_t *log;
    json_int_t first, second;

    cr_assert_eq(create_segment(big_spenders, id, sizeof(id)), 201);
    snprintf(path, sizeof(path), "/segments/%s", id);
    /* The segment's rules do not fit the users index: 400 on the reference. */
    snprintf(body, sizeof(body),
             "{\"chain\": 1764, \"desc\": \"x\", \"target\": {\"action\": \"export\", "
             "\"export_index\": \"users\"}, \"trigger\": {\"once\": "
             "\"2030-01-01T00:00:00Z\", \"segment_id\": \"%s\"}}",
             id);
    tw_http(&srv, "POST", "/tasks", tok, NULL, body, &r);
    tw_assert_error(&r, 400, "validation_failed", NULL);
    tw_resp_fini(&r);

    snprintf(body, sizeof(body),
             "{\"chain\": 1764, \"desc\": \"x\", \"target\": {\"action\": \"export\", "
             "\"export_index\": \"transactions\"}, \"trigger\": {\"once\": "
             "\"2030-01-01T00:00:00Z\", \"segment_id\": \"%s\"}}",
             id);
    tw_http(&srv, "POST", "/tasks", tok, NULL, body, &r);
    cr_assert_eq(r.status, 201, "%s", r.body);
    snprintf(task, sizeof(task), "/tasks/%lld/execute",
             (long long)json_integer_value(json_object_get(r.json, "id")));
    tw_resp_fini(&r);

    tw_http(&srv, "DELETE", path, tok, NULL, NULL, &r);
    tw_assert_error(&r, 409, "segment_in_use", NULL);
    tw_resp_fini(&r);

    tw_http(&srv, "POST", task, tok, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "code")), "DONE", "%s", r.body);
    tw_resp_fini(&r);
    task[strlen(task) - strlen("/execute")] = '\0';
    tw_http(&srv, "GET", task, tok, NULL, NULL, &r);
    log = json_array_get(json_object_get(r.json, "logs"), 0);
    first = json_integer_value(json_object_get(log, "success"));
    cr_assert_eq(json_integer_value(json_object_get(log, "total")), first,
                 "the rule was pushed down: nothing read was dropped");
    tw_resp_fini(&r);

    /* Narrow the saved segment; the next run uses it as it is now. */
    tw_http(&srv, "PUT", path, tok, NULL,
            "{\"segment\": {\"index\": \"transactions\", \"rules\": [{\"field_name\": "
            "\"total_value\", \"field_type\": \"number\", \"operator\": \"is_greater_than\", "
            "\"value\": 200}]}}",
            &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    tw_resp_fini(&r);
    strcat(task, "/execute");
    tw_http(&srv, "POST", task, tok, NULL, NULL, &r);
    cr_assert_eq(r.status, 200);
    tw_resp_fini(&r);
    task[strlen(task) - strlen("/execute")] = '\0';
    tw_http(&srv, "GET", task, tok, NULL, NULL, &r);
    log = json_array_get(json_object_get(r.json, "logs"), 0);
    second = json_integer_value(json_object_get(log, "success"));
    tw_resp_fini(&r);
    cr_assert_gt(first, 0, "seeded baskets above 100 exist");
    cr_assert_lt(second, first, "a narrower segment exports fewer baskets (%lld !< %lld)",
                 (long long)second, (long long)first);
}

/* Create a task from body, execute it, return the final log entry's "success" (or -1). */
static json_int_t run_task(const char *body, char *state, size_t statelen)
{
    char path[64];
    struct tw_resp r;
    json_int_t n;

    tw_http(&srv, "POST", "/tasks", tok, NULL, body, &r);
    cr_assert_eq(r.status, 201, "%s", r.body);
    snprintf(path, sizeof(path), "/tasks/%lld/execute",
             (long long)json_integer_value(json_object_get(r.json, "id")));
    tw_resp_fini(&r);
    tw_http(&srv, "POST", path, tok, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    snprintf(state, statelen, "%s", json_string_value(json_object_get(r.json, "code")));
    tw_resp_fini(&r);
    path[strlen(path) - strlen("/execute")] = '\0';
    tw_http(&srv, "GET", path, tok, NULL, NULL, &r);
    n = json_integer_value(
        json_object_get(json_array_get(json_object_get(r.json, "logs"), 0), "success"));
    tw_resp_fini(&r);
    return n;
}

Test(segments, lua_script_rule_selects_like_the_equivalent_number_rule)
{
    static const char script[] =
        "{\"chain\": 1764, \"desc\": \"x\", \"target\": {\"action\": \"export\", "
        "\"export_index\": \"transactions\"}, \"trigger\": {\"once\": \"2030-01-01T00:00:00Z\", "
        "\"segment\": {\"rules\": [{\"operator\": \"script\", \"script\": \"high_value\", "
        "\"params\": {\"min_spend\": 100}}]}}}";
    static const char number[] =
        "{\"chain\": 1764, \"desc\": \"x\", \"target\": {\"action\": \"export\", "
        "\"export_index\": \"transactions\"}, \"trigger\": {\"once\": \"2030-01-01T00:00:00Z\", "
        "\"segment\": {\"rules\": [{\"field_name\": \"total_value\", \"field_type\": \"number\", "
        "\"operator\": \"is_between_number\", \"min\": 100, \"max\": 1000000}]}}}";
    char state[16];
    json_int_t a, b;
    struct tw_resp r;

    a = run_task(script, state, sizeof(state));
    cr_assert_str_eq(state, "DONE");
    b = run_task(number, state, sizeof(state));
    cr_assert_str_eq(state, "DONE");
    cr_assert_gt(a, 0);
    cr_assert_eq(a, b, "script rule kept %lld, the number rule %lld", (long long)a, (long long)b);

    /* An unknown script is a 400 at create time listing the installed ones. */
    tw_http(&srv, "POST", "/tasks", tok, NULL,
            "{\"chain\": 1764, \"desc\": \"x\", \"target\": {\"action\": \"export\", "
            "\"export_index\": \"transactions\"}, \"trigger\": {\"once\": "
            "\"2030-01-01T00:00:00Z\", \"segment\": {\"rules\": [{\"operator\": \"script\", "
            "\"script\": \"no_such_script\"}]}}}",
            &r);
    tw_assert_error(&r, 400, "validation_failed", "trigger.segment.rules[0].script");
    cr_assert(strstr(r.body, "high_value") != NULL, "%s", r.body);
    tw_resp_fini(&r);
}

Test(segments, lua_formatters_are_export_formats)
{
    char state[16];
    struct tw_resp r;

    cr_assert_gt(run_task("{\"chain\": 1764, \"desc\": \"x\", \"target\": {\"action\": "
                          "\"export\", \"export_index\": \"users\", \"export_format\": "
                          "\"ndjson\"}, \"trigger\": {\"once\": \"2030-01-01T00:00:00Z\"}}",
                          state, sizeof(state)),
                 0);
    cr_assert_str_eq(state, "DONE");
    tw_http(&srv, "POST", "/tasks", tok, NULL,
            "{\"chain\": 1764, \"desc\": \"x\", \"target\": {\"action\": \"export\", "
            "\"export_index\": \"users\", \"export_format\": \"xml\"}, \"trigger\": {\"once\": "
            "\"2030-01-01T00:00:00Z\"}}",
            &r);
    tw_assert_error(&r, 400, "validation_failed", "target.export_format");
    cr_assert(strstr(r.body, "ndjson") != NULL && strstr(r.body, "tsv") != NULL, "%s", r.body);
    tw_resp_fini(&r);
}
