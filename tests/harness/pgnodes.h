/*
 * Several `taskwheel serve` nodes on one throwaway PostgreSQL (pgpeer.h), as the cluster tests
 * need them (docs/cluster.md): the fixture starts the PostgreSQL cluster and makes a directory
 * for the key file the nodes share; each node gets a directory of its own (tw_srv_prepare) whose
 * config points its store at that cluster, its auth.key_file at a key file and names its
 * cluster.node_id, with heartbeat 1 and lease 4; a node's stdout and stderr go to its log.
 *
 * Like harness.h, every function asserts (Criterion) on a harness failure. Nodes are plain
 * struct tw_srv, so tw_http, tw_srv_token, tw_srv_stop (SIGKILL too) and kill(pid, SIGSTOP)
 * work on them as on any server.
 */
#ifndef TW_TESTS_PGNODES_H
#define TW_TESTS_PGNODES_H

#include <stdbool.h>

#include "harness.h"
#include "pgpeer.h"

#define TW_PGNODES_MAX 3

struct tw_pgnodes {
    struct tw_pgpeer pg;                /* the store all nodes share */
    char keydir[64];                    /* a temporary directory for key files */
    char key[96];                       /* keydir/server.key: the nodes' shared key file */
    struct tw_srv node[TW_PGNODES_MAX]; /* node k; dir "" until prepared */
    char log[TW_PGNODES_MAX][320];      /* node k's stdout and stderr: its dir/server.log */
};

/* Start the PostgreSQL cluster and make keydir; no node yet. */
void tw_pgnodes_init(struct tw_pgnodes *c);

/* Stop every node still running (exit not checked), remove the nodes' directories and keydir,
 * and stop and remove the PostgreSQL cluster. */
void tw_pgnodes_fini(struct tw_pgnodes *c);

/*
 * Node k's directory and config, nothing started: plugins_dir is the build's plugins (or
 * plugins_dir when not NULL), log level info, the shared store, auth.key_file key_file (NULL:
 * c->key), cluster.node_id node_id, then extra (may be NULL).
 */
void tw_pgnodes_prepare(struct tw_pgnodes *c, int k, const char *node_id, const char *key_file,
                        const char *plugins_dir, const char *extra);

/* Start node k's serve with its output in c->log[k]; false when it exited during start-up. */
bool tw_pgnodes_start(struct tw_pgnodes *c, int k);

/* Prepare and start node k with the shared key; asserts it starts (showing its log if not). */
void tw_pgnodes_up(struct tw_pgnodes *c, int k, const char *node_id, const char *plugins_dir,
                   const char *extra);

#endif
