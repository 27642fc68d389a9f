/* A throwaway PostgreSQL cluster for the tests (see pgpeer.h). */
#include "pgpeer.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define PG_PORT "5432" /* names the socket file only: postgres listens on no TCP port */

static int fail(char *why, size_t cap, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, cap, fmt, ap);
    va_end(ap);
    return -1;
}

bool tw_pgpeer_available(char *why, size_t cap)
{
    if (access(TW_PGPEER_BIN "/initdb", X_OK) == 0 && access(TW_PGPEER_BIN "/pg_ctl", X_OK) == 0)
        return true;
    fail(why, cap,
         "PostgreSQL 15 is not installed (%s/initdb missing): run `scripts/dev test` or "
         "`apt-get install postgresql-15`",
         TW_PGPEER_BIN);
    return false;
}

/* The last bytes of file path into why, after prefix. */
static int fail_with_log(char *why, size_t cap, const char *prefix, const char *path)
{
    char tail[600] = "";
    FILE *f = fopen(path, "r");

    if (f != NULL) {
        long size;
        size_t got;

        fseek(f, 0, SEEK_END);
        size = ftell(f);
        fseek(f, size > (long)sizeof(tail) - 1 ? size - (long)sizeof(tail) + 1 : 0, SEEK_SET);
        got = fread(tail, 1, sizeof(tail) - 1, f);
        tail[got] = '\0';
        fclose(f);
    }
    return fail(why, cap, "%s: %s", prefix, tail);
}

/*
 * Run argv (a PostgreSQL program) with stdout and stderr appended to dir/cmd.log, as nobody
 * when we are root (initdb and postgres refuse root). 0 when it exits 0.
 */
static int run(const struct tw_pgpeer *p, char *const argv[], char *why, size_t cap)
{
    char log[128];
    int status;
    pid_t pid;

    snprintf(log, sizeof(log), "%s/cmd.log", p->dir);
    pid = fork();
    if (pid < 0)
        return fail(why, cap, "fork: %s", strerror(errno));
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        int null = open("/dev/null", O_RDONLY);

        if (fd < 0 || null < 0)
            _exit(125);
        dup2(null, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        if (geteuid() == 0) {
            const struct passwd *pw = getpwnam("nobody");

            if (pw == NULL || setgroups(0, NULL) != 0 || setgid(pw->pw_gid) != 0 ||
                setuid(pw->pw_uid) != 0)
                _exit(126);
        }
        unsetenv("PGDATA");
        execv(argv[0], argv);
        _exit(127);
    }
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return fail(why, cap, "waitpid: %s", strerror(errno));
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    {
        char prefix[160];

        snprintf(prefix, sizeof(prefix), "%s failed (status %d)", argv[0], status);
        return fail_with_log(why, cap, prefix, log);
    }
}

void tw_pgpeer_dsn(const struct tw_pgpeer *p, const char *db, char *out, size_t cap)
{
    snprintf(out, cap, "host=%s port=" PG_PORT " user=tw dbname=%s", p->dir,
             db != NULL ? db : "tw");
}

static int pg_start(struct tw_pgpeer *p, char *why, size_t cap)
{
    char opts[256], log[128];
    char *argv[] = { TW_PGPEER_BIN "/pg_ctl",
                     "start",
                     "-w",
                     "-t",
                     "120",
                     "-D",
                     p->data,
                     "-l",
                     log,
                     "-o",
                     opts,
                     NULL };

    snprintf(log, sizeof(log), "%s/postgres.log", p->dir);
    /* -F: no fsync (a throwaway cluster); -k: the socket directory; no TCP listener */
    snprintf(opts, sizeof(opts),
             "-F -k %s -p " PG_PORT " -c listen_addresses='' -c shared_buffers=16MB "
             "-c max_connections=60",
             p->dir);
    if (run(p, argv, why, cap) != 0)
        return fail_with_log(why, cap, "pg_ctl start failed; postgres.log", log);
    p->running = true;
    return 0;
}

int tw_pgpeer_start(struct tw_pgpeer *p, char *why, size_t cap)
{
    char *initdb[] = { TW_PGPEER_BIN "/initdb",
                       "-D",
                       NULL,
                       "-U",
                       "tw",
                       "-A",
                       "trust",
                       "-E",
                       "UTF8",
                       "--locale=C",
                       "--no-sync",
                       NULL };

    memset(p, 0, sizeof(*p));
    if (!tw_pgpeer_available(why, cap))
        return -1;
    snprintf(p->dir, sizeof(p->dir), "/tmp/tw-pg-XXXXXX");
    if (mkdtemp(p->dir) == NULL)
        return fail(why, cap, "mkdtemp: %s", strerror(errno));
    /* reachable by every local user (the socket is here); data/ itself is 0700 */
    chmod(p->dir, 0755);
    if (geteuid() == 0) {
        const struct passwd *pw = getpwnam("nobody");

        if (pw == NULL)
            return fail(why, cap, "no user nobody to run PostgreSQL as (initdb refuses root)");
        if (chown(p->dir, pw->pw_uid, pw->pw_gid) != 0)
            return fail(why, cap, "chown %s: %s", p->dir, strerror(errno));
    }
    snprintf(p->data, sizeof(p->data), "%s/data", p->dir);
    tw_pgpeer_dsn(p, "tw", p->dsn, sizeof(p->dsn));
    initdb[2] = p->data;
    if (run(p, initdb, why, cap) != 0)
        return -1;
    if (pg_start(p, why, cap) != 0)
        return -1;
    return tw_pgpeer_sql(p, "postgres", "CREATE DATABASE tw", why, cap);
}

int tw_pgpeer_stop(struct tw_pgpeer *p, char *why, size_t cap)
{
    char *argv[] = {
        TW_PGPEER_BIN "/pg_ctl", "stop", "-w", "-t", "120", "-m", "fast", "-D", p->data, NULL
    };

    if (!p->running)
        return 0;
    if (run(p, argv, why, cap) != 0)
        return -1;
    p->running = false;
    return 0;
}

int tw_pgpeer_resume(struct tw_pgpeer *p, char *why, size_t cap)
{
    return p->running ? 0 : pg_start(p, why, cap);
}

int tw_pgpeer_restart(struct tw_pgpeer *p, char *why, size_t cap)
{
    if (tw_pgpeer_stop(p, why, cap) != 0)
        return -1;
    return pg_start(p, why, cap);
}

int tw_pgpeer_sql(const struct tw_pgpeer *p, const char *db, const char *sql, char *why, size_t cap)
{
    char dsn[256];
    char *argv[] = { TW_PGPEER_BIN "/psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", dsn, "-c",
                     (char *)sql,           NULL };

    tw_pgpeer_dsn(p, db, dsn, sizeof(dsn));
    return run(p, argv, why, cap);
}

void tw_pgpeer_fini(struct tw_pgpeer *p)
{
    char why[512];
    char *argv[] = { "/bin/rm", "-rf", p->dir, NULL };
    int status;
    pid_t pid;

    if (p->dir[0] == '\0')
        return;
    tw_pgpeer_stop(p, why, sizeof(why));
    /* rm -rf of our own mkdtemp directory only */
    pid = fork();
    if (pid == 0) {
        execv(argv[0], argv);
        _exit(127);
    }
    if (pid > 0)
        waitpid(pid, &status, 0);
    p->dir[0] = '\0';
}
