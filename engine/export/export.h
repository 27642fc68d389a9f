/*
 * The export part: one run's records, from an index plugin through the residual filter into a
 * writer (CSV, JSON, or a Lua formatter plugged in through the same struct tw_writer_ops),
 * into a temporary file in the destination directory that is fsynced and renamed into place
 * only when complete (docs/reference.md §7). Memory does not grow with the number of records: the record
 * is reused, writers stream into a fixed buffer (struct tw_out), and nothing is kept per row.
 *
 *   export.c  the driver, tw_export_run: counts, chain check, progress, cleanup on failure
 *   out.c     the output stream: 1 MiB buffer -> [gzip] -> write(2), SHA-256 while writing
 *   result.c  file naming, temp file + fsync + rename + fsync(dir)
 *   csv.c     RFC 4180 writer (transactions flattened to one row per item)
 *   json.c    JSON array writer
 *   writers.c the built-in writers by name
 *   scalar.c  numbers, money and booleans as text (core/fmt.h), without printf on the hot path
 */
#ifndef TW_EXPORT_EXPORT_H
#define TW_EXPORT_EXPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/err.h"
#include "core/fmt.h"
#include "lua/lua.h"
#include "plugin/plugin.h"
#include "results/s3.h"

/* ---------------------------------------------------------------- output stream */

#define TW_OUT_BUF_BYTES (1u << 20) /* staging buffer: one write(2) per MiB */
#define TW_OUT_RESERVE_MAX 4096     /* largest tw_out_reserve request */

struct tw_out_z;

/*
 * A buffered, write-only stream over a file descriptor, optionally gzip-compressed, hashing
 * (SHA-256) exactly the bytes that reach the file. Errors are sticky: after the first failed
 * write every later write is dropped and tw_out_status reports it, so writers check once per
 * row instead of once per byte.
 */
struct tw_out {
    char *buf;          /* staging buffer, TW_OUT_BUF_BYTES */
    size_t len;         /* bytes staged */
    int fd;             /* destination, borrowed */
    const char *path;   /* for messages, borrowed */
    struct tw_out_z *z; /* gzip state, NULL when not compressing */
    void *sha;          /* EVP_MD_CTX * */
    uint64_t bytes;     /* bytes written to fd so far */
    uint64_t flushes;   /* times the buffer was emptied (writers detect moved bytes) */
    struct tw_err err;  /* first failure; err.code TW_OK while healthy */
    /* Instead of write(2) to fd: hand bytes to put (an object store upload), see init_put. */
    int (*put)(void *ctx, const void *p, size_t n, struct tw_err *err);
    void *put_ctx;
};

/* fd and path are borrowed. TW_OK, or TW_ENOMEM / TW_EINTERNAL with err set. */
int tw_out_init(struct tw_out *o, int fd, const char *path, bool gzip, struct tw_err *err);
/*
 * Like tw_out_init, but the (compressed) bytes go to put(ctx, ...) instead of a descriptor: the
 * streaming upload of results.storage s3. put returns TW_OK or an error with err set, which
 * becomes the stream's sticky error. where names the destination in messages (borrowed).
 */
int tw_out_init_put(struct tw_out *o,
                    int (*put)(void *ctx, const void *p, size_t n, struct tw_err *err), void *ctx,
                    const char *where, bool gzip, struct tw_err *err);
/* Release memory only (the fd is the caller's). Safe on a zeroed or failed struct. */
void tw_out_fini(struct tw_out *o);
/* Hand the staged bytes on (compressing first when gzip). Sticky error on failure. */
void tw_out_flush(struct tw_out *o);
/* Append n bytes, any size. */
void tw_out_write(struct tw_out *o, const void *p, size_t n);
/*
 * Flush everything (ending the gzip stream), then report the file's size and SHA-256 (hex).
 * Does not fsync: tw_result_publish does. Returns TW_OK or the sticky error (copied to err).
 */
int tw_out_finish(struct tw_out *o, uint64_t *bytes, char sha256_hex[65], struct tw_err *err);

static inline int tw_out_status(const struct tw_out *o)
{
    return o->err.code;
}

/* Room for n (<= TW_OUT_RESERVE_MAX) bytes at the returned pointer; commit what you used. */
static inline char *tw_out_reserve(struct tw_out *o, size_t n)
{
    if (TW_OUT_BUF_BYTES - o->len < n)
        tw_out_flush(o);
    return o->buf + o->len;
}

