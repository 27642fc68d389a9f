/*
 * The scheduler end to end below the API: a real store in a temporary directory, a real event
 * loop and real forked workers running small work functions. Covers due and future tasks, the
 * repeat advance, crashes, recovery of INPROGRESS tasks at start, execute (and its conflict),
 * delete during a run, the per-chain cap, task_changed and shutdown. Times are real but short
 * (a task due in 1-2 s): the worker pool is processes and signals, which a fake clock cannot
 * drive.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/time.h"
#include "export/export.h"
#include "sched/sched.h"
#include "store/store.h"

static struct event_base *base;
static struct tw_store *store;
static struct tw_sched *sched;
static struct tw_config cfg;
static char dir[64];
static char results[128];
static int drained;

/* ---- work functions ---- */

static int work_good(const struct tw_run_job *job, struct tw_run_report *rep, void *ctx)
{
    struct tw_run_counts c = { 2, 0, 0, 2 };
    struct tw_err err;
    char final[512];
    FILE *f;

    (void)ctx;
    /* the export makes the directory as it opens its output; so does this work function */
    f = tw_result_dir_make(job->result_dir, &err) == TW_OK ? fopen(job->tmp_path, "w") : NULL;
    if (f == NULL)
        return 1;
    fputs("id\r\n1\r\n2\r\n", f);
    fclose(f);
    snprintf(final, sizeof(final), "%s/User_Export-%lld.csv", job->result_dir,
             (long long)job->task_id);
    if (rename(job->tmp_path, final) != 0)
        return 2;
    tw_run_report_success(rep, &c, strrchr(final, '/') + 1, 10, "ab");
    return 0;
}

static int work_segv(const struct tw_run_job *job, struct tw_run_report *rep, void *ctx)
{
    (void)job;
    (void)rep;
    (void)ctx;
    raise(SIGSEGV);
    return 0;
}

static int work_hang(const struct tw_run_job *job, struct tw_run_report *rep, void *ctx)
{
    FILE *f = fopen(job->tmp_path, "w");

    (void)rep;
    (void)ctx;
    if (f != NULL)
        fclose(f);
    for (;;)
        pause();
    return 0;
}

/* ---- fixture ---- */

static void setup(void)
{
    struct tw_err err = { 0 };
    char path[160];

    snprintf(dir, sizeof(dir), "/tmp/tw_sched_XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/tw.db", dir);
    snprintf(results, sizeof(results), "%s/results", dir);
    cr_assert_eq(tw_store_open(path, &store, &err), TW_OK, "%s", err.msg);
    base = event_base_new();
    memset(&cfg, 0, sizeof(cfg));
    cfg.workers = 2;
    cfg.task_timeout_s = 30;
    cfg.results_dir = results;
    drained = 0;
}

