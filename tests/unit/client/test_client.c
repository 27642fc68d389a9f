/*
 * engine/client without a server: URL checks, query escaping, and how an HTTP error is put
 * into words (the service's envelope, or the first line of anything else). The requests
 * themselves are tested against a real server in tests/api/test_client*.c.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "client/client.h"

Test(client, refuses_urls_that_are_not_http)
{
    struct tw_client_opts o = { .url = "ftp://example.com", .token = "a:b" };
    struct tw_client *c = NULL;
    struct tw_err err;

    cr_assert_eq(tw_client_new(&o, &c, &err), TW_EINVAL);
    cr_assert_null(c);
    cr_assert(strstr(err.msg, "ftp://example.com") != NULL, "%s", err.msg);
    o.url = NULL;
    cr_assert_eq(tw_client_new(&o, &c, &err), TW_EINVAL);
}

Test(client, base_url_loses_its_trailing_slashes)
{
    struct tw_client_opts o = { .url = "http://127.0.0.1:9/prefix//", .token = "a:b" };
    struct tw_client *c = NULL;
    struct tw_err err;

    cr_assert_eq(tw_client_new(&o, &c, &err), TW_OK, "%s", err.msg);
    cr_assert_str_eq(tw_client_base(c), "http://127.0.0.1:9/prefix");
    tw_client_free(c);
}

Test(client, escapes_query_values)
{
    char buf[64];

    cr_assert(tw_client_escape("wallet-ledger", buf, sizeof(buf)));
    cr_assert_str_eq(buf, "wallet-ledger");
    cr_assert(tw_client_escape("a b&c=d/é", buf, sizeof(buf)));
    cr_assert_str_eq(buf, "a%20b%26c%3Dd%2F%C3%A9");
    cr_assert_not(tw_client_escape("too long for four", buf, 4));
}

Test(client, an_error_is_named_from_the_envelope)
{
    struct tw_client_resp r;
    char msg[256];

    memset(&r, 0, sizeof(r));
    r.status = 200;
    cr_assert_not(tw_client_failed(&r, msg, sizeof(msg)));
    r.status = 401;
    r.err_name = "no_valid_session";
    r.err_desc = "unknown or revoked token, or wrong secret";
    cr_assert(tw_client_failed(&r, msg, sizeof(msg)));
    cr_assert_str_eq(msg, "HTTP 401 no_valid_session: unknown or revoked token, or wrong secret");

    /* Not the envelope: the status and the first line of the body. */
    memset(&r, 0, sizeof(r));
    r.status = 502;
    r.body = (char *)"<html>Bad Gateway</html>\r\nmore";
    cr_assert(tw_client_failed(&r, msg, sizeof(msg)));
    cr_assert_str_eq(msg, "HTTP 502: <html>Bad Gateway</html>");
    r.body = (char *)"";
    cr_assert(tw_client_failed(&r, msg, sizeof(msg)));
    cr_assert_str_eq(msg, "HTTP 502");
}

Test(client, unreachable_server_names_the_url)
{
    struct tw_client_opts o = { .url = "http://127.0.0.1:1", .token = "a:b" };
    struct tw_client_resp r;
    struct tw_client *c = NULL;
    struct tw_err err;

    cr_assert_eq(tw_client_new(&o, &c, &err), TW_OK);
    cr_assert_eq(tw_client_call(c, "GET", "/tasks", NULL, NULL, 10, &r, &err), TW_EIO);
    cr_assert(strncmp(err.msg, "cannot reach http://127.0.0.1:1: ", 33) == 0, "%s", err.msg);
    tw_client_resp_fini(&r);
    tw_client_free(c);
}

Test(client, header_values_with_control_characters_are_refused)
{
    struct tw_client_opts o = { .url = "http://127.0.0.1:9", .token = "id:se\r\nX-Evil: 1" };
    struct tw_client *c = NULL;
    struct tw_err err;

    cr_assert(tw_client_header_safe("11111111-2222-4333-8444-555555555555:secret_-"));
    cr_assert_not(tw_client_header_safe("a\nb"));
    cr_assert_not(tw_client_header_safe("a\x7f"));
    cr_assert_eq(tw_client_new(&o, &c, &err), TW_EINVAL);
    cr_assert_null(c);
}
