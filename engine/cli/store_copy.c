/*
 * taskwheel store copy --from FILE --to FILE: move a single node's SQLite task store into
 * PostgreSQL (docs/reference.md §10). FILE are two configuration files: --from names the SQLite store
 * (store.path), --to the PostgreSQL one (store.driver postgresql, store.dsn). The target's
 * schema is created first; it must hold no data yet. Stop the node before copying. Both
 * configurations must read the same server key (auth.key_file), so tokens keep working: the
 * copy refuses otherwise, and records the key's fingerprint in the target (docs/cluster.md).
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli_int.h"
#include "core/crypto.h"

static const char copy_usage[] =
    "usage: taskwheel store copy --from FILE --to FILE\n"
    "\n"
    "Copies the whole task store of configuration --from (store.driver sqlite) into the empty\n"
    "store of configuration --to (store.driver postgresql): tasks with their logs and ids,\n"
    "tokens, users, sessions, segments, webhooks. Stop the server first. Both must read the\n"
    "same server key file (auth.key_file), or the copy refuses. Exit status 0 when\n"
    "copied, 1 when the copy failed (the target is left empty), 2 on a usage or configuration\n"
    "error.\n";

/*
 * The target must use the source's server key (docs/cluster.md, "One key"): token hashes,
 * session keys and download signatures are keyed by it. The target's key file is not created
 * here: a missing one is an error saying to copy the source's. true with the key in key.
 */
static bool same_key(const struct tw_config *from_cfg, const struct tw_config *to_cfg,
                     unsigned char key[TW_KEY_BYTES])
{
    unsigned char to_key[TW_KEY_BYTES];
    struct tw_err err;

    if (access(from_cfg->auth_key_file, R_OK) != 0 || access(to_cfg->auth_key_file, R_OK) != 0) {
        fprintf(stderr,
                "taskwheel store copy: the target's server key %s (auth.key_file) must be the "
                "source's %s: copy that file there (tokens and sessions are keyed by it)\n",
                to_cfg->auth_key_file, from_cfg->auth_key_file);
        return false;
    }
    if (tw_key_load(from_cfg->auth_key_file, key, &err) != TW_OK ||
        tw_key_load(to_cfg->auth_key_file, to_key, &err) != TW_OK) {
        fprintf(stderr, "taskwheel store copy: %s\n", err.msg);
        return false;
    }
    if (memcmp(key, to_key, TW_KEY_BYTES) != 0) {
        fprintf(stderr,
                "taskwheel store copy: the target's server key %s (auth.key_file) differs from "
                "the source's %s: copied tokens and sessions would stop working; use the same "
                "key file\n",
                to_cfg->auth_key_file, from_cfg->auth_key_file);
        return false;
    }
    return true;
}

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
    unsigned char key[TW_KEY_BYTES];
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
    if (!same_key(from_cfg, to_cfg, key)) {
        rc = TW_EXIT_USAGE;
        goto out;
    }
    if (tw_cli_store_open(from_cfg, &from, &err) != TW_OK ||
        tw_cli_store_open(to_cfg, &to, &err) != TW_OK) {
        fprintf(stderr, "taskwheel store copy: %s\n", err.msg);
        goto out;
    }
    /* the source was served with this key, and the target records it (or already has it) */
    if (!tw_cli_check_key(from_cfg, from, key) || !tw_cli_check_key(to_cfg, to, key))
        goto out;
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
