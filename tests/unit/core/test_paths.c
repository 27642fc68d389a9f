/*
 * Unit tests for core/paths.c: the sysconfdir rules for an install prefix, and that a binary
 * outside an installed tree (this test program, in the build tree) is not taken as installed.
 * The installed case runs end to end in tests/packaging/test_install.sh.
 */
#include <stdbool.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "core/paths.h"

/* Arrays, not pointers: Criterion runs each case in a new process of its own. */
struct etc_case {
    char prefix[32];
    char etc[32];
};

ParameterizedTestParameters(paths, sysconfdir_follows_the_gnu_rules)
{
    static struct etc_case cases[] = {
        { "/usr", "/etc" },
        { "/usr/local", "/usr/local/etc" },
        { "/opt/taskwheel", "/etc/opt/taskwheel" },
        { "/tmp/stage/usr/local", "/tmp/stage/usr/local/etc" },
        { "/home/ann/tw", "/home/ann/tw/etc" },
    };

    return cr_make_param_array(struct etc_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct etc_case *c, paths, sysconfdir_follows_the_gnu_rules)
{
    char out[64];

    cr_assert(tw_paths_sysconfdir(c->prefix, out, sizeof(out)));
    cr_assert_str_eq(out, c->etc);
}

Test(paths, sysconfdir_refuses_a_short_buffer)
{
    char out[8];

    cr_assert_not(tw_paths_sysconfdir("/usr/local", out, sizeof(out)));
    cr_assert(tw_paths_sysconfdir("/usr", out, sizeof(out)));
    cr_assert_str_eq(out, "/etc");
}

Test(paths, a_build_tree_binary_is_not_installed)
{
    char prefix[256] = "junk";

    /* This program lives in <build>/tests/..., not in <prefix>/bin. */
    cr_assert_not(tw_paths_prefix(prefix, sizeof(prefix)));
    cr_assert_str_eq(prefix, "");
}
