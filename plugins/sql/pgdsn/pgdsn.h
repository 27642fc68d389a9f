/*
 * Connecting to PostgreSQL with a dsn that may hold a password, and libpq's reasons with that
 * password masked out: shared by the SQL helper's PostgreSQL source (plugins/sql/sqlsrc_pg.c),
 * the engine's PostgreSQL task store (engine/store/store_pg.c) and the seeder
 * (engine/seed/seed_pg.c), so that the one rule, "a dsn's password reaches no message", is
 * written once.
 *
 * It needs libc and libpq only: no engine header, no plugin ABI. The plugins link it (compiled
 * position-independent, symbols hidden) without depending on the engine, and the engine links
 * it without depending on a plugin. Each caller writes its own sentence (naming its config key,
 * store.dsn or source.dsn) around the reason this gives.
 */
#ifndef TW_PLUGINS_SQL_PGDSN_H
#define TW_PLUGINS_SQL_PGDSN_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

enum tw_pgdsn_status {
    TW_PGDSN_OK = 0,
    TW_PGDSN_UNPARSABLE = -1, /* libpq cannot parse the dsn */
    TW_PGDSN_NOMEM = -2,      /* libpq could not allocate the connection */
    TW_PGDSN_REFUSED = -3,    /* no connection: no server there, no such database, auth... */
};

/*
 * Connect to dsn. connect_timeout (seconds, as text) and application_name are defaults that
 * the dsn's own keys override. On TW_PGDSN_OK *out is the connection (caller PQfinish()es).
 * Otherwise *out is NULL and reason (cap bytes, caller's) holds libpq's reason as
 * tw_pgdsn_reason gives it ("out of memory" for TW_PGDSN_NOMEM).
 */
int tw_pgdsn_connect(const char *dsn, const char *connect_timeout, const char *application_name,
                     PGconn **out, char *reason, size_t cap);

/*
 * msg (a libpq message about dsn; "no reason given" when NULL or empty) into out (cap bytes,
 * caller's) as one line, with every occurrence of the dsn's password replaced by "***". When
 * !parsed (libpq could not parse dsn, so its password cannot be told apart), every "quoted"
 * fragment is replaced by "..." too: libpq quotes the part of the string it could not read.
 */
void tw_pgdsn_reason(const char *dsn, const char *msg, bool parsed, char *out, size_t cap);

#endif /* TW_PLUGINS_SQL_PGDSN_H */
