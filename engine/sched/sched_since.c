/*
 * The window of an incremental export (docs/reference.md §13, target.since: "last_success"). A run of such
 * a task exports the changes in [watermark, run start), where the watermark is the start of
 * the task's last DONE run; an ERROR run does not move it, and the first run (no watermark
 * yet) exports everything before its start.
 *
 * The watermark is stored with a key naming what was exported (index and segment): when the
 * task's index or segment changes, the old watermark no longer describes what the consumer
 * has, so the next run starts over with everything. A saved segment (segment_id) counts by
 * id: editing the saved segment does not start over. Changing only the format or the
 * compression does not either (the same records, written differently).
 */
#include "sched/sched_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/mem.h"
#include "core/time.h"

/* The key of task's export: {"export_index":...,"segment":...|"segment_id":...}; NULL: OOM. */
static char *window_key(const struct tw_task *task, const json_t *trigger)
{
    json_t *k = json_object();
    const json_t *seg = json_object_get(trigger, "segment");
    const json_t *seg_id = json_object_get(trigger, "segment_id");
    char *text = NULL;
    char *copy;

    if (k == NULL || json_object_set_new(k, "export_index", json_string(task->export_index)) != 0 ||
        (seg != NULL && json_object_set(k, "segment", (json_t *)seg) != 0) ||
        (seg_id != NULL && json_object_set(k, "segment_id", (json_t *)seg_id) != 0)) {
        json_decref(k);
        return NULL;
    }
    text = json_dumps(k, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(k);
    copy = tw_strdup(text);
    free(text); /* allocated by jansson with malloc */
    return copy;
}

int tw_sched_since_window(struct tw_sched *s, const struct tw_task *task, const json_t *trigger,
                          struct tw_sched_window *w, struct tw_err *err)
{
    const char *since = task->since; /* a column: no target JSON to parse */
    json_t *parsed = NULL;
    char *stored = NULL;
    int64_t at = 0;
    int ret = TW_OK;

    memset(w, 0, sizeof(*w));
    if (since == NULL || strcmp(since, "last_success") != 0)
        goto out;
    w->since = true;
    w->from = INT64_MIN;
    if (trigger == NULL)
        trigger = parsed = json_loads(task->trigger_json, 0, NULL);
    w->key = trigger != NULL ? window_key(task, trigger) : NULL;
    if (w->key == NULL) {
        ret = tw_err_set(err, TW_ENOMEM, "out of memory preparing the run");
        goto out;
    }
    ret = tw_store_since_get(s->d.store, task->id, &at, &stored, err);
    if (ret == TW_OK && at > 0 && stored != NULL && strcmp(stored, w->key) == 0)
        w->from = at;
out:
    tw_free(stored);
    json_decref(parsed);
    if (ret != TW_OK)
        tw_sched_window_fini(w);
    return ret;
}

void tw_sched_window_fini(struct tw_sched_window *w)
{
    tw_free(w->key);
    memset(w, 0, sizeof(*w));
}

const char *tw_sched_window_msg(const struct tw_sched_window *w, int64_t to, char *buf, size_t n)
{
    char a[TW_TIME_BUFSZ], b[TW_TIME_BUFSZ];

    if (w->from == INT64_MIN)
        snprintf(buf, n, "success (changes from the beginning .. %s)", tw_time_format(to, b));
    else
        snprintf(buf, n, "success (changes %s .. %s)", tw_time_format(w->from, a),
                 tw_time_format(to, b));
    return buf;
}
