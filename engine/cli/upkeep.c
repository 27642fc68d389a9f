/*
 * The server's upkeep (cli_int.h): what `taskwheel serve` does on timers beside serving.
 *
 * - Retention (docs/reference.md §7.4): at start and then every RETENTION_EVERY_S, results published more
 *   than results.retention_days ago are removed and marked expired (download_url then answers
 *   409 result_expired); each removal is logged ("results.pruned") and counted for /metrics.
 *   A pass handles at most RETENTION_BATCH results and comes back at once when there are more.
 * - The store file: every FILE_CHECK_EVERY_MS the database path is compared with the file that
 *   was opened; once it is gone or replaced the store refuses writes (503) and /healthz says
 *   why (store_upkeep.c), and this is logged once as an error.
 * - Limits: the store's per-chain task quota and log trimming (logs_keep).
 * - At start, a warning when data_dir or the store files are readable by other users.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "cli/cli_int.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"
#include "results/results.h"

#define RETENTION_EVERY_S 600
#define RETENTION_BATCH 500
#define FILE_CHECK_EVERY_MS 1000
#define LOGS_KEEP_RUNS 100

struct tw_upkeep {
    const struct tw_config *cfg;
    struct tw_store *store;
    struct event *retention;
    struct event *file_check;
    bool gone_logged;
};

static void warn_if_public(const char *what, const char *path, bool dir)
{
    struct stat st;
    char mode[8];

    if (stat(path, &st) != 0 || (st.st_mode & (S_IROTH | S_IWOTH)) == 0)
        return;
    snprintf(mode, sizeof(mode), "%04o", (unsigned)(st.st_mode & 07777));
    tw_log(TW_LOG_WARN, "security.permissions", "what", what, "path", path, "mode", mode, "advice",
           dir ? "other users may read the store inside; chmod o-rwx it"
               : "other users may read password hashes and token MACs; chmod 600 it",
           NULL);
}

static void check_permissions(const struct tw_config *cfg)
{
    static const char *const suffixes[] = { "", "-wal", "-shm" };
    char path[4200];
    size_t i;

    warn_if_public("data_dir", cfg->data_dir, true);
    for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        snprintf(path, sizeof(path), "%s%s", cfg->store_path, suffixes[i]);
        warn_if_public("store", path, false);
    }
}

/*
 * results.storage s3: the expired results' objects, deleted off the event loop once they are
 * marked expired (download_url answers result_expired from then on); a delete that fails is
 * logged as results.delete_failed with the store's error.
 */
