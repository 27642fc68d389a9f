/*
 * The export driver (export.h): plugin cursor -> chain check -> residual filter -> writer ->
 * output stream -> temp file -> rename. One record object is reused for every row.
 *
 * Chain isolation lives here, not in the plugin: every record must report its chain
 * (host->rec_set_chain) and a record of any other chain, or of none, is dropped and counted
 * as an error, whatever the plugin's query did. Counting (docs/reference.md §7.3): every record the plugin
 * returns is in total; then exactly one of errors (bad value, wrong chain), skips (residual
 * filter, writer declined) or success (written).
 *
 * Failure anywhere removes the temp file; only a run that reached the end of the records,
 * finished the writer and synced the file publishes it.
 */
#include "export/export.h"

#include <inttypes.h>
#include <stdio.h>

#include "core/log.h"
#include "core/mem.h"
#include "results/results.h"

#define PROGRESS_EVERY 10000
#define LOG_FIRST 5 /* per kind of dropped record, log this many in detail */

/* Everything one run holds, so cleanup is one function. */
struct run {
    const struct tw_export_job *job;
    struct tw_export_stats *stats;
    struct tw_host_ctx host;
    struct tw_query own_query; /* used when the job has none */
    struct tw_query *q;
    struct tw_record *rec;
    struct tw_result res;
    struct tw_s3_upload *up; /* results.storage s3: the upload in flight, else NULL */
    bool marked;             /* its multipart upload's marker is written (results.h) */
    bool marked_id;          /* ... with the upload id */
    uint64_t sent;           /* bytes given to the upload */
    char key[4352];          /* its object key (without prefix) */
    char where[4700];        /* "s3://bucket/prefix/key", for messages */
    struct tw_out out;
    void *cursor;
    bool cursor_open;
    void *wstate;
    bool writer_open;
};

static int check_job(const struct tw_export_job *job, struct tw_err *err)
{
    if (job->plugin == NULL)
        return tw_err_set(err, TW_EINVAL, "export: no index plugin given");
    if (job->writer == NULL)
        return tw_err_set(err, TW_EINVAL, "export: no format writer given");
    if (job->out_dir == NULL || job->out_dir[0] == '\0')
        return tw_err_set(err, TW_EINVAL, "export: no result directory given");
    /* Only a plugin that declares a change column applies windows (plugin.h, ABI 1.1);
     * the API refuses such tasks, this catches a plugin replaced since. */
    if (job->since && job->plugin->desc.change_column == NULL)
        return tw_err_set(err, TW_EINVAL,
                          "target.since: export_index %s has no change column "
                          "(its plugin does not support incremental exports)",
                          job->plugin->desc.index);
    return TW_OK;
}

/*
 * tw_out's sink for S3: the upload, with its marker written before the write that makes it a
 * multipart upload and again once the upload id is known (results.h).
 */
static int put_s3(void *ctx, const void *p, size_t n, struct tw_err *err)
{
    struct run *run = ctx;
    struct tw_err merr;
    int rc;

    if (!run->marked && run->sent + n > run->job->s3->part_size) {
        run->marked = true;
        if (tw_results_marker_write(run->job->out_dir, run->key, "", &merr) != TW_OK)
            tw_log(TW_LOG_WARN, "results.marker_failed", "reason", merr.msg, NULL);
    }
    rc = tw_s3_upload_write(run->up, p, n, err);
    run->sent += n;
    if (run->marked && !run->marked_id && tw_s3_upload_id(run->up)[0] != '\0') {
        run->marked_id = true;
        if (tw_results_marker_write(run->job->out_dir, run->key, tw_s3_upload_id(run->up), &merr) !=
            TW_OK)
            tw_log(TW_LOG_WARN, "results.marker_failed", "reason", merr.msg, NULL);
    }
    return rc;
}

/*
 * results.storage s3: abort what an earlier run of this task left in flight, then start the
 * upload of the result's object and point the stream at it.
 */
static int open_upload(struct run *run, struct tw_err *err)
{
    const struct tw_export_job *job = run->job;
    const struct tw_s3_conf *c = job->s3;
    struct tw_err serr;
    int ret;

    ret = tw_results_key(job->chain, job->task_id, run->stats->file, run->key, sizeof(run->key),
                         err);
    if (ret == TW_OK) /* for the upload's marker and sealed file (results.h) */
        ret = tw_result_dir_make(job->out_dir, err);
    if (ret != TW_OK)
        return ret;
    tw_err_clear(&serr);
    if (tw_results_settle(c, job->out_dir, &serr) != TW_OK)
        tw_log(TW_LOG_WARN, "results.upload_abort_failed", "reason", serr.msg, NULL);
    snprintf(run->where, sizeof(run->where), "s3://%s/%s%s", c->bucket, c->prefix, run->key);
    ret = tw_s3_upload_open(c, run->key, &run->up, err);
    if (ret == TW_OK)
        ret = tw_out_init_put(&run->out, put_s3, run, run->where, job->gzip, err);
    return ret;
}

