/* How `taskwheel task` prints tasks for a person (--json prints the server's JSON instead). */
#include <stdio.h>
#include <string.h>

#include "cli/task_int.h"

static const char *str(const json_t *o, const char *key, const char *dflt)
{
    const char *s = json_string_value(json_object_get(o, key));

    return s != NULL ? s : dflt;
}

void tw_task_format_log(const json_t *e, char *buf, size_t len)
{
    int n = snprintf(buf, len, "%s  %s", str(e, "time", "?"), str(e, "msg", ""));

    if (n >= 0 && (size_t)n < len && json_object_get(e, "total") != NULL)
        snprintf(buf + n, len - (size_t)n, "  (total %lld, success %lld, skips %lld, errors %lld)",
                 (long long)json_integer_value(json_object_get(e, "total")),
                 (long long)json_integer_value(json_object_get(e, "success")),
                 (long long)json_integer_value(json_object_get(e, "skips")),
                 (long long)json_integer_value(json_object_get(e, "errors")));
}

/* "csv, gzip, since last_success" */
static void target_text(const json_t *target, char *buf, size_t len)
{
    const char *comp = str(target, "compression", NULL), *since = str(target, "since", NULL);

    snprintf(buf, len, "%s %s %s%s%s%s%s", str(target, "action", "export"),
             str(target, "export_index", "?"), str(target, "export_format", "?"),
             comp && strcmp(comp, "none") != 0 ? ", " : "",
             comp && strcmp(comp, "none") != 0 ? comp : "", since ? ", since " : "",
             since ? since : "");
}

static void trigger_text(const json_t *trigger, char *buf, size_t len)
{
    const char *repeat = str(trigger, "repeat", ""), *tz = str(trigger, "timezone", NULL);
    const json_t *seg = json_object_get(trigger, "segment");
    const json_t *seg_id = json_object_get(trigger, "segment_id");
    size_t n;

    snprintf(buf, len, "%s %s", repeat[0] ? repeat : "once", str(trigger, "once", "?"));
    if (tz != NULL && (n = strlen(buf)) < len)
        snprintf(buf + n, len - n, " (%s)", tz);
    if (json_is_object(seg) && (n = strlen(buf)) < len)
        snprintf(buf + n, len - n, ", segment: %zu rule(s), join %s",
                 json_array_size(json_object_get(seg, "rules")), str(seg, "join", "all"));
    if (seg_id != NULL && !json_is_null(seg_id) && (n = strlen(buf)) < len) {
        if (json_is_string(seg_id))
            snprintf(buf + n, len - n, ", saved segment %s", json_string_value(seg_id));
        else
            snprintf(buf + n, len - n, ", saved segment %lld",
                     (long long)json_integer_value(seg_id));
    }
}

void tw_task_print_task(const json_t *task, bool with_logs)
{
    const json_t *state = json_object_get(task, "state");
    const json_t *logs = json_object_get(task, "logs");
    char target[256], trigger[512], line[1024];
    size_t i;

    target_text(json_object_get(task, "target"), target, sizeof(target));
    trigger_text(json_object_get(task, "trigger"), trigger, sizeof(trigger));
    printf("task %lld  %s  (chain %lld, version %lld)\n",
           (long long)json_integer_value(json_object_get(task, "id")), str(state, "code", "?"),
           (long long)json_integer_value(json_object_get(task, "chain")),
           (long long)json_integer_value(json_object_get(task, "version")));
    printf("  desc:      %s\n", str(task, "desc", ""));
    printf("  target:    %s\n", target);
    printf("  trigger:   %s\n", trigger);
    printf("  created:   %s\n", str(state, "created_date", "?"));
    printf("  last run:  %s\n", str(state, "last_run_date", "never"));
    printf("  result:    %s\n", str(task, "result", "none yet"));
    if (!with_logs || json_array_size(logs) == 0)
        return;
    printf("  logs (newest first):\n");
    for (i = 0; i < json_array_size(logs); i++) {
        tw_task_format_log(json_array_get(logs, i), line, sizeof(line));
        printf("    %s\n", line);
    }
}

void tw_task_print_list(const json_t *tasks, long long total)
{
    size_t i;

    printf("%-8s  %-10s  %-7s  %-16s  %-6s  %-8s  %-20s  %s\n", "ID", "STATE", "CHAIN", "INDEX",
           "FORMAT", "REPEAT", "NEXT/ONCE", "DESC");
    for (i = 0; i < json_array_size(tasks); i++) {
        const json_t *t = json_array_get(tasks, i);
        const json_t *target = json_object_get(t, "target");
        const json_t *trigger = json_object_get(t, "trigger");
        const char *repeat = str(trigger, "repeat", "");

        printf("%-8lld  %-10s  %-7lld  %-16s  %-6s  %-8s  %-20s  %s\n",
               (long long)json_integer_value(json_object_get(t, "id")),
               str(json_object_get(t, "state"), "code", "?"),
               (long long)json_integer_value(json_object_get(t, "chain")),
               str(target, "export_index", "?"), str(target, "export_format", "?"),
               repeat[0] ? repeat : "-", str(trigger, "once", "?"), str(t, "desc", ""));
    }
    if (total >= 0 && (size_t)total > json_array_size(tasks))
        printf("(%zu of %lld tasks shown; use --limit and --offset for more)\n",
               json_array_size(tasks), total);
}
