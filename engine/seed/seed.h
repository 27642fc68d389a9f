/*
 * The demo-data seeder behind `taskwheel seed` (docs/reference.md §8): fills the source database
 * (plugins/sql/source_schema.sql, docs/reference.md §7.1) with deterministic, internally consistent retail
 * data for a list of chains, so every export index has something realistic to read.
 *
 * Contract:
 *   - the schema is created if missing; the chains' existing rows are deleted first, so seeding
 *     the same chains again replaces rather than adds (idempotent);
 *   - per chain: users_per_chain users; about 10 transactions per user (1-6 items each), about
 *     3 vouchers per user (every status), a wallet ledger per user, max(20, N/10) products with
 *     1-5 variants each;
 *   - same options on the same starting database => identical table contents. Ids are
 *     INTEGER PRIMARY KEYs shared by all chains: they continue after the largest id of rows not
 *     being re-seeded and run sequentially over the chains in the order given;
 *   - a chain's content other than ids depends only on (seed, chain), never on the other chains
 *     seeded with it;
 *   - everything is one transaction with the journal off (speed: ~5M rows for 100k users); a
 *     failure part-way leaves the file undefined, so re-run the seed (it is demo data).
 */
#ifndef TW_SEED_SEED_H
#define TW_SEED_SEED_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/* Largest users_per_chain accepted: keeps every per-chain count and id far from overflow. */
#define TW_SEED_MAX_USERS 100000000ULL

struct tw_seed_opts {
    const char *db_path;   /* SQLite file; created if missing */
    const int64_t *chains; /* chain ids, distinct, at least one */
    size_t n_chains;
    uint64_t users_per_chain; /* 0 is allowed: the chains get only the product catalogue */
    uint64_t seed;            /* PRNG seed; the same seed gives the same data */
    /*
     * Non-NULL: seed the PostgreSQL source this libpq connection string names instead of
     * db_path (plugins/sql/source_schema_pg.sql; the same rows, ids rule and replace
     * semantics; one transaction, rows sent with COPY). Messages never show its password.
     */
    const char *pg_dsn;
};

/* Rows inserted by one run, summed over its chains. */
struct tw_seed_stats {
    uint64_t users;
    uint64_t transactions;
    uint64_t transaction_items;
    uint64_t vouchers;
    uint64_t wallet_ledger;
    uint64_t products;
    uint64_t product_variants;
};

/*
 * Seed o->chains into o->db_path. stats (may be NULL) gets the rows inserted.
 * Errors: TW_EINVAL bad options (no chains, duplicate chain, NULL path, too many users);
 * TW_EIO the file cannot be opened or written (message names the path); TW_ESOURCE any other
 * database failure, e.g. an existing file whose tables do not match the schema;
 * TW_ENOMEM allocation failure.
 */
int tw_seed_run(const struct tw_seed_opts *o, struct tw_seed_stats *stats, struct tw_err *err);

/*
 * Probe a PostgreSQL source (check-config): connect to dsn, then look for the seven source
 * tables and the right to read them. TW_OK when it connects; warn (cap bytes, "" when all
 * is well) then lists what an export would miss. Otherwise err says "source.dsn: cannot
 * connect to PostgreSQL: <libpq's reason>" (or that libpq cannot parse it), never showing
 * the dsn's password.
 */
int tw_seed_pg_probe(const char *dsn, char *warn, size_t cap, struct tw_err *err);

/* The source schema (plugins/sql/source_schema.sql, byte for byte), NUL-terminated. */
extern const char tw_seed_schema_sql[];
/* The same for PostgreSQL (plugins/sql/source_schema_pg.sql). */
extern const char tw_seed_schema_pg_sql[];

#endif
