/* /tasks CRUD against a real server: shapes, headers, filters, paging, versions. */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "harness.h"

static struct tw_srv srv;
static char *tok; /* write on chains 1 and 2 */

static void setup(void)
{
    static const char *const chains[] = { "1", "2", NULL };

    tw_srv_init(&srv, NULL);
    tok = tw_srv_token(&srv, "write", chains);
}

static void teardown(void)
{
    free(tok);
    tw_srv_fini(&srv, true);
}

TestSuite(tasks, .init = setup, .fini = teardown, .timeout = 120);

static json_int_t create(long chain, const char *extra)
{
    struct tw_resp r;
    char *body = tw_task_body(chain, extra);
    json_int_t id;

    tw_http(&srv, "POST", "/tasks", tok, NULL, body, &r);
    free(body);
    cr_assert_eq(r.status, 201, "create: %ld %s", r.status, r.body);
    id = json_integer_value(json_object_get(r.json, "id"));
    tw_resp_fini(&r);
    return id;
}

Test(tasks, create_returns_spec_shape_and_location)
{
    static const char *const order[] = { "id",     "chain", "desc",  "state",   "trigger",
                                         "target", "logs",  "debug", "version", "result" };
    char *body = tw_task_body(1, "\"debug\": \"d1\"");
    char loc[64], want[64];
    struct tw_resp r;
    const char *key;
    json_t *v, *st;
    size_t i = 0;

    tw_http(&srv, "POST", "/tasks", tok, NULL, body, &r);
    free(body);
    cr_assert_eq(r.status, 201, "%s", r.body);
    json_object_foreach(r.json, key, v)
    {
        cr_assert(i < 10);
        cr_assert_str_eq(key, order[i], "field %zu is %s", i, key);
        i++;
    }
    cr_assert_eq(i, 10);
    snprintf(want, sizeof(want), "/tasks/%" JSON_INTEGER_FORMAT,
             json_integer_value(json_object_get(r.json, "id")));
    cr_assert(tw_resp_header(&r, "Location", loc, sizeof(loc)));
    cr_assert_str_eq(loc, want);
    st = json_object_get(r.json, "state");
    cr_assert_str_eq(json_string_value(json_object_get(st, "code")), "READY");
    cr_assert(json_is_null(json_object_get(st, "last_run_date")));
    cr_assert_eq(strlen(json_string_value(json_object_get(st, "created_date"))), 20);
    cr_assert_eq(json_integer_value(json_object_get(r.json, "version")), 1);
    cr_assert(json_is_null(json_object_get(r.json, "result")));
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "debug")), "d1");
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(r.json, "trigger"), "once")),
                     "2099-01-01T00:00:00Z");
    cr_assert_eq(json_array_size(json_object_get(r.json, "logs")), 0);
    tw_resp_fini(&r);
}

Test(tasks, times_are_normalised_to_utc)
{
    struct tw_resp r;
    json_int_t id = create(1, NULL);
    char path[64];
    const char *put =
        "{\"trigger\": {\"once\": \"2030-06-01T02:30:00.750+02:00\", \"repeat\": \"weekly\"}}";

    snprintf(path, sizeof(path), "/tasks/%" JSON_INTEGER_FORMAT, id);
    tw_http(&srv, "PUT", path, tok, NULL, put, &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(r.json, "trigger"), "once")),
                     "2030-06-01T00:30:00Z");
    cr_assert_str_eq(
        json_string_value(json_object_get(json_object_get(r.json, "trigger"), "repeat")), "weekly");
    cr_assert_eq(json_integer_value(json_object_get(r.json, "version")), 2);
    tw_resp_fini(&r);
}

