/*
 * WAL checkpoints off the event loop: a thread with its own connection copies the WAL back
 * into the database file, so the loop's commits never wait for those fsyncs.
 *
 * Why: SQLite's automatic checkpoint runs inside the commit that takes the WAL past 1,000
 * pages, on the connection that committed -- here the event loop's. It fsyncs the WAL, writes
 * the pages back and fsyncs the database: 4-9 ms on the bench VM, about once a second while
 * runs start and end (bench_sched_lateness 1000 10 100), usually in the middle of a burst of
 * starts, whose later runs all waited for it.
 *
 * How: a wal hook on the loop's connection (replacing the automatic checkpoint) wakes the
 * thread when the WAL holds CKPT_PAGES pages or more; the thread runs a PASSIVE checkpoint,
 * which neither waits for nor blocks the writer or readers. The loop's next write transaction
 * restarts the WAL from its start once everything is copied back (SQLite does that itself; with
 * synchronous=NORMAL that costs it one small fsync of the WAL header). Should the thread fall
 * behind -- a reader keeping old pages alive, a slow disk -- a commit that finds
 * CKPT_INLINE_PAGES in the WAL checkpoints inline, as SQLite would have, so the WAL stays
 * bounded. Durability is unchanged: a commit is as durable as before (synchronous=NORMAL), and
 * a checkpoint only moves committed pages.
 *
 * Forks: the server forks workers (a fallback path of the runner) while this thread may be
 * inside SQLite holding one of its global mutexes, which the child would inherit locked. The
 * thread holds fork_lock whenever it is in SQLite, and a pthread_atfork handler takes it
 * around every fork(), so no fork happens mid-checkpoint.
 */
#include "store/store_int.h" /* first: it names the SQLite driver's functions */

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>

#include <sqlite3.h>

#include "core/mem.h"

#define CKPT_PAGES 1000        /* SQLite's own automatic checkpoint threshold */
#define CKPT_INLINE_PAGES 8000 /* the thread is behind: checkpoint in the commit, as SQLite does */

struct tw_store_ckpt {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool want;   /* a checkpoint is asked for */
    bool stop;   /* the thread must end */
    sqlite3 *db; /* the thread's own connection */
};

static pthread_mutex_t fork_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;

static void fork_prepare(void)
{
    pthread_mutex_lock(&fork_lock);
}

static void fork_after(void)
{
    pthread_mutex_unlock(&fork_lock);
}

static void register_fork(void)
{
    (void)pthread_atfork(fork_prepare, fork_after, fork_after);
}

static void *ckpt_main(void *arg)
{
    struct tw_store_ckpt *c = arg;
    sigset_t all;

    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL); /* the loop's signals stay the loop's */
    pthread_mutex_lock(&c->mu);
    for (;;) {
        while (!c->want && !c->stop)
            pthread_cond_wait(&c->cv, &c->mu);
        if (c->stop)
            break;
        c->want = false;
        pthread_mutex_unlock(&c->mu);
        pthread_mutex_lock(&fork_lock);
        (void)sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        pthread_mutex_unlock(&fork_lock);
        pthread_mutex_lock(&c->mu);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

/* After every commit on the loop's connection, with the pages now in the WAL. */
static int on_wal(void *arg, sqlite3 *db, const char *name, int pages)
{
    struct tw_store_ckpt *c = arg;

    if (pages >= CKPT_INLINE_PAGES)
        return sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL),
               SQLITE_OK;
    if (pages >= CKPT_PAGES) {
        pthread_mutex_lock(&c->mu);
        c->want = true;
        pthread_cond_signal(&c->cv);
        pthread_mutex_unlock(&c->mu);
    }
    return SQLITE_OK;
}

static void ckpt_free(struct tw_store_ckpt *c)
{
    sqlite3_close(c->db);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    tw_free(c);
}

void tw_store_ckpt_start(struct tw_store *s, const char *path)
{
    struct tw_store_ckpt *c;

    if (path[0] == '\0' || strcmp(path, ":memory:") == 0 || strncmp(path, "file:", 5) == 0)
        return; /* no WAL to share: SQLite's automatic checkpoint stays */
    c = tw_calloc(1, sizeof(*c));
    if (c == NULL)
        return;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    pthread_once(&fork_once, register_fork);
    if (sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
        sqlite3_exec(c->db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL) != SQLITE_OK ||
        pthread_create(&c->th, NULL, ckpt_main, c) != 0) {
        ckpt_free(c); /* the automatic checkpoint stays */
        return;
    }
    s->ckpt = c;
    sqlite3_wal_hook(s->db, on_wal, c);
}

void tw_store_ckpt_stop(struct tw_store *s)
{
    struct tw_store_ckpt *c = s->ckpt;

    if (c == NULL)
        return;
    sqlite3_wal_hook(s->db, NULL, NULL);
    pthread_mutex_lock(&c->mu);
    c->stop = true;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->th, NULL);
    ckpt_free(c);
    s->ckpt = NULL;
}