/*
 * After a failed upload: abort what is in flight once more (the client already tried; the
 * store's listing also finds an upload whose creation answer was lost); when the store still
 * cannot be reached, say who finishes the job.
 */
static void settle_failed_upload(struct run *run, struct tw_err *err)
{
    struct tw_err serr;

    if (!run->marked)
        return; /* never more than one PUT: nothing can be left in flight */
    tw_err_clear(&serr);
    if (tw_results_settle(run->job->s3, run->job->out_dir, &serr) != TW_OK && err != NULL &&
        err->code != TW_OK) {
        size_t len = strlen(err->msg);

        snprintf(err->msg + len, sizeof(err->msg) - len,
                 "; the incomplete multipart upload is aborted by the task's next run");
    }
    run->marked = run->marked_id = false;
}

/* Open everything up to the first record: result file, stream, record, plugin, writer. */
static int start(struct run *run, struct tw_err *err)
{
    const struct tw_export_job *job = run->job;
    const struct tw_plugin *p = job->plugin;
    char ext[64];
    int ret;

    snprintf(ext, sizeof(ext), "%s%s", job->writer->ext, job->gzip ? ".gz" : "");
    ret = tw_result_name(run->stats->file, sizeof(run->stats->file), p->desc.label, job->task_id,
                         ext, err);
    if (ret == TW_OK && job->s3 != NULL) {
        ret = open_upload(run, err);
        snprintf(run->res.path, sizeof(run->res.path), "%s/%s", job->out_dir, run->stats->file);
    } else if (ret == TW_OK) {
        ret = tw_result_open(&run->res, job->out_dir, run->stats->file, job->tmp_path, err);
        if (ret == TW_OK)
            ret = tw_out_init(&run->out, run->res.fd, run->res.path, job->gzip, err);
    }
    if (ret == TW_OK)
        ret = tw_record_create(p->desc.fields, &run->rec, err);
    if (ret != TW_OK)
        return ret;
    snprintf(run->stats->path, sizeof(run->stats->path), "%s", run->res.path);
    tw_host_init(&run->host, p->desc.index, job->source);
    run->host.driver = job->source_driver;
    ret = p->desc.open(&run->host.api, run->q, &run->cursor, err);
    if (ret != TW_OK) {
        if (ret > 0 || (err != NULL && err->msg[0] == '\0'))
            ret = tw_err_set(err, TW_ESOURCE, "opening the source failed (code %d)", ret);
        tw_err_prefix(err, "plugin %s", p->desc.index);
        return ret;
    }
    run->cursor_open = true;
    ret = job->writer->begin(job->writer_arg, &run->out, p->desc.fields, &run->wstate, err);
    if (ret != TW_OK)
        return ret;
    run->writer_open = true;
    return TW_OK;
}

/* Log a dropped record in detail for the first few of each kind; count the rest silently. */
static void note_drop(struct run *run, uint64_t *seen, const char *event, const char *why)
{
    char n[24];

    if (++*seen > LOG_FIRST)
        return;
    snprintf(n, sizeof(n), "%" PRIu64, run->stats->total);
    tw_log(TW_LOG_WARN, event, "index", run->job->plugin->desc.index, "record", n, "reason", why,
           NULL);
}

/*
 * Read, check, filter and write every record. Returns TW_OK at the end of the records, or
 * the error that stops the run.
 */
static int pump(struct run *run, struct tw_err *err)
{
    const struct tw_export_job *job = run->job;
    const struct tw_plugin *p = job->plugin;
    struct tw_export_stats *st = run->stats;
    uint64_t every = job->progress_every ? job->progress_every : PROGRESS_EVERY;
    uint64_t bad_seen = 0;
    uint64_t foreign_seen = 0;
    const char *bad;
    int64_t chain;
    int rc;

    for (;;) {
        tw_record_reset(run->rec);
        rc = p->desc.next(run->cursor, run->rec, err);
        if (rc == 0)
            return TW_OK;
        if (rc < 0) {
            if (err != NULL && err->msg[0] == '\0')
                tw_err_set(err, rc, "reading the source failed (code %d)", rc);
            tw_err_prefix(err, "plugin %s", p->desc.index);
            return rc;
        }
        st->total++;
        if (tw_record_oom(run->rec))
            return tw_err_set(err, TW_ENOMEM, "out of memory reading record %" PRIu64, st->total);
        if (!tw_record_chain(run->rec, &chain) || chain != job->chain) {
            st->errors++;
            note_drop(run, &foreign_seen, "export.foreign_record",
                      "the plugin returned a record of another chain (or of none): dropped");
        } else if ((bad = tw_record_bad(run->rec)) != NULL) {
            st->errors++;
            note_drop(run, &bad_seen, "export.bad_record", bad);
        } else {
            rc = job->keep != NULL ? job->keep(job->keep_ctx, run->rec, err) : 1;
            if (rc < 0)
                return rc;
            if (rc == 0) {
                st->skips++;
            } else {
                rc = job->writer->row(run->wstate, run->rec, err);
                if (rc < 0)
                    return rc;
                if (rc == TW_WRITER_SKIP)
                    st->skips++;
                else
                    st->success++;
            }
        }
        if (tw_out_status(&run->out) != TW_OK) {
            if (err != NULL)
                *err = run->out.err;
            return run->out.err.code;
        }
        if (job->progress != NULL && st->total % every == 0)
            job->progress(job->progress_ctx, st);
    }
}

