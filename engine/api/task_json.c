/*
 * The task object of docs/reference.md §1, field order as the spec shows it. trigger and target are stored
 * as canonical JSON text and embedded as parsed objects.
 */
#include "api/api_int.h"
#include "core/time.h"

json_t *tw_time_json(int64_t t)
{
    char buf[TW_TIME_BUFSZ];

    if (t == 0)
        return json_null();
    return json_string(tw_time_format(t, buf));
}

json_t *tw_task_state_json(const struct tw_task *t)
{
    return json_pack("{s:s, s:o, s:o, s:o}", "code", tw_task_state_name(t->state), "last_run_date",
                     tw_time_json(t->last_run_date), "last_modified",
                     tw_time_json(t->last_modified), "created_date", tw_time_json(t->created_date));
}

static json_t *log_json(const struct tw_task_log *l)
{
    json_t *j = json_pack("{s:s, s:o}", "msg", l->msg ? l->msg : "", "time", tw_time_json(l->time));

    if (j != NULL && l->has_counts) {
        json_object_set_new(j, "total", json_integer(l->total));
        json_object_set_new(j, "errors", json_integer(l->errors));
        json_object_set_new(j, "skips", json_integer(l->skips));
        json_object_set_new(j, "success", json_integer(l->success));
    }
    return j;
}

static json_t *stored_object(const char *text)
{
    json_t *j = text ? json_loads(text, 0, NULL) : NULL;

    return j ? j : json_object();
}

json_t *tw_task_json(const struct tw_task *t, const struct tw_task_log *logs, size_t n)
{
    return tw_task_json_from(t, NULL, NULL, logs, n);
}

json_t *tw_task_json_from(const struct tw_task *t, json_t *trigger, json_t *target,
                          const struct tw_task_log *logs, size_t n)
{
    json_t *arr = json_array();
    size_t i;

    for (i = 0; arr != NULL && i < n; i++)
        if (json_array_append_new(arr, log_json(&logs[i])) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    if (arr == NULL)
        return NULL;
    return json_pack("{s:I, s:I, s:s, s:o, s:o, s:o, s:o, s:s, s:I, s:o}", "id", (json_int_t)t->id,
                     "chain", (json_int_t)t->chain, "desc", t->desc ? t->desc : "", "state",
                     tw_task_state_json(t), "trigger",
                     trigger ? json_incref(trigger) : stored_object(t->trigger_json), "target",
                     target ? json_incref(target) : stored_object(t->target_json), "logs", arr,
                     "debug", t->debug ? t->debug : "", "version", (json_int_t)t->version, "result",
                     t->result ? json_string(t->result) : json_null());
}
