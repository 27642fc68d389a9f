/* Queueing a delivery when a run ends (see webhook.h). */
#include "webhook/webhook.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "core/mem.h"
#include "core/time.h"

int tw_webhook_enqueue(struct tw_store *s, int64_t task_id, int64_t chain, int state,
                       const json_t *task, int64_t now_ms, bool *queued, struct tw_err *err)
{
    unsigned events = 0, want;
    char *url = NULL, *body = NULL, when[TW_TIME_BUFSZ];
    struct tw_delivery d;
    json_t *doc;
    int rc;

    *queued = false;
    if (state == TW_STATE_DONE)
        want = TW_WEBHOOK_ON_DONE;
    else if (state == TW_STATE_ERROR)
        want = TW_WEBHOOK_ON_ERROR;
    else
        return TW_OK; /* an interrupted run (back to READY) is not an end */
    rc = tw_store_webhook_get(s, task_id, &url, &events, err);
    if (rc == TW_ENOTFOUND)
        return TW_OK;
    if (rc != TW_OK)
        return rc;
    if ((events & want) == 0) {
        tw_free(url);
        return TW_OK;
    }

    memset(&d, 0, sizeof(d));
    rc = tw_uuid4(d.uuid, err);
    if (rc != TW_OK) {
        tw_free(url);
        return rc;
    }
    tw_time_format(now_ms / 1000, when);
    doc = json_pack("{s:s, s:s, s:s, s:O}", "event",
                    state == TW_STATE_DONE ? "task.done" : "task.error", "delivery", d.uuid, "time",
                    when, "task", (json_t *)task);
    if (doc != NULL)
        body = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(doc);
    if (body == NULL) {
        tw_free(url);
        return tw_err_set(err, TW_ENOMEM, "webhook: cannot build the delivery body");
    }
    d.task_id = task_id;
    d.chain = chain;
    d.event = (char *)(state == TW_STATE_DONE ? "task.done" : "task.error");
    d.url = url;
    d.body = body;
    d.next_at = now_ms;
    rc = tw_store_outbox_add(s, &d, err);
    free(body); /* json_dumps allocates with malloc */
    tw_free(url);
    if (rc == TW_OK)
        *queued = true;
    return rc;
}