Test(tasks, get_list_and_total_count)
{
    struct tw_resp r;
    char path[64], total[32];
    json_int_t a = create(1, NULL), b = create(2, NULL), c = create(1, NULL);

    snprintf(path, sizeof(path), "/tasks/%" JSON_INTEGER_FORMAT, b);
    tw_http(&srv, "GET", path, tok, NULL, NULL, &r);
    cr_assert_eq(r.status, 200);
    cr_assert_eq(json_integer_value(json_object_get(r.json, "chain")), 2);
    tw_resp_fini(&r);

    tw_http(&srv, "GET", "/tasks", tok, NULL, NULL, &r);
    cr_assert_eq(r.status, 200);
    cr_assert(json_is_array(r.json));
    cr_assert_eq(json_array_size(r.json), 3);
    cr_assert_eq(json_integer_value(json_object_get(json_array_get(r.json, 0), "id")), c);
    cr_assert_eq(json_integer_value(json_object_get(json_array_get(r.json, 2), "id")), a);
    cr_assert(tw_resp_header(&r, "X-Total-Count", total, sizeof(total)));
    cr_assert_str_eq(total, "3");
    tw_resp_fini(&r);

    tw_http(&srv, "GET", "/tasks?chain=1&limit=1&offset=1", tok, NULL, NULL, &r);
    cr_assert_eq(r.status, 200);
    cr_assert_eq(json_array_size(r.json), 1);
    cr_assert_eq(json_integer_value(json_object_get(json_array_get(r.json, 0), "id")), a);
    cr_assert(tw_resp_header(&r, "X-Total-Count", total, sizeof(total)));
    cr_assert_str_eq(total, "2");
    tw_resp_fini(&r);
}

Test(tasks, list_filters)
{
    struct tw_resp r;
    char total[32];

    create(1, NULL);
    create(1, NULL);
    tw_http(&srv, "GET", "/tasks?status=READY&action=export&export_index=users", tok, NULL, NULL,
            &r);
    cr_assert_eq(json_array_size(r.json), 2);
    tw_resp_fini(&r);
    tw_http(&srv, "GET", "/tasks?status=DONE", tok, NULL, NULL, &r);
    cr_assert_eq(r.status, 200);
    cr_assert_eq(json_array_size(r.json), 0);
    cr_assert(tw_resp_header(&r, "X-Total-Count", total, sizeof(total)));
    cr_assert_str_eq(total, "0");
    tw_resp_fini(&r);
    tw_http(&srv, "GET", "/tasks?export_index=vouchers", tok, NULL, NULL, &r);
    cr_assert_eq(json_array_size(r.json), 0);
    tw_resp_fini(&r);
    /* No task has a campaign_id yet: the API never sets one (the reference, section 2). */
    tw_http(&srv, "GET", "/tasks?campaign_id=7", tok, NULL, NULL, &r);
    cr_assert_eq(r.status, 200);
    cr_assert_eq(json_array_size(r.json), 0);
    tw_resp_fini(&r);
    tw_http(&srv, "GET", "/tasks?status=DONEISH", tok, NULL, NULL, &r);
    tw_assert_error(&r, 400, "validation_failed", "status");
    tw_resp_fini(&r);
}

Test(tasks, update_replaces_whole_fields_and_bumps_version)
{
    struct tw_resp r;
    char path[64];
    json_int_t id = create(1, "\"debug\": \"keep\"");

    snprintf(path, sizeof(path), "/tasks/%" JSON_INTEGER_FORMAT, id);
    tw_http(
        &srv, "PUT", path, tok, NULL,
        "{\"desc\": \"new\", \"target\": {\"action\": \"export\", \"export_index\": \"vouchers\"}}",
        &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "desc")), "new");
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "debug")), "keep");
    cr_assert_str_eq(
        json_string_value(json_object_get(json_object_get(r.json, "target"), "export_index")),
        "vouchers");
    cr_assert_str_eq(
        json_string_value(json_object_get(json_object_get(r.json, "target"), "export_format")),
        "csv");
    cr_assert_eq(json_integer_value(json_object_get(r.json, "version")), 2);
    tw_resp_fini(&r);
}

Test(tasks, update_echoing_a_get_is_accepted)
{
    struct tw_resp r, g;
    char path[64];
    char *echo;
    json_int_t id = create(1, NULL);

    snprintf(path, sizeof(path), "/tasks/%" JSON_INTEGER_FORMAT, id);
    tw_http(&srv, "GET", path, tok, NULL, NULL, &g);
    json_object_set_new(g.json, "desc", json_string("edited"));
    echo = json_dumps(g.json, 0);
    tw_http(&srv, "PUT", path, tok, NULL, echo, &r);
    free(echo);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "desc")), "edited");
    tw_resp_fini(&r);
    tw_resp_fini(&g);
}

