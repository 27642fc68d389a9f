/*
 * result.c: naming, temp file + rename, and that no failure (disk full simulated with
 * RLIMIT_FSIZE in a forked child, an unwritable directory, a failing plugin) leaves a file,
 * temporary or final, behind.
 */
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "export_fixture.h"

static struct xfx f;

static void setup(void)
{
    xfx_setup(&f, FIXTURES);
}

static void teardown(void)
{
    xfx_teardown(&f);
}

TestSuite(result, .init = setup, .fini = teardown, .timeout = 30);

Test(result, names)
{
    char name[64];
    struct tw_err err;

    cr_assert_eq(tw_result_name(name, sizeof(name), "Wallet", 12345, "csv", &err), TW_OK);
    cr_assert_str_eq(name, "Wallet_Export-12345.csv");
    cr_assert_eq(tw_result_name(name, sizeof(name), "Transaction", 1, "csv.gz", &err), TW_OK);
    cr_assert_str_eq(name, "Transaction_Export-1.csv.gz");
    cr_assert_eq(tw_result_name(name, sizeof(name), "../x", 1, "csv", &err), TW_EINVAL);
    cr_assert_eq(tw_result_name(name, 8, "Wallet", 1, "csv", &err), TW_EINVAL);
}

Test(result, publish_renames_and_leaves_no_temp)
{
    struct tw_result res;
    struct tw_err err;
    char dir[128];
    char *text;

    snprintf(dir, sizeof(dir), "%s/1764/42", f.dir); /* created on the way */
    cr_assert_eq(tw_result_open(&res, dir, "User_Export-42.csv", NULL, &err), TW_OK, "%s", err.msg);
    cr_assert_eq(write(res.fd, "a,b\r\n", 5), 5);
    cr_assert_eq(access(res.path, F_OK), -1, "not visible before publish");
    cr_assert_eq(xfx_count_files(dir), 1);
    cr_assert_eq(tw_result_publish(&res, &err), TW_OK, "%s", err.msg);
    text = xfx_read(res.path, NULL);
    cr_assert_str_eq(text, "a,b\r\n");
    cr_assert_eq(xfx_count_files(dir), 1);
    tw_result_abort(&res); /* no-op after publish */
    cr_assert_eq(access(res.path, F_OK), 0);
    free(text);
}

Test(result, abort_and_sweep_remove_temps)
{
    struct tw_result res;
    struct tw_err err;

    cr_assert_eq(tw_result_open(&res, f.dir, "X_Export-1.csv", NULL, &err), TW_OK);
    tw_result_abort(&res);
    cr_assert_eq(xfx_count_files(f.dir), 0);
    cr_assert_eq(tw_result_open(&res, f.dir, "X_Export-1.csv", NULL, &err), TW_OK);
    close(res.fd); /* as if the run died */
    cr_assert_eq(tw_result_sweep(f.dir), 1);
    cr_assert_eq(xfx_count_files(f.dir), 0);
}

Test(result, disk_full_fails_and_publishes_nothing)
{
    struct tw_export_job job = xfx_job(&f, "fixture", "csv", "rows=200000", 1764);
    pid_t pid;
    int status;

    pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        struct rlimit rl = { .rlim_cur = 1 << 20, .rlim_max = 1 << 20 };
        struct tw_export_stats st;
        struct tw_err err;
        int ret;

        signal(SIGXFSZ, SIG_IGN); /* write(2) then fails with EFBIG instead of killing us */
        setrlimit(RLIMIT_FSIZE, &rl);
        ret = tw_export_run(&job, &st, &err);
        if (ret != TW_EIO || strstr(err.msg, "results: writing ") == NULL ||
            strstr(err.msg, "File too large") == NULL || strstr(err.msg, f.dir) == NULL) {
            fprintf(stderr, "ret %d: %s\n", ret, err.msg);
            _exit(1);
        }
        _exit(0);
    }
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
    cr_assert_eq(xfx_count_files(f.dir), 0, "no temp file, no result");
}

/*
 * Permissions are only meaningful to a process that is not root, and CI runs as root: the
 * export runs in a child that (when root) hands f.dir to "nobody" and becomes nobody first.
 */
Test(result, unwritable_directory_is_a_clear_error)
{
    struct tw_export_job job = xfx_job(&f, "fixture", "csv", "rows=1", 1764);
    pid_t pid;
    int status;

    pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        struct tw_export_stats st;
        struct tw_err err;
        int ret;

        if (xfx_drop_root(f.dir) != 0 || geteuid() == 0 || chmod(f.dir, 0500) != 0)
            _exit(2);
        ret = tw_export_run(&job, &st, &err);
        if (ret != TW_EIO || strstr(err.msg, "results: cannot create a file in") == NULL) {
            fprintf(stderr, "ret %d: %s\n", ret, err.msg);
            _exit(1);
        }
        _exit(0);
    }
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
    cr_assert_eq(xfx_count_files(f.dir), 0, "no temp file, no result");
    chmod(f.dir, 0700);
}