static void teardown(void)
{
    char cmd[128];

    tw_sched_destroy(sched);
    sched = NULL;
    tw_store_close(store);
    event_base_free(base);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(sched, .init = setup, .fini = teardown, .timeout = 30);

static void make_sched(tw_work_fn *work)
{
    struct tw_sched_deps d = {
        .cfg = &cfg,
        .store = store,
        .base = base,
        .work = work,
        .kill_grace_ms = 200,
    };
    struct tw_err err = { 0 };

    cr_assert_eq(tw_sched_create(&d, &sched, &err), TW_OK, "%s", err.msg);
}

static int64_t insert(int64_t chain, int64_t once_at, const char *repeat, int state)
{
    char trig[128], when[TW_TIME_BUFSZ];
    struct tw_err err = { 0 };
    struct tw_task t;

    snprintf(trig, sizeof(trig), "{\"once\":\"%s\"%s%s%s}", tw_time_format(once_at, when),
             repeat[0] ? ",\"repeat\":\"" : "", repeat, repeat[0] ? "\"" : "");
    memset(&t, 0, sizeof(t));
    t.chain = chain;
    t.desc = (char *)"t";
    t.state = state;
    t.created_date = t.last_modified = tw_clock_wall_s();
    t.trigger_json = trig;
    t.target_json = (char *)"{\"action\":\"export\",\"export_index\":\"users\","
                            "\"export_format\":\"csv\"}";
    t.debug = (char *)"";
    t.once_at = once_at;
    t.repeat = (char *)repeat;
    t.anchor_day = 1;
    t.action = (char *)"export";
    t.export_index = (char *)"users";
    cr_assert_eq(tw_store_task_insert(store, &t, NULL, &err), TW_OK, "%s", err.msg);
    return t.id;
}

static struct tw_task get(int64_t id)
{
    struct tw_err err = { 0 };
    struct tw_task t;

    memset(&t, 0, sizeof(t));
    cr_assert_eq(tw_store_task_get(store, id, &t, &err), TW_OK, "%s", err.msg);
    return t;
}

static int state_of(int64_t id)
{
    struct tw_task t = get(id);
    int st = t.state;

    tw_task_fini(&t);
    return st;
}

/* The msg of the n-th newest log entry of id, copied into buf. */
static const char *log_msg(int64_t id, size_t n, char *buf, size_t len)
{
    struct tw_task_log *logs = NULL;
    struct tw_err err = { 0 };
    size_t got = 0;

    cr_assert_eq(tw_store_log_list(store, id, 20, 0, &logs, &got, &err), TW_OK);
    snprintf(buf, len, "%s", n < got ? logs[n].msg : "(none)");
    tw_store_free_logs(logs, got);
    return buf;
}

static bool (*until)(void);
static int64_t watched;

static void on_poll(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    if (until())
        event_base_loopbreak(base);
}

/* Run the loop until pred() holds (checked every 10 ms) or ms passed; assert it held. */
static void loop_until(bool (*pred)(void), int ms)
{
    struct timeval every = { 0, 10000 }, limit = { ms / 1000, (ms % 1000) * 1000 };
    struct event *poll = event_new(base, -1, EV_PERSIST, on_poll, NULL);

    until = pred;
    event_add(poll, &every);
    event_base_loopexit(base, &limit);
    if (!pred())
        event_base_dispatch(base);
    event_free(poll);
    cr_assert(pred(), "condition not reached within %d ms", ms);
}

static bool watched_done(void)
{
    int st = state_of(watched);

    return st == TW_STATE_DONE || st == TW_STATE_ERROR;
}

static bool watched_running(void)
{
    return state_of(watched) == TW_STATE_INPROGRESS;
}

static bool is_drained(void)
{
    return drained > 0;
}

static void on_drained(void *arg)
{
    (*(int *)arg)++;
}

/* ---- tests ---- */

Test(sched, past_task_runs_at_once_and_is_done)
{
    char m[128];
    struct tw_task t;
    struct tw_sched_stats st;

    watched = insert(1, tw_clock_wall_s() - 10, "", TW_STATE_READY);
    make_sched(work_good);
    loop_until(watched_done, 5000);
    t = get(watched);
    cr_assert_eq(t.state, TW_STATE_DONE);
    cr_assert_str_eq(t.result, "User_Export-1.csv");
    cr_assert_eq(t.result_size, 10);
    tw_task_fini(&t);
    cr_assert_str_eq(log_msg(watched, 0, m, sizeof(m)), "success");
    cr_assert_str_eq(log_msg(watched, 1, m, sizeof(m)), "INPROGRESS -> DONE");
    cr_assert_str_eq(log_msg(watched, 2, m, sizeof(m)), "READY -> INPROGRESS");
    tw_sched_get_stats(sched, &st);
    cr_assert_eq(st.tasks, 0, "a finished one-off task keeps no entry");
    cr_assert_eq(st.done, 1);
}

Test(sched, future_task_waits_for_its_time)
{
    int64_t once = tw_clock_wall_s() + 2;
    struct tw_sched_stats st;
    struct tw_task t;

    watched = insert(1, once, "", TW_STATE_READY);
    make_sched(work_good);
    tw_sched_get_stats(sched, &st);
    cr_assert_eq(st.armed, 1);
    loop_until(watched_done, 5000);
    t = get(watched);
    cr_assert_geq(t.last_run_date, once, "started before its time");
    cr_assert_leq(t.last_run_date, once + 1);
    tw_task_fini(&t);
}

Test(sched, repeating_task_advances_and_rearms)
{
    int64_t once = tw_clock_wall_s() - 86400 * 3 - 5; /* three missed days */
    char when[TW_TIME_BUFSZ];
    struct tw_sched_stats st;
    struct tw_task t;

    watched = insert(1, once, "daily", TW_STATE_READY);
    make_sched(work_good);
    loop_until(watched_done, 5000);
    t = get(watched);
    cr_assert_eq(t.once_at, once + 4 * 86400, "missed occurrences run once");
    cr_assert_not_null(strstr(t.trigger_json, tw_time_format(once + 4 * 86400, when)), "%s",
                       t.trigger_json);
    cr_assert_not_null(strstr(t.trigger_json, "\"repeat\":\"daily\""));
    tw_task_fini(&t);
    tw_sched_get_stats(sched, &st);
    cr_assert_eq(st.tasks, 1);
    cr_assert_eq(st.armed, 1);
}

Test(sched, crash_is_an_error_naming_the_signal)
{
    char m[128];

    watched = insert(1, tw_clock_wall_s(), "", TW_STATE_READY);
    make_sched(work_segv);
    loop_until(watched_done, 5000);
    cr_assert_eq(state_of(watched), TW_STATE_ERROR);
    cr_assert_str_eq(log_msg(watched, 0, m, sizeof(m)),
                     "worker killed by signal 11 (Segmentation fault)");
}

Test(sched, inprogress_at_start_is_recovered_and_run_again)
{
    struct tw_err err = { 0 };
    char tmp[256], rdir[200], m[128];
    struct tw_sched_stats st;
    FILE *f;

    watched = insert(3, tw_clock_wall_s() + 3600, "", TW_STATE_READY);
    cr_assert_eq(tw_store_run_start(store, watched, tw_clock_wall_s(), &err), TW_OK);
    tw_run_paths(results, 3, watched, rdir, sizeof(rdir), tmp, sizeof(tmp));
    mkdir(results, 0700);
    snprintf(m, sizeof(m), "%s/3", results);
    mkdir(m, 0700);
    mkdir(rdir, 0700);
    f = fopen(tmp, "w");
    cr_assert_not_null(f);
    fclose(f);
    make_sched(work_hang);
    tw_sched_get_stats(sched, &st);
    cr_assert_eq(st.recovered, 1);
    cr_assert_eq(access(tmp, F_OK), -1, "stale temp file removed");
    loop_until(watched_running, 3000);
    cr_assert_str_eq(log_msg(watched, 0, m, sizeof(m)), "READY -> INPROGRESS");
    cr_assert_str_eq(log_msg(watched, 1, m, sizeof(m)), "interrupted: server stopped during run");
    cr_assert_str_eq(log_msg(watched, 2, m, sizeof(m)), "INPROGRESS -> READY");
}

static int executed;

static void on_executed(void *arg, int64_t id, const struct tw_err *why)
{
    (void)id;
    (void)why;
    (*(int *)arg)++;
}

static bool was_executed(void)
{
    return executed > 0;
}

Test(sched, execute_runs_now_and_keeps_once)
{
    int64_t once = tw_clock_wall_s() + 3600;
    struct tw_err err = { 0 };
    struct tw_task t;

    executed = 0;
    watched = insert(1, once, "weekly", TW_STATE_READY);
    make_sched(work_good);
    cr_assert_eq(tw_sched_execute(sched, watched, on_executed, &executed, &err), TW_OK, "%s",
                 err.msg);
    cr_assert_eq(state_of(watched), TW_STATE_INPROGRESS, "started synchronously");
    cr_assert_eq(tw_sched_execute(sched, watched, NULL, NULL, &err), TW_ECONFLICT);
    cr_assert_str_eq(err.msg, "task 1 is already running");
    loop_until(was_executed, 5000);
    t = get(watched);
    cr_assert_eq(t.state, TW_STATE_DONE);
    cr_assert_eq(t.once_at, once, "execute does not move trigger.once");
    tw_task_fini(&t);
    cr_assert_eq(tw_sched_execute(sched, 999, NULL, NULL, &err), TW_ENOTFOUND);
}

Test(sched, delete_during_run_cancels_and_writes_nothing)
{
    struct tw_err err = { 0 };
    char tmp[256], rdir[200];
    struct tw_sched_stats st;

    executed = 0;
    watched = insert(1, tw_clock_wall_s() + 3600, "", TW_STATE_READY);
    make_sched(work_hang);
    cr_assert_eq(tw_sched_execute(sched, watched, on_executed, &executed, &err), TW_OK);
    tw_run_paths(results, 1, watched, rdir, sizeof(rdir), tmp, sizeof(tmp));
    usleep(200000);
    cr_assert_eq(tw_store_task_delete(store, watched, &err), TW_OK);
    tw_sched_task_deleted(sched, watched);
    loop_until(was_executed, 3000);
    tw_sched_get_stats(sched, &st);
    cr_assert_eq(st.tasks, 0);
    cr_assert_eq(st.running, 0);
    cr_assert_eq(access(tmp, F_OK), -1, "partial file removed");
}

Test(sched, per_chain_cap_lets_other_chains_run)
{
    struct tw_sched_stats st;
    int64_t a[4], b;
    int i, running_a = 0;

    cfg.max_runs_per_chain = 1;
    for (i = 0; i < 4; i++)
        a[i] = insert(10, tw_clock_wall_s() - 5, "", TW_STATE_READY);
    b = insert(20, tw_clock_wall_s() - 5, "", TW_STATE_READY);
    watched = b;
    make_sched(work_hang);
    loop_until(watched_running, 3000);
    for (i = 0; i < 4; i++)
        running_a += state_of(a[i]) == TW_STATE_INPROGRESS;
    cr_assert_eq(running_a, 1, "chain 10 is capped at one run");
    tw_sched_get_stats(sched, &st);
    cr_assert_eq(st.running, 2);
    cr_assert_eq(st.queued, 3);
}

static bool seen_partial; /* the loop ran I/O while a burst was only partly started */
static int burst_running;

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
    struct tw_sched_stats st;

    (void)fd;
    (void)what;
    (void)arg;
    tw_sched_get_stats(sched, &st);
    if (st.started > 0 && st.started < 20)
        seen_partial = true;
}