static inline void tw_out_commit(struct tw_out *o, size_t n)
{
    o->len += n;
}

static inline void tw_out_putc(struct tw_out *o, char c)
{
    if (o->len == TW_OUT_BUF_BYTES)
        tw_out_flush(o);
    o->buf[o->len++] = c;
}

static inline void tw_out_lit(struct tw_out *o, const char *s, size_t n)
{
    if (TW_OUT_BUF_BYTES - o->len >= n) {
        memcpy(o->buf + o->len, s, n);
        o->len += n;
    } else {
        tw_out_write(o, s, n);
    }
}

/* ---------------------------------------------------------------- value formatting (scalar.c) */

/*
 * Write a set INT, MONEY, NUMBER or BOOL value as its text (the same in CSV and JSON: 12,
 * 12.50, 0.1, true); false for other types, which each writer quotes its own way.
 */
bool tw_out_scalar(struct tw_out *o, uint32_t type, const struct tw_slot *s);

/* ---------------------------------------------------------------- writers */

#define TW_WRITER_SKIP 1 /* row(): the writer declined the record (counted as a skip) */

/*
 * A writer (format). A run calls begin once, row per kept record, end once after the last
 * record, and destroy always after a successful begin (also when the run fails midway).
 *   begin   arg: the job's writer_arg (e.g. a Lua formatter's state), borrowed. out: the
 *           stream to write to, borrowed until destroy. fields: the index's columns. Sets
 *           *state. TW_OK, or an error with err set (nothing written counts).
 *   row     TW_OK (written), TW_WRITER_SKIP, or a negative error that fails the run.
 *   end     the footer; TW_OK or an error.
 * Write errors of the stream are sticky (tw_out_status); the driver checks them after each
 * row, so a writer need not.
 */
struct tw_writer_ops {
    const char *name; /* export_format, "csv" */
    const char *ext;  /* file extension without the dot, "csv" (".gz" is added for gzip) */
    int (*begin)(void *arg, struct tw_out *out, const struct tw_field *fields, void **state,
                 struct tw_err *err);
    int (*row)(void *state, const struct tw_record *r, struct tw_err *err);
    int (*end)(void *state, struct tw_err *err);
    void (*destroy)(void *state);
};

extern const struct tw_writer_ops tw_csv_writer;
extern const struct tw_writer_ops tw_json_writer;
/* A Lua formatter (lua_writer.c); begin's arg is a struct tw_lua_writer_arg. */
extern const struct tw_writer_ops tw_lua_writer;

/*
 * What tw_lua_writer needs, all borrowed for the run. Its ops' ext is only a placeholder:
 * copy the ops and set ext = name ("ndjson" -> Label_Export-1.ndjson).
 */
struct tw_lua_writer_arg {
    const char *path;            /* the formatter, lua_dir "/formats/" name ".lua" */
    const char *name;            /* export_format, e.g. "ndjson" */
    struct tw_lua_limits limits; /* lua.max_memory, lua.max_instructions */
    int64_t run_start;           /* tw.now(), epoch seconds UTC */
};

/* The built-in writers (writers.c): csv, json; NULL-terminated. */
extern const struct tw_writer_ops *const tw_writers[];
/* The built-in writer named name ("csv", "json"), or NULL. */
const struct tw_writer_ops *tw_writer_find(const char *name);

/* CSV header name of a LIST sub-field (docs/reference.md §7.2): "item_" + name without "basket_"/"item_". */
void tw_csv_item_column(const char *sub, char *out, size_t size);

/* ---------------------------------------------------------------- result files */

struct tw_result {
    char dir[4096];  /* destination directory */
    char name[256];  /* final file name, "Wallet_Export-12345.csv" */
    char tmp[4352];  /* temporary path while writing */
    char path[4352]; /* final path */
    int fd;          /* open temp file, -1 when closed */
    int dfd;         /* the directory, held open while has_dfd (names resolve under it) */
    bool has_dfd;
};

/* "{label}_Export-{task_id}.{ext}" into out; TW_EINVAL when it does not fit or label is bad. */
int tw_result_name(char *out, size_t size, const char *label, int64_t task_id, const char *ext,
                   struct tw_err *err);
/*
 * Create dir and its missing parents (0750). The export makes its task's directory as it opens
 * its output (a result file, or an S3 upload's marker and sealed file); the worker does not.
 */
