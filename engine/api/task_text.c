/*
 * The task object of task_json.c written as text, without building it in jansson first: the
 * bytes are exactly what json_dumps(tw_task_json(...), JSON_COMPACT | JSON_PRESERVE_ORDER)
 * writes (issue 16: building and dumping the object was a third of a GET /tasks/{id}).
 *
 * Exactness, field by field:
 *   - strings are written as jansson escapes them (\" \\ \b \f \n \r \t, all else as is);
 *     a string jansson would refuse (invalid UTF-8) or escape as \u00XX (other control bytes,
 *     which jansson writes in upper case) makes tw_task_text fail, and the caller takes the
 *     jansson path, which answers as it always did;
 *   - integers as "%lld", times as tw_time_json writes them (null for 0);
 *   - trigger and target are stored as text; the reply holds json_dumps(json_loads(text))
 *     ("{}" when it does not parse), which is not always the text itself (reals are stored at
 *     15 digits and written at 17). That conversion is remembered per stored text in a small
 *     table (struct tw_json_memo), so a GET of an unchanged task parses nothing. The table maps
 *     text to text, a pure function of it: it holds nothing that depends on who asks.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api/api_int.h"
#include "core/jsonesc.h"
#include "core/mem.h"
#include "core/time.h"
#include "core/utf8.h"

#define MEMO_SLOTS 256     /* direct-mapped by hash; a collision replaces */
#define MEMO_MAX_TEXT 4096 /* longer stored texts are converted every time */
#define STACK_OUT 2048     /* most replies fit without a heap buffer */

struct memo_slot {
    char *in; /* stored text, owned */
    size_t in_len;
    char *out; /* its dump, owned (tw_malloc) */
    size_t out_len;
};

struct tw_json_memo {
    struct memo_slot slot[MEMO_SLOTS];
};

void tw_json_memo_destroy(struct tw_json_memo *m)
{
    size_t i;

    if (m == NULL)
        return;
    for (i = 0; i < MEMO_SLOTS; i++) {
        tw_free(m->slot[i].in);
        tw_free(m->slot[i].out);
    }
    tw_free(m);
}

/* The output under construction: a stack buffer first, the heap when it outgrows it. */
struct out {
    char *p;
    size_t len;
    size_t cap;
    bool failed; /* out of memory */
    char stack[STACK_OUT];
};

