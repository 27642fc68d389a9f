/*
 * taskwheel task create: a task from flags (target and trigger, docs/reference.md §1, §5,
 * §13) or a whole body from a file (--body FILE, "-" for standard input), sent as
 * POST /tasks. The server validates everything; the flags only build the JSON, so an error
 * is the service's own, naming the field.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli_int.h"
#include "cli/task_int.h"
#include "core/time.h"

#define MAX_BODY (16 * 1024 * 1024)

struct create_opts {
    const char *desc, *index, *format, *compression, *since, *once, *repeat, *timezone;
    const char *segment_file, *segment_id, *debug, *body_file, *idem_key;
};

static int create_opt(struct tw_task_ctx *ctx, int c, const char *arg, void *p)
{
    struct create_opts *o = p;

    (void)ctx;
    switch (c) {
    case 'd': o->desc = arg; break;
    case 'i': o->index = arg; break;
    case 'f': o->format = arg; break;
    case 'z': o->compression = arg; break;
    case 's': o->since = arg; break;
    case 'o': o->once = arg; break;
    case 'r': o->repeat = arg; break;
    case 't': o->timezone = arg; break;
    case 'g': o->segment_file = arg; break;
    case 'G': o->segment_id = arg; break;
    case 'D': o->debug = arg; break;
    case 'b': o->body_file = arg; break;
    case 'k': o->idem_key = arg; break;
    default: return 0;
    }
    return 1;
}

/* The whole of a file (or standard input for "-") as a NUL-terminated string; NULL with why. */
static char *slurp(const char *path, char *why, size_t why_len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    size_t len = 0, cap = 0;
    char *buf = NULL, *nb;

    if (f == NULL) {
        snprintf(why, why_len, "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    for (;;) {
        size_t r;

        if (len + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 8192;
            nb = cap > MAX_BODY + 8192 ? NULL : realloc(buf, cap);
            if (nb == NULL) {
                snprintf(why, why_len, "%s is too large (over %d bytes) or out of memory", path,
                         MAX_BODY);
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
        }
        r = fread(buf + len, 1, cap - len - 1, f);
        len += r;
        if (r == 0) {
            if (ferror(f)) {
                snprintf(why, why_len, "cannot read %s: %s", path, strerror(errno));
                free(buf);
                buf = NULL;
            }
            break;
        }
    }
    if (buf != NULL)
        buf[len] = '\0';
    if (f != stdin)
        fclose(f);
    return buf;
}

/* The JSON body from the flags (caller frees), or NULL after a usage message. */
static char *body_from_flags(struct tw_task_ctx *ctx, const struct create_opts *o)
{
    json_t *body, *target, *trigger, *seg = NULL;
    char once[TW_TIME_BUFSZ], desc[300], msg[700];
    json_error_t jerr;
    char *text;

    if (o->index == NULL) {
        tw_task_usage_error(ctx, "--index NAME is required (or give the whole task with --body)");
        return NULL;
    }
    if (ctx->chain == 0) {
        tw_task_usage_error(ctx, "--chain N is required: the chain the task belongs to");
        return NULL;
    }
    if (o->segment_file != NULL && o->segment_id != NULL) {
        tw_task_usage_error(ctx, "--segment and --segment-id exclude each other");
        return NULL;
    }
    if (o->segment_file != NULL) {
        if (strcmp(o->segment_file, "-") == 0)
            seg = json_loadf(stdin, JSON_REJECT_DUPLICATES, &jerr);
        else
            seg = json_load_file(o->segment_file, JSON_REJECT_DUPLICATES, &jerr);
        if (!json_is_object(seg)) {
            snprintf(msg, sizeof(msg), "--segment %s: %s", o->segment_file,
                     seg == NULL ? jerr.text : "not a JSON object");
            if (seg == NULL && jerr.line > 0)
                snprintf(msg + strlen(msg), sizeof(msg) - strlen(msg), " (line %d, column %d)",
                         jerr.line, jerr.column);
            json_decref(seg);
            tw_task_usage_error(ctx, msg);
            return NULL;
        }
    }
    tw_time_format((int64_t)time(NULL), once); /* --once now, and the default */
    snprintf(desc, sizeof(desc), "%s export (taskwheel task create)", o->index);

    target = json_pack("{s:s, s:s, s:s}", "action", "export", "export_index", o->index,
                       "export_format", o->format ? o->format : "csv");
    trigger = json_pack("{s:s, s:s}", "once",
                        o->once != NULL && strcmp(o->once, "now") != 0 ? o->once : once, "repeat",
                        o->repeat ? o->repeat : "");
    body = json_pack("{s:I, s:s}", "chain", (json_int_t)ctx->chain, "desc",
                     o->desc ? o->desc : desc);
    if (target == NULL || trigger == NULL || body == NULL) {
        fprintf(stderr, "%s: a value is not valid UTF-8, or out of memory\n", ctx->cmd);
        json_decref(target);
        json_decref(trigger);
        json_decref(body);
        json_decref(seg);
        return NULL;
    }
    if (o->compression)
        json_object_set_new(target, "compression", json_string(o->compression));
    if (o->since)
        json_object_set_new(target, "since", json_string(o->since));
    if (o->timezone)
        json_object_set_new(trigger, "timezone", json_string(o->timezone));
    if (seg != NULL)
        json_object_set_new(trigger, "segment", seg);
    if (o->segment_id) {
        int64_t n;

        json_object_set_new(trigger, "segment_id",
                            tw_task_parse_pos(o->segment_id, &n) ? json_integer((json_int_t)n)
                                                                 : json_string(o->segment_id));
    }
    json_object_set_new(body, "target", target);
    json_object_set_new(body, "trigger", trigger);
    if (o->debug)
        json_object_set_new(body, "debug", json_string(o->debug));
    text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(body);
    if (text == NULL)
        fprintf(stderr, "%s: a value is not valid UTF-8, or out of memory\n", ctx->cmd);
    return text;
}

int tw_task_create(int argc, char **argv)
{
    static const struct option extra[] = {
        { "desc", required_argument, NULL, 'd' },
        { "index", required_argument, NULL, 'i' },
        { "format", required_argument, NULL, 'f' },
        { "compression", required_argument, NULL, 'z' },
        { "since", required_argument, NULL, 's' },
        { "once", required_argument, NULL, 'o' },
        { "repeat", required_argument, NULL, 'r' },
        { "timezone", required_argument, NULL, 't' },
        { "segment", required_argument, NULL, 'g' },
        { "segment-id", required_argument, NULL, 'G' },
        { "debug", required_argument, NULL, 'D' },
        { "body", required_argument, NULL, 'b' },
        { "idempotency-key", required_argument, NULL, 'k' },
    };
    struct tw_task_ctx ctx = {
        .cmd = "taskwheel task create",
        .usage =
            "usage: taskwheel task create --chain N --index NAME [--format FMT] [--once TIME]\n"
            "           [--repeat daily|weekly|monthly] [--timezone ZONE] [--desc TEXT]\n"
            "           [--segment FILE.json | --segment-id ID] [--compression gzip]\n"
            "           [--since last_success] [--debug TEXT] [--idempotency-key KEY] [options]\n"
            "       taskwheel task create --body FILE [--idempotency-key KEY] [options]\n"
            "Creates a task and prints it (its id first).\n"
            "  --index NAME       the index to export (users, transactions, vouchers, ...)\n"
            "  --format FMT       csv (default), json, or an installed Lua formatter\n"
            "  --once TIME        when to run, ISO 8601 (default now)\n"
            "  --repeat R         daily, weekly or monthly (default: run once)\n"
            "  --timezone ZONE    IANA zone the repeats follow (e.g. Europe/Amsterdam)\n"
            "  --desc TEXT        description (default \"INDEX export (taskwheel task create)\")\n"
            "  --segment FILE     a segment (JSON object) selecting the records; - for stdin\n"
            "  --segment-id ID    a saved segment instead\n"
            "  --compression C    gzip the result\n"
            "  --since S          last_success: export only what changed since the last DONE "
            "run\n"
            "  --debug TEXT       a string kept with the task\n"
            "  --body FILE        the whole JSON body of POST /tasks (- for stdin), sent as is\n"
            "  --idempotency-key KEY  a retry with the same key returns the first task\n",
    };
    struct create_opts o;
    struct tw_client_resp r;
    char why[600], idem[320];
    const char *hdrs[2] = { NULL, NULL };
    char *body = NULL;
    int rc;

    memset(&o, 0, sizeof(o));
    rc = tw_task_parse(&ctx, argc, argv, NULL, extra, sizeof(extra) / sizeof(extra[0]), create_opt,
                       &o, NULL);
    if (rc != TW_EXIT_OK)
        return rc < 0 ? TW_EXIT_OK : rc;
    if (o.body_file != NULL) {
        if (o.index || o.format || o.once || o.repeat || o.timezone || o.segment_file ||
            o.segment_id || o.desc || o.compression || o.since || o.debug)
            return tw_task_usage_error(&ctx, "--body gives the whole task: no --index, --format, "
                                             "--once, ... with it");
        body = slurp(o.body_file, why, sizeof(why));
        if (body == NULL) {
            fprintf(stderr, "%s: %s\n", ctx.cmd, why);
            return TW_EXIT_USAGE;
        }
    } else if ((body = body_from_flags(&ctx, &o)) == NULL) {
        return TW_EXIT_USAGE;
    }
    if (o.idem_key != NULL && !tw_client_header_safe(o.idem_key)) {
        free(body);
        return tw_task_usage_error(&ctx, "--idempotency-key holds a control character");
    }
    if (o.idem_key != NULL) {
        snprintf(idem, sizeof(idem), "Idempotency-Key: %.300s", o.idem_key);
        hdrs[0] = idem;
    }
    if ((rc = tw_task_connect(&ctx)) != TW_EXIT_OK)
        goto out;
    if ((rc = tw_task_call(&ctx, "POST", "/tasks", body, hdrs, 60, &r)) != TW_EXIT_OK)
        goto out;
    if (ctx.json) {
        tw_task_print_raw(&r);
    } else {
        printf("%s task %lld\n", r.status == 200 ? "existing (same Idempotency-Key)" : "created",
               (long long)json_integer_value(json_object_get(r.json, "id")));
        tw_task_print_task(r.json, false);
    }
    tw_client_resp_fini(&r);
out:
    free(body);
    tw_task_disconnect(&ctx);
    return rc;
}