Test(tasks, version_conflicts_in_body_and_if_match)
{
    static const char *const stale[] = { "If-Match: \"1\"", NULL };
    static const char *const fresh[] = { "If-Match: \"2\"", NULL };
    struct tw_resp r;
    char path[64];
    json_int_t id = create(1, NULL);

    snprintf(path, sizeof(path), "/tasks/%" JSON_INTEGER_FORMAT, id);
    tw_http(&srv, "PUT", path, tok, NULL, "{\"desc\": \"a\", \"version\": 1}", &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    tw_resp_fini(&r);
    tw_http(&srv, "PUT", path, tok, NULL, "{\"desc\": \"b\", \"version\": 1}", &r);
    tw_assert_error(&r, 409, "version_conflict", NULL);
    tw_resp_fini(&r);
    tw_http(&srv, "PUT", path, tok, stale, "{\"desc\": \"b\"}", &r);
    tw_assert_error(&r, 409, "version_conflict", NULL);
    tw_resp_fini(&r);
    tw_http(&srv, "PUT", path, tok, fresh, "{\"desc\": \"b\"}", &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_eq(json_integer_value(json_object_get(r.json, "version")), 3);
    tw_resp_fini(&r);
    tw_http(&srv, "GET", path, tok, NULL, NULL, &r);
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "desc")), "b");
    tw_resp_fini(&r);
}

Test(tasks, chain_cannot_change)
{
    struct tw_resp r;
    char path[64];
    json_int_t id = create(1, NULL);

    snprintf(path, sizeof(path), "/tasks/%" JSON_INTEGER_FORMAT, id);
    tw_http(&srv, "PUT", path, tok, NULL, "{\"chain\": 2}", &r);
    tw_assert_error(&r, 400, "validation_failed", "chain");
    tw_resp_fini(&r);
}

Test(tasks, delete_then_404_and_ids_not_reused)
{
    struct tw_resp r;
    char path[64];
    json_int_t id = create(1, NULL), id2;

    snprintf(path, sizeof(path), "/tasks/%" JSON_INTEGER_FORMAT, id);
    tw_http(&srv, "DELETE", path, tok, NULL, NULL, &r);
    cr_assert_eq(r.status, 204);
    cr_assert_eq(r.len, 0);
    tw_resp_fini(&r);
    tw_http(&srv, "GET", path, tok, NULL, NULL, &r);
    tw_assert_error(&r, 404, "task_not_found", NULL);
    tw_resp_fini(&r);
    tw_http(&srv, "DELETE", path, tok, NULL, NULL, &r);
    tw_assert_error(&r, 404, "task_not_found", NULL);
    tw_resp_fini(&r);
    id2 = create(1, NULL);
    cr_assert_gt(id2, id);
}

Test(tasks, idempotency_key)
{
    static const char *const k1[] = { "Idempotency-Key: abc-123", NULL };
    char *body = tw_task_body(1, NULL), *other = tw_task_body(1, "\"debug\": \"x\"");
    struct tw_resp r;
    char total[16];
    json_int_t id;

    tw_http(&srv, "POST", "/tasks", tok, k1, body, &r);
    cr_assert_eq(r.status, 201);
    id = json_integer_value(json_object_get(r.json, "id"));
    tw_resp_fini(&r);
    tw_http(&srv, "POST", "/tasks", tok, k1, body, &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_eq(json_integer_value(json_object_get(r.json, "id")), id);
    tw_resp_fini(&r);
    tw_http(&srv, "POST", "/tasks", tok, k1, other, &r);
    tw_assert_error(&r, 409, "idempotency_conflict", NULL);
    tw_resp_fini(&r);
    tw_http(&srv, "GET", "/tasks", tok, NULL, NULL, &r);
    cr_assert(tw_resp_header(&r, "X-Total-Count", total, sizeof(total)));
    cr_assert_str_eq(total, "1");
    tw_resp_fini(&r);
    free(body);
    free(other);
}

Test(tasks, restart_keeps_everything)
{
    struct tw_resp r;
    char path[64];
    json_int_t id = create(2, "\"debug\": \"persist\"");

    cr_assert_eq(tw_srv_stop(&srv, SIGTERM), 0);
    tw_srv_start(&srv);
    snprintf(path, sizeof(path), "/tasks/%" JSON_INTEGER_FORMAT, id);
    tw_http(&srv, "GET", path, tok, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "debug")), "persist");
    tw_resp_fini(&r);
}