static void put(struct out *o, const char *s, size_t n)
{
    if (o->failed)
        return;
    if (o->len + n > o->cap) {
        size_t cap = o->cap * 2;
        char *p;

        while (cap < o->len + n)
            cap *= 2;
        p = o->p == o->stack ? tw_malloc(cap) : tw_realloc(o->p, cap);
        if (p == NULL) {
            o->failed = true;
            return;
        }
        if (o->p == o->stack)
            memcpy(p, o->stack, o->len);
        o->p = p;
        o->cap = cap;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

#define PUT_LIT(o, lit) put((o), (lit), sizeof(lit) - 1)

static void put_int(struct out *o, int64_t v)
{
    char buf[24];
    char *e = buf + sizeof(buf);
    char *p = e;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0)
        *--p = '-';
    put(o, p, (size_t)(e - p));
}

/* A JSON string as jansson writes it; false where jansson would write it otherwise or not. */
static bool put_str(struct out *o, const char *s)
{
    size_t n = strlen(s);
    size_t k;
    char esc[TW_JSONESC_MAX];

    if (!tw_utf8_valid(s, n))
        return false;
    PUT_LIT(o, "\"");
    while ((k = tw_jsonesc_plain(s, n)) < n) {
        unsigned char c = (unsigned char)s[k];
        size_t e;

        if (c < 0x20 && c != '\b' && c != '\f' && c != '\n' && c != '\r' && c != '\t')
            return false; /* jansson: \u00XX in upper case, jsonesc: lower */
        put(o, s, k);
        e = tw_jsonesc_byte(c, esc);
        put(o, esc, e);
        s += k + 1;
        n -= k + 1;
    }
    put(o, s, n);
    PUT_LIT(o, "\"");
    return true;
}

static void put_time(struct out *o, int64_t t)
{
    char buf[TW_TIME_BUFSZ];
    const char *s;

    if (t == 0) {
        PUT_LIT(o, "null");
        return;
    }
    s = tw_time_format(t, buf);
    PUT_LIT(o, "\"");
    put(o, s, strlen(s));
    PUT_LIT(o, "\"");
}

/* A member after an object's first: ,"key": and its value, key a string literal. */
#define PUT_INT_MEMBER(o, key, v) (PUT_LIT((o), ",\"" key "\":"), put_int((o), (v)))
#define PUT_TIME_MEMBER(o, key, t) (PUT_LIT((o), ",\"" key "\":"), put_time((o), (t)))

static uint32_t hash(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    size_t i;

    for (i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

/* An object in memory (the validated input of a create), as json_dumps writes it embedded. */
static bool put_json(struct out *o, const json_t *j)
{
    char *dump = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);

    if (dump == NULL)
        return false;
    put(o, dump, strlen(dump));
    free(dump); /* jansson's malloc */
    return true;
}

/* What task_json.c's stored_object() then json_dumps make of a stored text. */
static bool put_stored(struct out *o, struct tw_json_memo *m, const char *text)
{
    size_t n = text ? strlen(text) : 0;
    struct memo_slot *slot = NULL;
    json_t *j;
    char *dump;
    size_t len;

    if (m != NULL && text != NULL && n <= MEMO_MAX_TEXT) {
        slot = &m->slot[hash(text, n) % MEMO_SLOTS];
        if (slot->in != NULL && slot->in_len == n && memcmp(slot->in, text, n) == 0) {
            put(o, slot->out, slot->out_len);
            return true;
        }
    }
    j = text ? json_loads(text, 0, NULL) : NULL;
    if (j == NULL) {
        PUT_LIT(o, "{}"); /* stored_object(): an empty object for what does not parse */
        return true;
    }
    dump = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(j);
    if (dump == NULL)
        return false;
    len = strlen(dump);
    put(o, dump, len);
    if (slot != NULL) {
        char *in = tw_malloc(n + 1);
        char *out = tw_malloc(len + 1);

        if (in != NULL && out != NULL) {
            memcpy(in, text, n + 1);
            memcpy(out, dump, len + 1);
            tw_free(slot->in);
            tw_free(slot->out);
            *slot = (struct memo_slot){ in, n, out, len };
        } else {
            tw_free(in);
            tw_free(out);
        }
    }
    free(dump); /* jansson's malloc */
    return true;
}

static bool put_log(struct out *o, const struct tw_task_log *l)
{
    PUT_LIT(o, "{\"msg\":");
    if (!put_str(o, l->msg ? l->msg : ""))
        return false;
    PUT_TIME_MEMBER(o, "time", l->time);
    if (l->has_counts) {
        PUT_INT_MEMBER(o, "total", l->total);
        PUT_INT_MEMBER(o, "errors", l->errors);
        PUT_INT_MEMBER(o, "skips", l->skips);
        PUT_INT_MEMBER(o, "success", l->success);
    }
    PUT_LIT(o, "}");
    return true;
}

static bool put_task(struct out *o, struct tw_json_memo *m, const struct tw_task *t,
                     const json_t *trigger, const json_t *target, const struct tw_task_log *logs,
                     size_t n, const char *webhook_url, unsigned events)
{
    size_t i;

    PUT_LIT(o, "{\"id\":");
    put_int(o, t->id);
    PUT_INT_MEMBER(o, "chain", t->chain);
    PUT_LIT(o, ",\"desc\":");
    if (!put_str(o, t->desc ? t->desc : ""))
        return false;
    PUT_LIT(o, ",\"state\":{\"code\":");
    if (!put_str(o, tw_task_state_name(t->state)))
        return false;
    PUT_TIME_MEMBER(o, "last_run_date", t->last_run_date);
    PUT_TIME_MEMBER(o, "last_modified", t->last_modified);
    PUT_TIME_MEMBER(o, "created_date", t->created_date);
    PUT_LIT(o, "},\"trigger\":");
    if (!(trigger ? put_json(o, trigger) : put_stored(o, m, t->trigger_json)))
        return false;
    PUT_LIT(o, ",\"target\":");
    if (!(target ? put_json(o, target) : put_stored(o, m, t->target_json)))
        return false;
    PUT_LIT(o, ",\"logs\":[");
    for (i = 0; i < n; i++) {
        if (i > 0)
            PUT_LIT(o, ",");
        if (!put_log(o, &logs[i]))
            return false;
    }
    PUT_LIT(o, "],\"debug\":");
    if (!put_str(o, t->debug ? t->debug : ""))
        return false;
    PUT_INT_MEMBER(o, "version", t->version);
    PUT_LIT(o, ",\"result\":");
    if (t->result == NULL)
        PUT_LIT(o, "null");
    else if (!put_str(o, t->result))
        return false;
    if (webhook_url != NULL) {
        PUT_LIT(o, ",\"webhook\":{\"url\":");
        if (!put_str(o, webhook_url))
            return false;
        PUT_LIT(o, ",\"events\":[");
        if (events & TW_WEBHOOK_ON_DONE)
            PUT_LIT(o, "\"DONE\"");
        if ((events & TW_WEBHOOK_ON_DONE) && (events & TW_WEBHOOK_ON_ERROR))
            PUT_LIT(o, ",");
        if (events & TW_WEBHOOK_ON_ERROR)
            PUT_LIT(o, "\"ERROR\"");
        PUT_LIT(o, "]}");
    }
    PUT_LIT(o, "}");
    return true;
}

bool tw_task_text_reply(struct tw_req *r, int status, const struct tw_task *t,
                        const json_t *trigger, const json_t *target, const struct tw_task_log *logs,
                        size_t n, const char *webhook_url, unsigned events)
{
    struct tw_api *api = r->api;
    struct out o;
    bool ok;

    if (api->memo == NULL)
        api->memo = tw_calloc(1, sizeof(*api->memo)); /* NULL: no memo, converted each time */
    o.p = o.stack;
    o.len = 0;
    o.cap = sizeof(o.stack);
    o.failed = false;
    ok = put_task(&o, api->memo, t, trigger, target, logs, n, webhook_url, events) && !o.failed;
    if (ok)
        tw_reply_text(r, status, o.p, o.len);
    if (o.p != o.stack)
        tw_free(o.p);
    return ok;
}
