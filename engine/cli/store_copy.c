/*
 * taskwheel store copy --from FILE --to FILE: move a single node's SQLite task store into
 * PostgreSQL (docs/reference.md §10). FILE are two configuration files: --from names the SQLite store
 * (store.path), --to the PostgreSQL one (store.driver postgresql, store.dsn). The target's
 * schema is created first; it must hold no data yet. Stop the node before copying; tokens keep
 * working when the new configuration uses the same server key (data_dir/server.key).
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli_int.h"

static const char copy_usage[] =
    "usage: taskwheel store copy --from FILE --to FILE\n"
    "\n"
    "Copies the whole task store of configuration --from (store.driver sqlite) into the empty\n"
    "store of configuration --to (store.driver postgresql): tasks with their logs and ids,\n"
    "tokens, users, sessions, segments, webhooks. Stop the server first. Exit status 0 when\n"
    "copied, 1 when the copy failed (the target is left empty), 2 on a usage or configuration\n"
    "error.\n";

static int store_copy(int argc, char **argv)
{
    static const struct option opts[] = {
        { "from", required_argument, NULL, 'f' },
        { "to", required_argument, NULL, 't' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *from_path = NULL, *to_path = NULL;
    struct tw_config *from_cfg = NULL, *to_cfg = NULL;
    struct tw_store *from = NULL, *to = NULL;
    int rc = TW_EXIT_FAILURE, c;
    struct tw_err err;
    int64_t rows = 0;

    optind = 1;
    while ((c = getopt_long(argc, argv, "f:t:h", opts, NULL)) != -1) {
        if (c == 'f')
            from_path = optarg;
        else if (c == 't')
            to_path = optarg;
        else {
            fputs(copy_usage, c == 'h' ? stdout : stderr);
            return c == 'h' ? TW_EXIT_OK : TW_EXIT_USAGE;
        }
    }
    if (optind != argc || from_path == NULL || to_path == NULL) {
        fputs(copy_usage, stderr);
        return TW_EXIT_USAGE;
    }
    if (!tw_cli_read_config(from_path, &from_cfg) || !tw_cli_read_config(to_path, &to_cfg)) {
        rc = TW_EXIT_USAGE;
        goto out;
    }
    if (strcmp(from_cfg->store_driver, "sqlite") != 0 ||
        strcmp(to_cfg->store_driver, "postgresql") != 0) {
        fprintf(stderr, "taskwheel store copy: --from must use store.driver sqlite and --to "
                        "store.driver postgresql\n");
        rc = TW_EXIT_USAGE;
        goto out;
    }
    tw_err_clear(&err);
    if (tw_cli_store_open(from_cfg, &from, &err) != TW_OK ||
        tw_cli_store_open(to_cfg, &to, &err) != TW_OK) {
        fprintf(stderr, "taskwheel store copy: %s\n", err.msg);
        goto out;
    }
    if (tw_store_copy(from, to, &rows, &err) != TW_OK) {
        fprintf(stderr, "taskwheel store copy: %s\n", err.msg);
        goto out;
    }
    printf("copied %" PRId64 " rows from %s into %s\n", rows, tw_cli_store_name(from_cfg),
           tw_cli_store_name(to_cfg));
    rc = TW_EXIT_OK;
out:
    tw_store_close(from);
    tw_store_close(to);
    tw_config_destroy(from_cfg);
    tw_config_destroy(to_cfg);
    return rc;
}

int tw_cli_store(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "copy") == 0)
        return store_copy(argc - 1, argv + 1);
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(copy_usage, stdout);
        return TW_EXIT_OK;
    }
    fputs(copy_usage, stderr);
    return TW_EXIT_USAGE;
}
