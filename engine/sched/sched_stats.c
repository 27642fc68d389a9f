/*
 * What the scheduler counts for metrics and logs about each run's life: one "run.started" line
 * when a worker is launched and one "run.finished" line when it ends DONE or ERROR (failures
 * also keep their "run.failed" warning with the reason). The numbers land in s->st and reach
 * the API through tw_sched_get_stats: how late scheduled runs started (the due time is the
 * task's trigger.once, so a trigger already in the past counts as late by that much), how long
 * runs took, and how many records each export index wrote in successful runs.
 */
#include "sched/sched.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "sched/sched_int.h"

void tw_sched_stats_init(struct tw_sched *s)
{
    s->st.workers = s->d.cfg->workers;
    tw_histo_init(&s->st.lateness_s, tw_histo_late_s, tw_histo_late_n);
    tw_histo_init(&s->st.run_s, tw_histo_run_s, tw_histo_run_n);
}

void tw_sched_note_start(struct tw_sched *s, const struct tw_sched_task *t,
                         const struct tw_task *task, bool forced)
{
    const char *why = (t->flags & TW_SF_EXECUTE) ? "execute" : forced ? "recovered" : "scheduled";
    char id[24], chain[24], late[24];
    int64_t late_ms = 0;

    if (!forced) {
        late_ms = tw_clock_wall_ms() - task->once_at * 1000;
        if (late_ms < 0)
            late_ms = 0;
        tw_histo_observe(&s->st.lateness_s, (double)late_ms / 1000.0);
    }
    snprintf(id, sizeof(id), "%" PRId64, task->id);
    snprintf(chain, sizeof(chain), "%" PRId64, task->chain);
    snprintf(late, sizeof(late), "%" PRId64, late_ms);
    tw_log(TW_LOG_INFO, "run.started", "task", id, "chain", chain, "index",
           task->export_index ? task->export_index : "", "trigger", why,
           forced ? (const char *)NULL : "lateness_ms", late, (const char *)NULL);
}

/* The exported[] slot of index; past TW_SCHED_MAX_INDEXES - 1 names, the last is "other". */
static size_t exported_slot(struct tw_sched_stats *st, const char *index)
{
    const size_t cap = sizeof(st->exported[0].index);
    size_t i;

    for (i = 0; i < st->n_exported; i++)
        if (strcmp(st->exported[i].index, index) == 0)
            return i;
    if (strlen(index) >= cap || st->n_exported >= TW_SCHED_MAX_INDEXES - 1) {
        index = "other";
        for (i = 0; i < st->n_exported; i++)
            if (strcmp(st->exported[i].index, index) == 0)
                return i;
    }
    snprintf(st->exported[st->n_exported].index, cap, "%s", index);
    return st->n_exported++;
}

void tw_sched_note_end(struct tw_sched *s, const struct tw_task *task,
                       const struct tw_run_result *res)
{
    bool done = res->end == TW_RUN_DONE;
    char id[24], chain[24], ms[24], total[24], success[24], skips[24], errors[24];

    tw_histo_observe(&s->st.run_s, (double)res->wall_ms / 1000.0);
    if (done && res->has_counts && task->export_index != NULL && res->counts.success > 0)
        s->st.exported[exported_slot(&s->st, task->export_index)].records +=
            (uint64_t)res->counts.success;
    snprintf(id, sizeof(id), "%" PRId64, task->id);
    snprintf(chain, sizeof(chain), "%" PRId64, task->chain);
    snprintf(ms, sizeof(ms), "%" PRIu64, res->wall_ms);
    snprintf(total, sizeof(total), "%" PRId64, res->counts.total);
    snprintf(success, sizeof(success), "%" PRId64, res->counts.success);
    snprintf(skips, sizeof(skips), "%" PRId64, res->counts.skips);
    snprintf(errors, sizeof(errors), "%" PRId64, res->counts.errors);
    tw_log(TW_LOG_INFO, "run.finished", "task", id, "chain", chain, "index",
           task->export_index ? task->export_index : "", "result", done ? "done" : "error",
           "duration_ms", ms, "total", total, "success", success, "skips", skips, "errors", errors,
           (const char *)NULL);
}
