/*
 * How long `taskwheel seed` takes: seeds a fresh file (removed first) with N users per chain for
 * the given chains and prints wall time, rows and rows per second. Run on a Release build:
 *
 *   ./build-rel/bench/bench_seed [users_per_chain=100000] [chains=1764] [path=/tmp/bench_seed.db]
 *                                [reseed]
 *   ./build-rel/bench/bench_seed 100000 1764,1765
 *
 * With a fourth argument "reseed" the file is kept, so the run measures re-seeding (deleting
 * the chains' old rows, rebuilding indexes over what stays). The file is left behind either
 * way so it can be inspected with sqlite3.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "seed/seed.h"

#define MAX_CHAINS 64

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    int64_t chains[MAX_CHAINS];
    size_t n = 0;
    const char *list = argc > 2 ? argv[2] : "1764";
    const char *path = argc > 3 ? argv[3] : "/tmp/bench_seed.db";
    struct tw_seed_opts o = {.db_path = path, .chains = chains,
                             .users_per_chain = argc > 1 ? strtoull(argv[1], NULL, 10) : 100000,
                             .seed = 42};
    struct tw_seed_stats s;
    struct tw_err err;
    char *end;
    double t0, secs;
    uint64_t rows;

    for (const char *p = list; *p && n < MAX_CHAINS; p = *end ? end + 1 : end) {
        chains[n++] = strtoll(p, &end, 10);
        if (end == p)
            return fprintf(stderr, "bad chain list: %s\n", list), 2;
    }
    o.n_chains = n;
    if (!(argc > 4 && strcmp(argv[4], "reseed") == 0))
        unlink(path);
    t0 = now();
    if (tw_seed_run(&o, &s, &err) != TW_OK)
        return fprintf(stderr, "seed failed: %s\n", err.msg), 1;
    secs = now() - t0;
    rows = s.users + s.transactions + s.transaction_items + s.vouchers + s.wallet_ledger +
           s.products + s.product_variants;
    printf("%llu users/chain x %zu chains: %.2f s, %llu rows (%.0f rows/s)\n",
           (unsigned long long)o.users_per_chain, n, secs, (unsigned long long)rows,
           (double)rows / secs);
    printf("  users %llu, transactions %llu, items %llu, vouchers %llu, ledger %llu, "
           "products %llu, variants %llu\n",
           (unsigned long long)s.users, (unsigned long long)s.transactions,
           (unsigned long long)s.transaction_items, (unsigned long long)s.vouchers,
           (unsigned long long)s.wallet_ledger, (unsigned long long)s.products,
           (unsigned long long)s.product_variants);
    return 0;
}