static bool burst_all_running(void)
{
    struct tw_sched_stats st;

    tw_sched_get_stats(sched, &st);
    return (int)st.running == burst_running;
}

/* A burst of due runs is started a slice at a time, with the loop's I/O served in between. */
Test(sched, burst_leaves_the_loop_to_io_between_slices)
{
    struct event *ev;
    int p[2], i;

    cr_assert_eq(pipe(p), 0);
    cr_assert_eq(write(p[1], "x", 1), 1); /* always readable: fires every turn */
    ev = event_new(base, p[0], EV_READ | EV_PERSIST, on_readable, NULL);
    cr_assert_eq(event_add(ev, NULL), 0);
    cfg.workers = 24;
    for (i = 0; i < 20; i++)
        insert(1 + i % 3, tw_clock_wall_s() - 5, "", TW_STATE_READY);
    burst_running = 20;
    make_sched(work_hang);
    loop_until(burst_all_running, 10000);
    cr_assert(seen_partial, "the burst was started in one turn of the loop");
    event_free(ev);
    close(p[0]);
    close(p[1]);
}

Test(sched, task_changed_rearms)
{
    struct tw_err err = { 0 };
    struct tw_sched_stats st;
    struct tw_task t;

    watched = insert(1, tw_clock_wall_s() + 3600, "", TW_STATE_READY);
    make_sched(work_good);
    t = get(watched);
    t.once_at = tw_clock_wall_s() - 1;
    t.last_modified = tw_clock_wall_s();
    cr_assert_eq(tw_store_task_update(store, &t, t.version, NULL, &err), TW_OK, "%s", err.msg);
    tw_task_fini(&t);
    tw_sched_task_changed(sched, watched);
    loop_until(watched_done, 5000);
    tw_sched_task_changed(sched, watched); /* DONE one-off: nothing to arm */
    tw_sched_get_stats(sched, &st);
    cr_assert_eq(st.tasks, 0);
}

