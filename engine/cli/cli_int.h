/* Shared by the subcommands: option parsing and opening what they need. */
#ifndef TW_CLI_CLI_INT_H
#define TW_CLI_CLI_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cli/cli.h"
#include "core/config.h"
#include "core/crypto.h"
#include "store/store.h"

/*
 * Load the configuration named by -c (NULL: ./config.yaml or defaults), set up logging, and
 * create data_dir. Prints the reason to stderr and returns false on error.
 */
bool tw_cli_load_config(const char *path, struct tw_config **cfg);
/* The same without creating anything: for commands that only look (check-config, plugins). */
bool tw_cli_read_config(const char *path, struct tw_config **cfg);

/* Open the task store and the server key of cfg; prints the reason and returns false. */
/* The store the configuration names (store.driver, store.path, store.dsn). */
void tw_cli_store_conf(const struct tw_config *cfg, struct tw_store_conf *c);
int tw_cli_store_open(const struct tw_config *cfg, struct tw_store **store, struct tw_err *err);
/* What to call it in messages and logs: the file, or "(postgresql, store.dsn)"; never the dsn. */
const char *tw_cli_store_name(const struct tw_config *cfg);

/*
 * Check the server key against the fingerprint the store keeps (docs/cluster.md, "One key"),
 * recording it when the store has none; false after a message on stderr naming the key file.
 */
bool tw_cli_check_key(const struct tw_config *cfg, struct tw_store *store,
                      const unsigned char key[TW_KEY_BYTES]);
bool tw_cli_open_store(const struct tw_config *cfg, struct tw_store **store,
                       unsigned char key[TW_KEY_BYTES]);

/*
 * Load cfg->plugins_dir into a new registry (*out, caller destroys; NULL on failure). Prints
 * the reason and returns TW_EXIT_USAGE when the directory cannot be read, TW_EXIT_FAILURE
 * when some plugins were refused (*out holds the rest), TW_EXIT_OK.
 */
struct tw_plugin_registry;
int tw_cli_load_plugins(const struct tw_config *cfg, struct tw_plugin_registry **out);

/* mkdir -p with mode 0700 for new directories; returns TW_OK or TW_EIO with err. */
int tw_mkdir_p(const char *path, struct tw_err *err);

/*
 * The server's upkeep (upkeep.c): retention, the store file check, store limits, a warning
 * about readable store files. Runs a first pass before returning; timers on base after that.
 */
struct event_base;
struct tw_upkeep;
int tw_upkeep_create(struct event_base *base, const struct tw_config *cfg, struct tw_store *store,
                     struct tw_upkeep **out, struct tw_err *err);
void tw_upkeep_destroy(struct tw_upkeep *u);
/* fdlimit.c: raise RLIMIT_NOFILE's soft limit to the hard one; returns the limit now. */
uint64_t tw_cli_fd_raise(void);
/* The hard RLIMIT_NOFILE (UINT64_MAX when unlimited or unknown). */
uint64_t tw_cli_fd_hard(void);
/* Whether http.max_connections and the server's other fds fit under limit; else a sentence
 * in msg saying so and what to do. */
bool tw_cli_fd_fits(const struct tw_config *cfg, uint64_t limit, char *msg, size_t len);

/* argv[i] is "--help" or "-h". */
bool tw_cli_wants_help(int argc, char **argv);

#endif
