/*
 * The SQLite task store: opening, migrating, the statement cache, transactions and the small
 * helpers the other store files share (store_int.h).
 *
 * Connection settings: WAL (readers never block the one writer, and a crash loses at most the
 * last transactions since the checkpoint, never consistency), synchronous=NORMAL (safe in WAL;
 * FULL would fsync on every commit and cap the rate of state changes), foreign_keys=ON (logs and
 * idempotency keys follow their task), a busy timeout (a backup tool or `sqlite3` shell may hold
 * a lock briefly). The parent process is the only writer, so no retry loop is needed above it.
 */
#include "store/store_int.h" /* first: it names the SQLite driver's functions */

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "core/mem.h"
#include "store/store_int.h"

#define BUSY_TIMEOUT_MS 5000

int tw_store_fail(struct tw_store *s, int rc, const char *what, struct tw_err *err)
{
    const char *msg = sqlite3_errmsg(s->db);
    int code = TW_ESTORE;

    if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
        code = TW_ECONFLICT;
    else if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
        code = TW_ENOTFOUND;
    else if (rc == SQLITE_NOMEM)
        code = TW_ENOMEM;
    tw_store_note_write(s, rc);
    return tw_err_set(err, code, "store: %s: %s", what, msg);
}

sqlite3_stmt *tw_store_stmt(struct tw_store *s, enum tw_stmt id)
{
    return s->stmts[id];
}

void tw_store_done(sqlite3_stmt *q)
{
    /* reset's return repeats the step's error, which the caller has already reported */
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
}

int tw_store_step(struct tw_store *s, sqlite3_stmt *q, const char *what, struct tw_err *err)
{
    int rc;

    /* a database file removed or replaced under us: writes would go nowhere lasting */
    if (s->gone && !sqlite3_stmt_readonly(q))
        return tw_err_set(err, TW_ESTORE, "%s", s->why);
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    return tw_store_fail(s, rc, what, err);
}

int tw_store_bind_text(sqlite3_stmt *q, int i, const char *v)
{
    if (v == NULL)
        return sqlite3_bind_null(q, i);
    /* STATIC: every caller resets the statement (tw_store_done) before v goes away */
    return sqlite3_bind_text(q, i, v, -1, SQLITE_STATIC);
}

int tw_store_col_str(sqlite3_stmt *q, int i, char **out)
{
    const unsigned char *text;

    *out = NULL;
    if (sqlite3_column_type(q, i) == SQLITE_NULL)
        return TW_OK;
    text = sqlite3_column_text(q, i);
    if (text == NULL)
        return TW_ENOMEM; /* a non-NULL value that SQLite could not convert: out of memory */
    *out = tw_strndup((const char *)text, (size_t)sqlite3_column_bytes(q, i));
    return *out == NULL ? TW_ENOMEM : TW_OK;
}

int tw_store_grow(void **arr, size_t *cap, size_t n, size_t elem)
{
    size_t ncap;
    void *p;

    if (n < *cap) {
        memset((char *)*arr + n * elem, 0, elem);
        return TW_OK;
    }
    ncap = *cap ? *cap * 2 : 16;
    if (ncap > SIZE_MAX / elem)
        return TW_ENOMEM;
    p = tw_realloc(*arr, ncap * elem);
    if (p == NULL)
        return TW_ENOMEM;
    *arr = p;
    *cap = ncap;
    memset((char *)p + n * elem, 0, elem);
    return TW_OK;
}

/* Run one cached control statement (BEGIN, COMMIT, SAVEPOINT ...). */
static int run_ctl(struct tw_store *s, enum tw_stmt id, const char *what, struct tw_err *err)
{
    sqlite3_stmt *q = s->stmts[id];
    int ret = tw_store_step(s, q, what, err);

    tw_store_done(q);
    return ret < 0 ? ret : TW_OK;
}

static int op_begin(struct tw_store *s, enum tw_stmt begin, struct tw_err *err)
{
    int ret;

    if (s->tx_depth == 0) {
        s->tx_aborted = false;
        ret = run_ctl(s, begin, "begin transaction", err);
    } else {
        ret = run_ctl(s, TW_STMT_SAVEPOINT, "savepoint", err);
    }
    if (ret == TW_OK)
        s->tx_depth++;
    return ret;
}

int tw_store_op_begin(struct tw_store *s, struct tw_err *err)
{
    return op_begin(s, TW_STMT_BEGIN, err);
}

/* Undo the innermost level; never fails from the caller's point of view. */
static void op_rollback(struct tw_store *s)
{
    s->tx_depth--;
    tw_store_quota_forget(s); /* task inserts it noted may be undone */
    /*
     * Some errors (disk full, I/O, out of memory) make SQLite roll back the whole transaction
     * on its own; then there is no savepoint left to return to, and the outer levels must fail.
     */
    if (sqlite3_get_autocommit(s->db)) {
        if (s->tx_depth > 0)
            s->tx_aborted = true;
        return;
    }
    if (s->tx_depth == 0) {
        run_ctl(s, TW_STMT_ROLLBACK, "rollback", NULL);
        return;
    }
    run_ctl(s, TW_STMT_ROLLBACK_TO, "rollback to savepoint", NULL);
    run_ctl(s, TW_STMT_RELEASE, "release savepoint", NULL);
}

