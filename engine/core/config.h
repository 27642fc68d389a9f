/*
 * Configuration (docs/reference.md §8): a YAML file read with libyaml in two stages (yaml.c: events ->
 * neutral node tree with line/column; config.c: key tables -> struct tw_config). Every key has
 * a default, so an empty file or no file at all is valid; an unknown key, a wrong type or an
 * out-of-range value is an error naming file, line, column and key. A relative path written in
 * the file (data_dir, store.path, source.path, plugins_dir, lua_dir, results.dir) is taken
 * relative to the file's directory; the built-in defaults stay relative to the working directory.
 *
 * When adding a key: add the field here, its row in the key table in config.c (type, default,
 * description), and document it in config.yaml.example (a test loads that file).
 */
#ifndef TW_CORE_CONFIG_H
#define TW_CORE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/err.h"

struct tw_config {
    char *path;                      /* file it was loaded from, NULL when built-in defaults only */
    char *listen;                    /* "host:port"; port 0 picks a free port */
    char *data_dir;                  /* task store, keys and results unless set otherwise */
    char *store_driver;              /* "sqlite" or "postgresql" */
    char *store_path;                /* task store database file */
    char *store_dsn;                 /* postgresql: libpq connection string (never log it) */
    char *source_driver;             /* "sqlite" */
    char *source_path;               /* source (retail) database file */
    char *source_dsn;                /* source postgresql: libpq connection string (never log) */
    char *plugins_dir;               /* directory scanned for index plugins (*.so) */
    char *lua_dir;                   /* holds segments/ and formats/ */
    uint32_t workers;                /* worker processes, 1..256 */
    uint32_t max_runs_per_chain;     /* concurrent runs per chain, 0 = no cap beyond workers */
    uint32_t worker_nice;            /* workers run this much nicer than the server, 0..19 */
    uint32_t workers_max_runs;       /* runs per worker process before it is replaced, >= 1 */
    uint64_t workers_max_rss_bytes;  /* a worker above this after a run is replaced; 0 = no cap */
    uint32_t task_timeout_s;         /* a run longer than this is stopped, seconds */
    uint32_t execute_wait_s;         /* how long POST /execute holds the request, seconds */
    uint32_t shutdown_grace_s;       /* how long SIGTERM waits for running runs, seconds */
    char *results_dir;               /* result files, by chain and task */
    uint32_t results_retention_days; /* result files older than this are pruned */
    uint32_t results_url_ttl_s;      /* validity of a download URL, 1..604800 seconds */
    char *results_public_url;        /* base of download URLs, no trailing slash */
    bool results_public_url_from_listen; /* not set: made from listen (tw_config_bound) */
    uint64_t http_max_body_bytes;        /* request bodies larger than this get 413 */
    uint32_t http_max_connections;       /* open connections at once */
    uint32_t http_read_timeout_s;        /* slow clients are cut off after this, seconds */
    uint32_t http_max_header_bytes;      /* request line + headers */
    uint32_t auth_session_ttl_s;         /* admin sessions last this long, seconds */
    char *auth_key_file;                 /* the server key file (<data_dir>/server.key) */
    uint64_t lua_max_memory_bytes;       /* per-run Lua heap cap */
    uint64_t lua_max_instructions;       /* per-call instruction budget */
    uint32_t lua_max_cpu_seconds; /* CPU time a run's Lua may use, library functions included */
    char *log_level;              /* debug, info, warn, error */
    char *log_format;             /* json, logfmt */
    bool metrics_require_token;   /* GET /metrics needs a valid token or session */
    uint32_t logs_keep;           /* log entries kept per task, 0 = all (store_upkeep.c) */
    uint32_t limits_max_tasks_per_chain; /* tasks per chain, 0 = no cap */
    char *cors_allow_origins;            /* "none", "*", or origins separated by commas/spaces */
    uint32_t limits_requests_per_second; /* per token or admin user; 0 = no limit */
    uint32_t webhooks_timeout_s;         /* a delivery must get a 2xx within this, seconds */
    uint32_t webhooks_max_attempts;      /* attempts per delivery before it is given up */
    bool webhooks_allow_private;         /* webhook targets may be loopback/private addresses */
    char *cluster_node_id;               /* "" until serve fills <hostname>:<pid> */
    uint32_t cluster_heartbeat_s;        /* heartbeat and lease renewal period, seconds */
    uint32_t cluster_lease_s;            /* an unrenewed lease expires after this, seconds */
    /* Object storage for results (docs/storage.md); the strings are "" when not set. */
    char *results_storage;              /* "local" or "s3" */
    char *results_s3_endpoint;          /* "https://s3.eu-west-1.amazonaws.com", no trailing / */
    char *results_s3_region;            /* "eu-west-1" */
    char *results_s3_bucket;            /* bucket name */
    char *results_s3_prefix;            /* prepended to every object key, may be "" */
    bool results_s3_path_style;         /* endpoint/bucket/key instead of bucket.endpoint/key */
    char *results_s3_access_key_id;     /* "": AWS_ACCESS_KEY_ID */
    char *results_s3_secret_access_key; /* "": AWS_SECRET_ACCESS_KEY; never logged */
    uint64_t results_s3_part_size;      /* bytes per multipart part, >= 5 MiB */
};

/*
 * Load path into a new config. path NULL means the search of docs/reference.md §14: $TASKWHEEL_CONFIG (must
 * exist), else ./config.yaml, else <sysconfdir>/taskwheel/config.yaml of an installed binary
 * (core/paths.h), else the built-in defaults; an explicit path must exist. On success *out is owned by the caller (tw_config_destroy).
 * On error returns TW_EINVAL or TW_EIO with "file:line:col: key: problem" in err.
 */
int tw_config_load(const char *path, struct tw_config **out, struct tw_err *err);

/* Load from a string (tests, fuzzing); name is used in messages. */
int tw_config_load_string(const char *yaml, const char *name, struct tw_config **out,
                          struct tw_err *err);

void tw_config_destroy(struct tw_config *cfg);

/*
 * The server bound listen's address on port (the one asked for, or the one the kernel picked
 * for port 0): when results.public_url was not set, it becomes "http://<listen host>:<port>"
 * (a wildcard host, 0.0.0.0 or [::], as loopback). TW_OK or TW_ENOMEM.
 */
int tw_config_bound(struct tw_config *cfg, unsigned port, struct tw_err *err);

/*
 * The dotted path of the i-th known key ("results.url_ttl"), in documentation order; NULL when
 * i is past the last. For tests and tools that must cover every key.
 */
const char *tw_config_key_path(size_t i);

/* True when every keyed field of a and b is equal (path, where each was loaded from, is not). */
bool tw_config_equal(const struct tw_config *a, const struct tw_config *b);

/*
 * Write a Markdown table of every key with its default, description and range to out
 * (borrowed). Returns TW_OK or TW_EIO when writing fails.
 */
int tw_config_describe(FILE *out);

#endif