static void prune_objects(struct tw_upkeep *u, const struct tw_store_expiring *v,
                          const bool *expired, size_t n)
{
    struct tw_s3_conf c;
    struct tw_err err;
    char(*keys)[4352] = NULL;
    const char **ptrs = NULL;
    size_t k = 0;

    if (n == 0 || tw_results_s3_conf(u->cfg, &c, &err) != TW_OK)
        goto out;
    keys = tw_calloc(n, sizeof(*keys));
    ptrs = tw_calloc(n, sizeof(*ptrs));
    if (keys == NULL || ptrs == NULL) {
        tw_err_set(&err, TW_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        if (expired[i] && v[i].path != NULL &&
            tw_results_key_of_path(v[i].path, keys[k], sizeof(keys[k]), &err) == TW_OK) {
            ptrs[k] = keys[k];
            k++;
        }
    if (tw_results_delete_later(&c, ptrs, k, "expired", &err) == TW_OK)
        err.msg[0] = '\0';
out:
    if (n > 0 && err.msg[0] != '\0')
        tw_log(TW_LOG_WARN, "results.prune_failed", "reason", err.msg, NULL);
    tw_free(keys);
    tw_free(ptrs);
}

/* One retention pass; true when it filled a batch (there may be more). */
static bool prune_results(struct tw_upkeep *u)
{
    int64_t before = tw_clock_wall_s() - (int64_t)u->cfg->results_retention_days * 86400;
    struct tw_store_expiring *v = NULL;
    char id_s[24], bytes_s[24];
    struct tw_err err;
    size_t n = 0, i;
    bool s3 = tw_results_on_s3(u->cfg);
    bool *expired = NULL;

    if (tw_store_results_expiring(u->store, before, RETENTION_BATCH, &v, &n, &err) != TW_OK) {
        tw_log(TW_LOG_WARN, "results.prune_failed", "reason", err.msg, NULL);
        return false;
    }
    if (s3 && n > 0 && (expired = tw_calloc(n, sizeof(*expired))) == NULL) {
        tw_log(TW_LOG_WARN, "results.prune_failed", "reason", "out of memory", NULL);
        tw_store_free_expiring(v, n);
        return false;
    }
    for (i = 0; i < n; i++) {
        snprintf(id_s, sizeof(id_s), "%" PRId64, v[i].id);
        snprintf(bytes_s, sizeof(bytes_s), "%" PRId64, v[i].size);
        /* the file first: a failed mark is retried next pass, a missing file is no error */
        if (!s3 && v[i].path != NULL && unlink(v[i].path) != 0 && errno != ENOENT) {
            tw_log(TW_LOG_WARN, "results.prune_failed", "task", id_s, "path", v[i].path, "reason",
                   strerror(errno), NULL);
            continue;
        }
        if (tw_store_result_expire(u->store, v[i].id, &err) != TW_OK) {
            tw_log(TW_LOG_WARN, "results.prune_failed", "task", id_s, "reason", err.msg, NULL);
            continue;
        }
        tw_store_note_pruned(u->store, v[i].size);
        if (s3)
            expired[i] = true;
        tw_log(TW_LOG_INFO, "results.pruned", "task", id_s, "path", v[i].path ? v[i].path : "",
               "bytes", bytes_s, NULL);
    }
    if (s3)
        prune_objects(u, v, expired, n);
    tw_free(expired);
    tw_store_free_expiring(v, n);
    return n == RETENTION_BATCH;
}

static void on_retention(evutil_socket_t fd, short what, void *arg)
{
    struct tw_upkeep *u = arg;
    struct timeval tv = { RETENTION_EVERY_S, 0 };

    (void)fd;
    (void)what;
    if (prune_results(u))
        tv.tv_sec = 0; /* more are due: another batch on the next loop turn */
    evtimer_add(u->retention, &tv);
}

static void on_file_check(evutil_socket_t fd, short what, void *arg)
{
    struct tw_upkeep *u = arg;
    struct timeval tv = { FILE_CHECK_EVERY_MS / 1000, (FILE_CHECK_EVERY_MS % 1000) * 1000 };
    struct tw_err err;

    (void)fd;
    (void)what;
    if (tw_store_check_file(u->store, &err) != TW_OK) {
        if (!u->gone_logged)
            tw_log(TW_LOG_ERROR, "store.gone", "reason", err.msg, NULL);
        u->gone_logged = true;
        return; /* for good: only a restart opens the store again */
    }
    evtimer_add(u->file_check, &tv);
}

int tw_upkeep_create(struct event_base *base, const struct tw_config *cfg, struct tw_store *store,
                     struct tw_upkeep **out, struct tw_err *err)
{
    struct tw_store_limits lim = { cfg->limits_max_tasks_per_chain, cfg->logs_keep,
                                   LOGS_KEEP_RUNS };
    struct tw_upkeep *u = tw_calloc(1, sizeof(*u));

    *out = NULL;
    if (u == NULL)
        return tw_err_set(err, TW_ENOMEM, "upkeep: out of memory");
    u->cfg = cfg;
    u->store = store;
    u->retention = evtimer_new(base, on_retention, u);
    u->file_check = evtimer_new(base, on_file_check, u);
    if (u->retention == NULL || u->file_check == NULL) {
        tw_upkeep_destroy(u);
        return tw_err_set(err, TW_ENOMEM, "upkeep: out of memory");
    }
    tw_store_set_limits(store, &lim);
    check_permissions(cfg);
    on_retention(-1, 0, u); /* at start: what expired while the server was down */
    on_file_check(-1, 0, u);
    *out = u;
    return TW_OK;
}

void tw_upkeep_destroy(struct tw_upkeep *u)
{
    if (u == NULL)
        return;
    if (u->retention != NULL)
        event_free(u->retention);
    if (u->file_check != NULL)
        event_free(u->file_check);
    tw_free(u);
}