int tw_store_op_end(struct tw_store *s, int ret, struct tw_err *err)
{
    if (s->tx_depth <= 0)
        return tw_err_set(err, TW_EINTERNAL, "store: commit without a transaction");
    if (ret == TW_OK && s->tx_aborted && s->tx_depth == 1)
        ret = tw_err_set(err, TW_ESTORE,
                         "store: commit: the transaction was rolled back "
                         "after an earlier error");
    if (ret != TW_OK) {
        op_rollback(s);
        return ret;
    }
    ret = run_ctl(s, s->tx_depth == 1 ? TW_STMT_COMMIT : TW_STMT_RELEASE, "commit", err);
    if (ret != TW_OK) {
        op_rollback(s);
        return ret;
    }
    if (s->tx_depth == 1)
        tw_store_note_write(s, SQLITE_OK); /* a commit reached the disk: writes work */
    s->tx_depth--;
    return TW_OK;
}

int tw_store_begin(struct tw_store *s, struct tw_err *err)
{
    return tw_store_op_begin(s, err);
}

int tw_store_begin_read(struct tw_store *s, struct tw_err *err)
{
    return op_begin(s, TW_STMT_BEGIN_READ, err);
}

int tw_store_commit(struct tw_store *s, struct tw_err *err)
{
    return tw_store_op_end(s, TW_OK, err);
}

void tw_store_rollback(struct tw_store *s)
{
    if (s->tx_depth > 0)
        op_rollback(s);
}

static int user_version(sqlite3 *db, int *out, struct tw_err *err)
{
    sqlite3_stmt *q = NULL;
    int rc;

    rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &q, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(q);
    if (rc != SQLITE_ROW) {
        tw_err_set(err, TW_ESTORE, "store: read schema version: %s", sqlite3_errmsg(db));
        sqlite3_finalize(q);
        return TW_ESTORE;
    }
    *out = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    return TW_OK;
}

/* One migration step in one transaction; re-checks the version under the write lock. */
static int migrate_step(sqlite3 *db, int to, struct tw_err *err)
{
    const struct tw_store_migration *m = &tw_store_migrations[to - 1];
    char pragma[48];
    int have = 0;
    int ret = TW_ESTORE;

    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return tw_err_set(err, TW_ESTORE, "store: migration %d (%s): begin: %s", to, m->what,
                          sqlite3_errmsg(db));
    ret = user_version(db, &have, err);
    if (ret != TW_OK)
        goto out;
    if (have >= to) {
        ret = TW_OK; /* another process migrated while we waited for the lock */
        goto out;
    }
    /* PRAGMA takes no parameters; the number is ours, never input */
    snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", to);
    if (sqlite3_exec(db, m->sql, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(db, pragma, NULL, NULL, NULL) != SQLITE_OK) {
        ret = tw_err_set(err, TW_ESTORE, "store: migration %d (%s): %s", to, m->what,
                         sqlite3_errmsg(db));
        goto out;
    }
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        ret = tw_err_set(err, TW_ESTORE, "store: migration %d (%s): commit: %s", to, m->what,
                         sqlite3_errmsg(db));
        goto out;
    }
    return TW_OK;
out:
    sqlite3_exec(db, ret == TW_OK ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL);
    return ret;
}

int tw_store_migrate(sqlite3 *db, int target, struct tw_err *err)
{
    int have = 0;
    int ret;
    int v;

    ret = user_version(db, &have, err);
    if (ret != TW_OK)
        return ret;
    if (have > tw_store_migration_count)
        return tw_err_set(err, TW_ESTORE,
                          "store: the database has schema version %d but this taskwheel knows "
                          "only up to version %d; run a newer taskwheel or restore a backup",
                          have, tw_store_migration_count);
    if (target < 1 || target > tw_store_migration_count)
        return tw_err_set(err, TW_EINTERNAL, "store: no schema version %d", target);
    for (v = have + 1; v <= target; v++) {
        ret = migrate_step(db, v, err);
        if (ret != TW_OK)
            return ret;
    }
    return TW_OK;
}

static int configure(sqlite3 *db, const char *path, struct tw_err *err)
{
    sqlite3_stmt *q = NULL;
    const unsigned char *mode;
    int ret = TW_ESTORE;

    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
    if (sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &q, NULL) != SQLITE_OK ||
        sqlite3_step(q) != SQLITE_ROW) {
        tw_err_set(err, TW_ESTORE, "store: open %s: journal_mode: %s", path, sqlite3_errmsg(db));
        goto out;
    }
    mode = sqlite3_column_text(q, 0);
    /* an in-memory database (tests) answers "memory": there is no journal to share */
    if (mode == NULL ||
        (strcmp((const char *)mode, "wal") != 0 && strcmp((const char *)mode, "memory") != 0)) {
        tw_err_set(err, TW_ESTORE, "store: open %s: cannot use WAL mode (journal_mode is %s)", path,
                   mode ? (const char *)mode : "unknown");
        goto out;
    }
    if (sqlite3_exec(db, "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON", NULL, NULL,
                     NULL) != SQLITE_OK) {
        tw_err_set(err, TW_ESTORE, "store: open %s: %s", path, sqlite3_errmsg(db));
        goto out;
    }
    ret = TW_OK;
