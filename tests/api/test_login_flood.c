/*
 * POST /auth/login under guessing, through a real server: random user names from one address
 * are limited by the address (the per-name limit alone never stopped them), a throttled user
 * stays throttled whatever other names are tried, and logins are checked off the event loop
 * (requests keep being answered while hashes run; the latency figure is bench/api's).
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

TestSuite(login_flood, .init = setup, .fini = teardown, .timeout = 120);

static long login(const char *name, const char *password, char *desc, size_t len)
{
    char body[256];
    struct tw_resp r;
    long status;

    snprintf(body, sizeof(body), "{\"username\": \"%s\", \"password\": \"%s\"}", name, password);
    tw_http(&srv, "POST", "/auth/login", NULL, NULL, body, &r);
    status = r.status;
    if (desc != NULL)
        snprintf(desc, len, "%s", r.body);
    tw_resp_fini(&r);
    return status;
}

Test(login_flood, random_names_are_limited_by_client_address)
{
    static const char *const args[] = { "user", "add", "erin", "--chain", "7=read", NULL };
    char name[32], desc[1024];
    int i;

    cr_assert_eq(tw_srv_cli(&srv, "pw-erin\n", NULL, args), 0);
    for (i = 0; i < 5; i++)
        cr_assert_eq(login("erin", "wrong", NULL, 0), 401);
    cr_assert_eq(login("erin", "pw-erin", desc, sizeof(desc)), 429, "%s", desc);
    cr_assert(strstr(desc, "for this user") != NULL, "%s", desc);
    /* 25 more guesses under other names: 30 from this address in all. */
    for (i = 0; i < 25; i++) {
        snprintf(name, sizeof(name), "guess-%d", i);
        cr_assert_eq(login(name, "x", desc, sizeof(desc)), 401, "%d: %s", i, desc);
    }
    cr_assert_eq(login("erin", "pw-erin", NULL, 0), 429, "erin is still throttled");
    cr_assert_eq(login("guess-new", "x", desc, sizeof(desc)), 429, "%s", desc);
    cr_assert(strstr(desc, "from this address") != NULL, "%s", desc);
}

static void *login_thread(void *arg)
{
    char name[32];

    snprintf(name, sizeof(name), "nobody-%ld", (long)(intptr_t)arg);
    return (void *)(intptr_t)login(name, "x", NULL, 0);
}

Test(login_flood, logins_in_flight_do_not_stop_other_requests)
{
    pthread_t th[8];
    struct tw_resp r;
    void *status;
    int i;

    for (i = 0; i < 8; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, login_thread, (void *)(intptr_t)i), 0);
    tw_http(&srv, "GET", "/healthz", NULL, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    tw_resp_fini(&r);
    for (i = 0; i < 8; i++) {
        pthread_join(th[i], &status);
        cr_assert_eq((long)(intptr_t)status, 401);
    }
}