Test(tasks, unknown_path_and_wrong_method)
{
    struct tw_resp r;
    char allow[64];

    tw_http(&srv, "GET", "/nope", tok, NULL, NULL, &r);
    tw_assert_error(&r, 404, "not_found", NULL);
    tw_resp_fini(&r);
    tw_http(&srv, "PATCH", "/tasks/1", tok, NULL, NULL, &r);
    tw_assert_error(&r, 405, "method_not_allowed", NULL);
    cr_assert(tw_resp_header(&r, "Allow", allow, sizeof(allow)));
    cr_assert_str_eq(allow, "GET, HEAD, PUT, DELETE, OPTIONS");
    tw_resp_fini(&r);
    tw_http(&srv, "DELETE", "/tasks", tok, NULL, NULL, &r);
    tw_assert_error(&r, 405, "method_not_allowed", NULL);
    cr_assert(tw_resp_header(&r, "Allow", allow, sizeof(allow)));
    cr_assert_str_eq(allow, "GET, HEAD, POST, OPTIONS");
    tw_resp_fini(&r);
}

Test(tasks, healthz)
{
    struct tw_resp r;

    tw_http(&srv, "GET", "/healthz", NULL, NULL, NULL, &r);
    cr_assert_eq(r.status, 200);
    tw_resp_fini(&r);
}

Test(tasks, download_url_before_a_result_is_409)
{
    struct tw_resp r;
    char path[96];
    json_int_t id = create(1, NULL);

    snprintf(path, sizeof(path), "/tasks/%" JSON_INTEGER_FORMAT "/download_url", id);
    tw_http(&srv, "GET", path, tok, NULL, NULL, &r);
    tw_assert_error(&r, 409, "task_not_done", NULL);
    tw_resp_fini(&r);
}

/* Set a task's campaign_id in the store directly: the field no request writes. */
static void store_set_campaign(json_int_t id, const char *campaign)
{
    char path[512];
    sqlite3 *db = NULL;
    sqlite3_stmt *st;

    snprintf(path, sizeof(path), "%s/var/taskwheel.db", srv.dir);
    cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK, "%s", path);
    sqlite3_busy_timeout(db, 10000);
    cr_assert_eq(
        sqlite3_prepare_v2(db, "UPDATE tasks SET campaign_id = ?1 WHERE id = ?2", -1, &st, NULL),
        SQLITE_OK, "%s", sqlite3_errmsg(db));
    sqlite3_bind_text(st, 1, campaign, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, id);
    cr_assert_eq(sqlite3_step(st), SQLITE_DONE, "%s", sqlite3_errmsg(db));
    cr_assert_eq(sqlite3_changes(db), 1);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

/*
 * ?campaign_id= reaches the store's filter: a task whose stored campaign_id is 7 is the only
 * one listed for 7, with its total, and still only for the caller's chains.
 */
Test(tasks, list_filters_by_stored_campaign_id)
{
    struct tw_resp r;
    char total[16];
    json_int_t a = create(1, NULL), b = create(1, NULL), c = create(2, NULL);

    store_set_campaign(b, "7");
    store_set_campaign(c, "8");
    tw_http(&srv, "GET", "/tasks?campaign_id=7", tok, NULL, NULL, &r);
    cr_assert_eq(r.status, 200);
    cr_assert_eq(json_array_size(r.json), 1);
    cr_assert_eq(json_integer_value(json_object_get(json_array_get(r.json, 0), "id")), b);
    cr_assert(tw_resp_header(&r, "X-Total-Count", total, sizeof(total)));
    cr_assert_str_eq(total, "1");
    tw_resp_fini(&r);
    tw_http(&srv, "GET", "/tasks?campaign_id=8&chain=1", tok, NULL, NULL, &r);
    cr_assert_eq(r.status, 200);
    cr_assert_eq(json_array_size(r.json), 0);
    tw_resp_fini(&r);
    tw_http(&srv, "GET", "/tasks", tok, NULL, NULL, &r);
    cr_assert_eq(json_array_size(r.json), 3, "a (%lld) and the others are still listed",
                 (long long)a);
    tw_resp_fini(&r);
}