/*
 * Seal the upload: every part sent, none of it visible yet. Its marker stays, with the sealed
 * file beside it, and the server completes it (results/publish.h) or aborts it; the caller
 * records size and SHA-256.
 */
static int finish_upload(struct run *run, struct tw_err *err)
{
    struct tw_s3_sealed sealed;
    struct tw_err merr;
    uint64_t sent = 0;
    int ret;

    if (!run->marked) { /* sealing creates a multipart upload now */
        run->marked = true;
        if (tw_results_marker_write(run->job->out_dir, run->key, "", &merr) != TW_OK)
            tw_log(TW_LOG_WARN, "results.marker_failed", "reason", merr.msg, NULL);
    }
    ret = tw_s3_upload_seal(run->up, &sent, &sealed, err);
    run->up = NULL; /* freed by seal, which aborted a failed multipart upload */
    if (ret != TW_OK) {
        settle_failed_upload(run, err);
        return ret;
    }
    if (sent != run->stats->size)
        ret = tw_err_set(err, TW_EINTERNAL, "results: %s: %llu bytes written but %llu uploaded",
                         run->where, (unsigned long long)run->stats->size,
                         (unsigned long long)sent);
    if (ret == TW_OK)
        ret = tw_results_marker_write(run->job->out_dir, run->key, sealed.upload_id, err);
    if (ret == TW_OK)
        ret = tw_results_sealed_write(run->job->out_dir, run->key, &sealed, err);
    if (ret != TW_OK) { /* the server could not publish it: abort it now */
        (void)tw_s3_abort_upload(run->job->s3, run->key, sealed.upload_id, &merr);
        tw_results_sealed_remove(run->job->out_dir);
        tw_results_marker_remove(run->job->out_dir);
    }
    tw_s3_sealed_fini(&sealed);
    run->marked = run->marked_id = false;
    return ret;
}

/* Close the writer and the stream, sync and rename (or seal the upload). */
static int finish(struct run *run, struct tw_err *err)
{
    int ret;

    run->job->plugin->desc.close(run->cursor);
    run->cursor_open = false;
    ret = run->job->writer->end(run->wstate, err);
    if (ret != TW_OK)
        return ret;
    ret = tw_out_finish(&run->out, &run->stats->size, run->stats->sha256, err);
    if (ret != TW_OK)
        return ret;
    if (run->up != NULL)
        return finish_upload(run, err);
    return tw_result_publish(&run->res, err);
}

static void cleanup(struct run *run)
{
    if (run->cursor_open)
        run->job->plugin->desc.close(run->cursor);
    if (run->writer_open)
        run->job->writer->destroy(run->wstate);
    tw_out_fini(&run->out);
    if (run->up != NULL) {
        tw_s3_upload_abort(run->up);
        run->up = NULL;
        settle_failed_upload(run, NULL);
    }
    tw_result_abort(&run->res);
    tw_record_destroy(run->rec);
    tw_query_fini(&run->own_query);
}

int tw_export_run(const struct tw_export_job *job, struct tw_export_stats *stats,
                  struct tw_err *err)
{
    struct run run;
    int ret;

    memset(stats, 0, sizeof(*stats));
    memset(&run, 0, sizeof(run));
    run.res.fd = -1;
    run.job = job;
    run.stats = stats;
    tw_err_clear(err);
    ret = check_job(job, err);
    if (ret != TW_OK)
        return ret;
    tw_query_init(&run.own_query, job->chain, job->run_start, TW_JOIN_ALL);
    run.q = job->query != NULL ? job->query : &run.own_query;
    /* The chain and the clock are the engine's to say, whoever built the conditions. */
    run.q->chain = job->chain;
    run.q->run_start = job->run_start;
    run.q->window = job->since;
    run.q->window_from = job->since_from;
    run.q->window_to = job->run_start;
    tw_query_clear_applied(run.q);
    ret = start(&run, err);
    if (ret == TW_OK)
        ret = pump(&run, err);
    if (ret == TW_OK)
        ret = finish(&run, err);
    if (ret == TW_OK && job->progress != NULL)
        job->progress(job->progress_ctx, stats);
    if (ret != TW_OK && run.up != NULL) { /* failed midway: no object, no parts left */
        tw_s3_upload_abort(run.up);
        run.up = NULL;
        settle_failed_upload(&run, err);
    }
    cleanup(&run);
    if (ret != TW_OK) {
        stats->size = 0;
        stats->sha256[0] = '\0';
    }
    return ret;
}
