/*
 * taskwheel webhook-secret: prints one new whsec_ secret per call, keeps the previous ones in
 * the store with the 24 h overlap (read back from the store file with SQLite), and refuses bad
 * usage with exit 2.
 */
#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

static struct tw_srv srv;

static void setup(void)
{
    tw_srv_init(&srv, NULL);
    tw_srv_stop(&srv, 15); /* only the configuration and the store are needed */
}

static void teardown(void)
{
    tw_srv_fini(&srv, false);
}

TestSuite(webhook_secret, .init = setup, .fini = teardown, .timeout = 60);

static int secret(const char *chain, char **out)
{
    const char *args[] = { "webhook-secret", "--chain", chain, NULL };

    return tw_srv_cli(&srv, NULL, out, args);
}

Test(webhook_secret, rotation_prints_a_new_secret_and_keeps_the_old_one_a_day)
{
    char *a = NULL, *b = NULL, db[400];
    sqlite3 *h;
    sqlite3_stmt *q;
    int rows = 0;
    long long now = (long long)time(NULL);

    cr_assert_eq(secret("1764", &a), 0);
    cr_assert_eq(secret("1764", &b), 0);
    cr_assert_eq(strncmp(a, "whsec_", 6), 0, "%s", a);
    cr_assert_eq(strlen(a), 50, "one line: whsec_ + 43 base64url chars + newline: %s", a);
    cr_assert_str_neq(a, b);

    snprintf(db, sizeof(db), "%s/var/taskwheel.db", srv.dir);
    cr_assert_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_prepare_v2(h,
                                    "SELECT secret, expires FROM webhook_secrets WHERE "
                                    "chain = 1764 ORDER BY id",
                                    -1, &q, NULL),
                 SQLITE_OK);
    while (sqlite3_step(q) == SQLITE_ROW) {
        const char *s = (const char *)sqlite3_column_text(q, 0);
        long long expires = sqlite3_column_int64(q, 1);

        if (rows == 0) {
            cr_assert_eq(strncmp(s, a, strlen(s)), 0);
            cr_assert(expires >= now + 86400 - 5 && expires <= now + 86400 + 60,
                      "the rotated-out secret ends 24 h later, not %lld", expires - now);
        } else {
            cr_assert_eq(strncmp(s, b, strlen(s)), 0);
            cr_assert_eq(expires, 0, "the newest secret does not expire");
        }
        rows++;
    }
    cr_assert_eq(rows, 2);
    sqlite3_finalize(q);
    sqlite3_close(h);
    free(a);
    free(b);
}

Test(webhook_secret, bad_usage_exits_2)
{
    const char *none[] = { "webhook-secret", NULL };
    const char *extra[] = { "webhook-secret", "--chain", "1764", "surplus", NULL };

    cr_assert_eq(secret("0", NULL), 2);
    cr_assert_eq(secret("-3", NULL), 2);
    cr_assert_eq(secret("12abc", NULL), 2);
    cr_assert_eq(tw_srv_cli(&srv, NULL, NULL, none), 2);
    cr_assert_eq(tw_srv_cli(&srv, NULL, NULL, extra), 2);
}
