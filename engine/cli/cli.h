/*
 * The command line (docs/reference.md §8). Each subcommand is a function taking its own argv (argv[0] is
 * the subcommand name) and returning the process exit code:
 *   0 success, 1 runtime failure, 2 usage or configuration error.
 * Only main() turns these into an exit status; nothing here calls exit().
 */
#ifndef TW_CLI_CLI_H
#define TW_CLI_CLI_H

enum tw_exit {
    TW_EXIT_OK = 0,
    TW_EXIT_FAILURE = 1,
    TW_EXIT_USAGE = 2,
};

int tw_cli_serve(int argc, char **argv);
int tw_cli_seed(int argc, char **argv);
int tw_cli_token(int argc, char **argv);
int tw_cli_user(int argc, char **argv);
int tw_cli_check_config(int argc, char **argv);
int tw_cli_migrate(int argc, char **argv);
int tw_cli_nodes(int argc, char **argv);
int tw_cli_store(int argc, char **argv);
int tw_cli_plugins(int argc, char **argv);
int tw_cli_webhook_secret(int argc, char **argv);
int tw_cli_version(int argc, char **argv);
/* The HTTP client of a (remote) server: taskwheel task create|list|get|... (task.c). */
int tw_cli_task(int argc, char **argv);

#endif
