/*
 * taskwheel token create|list|revoke (docs/reference.md §8). `create` prints TOKEN_ID:SECRET as its only
 * stdout line, so scripts can capture it; the secret exists nowhere else afterwards (the store
 * keeps HMAC-SHA256(server key, secret)).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_int.h"
#include "core/clock.h"
#include "core/mem.h"
#include "core/time.h"

#define MAX_TOKEN_CHAINS 1024

static const char token_usage[] =
    "usage: taskwheel token create [-c FILE] --chain N [--chain M ...] [--level read|write] [--desc TEXT]\n"
    "       taskwheel token list [-c FILE]\n"
    "       taskwheel token revoke [-c FILE] TOKEN_ID\n"
    "\n"
    "create prints TOKEN_ID:SECRET on stdout; use it as 'Authorization: Bearer TOKEN_ID:SECRET'.\n"
    "The default level is read; write may also create, update, delete and execute tasks.\n";

static bool parse_chain(const char *s, int64_t *out)
{
    char *end;
    long long v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0' || end == s || v <= 0)
        return false;
    *out = v;
    return true;
}

static int token_create(int argc, char **argv)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "chain", required_argument, NULL, 'n' },
        { "level", required_argument, NULL, 'l' },
        { "desc", required_argument, NULL, 'd' },
        { NULL, 0, NULL, 0 },
    };
    int64_t chains[MAX_TOKEN_CHAINS];
    struct tw_config *cfg = NULL;
    struct tw_store *store = NULL;
    unsigned char key[TW_KEY_BYTES], secret[32];
    char secret_s[48];
    const char *cfg_path = NULL;
    struct tw_token t;
    struct tw_err err;
    int rc = TW_EXIT_FAILURE;
    int c;

    memset(&t, 0, sizeof(t));
    t.level = TW_LEVEL_READ;
    t.chains = chains;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
        if (c == 'c') {
            cfg_path = optarg;
        } else if (c == 'n' && t.n_chains < MAX_TOKEN_CHAINS &&
                   parse_chain(optarg, &chains[t.n_chains])) {
            t.n_chains++;
        } else if (c == 'l' && tw_level_parse(optarg) >= TW_LEVEL_READ) {
            t.level = tw_level_parse(optarg);
        } else if (c == 'd') {
            t.desc = optarg;
        } else {
            fprintf(stderr, "taskwheel token create: bad option or value%s%s\n%s",
                    optarg ? ": " : "", optarg ? optarg : "", token_usage);
            return TW_EXIT_USAGE;
        }
    }
    if (t.n_chains == 0 || optind != argc) {
        fprintf(stderr, "taskwheel token create: %s\n%s",
                t.n_chains == 0 ? "at least one --chain is required" : "unexpected argument",
                token_usage);
        return TW_EXIT_USAGE;
    }
    if (!tw_cli_load_config(cfg_path, &cfg))
        return TW_EXIT_USAGE;
    if (!tw_cli_open_store(cfg, &store, key))
        goto out;
    if (tw_uuid4(t.id, &err) != TW_OK || tw_random_bytes(secret, sizeof(secret), &err) != TW_OK)
        goto fail;
    tw_b64url(secret, sizeof(secret), secret_s);
    tw_hmac_sha256(key, secret_s, strlen(secret_s), t.secret_mac);
    t.created = tw_clock_wall_s();
    if (tw_store_token_insert(store, &t, &err) != TW_OK)
        goto fail;
    printf("%s:%s\n", t.id, secret_s);
    rc = TW_EXIT_OK;
    goto out;
fail:
    fprintf(stderr, "taskwheel token create: %s\n", err.msg);
out:
    tw_store_close(store);
    tw_config_destroy(cfg);
    return rc;
}

static int token_list(struct tw_store *store)
{
    struct tw_token *toks = NULL;
    struct tw_err err;
    char when[TW_TIME_BUFSZ];
    size_t n = 0, i, j;

    if (tw_store_token_list(store, &toks, &n, &err) != TW_OK) {
        fprintf(stderr, "taskwheel token list: %s\n", err.msg);
        return TW_EXIT_FAILURE;
    }
    printf("%-36s  %-5s  %-7s  %-20s  %-16s  %s\n", "TOKEN_ID", "LEVEL", "STATE", "CREATED",
           "CHAINS", "DESC");
    for (i = 0; i < n; i++) {
        char chains[256] = "";

        for (j = 0; j < toks[i].n_chains && strlen(chains) < sizeof(chains) - 24; j++)
            snprintf(chains + strlen(chains), sizeof(chains) - strlen(chains), "%s%" PRId64,
                     j ? "," : "", toks[i].chains[j]);
        printf("%-36s  %-5s  %-7s  %-20s  %-16s  %s\n", toks[i].id, tw_level_name(toks[i].level),
               toks[i].revoked ? "revoked" : "active", tw_time_format(toks[i].created, when),
               chains, toks[i].desc ? toks[i].desc : "");
    }
    tw_store_free_tokens(toks, n);
    return TW_EXIT_OK;
}

static int token_revoke(struct tw_store *store, const char *id)
{
    struct tw_err err;
    int rc = tw_store_token_revoke(store, id, &err);

    if (rc == TW_ENOTFOUND) {
        fprintf(stderr, "taskwheel token revoke: no token %s\n", id);
        return TW_EXIT_FAILURE;
    }
    if (rc != TW_OK) {
        fprintf(stderr, "taskwheel token revoke: %s\n", err.msg);
        return TW_EXIT_FAILURE;
    }
    fprintf(stderr, "token %s revoked\n", id);
    return TW_EXIT_OK;
}

/* list and revoke share their option parsing: only -c and, for revoke, one TOKEN_ID. */
static int token_list_or_revoke(int argc, char **argv, bool revoke)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { NULL, 0, NULL, 0 },
    };
    struct tw_config *cfg = NULL;
    struct tw_store *store = NULL;
    unsigned char key[TW_KEY_BYTES];
    const char *cfg_path = NULL;
    int rc = TW_EXIT_FAILURE;
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
        if (c != 'c') {
            fputs(token_usage, stderr);
            return TW_EXIT_USAGE;
        }
        cfg_path = optarg;
    }
    if (argc - optind != (revoke ? 1 : 0)) {
        fprintf(stderr, "taskwheel token %s: wrong number of arguments\n%s",
                revoke ? "revoke" : "list", token_usage);
        return TW_EXIT_USAGE;
    }
    if (!tw_cli_load_config(cfg_path, &cfg))
        return TW_EXIT_USAGE;
    if (tw_cli_open_store(cfg, &store, key))
        rc = revoke ? token_revoke(store, argv[optind]) : token_list(store);
    tw_store_close(store);
    tw_config_destroy(cfg);
    return rc;
}

int tw_cli_token(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(token_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? TW_EXIT_USAGE : TW_EXIT_OK;
    }
    if (tw_cli_wants_help(argc, argv)) {
        fputs(token_usage, stdout);
        return TW_EXIT_OK;
    }
    if (strcmp(argv[1], "create") == 0)
        return token_create(argc - 1, argv + 1);
    if (strcmp(argv[1], "list") == 0)
        return token_list_or_revoke(argc - 1, argv + 1, false);
    if (strcmp(argv[1], "revoke") == 0)
        return token_list_or_revoke(argc - 1, argv + 1, true);
    fprintf(stderr, "taskwheel token: unknown action \"%s\"\n%s", argv[1], token_usage);
    return TW_EXIT_USAGE;
}
