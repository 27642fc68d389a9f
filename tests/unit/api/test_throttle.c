/* engine/api/throttle.c: sliding-window failure counts per key, never reset by other keys. */
#include <criterion/criterion.h>
#include <stdio.h>

#include "api/throttle.h"

Test(throttle, limits_a_key_within_its_window)
{
    struct tw_throttle *t = tw_throttle_create(5, 60, 1000);
    int i;

    cr_assert_not_null(t);
    for (i = 0; i < 5; i++) {
        cr_assert_eq(tw_throttle_wait(t, "carol", 1000 + i), 0);
        cr_assert(tw_throttle_fail(t, "carol", 1000 + i));
    }
    cr_assert_eq(tw_throttle_wait(t, "carol", 1005), 55, "the oldest failure leaves at 1060");
    cr_assert_eq(tw_throttle_wait(t, "carol", 1060), 0);
    cr_assert_eq(tw_throttle_wait(t, "dave", 1005), 0);
    tw_throttle_destroy(t);
}

Test(throttle, many_other_keys_never_reset_a_throttled_one)
{
    struct tw_throttle *t = tw_throttle_create(5, 60, 100000);
    char name[32];
    int i;

    for (i = 0; i < 5; i++)
        tw_throttle_fail(t, "carol", 1000);
    /* The old 256-slot table lost carol to the first name hashing into her slot. */
    for (i = 0; i < 50000; i++) {
        snprintf(name, sizeof(name), "guess-%d", i);
        tw_throttle_fail(t, name, 1001);
    }
    cr_assert_gt(tw_throttle_wait(t, "carol", 1002), 0);
    cr_assert_eq(tw_throttle_count(t), 50001);
    tw_throttle_destroy(t);
}

Test(throttle, full_table_keeps_old_keys_and_sweeps_expired_ones)
{
    struct tw_throttle *t = tw_throttle_create(2, 60, 300);
    char name[32];
    int i;

    tw_throttle_fail(t, "carol", 1000);
    tw_throttle_fail(t, "carol", 1000);
    for (i = 0; i < 400; i++) {
        snprintf(name, sizeof(name), "k%d", i);
        tw_throttle_fail(t, name, 1001);
    }
    cr_assert_eq(tw_throttle_count(t), 300, "at most max_keys tracked");
    cr_assert_gt(tw_throttle_wait(t, "carol", 1002), 0, "never evicted early");
    /* After the window everything is sweepable: a new key is tracked again. */
    for (i = 0; i < 300; i++)
        tw_throttle_fail(t, "fresh", 2000 + i % 2);
    cr_assert_eq(tw_throttle_wait(t, "carol", 2000), 0);
    cr_assert_gt(tw_throttle_wait(t, "fresh", 2001), 0);
    tw_throttle_destroy(t);
}

Test(throttle, forgive_takes_back_the_latest_failure)
{
    struct tw_throttle *t = tw_throttle_create(2, 60, 10);

    tw_throttle_fail(t, "a", 1000);
    tw_throttle_fail(t, "a", 1001);
    cr_assert_gt(tw_throttle_wait(t, "a", 1002), 0);
    tw_throttle_forgive(t, "a");
    cr_assert_eq(tw_throttle_wait(t, "a", 1002), 0);
    tw_throttle_destroy(t);
}
