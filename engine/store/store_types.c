/*
 * The store's value types: state and access-level names, and the _fini functions that release
 * what a _get/_list call filled in. Every _fini accepts NULL and leaves the struct zeroed, so
 * a struct may be fini'd twice and cleanup blocks need no "if".
 */
#include "store/store.h"

#include <string.h>

#include "core/mem.h"

/* Indexed by enum tw_task_state; when adding a state, also update the CHECK in the schema. */
static const char *const state_names[] = {
    [TW_STATE_READY] = "READY",
    [TW_STATE_INPROGRESS] = "INPROGRESS",
    [TW_STATE_DONE] = "DONE",
    [TW_STATE_ERROR] = "ERROR",
};

static const char *const level_names[] = {
    [TW_LEVEL_NONE] = "none",
    [TW_LEVEL_READ] = "read",
    [TW_LEVEL_WRITE] = "write",
};

#define COUNT_OF(a) ((int)(sizeof(a) / sizeof((a)[0])))

const char *tw_task_state_name(int state)
{
    if (state < 0 || state >= COUNT_OF(state_names))
        return "?";
    return state_names[state];
}

int tw_task_state_parse(const char *s)
{
    int i;

    if (s == NULL)
        return -1;
    for (i = 0; i < COUNT_OF(state_names); i++)
        if (strcmp(s, state_names[i]) == 0)
            return i;
    return -1;
}

const char *tw_level_name(int level)
{
    if (level < 0 || level >= COUNT_OF(level_names))
        return "?";
    return level_names[level];
}

int tw_level_parse(const char *s)
{
    int i;

    if (s == NULL)
        return -1;
    /* "none" is not something a grant can say: start at read */
    for (i = TW_LEVEL_READ; i < COUNT_OF(level_names); i++)
        if (strcmp(s, level_names[i]) == 0)
            return i;
    return -1;
}

void tw_task_fini(struct tw_task *t)
{
    if (t == NULL)
        return;
    tw_free(t->desc);
    tw_free(t->trigger_json);
    tw_free(t->target_json);
    tw_free(t->export_format);
    tw_free(t->compression);
    tw_free(t->since);
    tw_free(t->debug);
    tw_free(t->result);
    tw_free(t->repeat);
    tw_free(t->action);
    tw_free(t->export_index);
    tw_free(t->campaign_id);
    tw_free(t->result_path);
    tw_free(t->result_sha256);
    memset(t, 0, sizeof(*t));
}

void tw_task_log_fini(struct tw_task_log *l)
{
    if (l == NULL)
        return;
    tw_free(l->msg);
    memset(l, 0, sizeof(*l));
}

void tw_store_free_logs(struct tw_task_log *logs, size_t n)
{
    size_t i;

    if (logs == NULL)
        return;
    for (i = 0; i < n; i++)
        tw_task_log_fini(&logs[i]);
    tw_free(logs);
}

void tw_store_free_tasks(struct tw_task *tasks, size_t n)
{
    size_t i;

    if (tasks == NULL)
        return;
    for (i = 0; i < n; i++)
        tw_task_fini(&tasks[i]);
    tw_free(tasks);
}

void tw_token_fini(struct tw_token *t)
{
    if (t == NULL)
        return;
    tw_free(t->desc);
    tw_free(t->chains);
    memset(t, 0, sizeof(*t));
}

void tw_store_free_tokens(struct tw_token *t, size_t n)
{
    size_t i;

    if (t == NULL)
        return;
    for (i = 0; i < n; i++)
        tw_token_fini(&t[i]);
    tw_free(t);
}

void tw_user_fini(struct tw_user *u)
{
    if (u == NULL)
        return;
    tw_free(u->name);
    /* a password hash is a secret's stand-in: do not leave it in freed memory */
    if (u->pw_hash != NULL)
        explicit_bzero(u->pw_hash, strlen(u->pw_hash));
    tw_free(u->pw_hash);
    tw_free(u->access);
    memset(u, 0, sizeof(*u));
}

void tw_store_segment_fini(struct tw_segment *g)
{
    if (g == NULL)
        return;
    tw_free(g->name);
    tw_free(g->segment_json);
    memset(g, 0, sizeof(*g));
}

void tw_store_free_segments(struct tw_segment *g, size_t n)
{
    size_t i;

    if (g == NULL)
        return;
    for (i = 0; i < n; i++)
        tw_store_segment_fini(&g[i]);
    tw_free(g);
}
