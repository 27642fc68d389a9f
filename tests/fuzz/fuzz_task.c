/*
 * Fuzz target: request body -> validated task (issue #6). The bytes are parsed as the API
 * parses a body (engine/api/request.c tw_req_json_body: json_loadb with
 * JSON_REJECT_DUPLICATES, non-objects refused), then validated by tw_task_input_parse in
 * CREATE and UPDATE modes against the six built-in indexes and csv/json, with segments checked
 * against a transactions-like field table (fuzz_fields.h).
 *
 * Oracle besides the sanitizers: a task accepted in CREATE mode, echoed back as its canonical
 * form ({chain, desc, trigger, target, debug}) in UPDATE mode, must be accepted again and give
 * the same canonical trigger and target (docs/reference.md §2: a client echoing a GET back never trips).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "fuzz_fields.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct tw_validate_ctx ctx = {
    .indexes = fz_indexes,
    .formats = fz_formats,
    .check_segment = fz_check_segment,
    .check_ctx = NULL,
    .since_indexes = fz_indexes,
};

static void same(const json_t *a, const json_t *b, const char *what)
{
    char *sa = tw_json_compact(a);
    char *sb = tw_json_compact(b);

    if (sa == NULL || sb == NULL || strcmp(sa, sb) != 0) {
        fprintf(stderr, "canonical %s changed on re-validation:\n  first:  %s\n  second: %s\n",
                what, sa ? sa : "(null)", sb ? sb : "(null)");
        abort();
    }
    tw_free(sa);
    tw_free(sb);
}

/* Echo the canonical task back as a PUT body: it must validate to the same thing. */
static void echo(const struct tw_task_input *in)
{
    struct tw_task_input again;
    struct tw_err err;
    json_t *body = json_object();

    json_object_set_new(body, "chain", json_integer(in->chain));
    json_object_set_new(body, "desc", json_string(in->desc));
    json_object_set(body, "trigger", in->trigger);
    json_object_set(body, "target", in->target);
    if (in->has_debug)
        json_object_set_new(body, "debug", json_string(in->debug));
    tw_err_clear(&err);
    if (tw_task_input_parse(body, TW_INPUT_UPDATE, &ctx, &again, &err) != TW_OK) {
        char *s = tw_json_compact(body);

        fprintf(stderr, "canonical task refused on re-validation: %s\n  body: %s\n", err.msg,
                s ? s : "(null)");
        abort();
    }
    same(in->trigger, again.trigger, "trigger");
    same(in->target, again.target, "target");
    if (again.once_at != in->once_at || again.segment_id != in->segment_id ||
        strcmp(again.repeat, in->repeat) != 0) {
        fprintf(stderr, "derived trigger fields changed on re-validation\n");
        abort();
    }
    tw_task_input_fini(&again);
    json_decref(body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const enum tw_input_mode modes[] = { TW_INPUT_CREATE, TW_INPUT_UPDATE };
    struct tw_task_input in;
    struct tw_err err;
    json_error_t jerr;
    json_t *body;

    if (size == 0)
        return 0; /* the API answers an empty body itself */
    body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
    if (body == NULL)
        return 0;
    if (!json_is_object(body)) {
        json_decref(body);
        return 0;
    }
    for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
        tw_err_clear(&err);
        memset(&in, 0xA5, sizeof(in)); /* nothing may be read before it is written */
        if (tw_task_input_parse(body, modes[m], &ctx, &in, &err) != TW_OK) {
            if (err.code == TW_OK || err.msg[0] == '\0') {
                fprintf(stderr, "refused without a message (mode %zu)\n", m);
                abort();
            }
            continue;
        }
        if (in.has_trigger) {
            char *s = tw_json_compact(in.trigger);

            tw_free(s);
        }
        if (in.has_target) {
            char *s = tw_json_compact(in.target);

            tw_free(s);
        }
        /* A segment_id that is well-formed but not one of ours (segment_id -1, validate.c)
         * is answered 404 segment_not_found by the API and never stored: nothing to echo. */
        if (modes[m] == TW_INPUT_CREATE && in.segment_id >= 0)
            echo(&in);
        tw_task_input_fini(&in);
    }
    json_decref(body);
    return 0;
}
