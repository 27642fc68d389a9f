/*
 * taskwheel seed: deterministic demo data in the source database (source.path, or with
 * source.driver postgresql the database source.dsn names), for the chains given. Prints one
 * summary line of row counts on stdout.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_int.h"
#include "core/mem.h"
#include "seed/seed.h"

#define MAX_CHAINS 64

static const char seed_usage[] =
    "usage: taskwheel seed [-c FILE] [--rows N] [--chains 1764,1765] [--seed S]\n"
    "\n"
    "Fills the source database (source.path; with source.driver postgresql the database\n"
    "source.dsn names, schema created if missing) with deterministic demo data: N users per chain\n"
    "(default 1000) with about 10 baskets each, vouchers, a wallet ledger, products and\n"
    "variants. The chains' previous demo rows are replaced. --chains defaults to 1764;\n"
    "--seed (default 1) picks the data: the same seed gives the same bytes.\n";

static bool parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    char *end;
    unsigned long long v;

    if (s[0] < '0' || s[0] > '9')
        return false;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v > max)
        return false;
    *out = v;
    return true;
}

/* "1764,1765" -> chains; false on an empty, non-numeric, non-positive or repeated chain. */
static bool parse_chains(const char *s, int64_t *chains, size_t *n)
{
    char buf[1024], *save = NULL, *tok;
    uint64_t v;
    size_t i;

    if (strlen(s) >= sizeof(buf))
        return false;
    strcpy(buf, s);
    *n = 0;
    for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
        if (*n == MAX_CHAINS || !parse_u64(tok, INT64_MAX, &v) || v == 0)
            return false;
        for (i = 0; i < *n; i++)
            if (chains[i] == (int64_t)v)
                return false;
        chains[(*n)++] = (int64_t)v;
    }
    return *n > 0 && s[strlen(s) - 1] != ',';
}

int tw_cli_seed(int argc, char **argv)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' }, { "rows", required_argument, NULL, 'r' },
        { "chains", required_argument, NULL, 'C' }, { "seed", required_argument, NULL, 's' },
        { "help", no_argument, NULL, 'h' },         { NULL, 0, NULL, 0 },
    };
    const char *cfg_path = NULL;
    struct tw_seed_opts o = { NULL, NULL, 0, 1000, 1, NULL };
    struct tw_seed_stats st;
    struct tw_config *cfg = NULL;
    int64_t chains[MAX_CHAINS] = { 1764 };
    size_t n_chains = 1;
    struct tw_err err;
    int c, rc;

    optind = 1;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': cfg_path = optarg; break;
        case 'r':
            if (!parse_u64(optarg, TW_SEED_MAX_USERS, &o.users_per_chain)) {
                fprintf(stderr,
                        "taskwheel seed: --rows: expected 0..%llu users per chain, got "
                        "\"%s\"\n",
                        (unsigned long long)TW_SEED_MAX_USERS, optarg);
                return TW_EXIT_USAGE;
            }
            break;
        case 'C':
            if (!parse_chains(optarg, chains, &n_chains)) {
                fprintf(stderr,
                        "taskwheel seed: --chains: expected up to %d distinct positive "
                        "chain ids separated by commas, got \"%s\"\n",
                        MAX_CHAINS, optarg);
                return TW_EXIT_USAGE;
            }
            break;
        case 's':
            if (!parse_u64(optarg, UINT64_MAX, &o.seed)) {
                fprintf(stderr,
                        "taskwheel seed: --seed: expected a non-negative integer, got "
                        "\"%s\"\n",
                        optarg);
                return TW_EXIT_USAGE;
            }
            break;
        default:
            fputs(seed_usage, c == 'h' ? stdout : stderr);
            return c == 'h' ? TW_EXIT_OK : TW_EXIT_USAGE;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "taskwheel seed: unexpected argument \"%s\"\n%s", argv[optind], seed_usage);
        return TW_EXIT_USAGE;
    }
    if (!tw_cli_load_config(cfg_path, &cfg))
        return TW_EXIT_USAGE;
    o.db_path = cfg->source_path;
    if (strcmp(cfg->source_driver, "postgresql") == 0)
        o.pg_dsn = cfg->source_dsn;
    o.chains = chains;
    o.n_chains = n_chains;
    rc = tw_seed_run(&o, &st, &err);
    if (rc != TW_OK) {
        fprintf(stderr, "taskwheel seed: %s\n", err.msg);
        tw_config_destroy(cfg);
        return rc == TW_EINVAL ? TW_EXIT_USAGE : TW_EXIT_FAILURE;
    }
    printf("seeded %s: users=%" PRIu64 " transactions=%" PRIu64 " transaction_items=%" PRIu64
           " vouchers=%" PRIu64 " wallet_ledger=%" PRIu64 " products=%" PRIu64
           " product_variants=%" PRIu64 "\n",
           o.pg_dsn ? "(postgresql, source.dsn)" : cfg->source_path, st.users, st.transactions,
           st.transaction_items, st.vouchers, st.wallet_ledger, st.products, st.product_variants);
    tw_config_destroy(cfg);
    return TW_EXIT_OK;
}