Test(sched, shutdown_interrupts_after_grace)
{
    char m[128];
    struct tw_err err = { 0 };

    executed = 0;
    watched = insert(1, tw_clock_wall_s() - 1, "", TW_STATE_READY);
    make_sched(work_hang);
    loop_until(watched_running, 3000);
    tw_sched_shutdown(sched, 1, on_drained, &drained);
    cr_assert_eq(drained, 0, "never called from inside shutdown");
    cr_assert_eq(tw_sched_execute(sched, watched, NULL, NULL, &err), TW_ELIMIT);
    loop_until(is_drained, 4000);
    cr_assert_eq(state_of(watched), TW_STATE_READY);
    cr_assert_str_eq(log_msg(watched, 0, m, sizeof(m)), "interrupted: server stopped during run");
}

Test(sched, shutdown_when_idle_drains_at_once)
{
    insert(1, tw_clock_wall_s() + 3600, "", TW_STATE_READY);
    make_sched(work_good);
    tw_sched_shutdown(sched, 30, on_drained, &drained);
    loop_until(is_drained, 500);
}

static int64_t n_inserted;

/* Every run ended, and the WAL holds less than a checkpoint's worth (sched_ckpt.c: 128). */
static bool all_done_and_checkpointed(void)
{
    struct tw_store_upkeep_stats u;
    struct tw_sched_stats st;

    tw_sched_get_stats(sched, &st);
    tw_store_get_upkeep_stats(store, &u);
    return (int64_t)(st.done + st.failed) == n_inserted && u.wal_checkpoints > 0 &&
           tw_store_wal_pages(store) < 128;
}

/*
 * The scheduler checkpoints the store's WAL itself, between bursts (sched_ckpt.c): SQLite's
 * automatic checkpoint is off while it runs, no commit had to force one, and once the runs
 * are over the WAL is checkpointed; after the scheduler is gone SQLite's own is back.
 */
Test(sched, checkpoints_the_wal_when_idle)
{
    struct tw_store_upkeep_stats u;
    int i;

    cfg.workers = 4;
    n_inserted = 60;
    for (i = 0; i < n_inserted; i++)
        insert(1 + i % 6, tw_clock_wall_s() - 5, "", TW_STATE_READY);
    make_sched(work_good);
    loop_until(all_done_and_checkpointed, 20000);
    tw_store_get_upkeep_stats(store, &u);
    cr_assert_eq(u.wal_checkpoints_forced, 0, "a commit had to checkpoint");
    tw_sched_destroy(sched);
    sched = NULL;
    cr_assert_eq(tw_store_wal_pages(store) < 128, true);
    for (i = 0; i < 3; i++)
        insert(1, tw_clock_wall_s() + 3600, "", TW_STATE_READY);
    cr_assert_eq(tw_store_wal_pages(store), 0, "given back: the store counts no pages");
}