int tw_result_dir_make(const char *dir, struct tw_err *err);
/*
 * Create dir (and parents, 0750) if needed and open a temp file in it for name: tmp when not
 * NULL (the runner's per-task ".partial", which it removes when a run is cancelled or dies; a
 * file or link of that name is removed first and a new file created, so a planted symbolic
 * link never redirects the write), else a unique ".{name}.tmp-XXXXXX". The directory is held
 * open and the last two levels of dir (chain and task) are opened without following links;
 * every later name is resolved from that descriptor (openat, renameat, unlinkat).
 */
int tw_result_open(struct tw_result *res, const char *dir, const char *name, const char *tmp,
                   struct tw_err *err);
/* fsync the temp file, close it, rename it to its final name, fsync the directory. */
int tw_result_publish(struct tw_result *res, struct tw_err *err);
/* Close and unlink the temp file (no-op after publish or on a zeroed struct with fd -1). */
void tw_result_abort(struct tw_result *res);
/*
 * Remove temp files left in dir by runs that died (crash, kill -9): their output never becomes
 * a result. Returns how many were removed.
 */
int tw_result_sweep(const char *dir);

/* ---------------------------------------------------------------- the driver */

struct tw_export_stats {
    uint64_t total;   /* records read from the source after pushdown */
    uint64_t success; /* records written */
    uint64_t skips;   /* filtered out by the engine after reading, or declined by the writer */
    uint64_t errors;  /* could not be written (bad value, foreign chain); total = sum of three */
    uint64_t size;    /* result file bytes */
    char sha256[65];  /* hex SHA-256 of the result file */
    char file[256];   /* result file name */
    char path[4352];  /* result file path */
};

struct tw_export_job {
    const struct tw_plugin *plugin;     /* index to read (from the registry), borrowed */
    const char *source;                 /* source setting handed to the plugin (source.path) */
    const char *source_driver;          /* source.driver; NULL: "sqlite" (path in source), */
                                        /* "postgresql": source is source.dsn (never logged) */
    int64_t chain;                      /* the only chain exported; enforced per record */
    int64_t task_id;                    /* names the file */
    int64_t run_start;                  /* epoch seconds UTC; the plugin's "now" */
    const struct tw_writer_ops *writer; /* format, borrowed */
    void *writer_arg;                   /* passed to writer->begin */
    bool gzip;                          /* target.compression: gzip */
    const char *out_dir;                /* destination directory (created if missing) */
    bool since;           /* target.since (docs/reference.md §13): only the changes in */
    int64_t since_from;   /* [since_from, run_start); INT64_MIN: from the beginning */
    const char *tmp_path; /* temp file to write before the rename, in out_dir;
                                       NULL: a unique name (see tw_result_open) */
    /*
     * results.storage s3: stream the result to the object <chain>/<task_id>/<file> of this
     * bucket (prefix added by s3.c) instead of a file in out_dir, and seal the upload rather
     * than complete it: the object stays invisible, and out_dir holds the marker of the upload
     * and what completes it (tw_results_sealed_write), for the server to publish once it checked
     * that the run still holds its claim (results/publish.h). NULL: a local file.
     */
    const struct tw_s3_conf *s3;
    struct tw_query *query; /* pushdown conditions or NULL; its chain and run start
                                       are overwritten with this job's, and afterwards it
                                       records which conditions the plugin applied */
    /*
     * Residual per-record filter (the segment's non-pushed rules), or NULL to keep all:
     * returns 1 keep, 0 skip, or a negative code with err set to fail the run (a Lua rule
     * over its budget). Called only for records that passed the chain check.
     */
    int (*keep)(void *ctx, const struct tw_record *r, struct tw_err *err);
    void *keep_ctx;
    /* Called with the running counts every progress_every records read (0: 10000). */
    void (*progress)(void *ctx, const struct tw_export_stats *s);
    void *progress_ctx;
    uint64_t progress_every;
};

/*
 * Run one export. On TW_OK the result file is in place and stats describe it. On failure
 * nothing is published (the temp file is removed), stats hold the counts so far and err says
 * what to do about it ("plugin transactions: source database unavailable: unable to open
 * database file", "results: disk full writing /var/r/x.csv (No space left on device)").
 */
int tw_export_run(const struct tw_export_job *job, struct tw_export_stats *stats,
                  struct tw_err *err);

#endif /* TW_EXPORT_EXPORT_H */
