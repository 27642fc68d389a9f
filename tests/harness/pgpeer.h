/*
 * A throwaway PostgreSQL 15 cluster for the tests, started by the test itself: initdb in a new
 * temporary directory, run as the unprivileged user `nobody` when the test runs as root
 * (initdb refuses root), postgres listening only on a Unix socket in that directory (no TCP
 * port, so clusters of parallel tests never collide), trust authentication for the one
 * superuser "tw". Nothing here depends on a server someone else started; tw_pgpeer_fini stops
 * the cluster and removes the directory.
 *
 * The binaries come from Debian's postgresql-15 (/usr/lib/postgresql/15/bin); scripts/dev
 * installs it. The functions return 0, or -1 with a sentence in why, so they can run in a
 * Criterion report hook as well as in a test.
 */
#ifndef TW_TESTS_PGPEER_H
#define TW_TESTS_PGPEER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define TW_PGPEER_BIN "/usr/lib/postgresql/15/bin"

struct tw_pgpeer {
    char dir[64];  /* the cluster's directory: data/ inside, the socket in it */
    char data[96]; /* dir/data */
    char dsn[256]; /* libpq connection string of database "tw" */
    bool running;
};

/* Is PostgreSQL 15 installed? When not, why says how to install it. */
bool tw_pgpeer_available(char *why, size_t cap);

/* initdb, start, and create database "tw". */
int tw_pgpeer_start(struct tw_pgpeer *p, char *why, size_t cap);
/* pg_ctl restart (fast shutdown: connections are cut, as in a real restart). */
int tw_pgpeer_restart(struct tw_pgpeer *p, char *why, size_t cap);
/* pg_ctl stop / start on the same data directory. */
int tw_pgpeer_stop(struct tw_pgpeer *p, char *why, size_t cap);
int tw_pgpeer_resume(struct tw_pgpeer *p, char *why, size_t cap);
/* Stop if running and remove the directory. */
void tw_pgpeer_fini(struct tw_pgpeer *p);

/* Run one SQL command (psql -c) against database db ("tw" when NULL). */
int tw_pgpeer_sql(const struct tw_pgpeer *p, const char *db, const char *sql, char *why,
                  size_t cap);
/* The dsn of database db of this cluster into out. */
void tw_pgpeer_dsn(const struct tw_pgpeer *p, const char *db, char *out, size_t cap);

#endif
