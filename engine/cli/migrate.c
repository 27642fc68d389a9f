/*
 * taskwheel migrate [-c FILE]: create or bring the task store's schema up to date and say
 * where it stands. serve does the same at start (PostgreSQL: under an advisory lock, so nodes
 * starting together never race); this does it alone, e.g. before a rolling upgrade.
 */
#include <getopt.h>
#include <stdio.h>

#include "cli/cli_int.h"

static const char migrate_usage[] =
    "usage: taskwheel migrate [-c FILE]\n"
    "\n"
    "Creates the task store (store.driver, store.path or store.dsn) or migrates its schema to\n"
    "this version's, then prints the schema version. Exit status 1 when the store cannot be\n"
    "opened or migrated, 2 on a bad configuration.\n";

int tw_cli_migrate(int argc, char **argv)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *cfg_path = NULL;
    struct tw_config *cfg = NULL;
    struct tw_store *store = NULL;
    struct tw_err err;
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        if (c != 'c') {
            fputs(migrate_usage, c == 'h' ? stdout : stderr);
            return c == 'h' ? TW_EXIT_OK : TW_EXIT_USAGE;
        }
        cfg_path = optarg;
    }
    if (optind != argc) {
        fputs(migrate_usage, stderr);
        return TW_EXIT_USAGE;
    }
    if (!tw_cli_read_config(cfg_path, &cfg))
        return TW_EXIT_USAGE;
    tw_err_clear(&err);
    if (tw_cli_store_open(cfg, &store, &err) != TW_OK) {
        fprintf(stderr, "taskwheel migrate: cannot open the task store %s: %s\n",
                tw_cli_store_name(cfg), err.msg);
        tw_config_destroy(cfg);
        return TW_EXIT_FAILURE;
    }
    printf("task store %s (%s): schema version %d\n", tw_cli_store_name(cfg),
           tw_store_driver_name(store), tw_store_schema_version(store));
    tw_store_close(store);
    tw_config_destroy(cfg);
    return TW_EXIT_OK;
}