out:
    sqlite3_finalize(q);
    return ret;
}

/*
 * Create the database file 0600 before SQLite does (it would use 0644 less the umask): it
 * holds password hashes and token MACs. SQLite gives the -wal and -shm files the mode of the
 * database file. An existing file keeps its mode (the server warns at start when others may
 * read it). Not for ":memory:" or "file:" URIs.
 */
static int create_private(const char *path, struct tw_err *err)
{
    int fd;

    if (path[0] == '\0' || strcmp(path, ":memory:") == 0 || strncmp(path, "file:", 5) == 0)
        return TW_OK;
    /* only a new file: an existing one (or a link to one) is SQLite's to open, maybe read-only */
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd == -1 && errno == EEXIST)
        return TW_OK;
    if (fd == -1)
        return tw_err_set(err, TW_ESTORE, "store: open %s: %s", path, strerror(errno));
    close(fd);
    return TW_OK;
}

/* Remember what path is now, so tw_store_check_file can tell if it is removed or replaced. */
static int remember_file(struct tw_store *s, const char *path)
{
    struct stat st;

    s->path = tw_strndup(path, strlen(path));
    if (s->path == NULL)
        return TW_ENOMEM;
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
        s->dev = (uint64_t)st.st_dev;
        s->ino = (uint64_t)st.st_ino;
    }
    return TW_OK;
}

int tw_store_open_sqlite(const char *path, struct tw_store **out, struct tw_err *err)
{
    struct tw_store *s;
    int ret;
    int i;

    *out = NULL;
    s = tw_calloc(1, sizeof(*s));
    if (s == NULL)
        return tw_err_set(err, TW_ENOMEM, "store: out of memory");
    s->head.drv = &tw_sqlite_driver;
    ret = create_private(path, err);
    if (ret != TW_OK)
        goto fail;
    if (remember_file(s, path) != TW_OK) {
        ret = tw_err_set(err, TW_ENOMEM, "store: out of memory");
        goto fail;
    }
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        ret = tw_err_set(err, TW_ESTORE, "store: open %s: %s", path,
                         s->db ? sqlite3_errmsg(s->db) : "out of memory");
        goto fail;
    }
    ret = configure(s->db, path, err);
    if (ret != TW_OK)
        goto fail;
    ret = tw_store_migrate(s->db, tw_store_migration_count, err);
    if (ret != TW_OK)
        goto fail;
    for (i = 0; i < TW_STMT_COUNT; i++) {
        if (tw_store_sql[i] == NULL) {
            ret = tw_err_set(err, TW_EINTERNAL, "store: statement %d has no SQL", i);
            goto fail;
        }
        if (sqlite3_prepare_v3(s->db, tw_store_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->stmts[i],
                               NULL) != SQLITE_OK) {
            ret = tw_err_set(err, TW_ESTORE, "store: prepare statement %d: %s", i,
                             sqlite3_errmsg(s->db));
            goto fail;
        }
    }
    *out = s;
    return TW_OK;
fail:
    tw_store_close(s);
    return ret;
}

void tw_store_close(struct tw_store *s)
{
    int i, j;

    if (s == NULL)
        return;
    for (i = 0; i < TW_STMT_COUNT; i++)
        sqlite3_finalize(s->stmts[i]);
    sqlite3_finalize(s->quota_dv);
    for (i = 0; i < TW_IN_COUNT; i++)
        for (j = 0; j < TW_IN_BUCKETS; j++)
            sqlite3_finalize(s->in_stmts[i][j]);
    /* an open transaction here is a caller bug; closing rolls it back, which is the safe end */
    sqlite3_close(s->db);
    tw_free(s->path);
    tw_free(s);
}

int tw_store_ping(struct tw_store *s, struct tw_err *err)
{
    sqlite3_stmt *q = s->stmts[TW_STMT_PING];
    int ret = tw_store_step(s, q, "ping", err);

    tw_store_done(q);
    if (ret == 1)
        return TW_OK;
    return ret < 0 ? ret : tw_err_set(err, TW_ESTORE, "store: ping: no answer");
}

int tw_store_schema_version(struct tw_store *s)
{
    sqlite3_stmt *q = s->stmts[TW_STMT_USER_VERSION];
    int v = -1;

    if (sqlite3_step(q) == SQLITE_ROW)
        v = sqlite3_column_int(q, 0);
    tw_store_done(q);
    return v;
}
