/*
 * taskwheel webhook-secret --chain N: make a new signing secret for the chain's webhooks and
 * print it as the only stdout line. The chain's previous secrets stay valid for 24 hours, during
 * which every delivery carries one v1= signature per valid secret, so a receiver can switch
 * without losing a delivery.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_int.h"
#include "core/clock.h"
#include "webhook/webhook.h"

static const char webhook_usage[] =
    "usage: taskwheel webhook-secret [-c FILE] --chain N\n"
    "\n"
    "Prints a new webhook signing secret (whsec_...) for chain N as the only stdout line.\n"
    "The chain's previous secrets stay valid for 24 hours; during that time deliveries are\n"
    "signed with each of them (one v1= per secret in Taskwheel-Signature).\n";

int tw_cli_webhook_secret(int argc, char **argv)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "chain", required_argument, NULL, 'n' },
        { NULL, 0, NULL, 0 },
    };
    struct tw_config *cfg = NULL;
    struct tw_store *store = NULL;
    unsigned char key[TW_KEY_BYTES];
    char secret[TW_WEBHOOK_SECRET_LEN];
    const char *cfg_path = NULL;
    long long chain = 0;
    struct tw_err err;
    int rc = TW_EXIT_FAILURE, c;

    if (tw_cli_wants_help(argc, argv)) {
        fputs(webhook_usage, stdout);
        return TW_EXIT_OK;
    }
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
        char *end = NULL;

        if (c == 'c') {
            cfg_path = optarg;
            continue;
        }
        errno = 0;
        if (c == 'n')
            chain = strtoll(optarg, &end, 10);
        if (c != 'n' || errno != 0 || end == optarg || *end != '\0' || chain <= 0) {
            fprintf(stderr, "taskwheel webhook-secret: bad option or value%s%s\n%s",
                    optarg ? ": " : "", optarg ? optarg : "", webhook_usage);
            return TW_EXIT_USAGE;
        }
    }
    if (chain <= 0 || optind != argc) {
        fprintf(stderr, "taskwheel webhook-secret: %s\n%s",
                chain <= 0 ? "--chain N is required" : "unexpected argument", webhook_usage);
        return TW_EXIT_USAGE;
    }
    if (!tw_cli_load_config(cfg_path, &cfg))
        return TW_EXIT_USAGE;
    if (!tw_cli_open_store(cfg, &store, key))
        goto out;
    if (tw_webhook_secret_new(secret, &err) != TW_OK ||
        tw_store_webhook_secret_add(store, chain, secret, tw_clock_wall_s(),
                                    TW_WEBHOOK_ROTATE_OVERLAP_S, &err) != TW_OK) {
        fprintf(stderr, "taskwheel webhook-secret: %s\n", err.msg);
        goto out;
    }
    printf("%s\n", secret);
    rc = TW_EXIT_OK;
out:
    tw_store_close(store);
    tw_config_destroy(cfg);
    return rc;
}
