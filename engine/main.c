/* taskwheel: argv and subcommand dispatch; nothing else. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
} commands[] = {
    { "serve", tw_cli_serve, "run the engine: HTTP API, scheduler, workers" },
    { "token", tw_cli_token, "create, list or revoke privileged API tokens" },
    { "user", tw_cli_user, "add, remove or sign out an admin user" },
    { "seed", tw_cli_seed, "fill the source database with demo data" },
    { "check-config", tw_cli_check_config, "validate the configuration and plugins" },
    { "migrate", tw_cli_migrate, "create or migrate the task store's schema" },
    { "nodes", tw_cli_nodes, "list the nodes serving the task store (a cluster's members)" },
    { "store", tw_cli_store, "copy a SQLite task store into PostgreSQL (store copy)" },
    { "plugins", tw_cli_plugins, "list loaded index plugins and their fields" },
    { "webhook-secret", tw_cli_webhook_secret, "print a new webhook signing secret for a chain" },
    { "task", tw_cli_task, "client: create, list, run, watch, download tasks on a server" },
    { "version", tw_cli_version, "print the version and the library versions" },
};

static void usage(FILE *out)
{
    size_t i;

    fputs("usage: taskwheel COMMAND [options]   (taskwheel COMMAND --help for details)\n\n", out);
    for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(out, "  %-13s %s\n", commands[i].name, commands[i].help);
}

int main(int argc, char **argv)
{
    size_t i;

    if (argc < 2) {
        usage(stderr);
        return TW_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return TW_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0)
        return tw_cli_version(1, argv + 1);
    for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "taskwheel: unknown command \"%s\"\n", argv[1]);
    usage(stderr);
    return TW_EXIT_USAGE;
}
