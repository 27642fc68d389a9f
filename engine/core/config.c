/*
 * Configuration, second stage (see config.h): the neutral YAML tree -> struct tw_config.
 *
 * One static table, keys[], is the single source of truth for every key: its dotted path, type,
 * range, default and description. Defaults are written as text and go through the same parser
 * as the file's values, so a default can never disagree with validation (a test loads the
 * defaults and config.yaml.example). Sections ("results", "http") are not listed: a path is a
 * section when some key's path starts with it and a dot. The three paths under data_dir have
 * no literal default; they are derived after the file is read, so setting data_dir moves them.
 */
#include "core/config.h"

#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/paths.h"
#include "core/yaml.h"

#define MAX_FILE_BYTES (1024 * 1024) /* a config file is a few KiB; more is the wrong file */
/* "(got ...)" in messages; the caller has a local char buf[80]. */
#define GOT(n) tw_yaml_describe((n), buf, sizeof(buf))

enum key_type {
    KEY_STRING,  /* any non-empty string */
    KEY_CHOICE,  /* one of choices */
    KEY_LISTEN,  /* "host:port", port 0..65535 */
    KEY_URL,     /* http:// or https://; trailing slashes dropped */
    KEY_U32,     /* unquoted decimal integer in min..max, stored as uint32_t */
    KEY_U64,     /* same, stored as uint64_t */
    KEY_BOOL,    /* true or false */
    KEY_ORIGINS, /* "none", "*", or origins "scheme://host[:port]" separated by commas/spaces */
    KEY_OPTSTR,  /* any string, empty (or no value) allowed and stored as "" */
};

struct key {
    const char *path;    /* dotted path in the file: "results.url_ttl" */
    enum key_type type;  /* how the value is parsed and stored */
    const char *def;     /* default as written in the file, or DERIVED "name" */
    uint64_t min;        /* KEY_U32/KEY_U64: smallest accepted value */
    uint64_t max;        /* KEY_U32/KEY_U64: largest accepted value */
    const char *choices; /* KEY_CHOICE: accepted values, ", "-separated as shown to users */
    size_t offset;       /* of the field in struct tw_config */
    const char *desc;    /* one line for tw_config_describe and the docs */
};

/* A default of DERIVED "x" means "<data_dir>/x", filled in after data_dir is known. */
#define DERIVED "<data_dir>/"
#define DERIVED_LEN (sizeof(DERIVED) - 1)

/* results.public_url's default: http:// and listen, with the port bound (tw_config_bound). */
#define FROM_LISTEN "http://<listen>"

#define OFF(f) offsetof(struct tw_config, f)
#define STR(p, f, d, desc)                         \
    {                                              \
        p, KEY_STRING, d, 0, 0, NULL, OFF(f), desc \
    }
#define CHOICE(p, f, d, c, desc)                \
    {                                           \
        p, KEY_CHOICE, d, 0, 0, c, OFF(f), desc \
    }
#define OPTSTR(p, f, d, desc)                      \
    {                                              \
        p, KEY_OPTSTR, d, 0, 0, NULL, OFF(f), desc \
    }
#define U32(p, f, d, lo, hi, desc)                \
    {                                             \
        p, KEY_U32, d, lo, hi, NULL, OFF(f), desc \
    }
#define U64(p, f, d, lo, hi, desc)                \
    {                                             \
        p, KEY_U64, d, lo, hi, NULL, OFF(f), desc \
    }

/*
 * When adding a key: add its field to struct tw_config (config.h), a row here (keep sections
 * together), and a commented line in config.yaml.example; then regenerate the table in
 * docs/configuration.md (tw_config_describe).
 */
static const struct key keys[] = {
    { "listen", KEY_LISTEN, "127.0.0.1:8080", 0, 0, NULL, OFF(listen),
      "address of the HTTP API, \"host:port\"; port 0 picks a free port" },
    STR("data_dir", data_dir, "./var", "task store, keys and results unless set otherwise"),
    CHOICE("store.driver", store_driver, "sqlite", "sqlite, postgresql", "task store backend"),
    STR("store.path", store_path, DERIVED "taskwheel.db", "task store database file"),
    STR("store.dsn", store_dsn, "dbname=taskwheel",
        "with store.driver postgresql: the libpq connection string (\"host=... dbname=...\" or "
        "a postgresql:// URI); a password in it is never logged"),
    CHOICE("source.driver", source_driver, "sqlite", "sqlite, postgresql",
           "source database backend"),
    STR("source.path", source_path, DERIVED "retail.db", "source (retail) database file"),
    STR("source.dsn", source_dsn, "dbname=retail",
        "with source.driver postgresql: the libpq connection string of the retail database "
        "(read only is enough); a password in it is never logged"),
    STR("plugins_dir", plugins_dir, "./build/plugins",
        "where index plugins (*.so) are loaded; "
        "an installed binary's default is <prefix>/" TW_PATHS_PLUGINDIR),
    STR("lua_dir", lua_dir, "./lua",
        "directory holding segments/ and formats/; an installed "
        "binary's default is <prefix>/" TW_PATHS_LUADIR),
    U32("workers", workers, "2", 1, 256, "worker processes"),
    U32("max_runs_per_chain", max_runs_per_chain, "0", 0, 256,
        "concurrent runs per chain; 0 = no cap beyond workers"),
    U32("worker_nice", worker_nice, "19", 0, 19,
        "workers run this many nice levels below the server, so a burst of runs does not "
        "delay the API or the scheduler; 0 = the server's priority"),
    U32("workers_max_runs", workers_max_runs, "1000", 1, 1000000000,
        "runs a worker process does before it is replaced by a fresh one; 1 = a new process "
        "for every run"),
    U64("workers_max_rss", workers_max_rss_bytes, "536870912", 0, 1ULL << 40,
        "a worker whose resident set is above this at the end of a run is replaced, bytes; "
        "0 = no cap"),
    U32("task_timeout", task_timeout_s, "3600", 1, 2592000,
        "a run longer than this is stopped, seconds"),
    U32("execute_wait", execute_wait_s, "60", 0, 3600,
        "how long POST /execute holds the request, seconds"),
    U32("shutdown_grace", shutdown_grace_s, "30", 0, 86400,
        "how long SIGTERM waits for running runs, seconds"),
    U32("logs_keep", logs_keep, "1000", 0, 10000000,
        "log entries kept per task (the run-end entries of its last 100 runs always stay); "
        "0 = keep all"),
    STR("results.dir", results_dir, DERIVED "results", "result files, by chain and task"),
    U32("results.retention_days", results_retention_days, "7", 1, 36500,
        "result files older than this are pruned, days"),
    U32("results.url_ttl", results_url_ttl_s, "3600", 1, 604800,
        "validity of a download URL, seconds"),
    { "results.public_url", KEY_URL, FROM_LISTEN, 0, 0, NULL, OFF(results_public_url),
      "base of download URLs (http:// or https://); unset: http:// and the address the server "
      "listens on, with the port it bound" },
    CHOICE("results.storage", results_storage, "local", "local, s3",
           "where results are kept: files under results.dir, or objects in an S3-compatible "
           "bucket (docs/storage.md)"),
    OPTSTR("results.s3.endpoint", results_s3_endpoint, "",
           "the S3 endpoint, http(s)://host[:port], e.g. https://s3.eu-west-1.amazonaws.com; "
           "required with results.storage s3"),
    OPTSTR("results.s3.region", results_s3_region, "",
           "the bucket's region, signed into every request (us-east-1 for most S3-compatible "
           "stores); required with results.storage s3"),
    OPTSTR("results.s3.bucket", results_s3_bucket, "",
           "the bucket; required with results.storage s3"),
    OPTSTR("results.s3.prefix", results_s3_prefix, "",
           "prepended to every object key: <prefix><chain>/<task id>/<file>"),
    { "results.s3.path_style", KEY_BOOL, "false", 0, 0, NULL, OFF(results_s3_path_style),
      "address objects as endpoint/bucket/key (MinIO and most S3-compatible stores) instead of "
      "bucket.endpoint/key (AWS)" },
    OPTSTR("results.s3.access_key_id", results_s3_access_key_id, "",
           "empty: the environment's AWS_ACCESS_KEY_ID (and AWS_SESSION_TOKEN if set)"),
    OPTSTR("results.s3.secret_access_key", results_s3_secret_access_key, "",
           "empty: the environment's AWS_SECRET_ACCESS_KEY; never logged"),
    U64("results.s3.part_size", results_s3_part_size, "8388608", 5242880, 5368709120ULL,
        "uploads larger than this go up in parts of this size, bytes (S3's limits)"),
    U64("http.max_body", http_max_body_bytes, "1048576", 1024, 1ULL << 30,
        "request bodies larger than this get 413, bytes"),
    U32("http.max_connections", http_max_connections, "10000", 1, 1000000,
        "open connections at once, idle ones included; capped by what the open-file limit "
        "leaves (serve raises it to the hard limit; check-config warns)"),
    U32("http.read_timeout", http_read_timeout_s, "30", 1, 3600,
        "slow clients are cut off after this, seconds"),
    U32("http.max_header_size", http_max_header_bytes, "65536", 1024, 16 << 20,
        "request line plus headers, bytes"),
    U32("auth.session_ttl", auth_session_ttl_s, "28800", 1, 2592000,
        "admin sessions last this long, seconds"),
    STR("auth.key_file", auth_key_file, DERIVED "server.key",
        "the server key (token MACs, sessions, download URL signatures), created 0600 on "
        "first use; every node of a cluster must read the same file"),
    U64("lua.max_memory", lua_max_memory_bytes, "67108864", 1 << 20, 64ULL << 30,
        "per-run Lua heap cap, bytes"),
    U64("lua.max_instructions", lua_max_instructions, "100000000", 1000, 1000000000000ULL,
        "per-call Lua instruction budget"),
    U32("lua.max_cpu_seconds", lua_max_cpu_seconds, "30", 1, 86400,
        "CPU time a run's Lua may use, library functions included, seconds"),
    CHOICE("log.level", log_level, "info", "debug, info, warn, error", "minimum level logged"),
    CHOICE("log.format", log_format, "json", "json, logfmt", "log line format"),
    { "metrics.require_token", KEY_BOOL, "false", 0, 0, NULL, OFF(metrics_require_token),
      "GET /metrics needs a valid token or session" },
    { "cors.allow_origins", KEY_ORIGINS, "none", 0, 0, NULL, OFF(cors_allow_origins),
      "browser origins allowed to call the API (CORS): none, * (any), or a comma-separated "
      "list of origins such as https://console.example.com" },
    U32("limits.max_tasks_per_chain", limits_max_tasks_per_chain, "10000", 0, 100000000,
        "tasks one chain may hold; creating one more answers 409 quota_exceeded; 0 = no cap"),
    U32("limits.requests_per_second", limits_requests_per_second, "0", 0, 1000000,
        "requests per second per token or admin user, with bursts of as many; more get 429 "
        "rate_limited with Retry-After; 0 = no limit"),
    U32("webhooks.timeout", webhooks_timeout_s, "10", 1, 300,
        "a webhook delivery must get a 2xx answer within this, connect included, seconds"),
    U32("webhooks.max_attempts", webhooks_max_attempts, "12", 1, 100,
        "attempts per webhook delivery (retries 1 s doubling, capped at 1 h) before it is "
        "given up"),
    { "webhooks.allow_private", KEY_BOOL, "false", 0, 0, NULL, OFF(webhooks_allow_private),
      "allow webhook URLs whose host is a loopback, private or link-local address (checked "
      "when the task is saved and again at each connect)" },
    OPTSTR("cluster.node_id", cluster_node_id, "",
           "this node's name in a cluster (GET /cluster/nodes, run logs); empty: "
           "<hostname>:<pid>"),
    U32("cluster.heartbeat", cluster_heartbeat_s, "2", 1, 3600,
        "seconds between a node's heartbeats and lease renewals"),
    U32("cluster.lease", cluster_lease_s, "10", 2, 86400,
        "a run whose lease was not renewed for this long is rescued by another node, seconds; "
        "more than cluster.heartbeat"),
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

/* Where a key was set in the file (line 0: not set), for checks across keys. */
struct pos {
    unsigned line, col;
};

struct loader {
    const char *name;      /* file name for messages */
    struct tw_config *cfg; /* being filled */
    struct tw_err *err;    /* where the error goes */
    const char *base_dir;  /* relative paths written in the file resolve here; NULL: as is */
    struct pos at[NKEYS];  /* where each key was written, for check_results */
};

static bool is_string(const struct key *k)
{
    return k->type != KEY_U32 && k->type != KEY_U64 && k->type != KEY_BOOL;
}

static char **str_field(struct tw_config *cfg, const struct key *k)
{
    return (char **)(void *)((char *)cfg + k->offset);
}

/* "FILE:LINE:COL: KEY: problem". A node at line 0 is a built-in default, so a bug of ours. */
__attribute__((format(printf, 4, 5))) static int fail(struct loader *ld,
                                                      const struct tw_yaml_node *at,
                                                      const char *path, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (at->line == 0)
        return tw_err_field(ld->err, TW_EINTERNAL, path, "built-in default: %s: %s", path, msg);
    return tw_err_field(ld->err, TW_EINVAL, path, "%s:%u:%u: %s: %s", ld->name, at->line, at->col,
                        path, msg);
}

static int set_uint(struct loader *ld, const struct key *k, const struct tw_yaml_node *n)
{
    char buf[80];
    uint64_t v;
    bool ok = tw_yaml_as_uint(n, &v);

    if (ok && !n->plain)
        return fail(ld, n, k->path,
                    "must be an integer between %" PRIu64 " and %" PRIu64
                    ", written without quotes (got %s)",
                    k->min, k->max, GOT(n));
    if (!ok || v < k->min || v > k->max)
        return fail(ld, n, k->path,
                    "must be an integer between %" PRIu64 " and %" PRIu64 " (got %s)", k->min,
                    k->max, GOT(n));
    if (k->type == KEY_U64)
        memcpy((char *)ld->cfg + k->offset, &v, sizeof(v));
    else
        memcpy((char *)ld->cfg + k->offset, &(uint32_t){ (uint32_t)v }, sizeof(uint32_t));
    return TW_OK;
}

static int set_bool(struct loader *ld, const struct key *k, const struct tw_yaml_node *n)
{
    char buf[80];

    if (!tw_yaml_as_bool(n, (bool *)(void *)((char *)ld->cfg + k->offset)))
        return fail(ld, n, k->path, "must be true or false (got %s)", GOT(n));
    return TW_OK;
}

/* choices is "a, b, c"; s is not empty. */
static bool is_choice(const char *choices, const char *s)
{
    size_t len = strlen(s);

    for (const char *p = choices; p != NULL; p = strstr(p, ", ") ? strstr(p, ", ") + 2 : NULL)
        if (strncmp(p, s, len) == 0 && (p[len] == '\0' || p[len] == ','))
            return true;
    return false;
}

static bool is_listen(const char *s)
{
    const char *colon = strrchr(s, ':');
    size_t host_len;
    size_t port_len;

    if (colon == NULL)
        return false;
    port_len = strlen(colon + 1);
    if (port_len < 1 || port_len > 5 || strspn(colon + 1, "0123456789") != port_len ||
        strtoul(colon + 1, NULL, 10) > 65535)
        return false;
    host_len = (size_t)(colon - s);
    if (host_len == 0)
        return false;
    /* An IPv6 host needs brackets, or "::1:80" would be ambiguous. */
    if (s[0] == '[')
        return host_len > 2 && s[host_len - 1] == ']' && memchr(s + 1, ']', host_len - 2) == NULL;
    return memchr(s, ':', host_len) == NULL && memchr(s, ']', host_len) == NULL;
}

/* One origin: http(s)://host[:port], no path, no trailing slash (as browsers send it). */
static bool is_origin(const char *s, size_t len)
{
    size_t skip = len > 8 && strncmp(s, "https://", 8) == 0  ? 8
                  : len > 7 && strncmp(s, "http://", 7) == 0 ? 7
                                                             : 0;
    size_t i;

    if (skip == 0)
        return false;
    for (i = skip; i < len; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '-' || s[i] == ':' ||
              s[i] == '[' || s[i] == ']'))
            return false;
    return true;
}

static bool is_origin_list(const char *s)
{
    size_t n = 0, len;

    if (strcmp(s, "none") == 0 || strcmp(s, "*") == 0)
        return true;
    for (;;) {
        s += strspn(s, ", ");
        if (*s == '\0')
            return n > 0;
        len = strcspn(s, ", ");
        if (!is_origin(s, len))
            return false;
        s += len;
        n++;
    }
}

/* Check a string against its type; may shorten it in place (URL trailing slashes). */
static int check_string(struct loader *ld, const struct key *k, const struct tw_yaml_node *n,
                        char *s)
{
    char buf[80];
    size_t len;

    if (k->type == KEY_CHOICE && !is_choice(k->choices, s))
        return fail(ld, n, k->path, "must be one of %s (got %s)", k->choices, GOT(n));
    if (k->type == KEY_LISTEN && !is_listen(s))
        return fail(ld, n, k->path,
                    "must be \"host:port\" with a port between 0 and 65535 "
                    "(got %s)",
                    GOT(n));
    if (k->type == KEY_ORIGINS && !is_origin_list(s))
        return fail(ld, n, k->path,
                    "must be none, * or a comma-separated list of origins "
                    "like https://console.example.com (no path) (got %s)",
                    GOT(n));
    if (k->type == KEY_URL) {
        if ((strncmp(s, "http://", 7) != 0 || s[7] == '\0') &&
            (strncmp(s, "https://", 8) != 0 || s[8] == '\0'))
            return fail(ld, n, k->path,
                        "must be a URL starting with http:// or https:// "
                        "(got %s)",
                        GOT(n));
        /* Download URLs are built as public_url + "/r/...": a trailing slash would double. */
        len = strlen(s);
        while (len > 0 && s[len - 1] == '/')
            s[--len] = '\0';
    }
    return TW_OK;
}

/* The keys that name files or directories (resolved against the file's directory). */
static bool is_path_key(const struct key *k)
{
    static const char *const paths[] = {
        "data_dir", "store.path", "source.path", "plugins_dir", "lua_dir", "results.dir",
    };

    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
        if (strcmp(k->path, paths[i]) == 0)
            return true;
    return false;
}

/*
 * value as written in the file, joined to the file's directory when it is relative and the
 * file is not in the working directory ("var" in /etc/tw/config.yaml is /etc/tw/var; a leading
 * "./" is dropped). NULL when out of memory.
 */
static char *resolve_path(const char *base_dir, const char *value)
{
    size_t size;
    char *out;

    if (base_dir == NULL || value[0] == '/')
        return tw_strdup(value);
    while (value[0] == '.' && value[1] == '/')
        value += 2;
    if (value[0] == '\0' || strcmp(value, ".") == 0)
        return tw_strdup(base_dir);
    size = strlen(base_dir) + 1 + strlen(value) + 1;
    out = tw_malloc(size);
    if (out != NULL)
        snprintf(out, size, "%s/%s", base_dir, value);
    return out;
}

static int set_string(struct loader *ld, const struct key *k, const struct tw_yaml_node *n)
{
    char buf[80];
    char **field = str_field(ld->cfg, k);
    char *s;
    int ret;

    if (k->type == KEY_URL && strcmp(k->def, FROM_LISTEN) == 0 && tw_yaml_is_null(n)) {
        tw_free(*field); /* "public_url:" with no value: made from listen, as unset */
        *field = NULL;
        return TW_OK;
    }
    if (k->type == KEY_OPTSTR && tw_yaml_is_null(n) && n->kind == TW_YAML_SCALAR) {
        s = tw_strdup(""); /* "access_key_id:" with no value: not set */
        if (s == NULL)
            return tw_err_set(ld->err, TW_ENOMEM, "%s: out of memory", ld->name);
        tw_free(*field);
        *field = s;
        return TW_OK;
    }
    if (n->kind != TW_YAML_SCALAR || tw_yaml_is_null(n))
        return fail(ld, n, k->path, "must be a string (got %s)", GOT(n));
    if (n->scalar[0] == '\0' && k->type != KEY_OPTSTR)
        return fail(ld, n, k->path, "must not be empty");
    s = is_path_key(k) ? resolve_path(ld->base_dir, n->scalar) : tw_strdup(n->scalar);
    if (s == NULL)
        return tw_err_set(ld->err, TW_ENOMEM, "%s: out of memory", ld->name);
    ret = check_string(ld, k, n, s);
    if (ret != TW_OK) {
        tw_free(s);
        return ret;
    }
    tw_free(*field);
    *field = s;
    return TW_OK;
}

static int set_value(struct loader *ld, const struct key *k, const struct tw_yaml_node *n)
{
    ld->at[k - keys] = (struct pos){ n->line, n->col };
    if (k->type == KEY_U32 || k->type == KEY_U64)
        return set_uint(ld, k, n);
    return k->type == KEY_BOOL ? set_bool(ld, k, n) : set_string(ld, k, n);
}

static const struct key *find_key(const char *path)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (strcmp(keys[i].path, path) == 0)
            return &keys[i];
    return NULL;
}

/* True when path names a section: some key lies below it. */
static bool is_section(const char *path)
{
    size_t len = strlen(path);

    for (size_t i = 0; i < NKEYS; i++)
        if (strncmp(keys[i].path, path, len) == 0 && keys[i].path[len] == '.')
            return true;
    return false;
}

/* "a, b, c": the names directly under prefix ("" for the top level), in table order. */
static void list_level(const char *prefix, char *out, size_t size)
{
    size_t plen = strlen(prefix);
    size_t used = 0;
    char name[64];
    char last[64] = "";

    out[0] = '\0';
    for (size_t i = 0; i < NKEYS; i++) {
        const char *rest = keys[i].path;

        if (plen > 0 && (strncmp(rest, prefix, plen) != 0 || rest[plen] != '.'))
            continue;
        rest += plen > 0 ? plen + 1 : 0;
        snprintf(name, sizeof(name), "%.*s", (int)strcspn(rest, "."), rest);
        /* Keys of one section are adjacent in the table, so comparing with the last suffices. */
        if (strcmp(name, last) == 0)
            continue;
        memcpy(last, name, sizeof(last));
        used += (size_t)snprintf(out + used, size - used, "%s%s", used > 0 ? ", " : "", name);
        if (used >= size)
            return;
    }
}

static int apply_mapping(struct loader *ld, const struct tw_yaml_node *map, const char *prefix)
{
    char path[128];
    char valid[400];
    const struct key *k;
    bool dotted;
    int ret;

    for (size_t i = 0; i < map->n; i++) {
        const struct tw_yaml_node *key = map->pairs[i].key;
        const struct tw_yaml_node *value = map->pairs[i].value;

        snprintf(path, sizeof(path), "%s%s%s", prefix, prefix[0] != '\0' ? "." : "", key->scalar);
        /* "http.max_body" is how messages name a key, not a way to write one. */
        dotted = strchr(key->scalar, '.') != NULL;
        k = dotted ? NULL : find_key(path);
        if (k != NULL) {
            ret = set_value(ld, k, value);
        } else if (dotted || !is_section(path)) {
            list_level(prefix, valid, sizeof(valid));
            ret = fail(ld, key, path, "unknown key (valid keys %s%s: %s)%s",
                       prefix[0] != '\0' ? "in " : "at the top level", prefix, valid,
                       dotted ? "; nest a section's keys under it instead of using dots" : "");
        } else if (tw_yaml_is_null(value)) {
            ret = TW_OK; /* "http:" with nothing under it: all defaults */
        } else if (value->kind == TW_YAML_MAPPING) {
            ret = apply_mapping(ld, value, path);
        } else {
            ret = fail(ld, value, path, "must be a mapping of keys (got %s)",
                       tw_yaml_kind_name(value->kind));
        }
        if (ret != TW_OK)
            return ret;
    }
    return TW_OK;
}

/* fail() at where path was written, else where results.storage was (the key that needs it). */
__attribute__((format(printf, 3, 4))) static int fail_key(struct loader *ld, const char *path,
                                                          const char *fmt, ...)
{
    const struct key *k = find_key(path);
    struct pos p = ld->at[k - keys];
    struct tw_yaml_node at = { .kind = TW_YAML_SCALAR };
    char msg[400];
    va_list ap;

    if (p.line == 0)
        p = ld->at[find_key("results.storage") - keys];
    at.line = p.line;
    at.col = p.col;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return fail(ld, &at, path, "%s", msg);
}

static bool only_chars(const char *s, const char *set)
{
    return strspn(s, set) == strlen(s);
}

#define LOWER_DIGITS "abcdefghijklmnopqrstuvwxyz0123456789"

/* S3's bucket naming rules: 3-63 of a-z 0-9 . -, beginning and ending with a letter or digit. */
static bool is_bucket(const char *s)
{
    size_t n = strlen(s);

    return n >= 3 && n <= 63 && only_chars(s, LOWER_DIGITS ".-") &&
           strchr(LOWER_DIGITS, s[0]) != NULL && strchr(LOWER_DIGITS, s[n - 1]) != NULL &&
           strstr(s, "..") == NULL;
}

/*
 * The cluster keys together: a lease must outlast at least one heartbeat, or every run would
 * be rescued from a healthy node between two renewals.
 */
static int check_cluster(struct loader *ld)
{
    const struct tw_config *c = ld->cfg;

    bool lease_written = ld->at[find_key("cluster.lease") - keys].line != 0;

    if (c->cluster_lease_s <= c->cluster_heartbeat_s && lease_written)
        return fail_key(ld, "cluster.lease",
                        "must be more than cluster.heartbeat (got lease %u, heartbeat %u): a "
                        "healthy node renews its leases every heartbeat",
                        c->cluster_lease_s, c->cluster_heartbeat_s);
    if (c->cluster_lease_s <= c->cluster_heartbeat_s)
        return fail_key(ld, "cluster.heartbeat",
                        "must be less than cluster.lease (got heartbeat %u, lease %u): a "
                        "healthy node renews its leases every heartbeat",
                        c->cluster_heartbeat_s, c->cluster_lease_s);
    if (strlen(c->cluster_node_id) > 200 || strpbrk(c->cluster_node_id, "\r\n\t\"\\") != NULL)
        return fail_key(ld, "cluster.node_id",
                        "must be at most 200 bytes without quotes, backslashes or control "
                        "characters");
    return TW_OK;
}

/*
 * The results.s3 keys together (docs/storage.md): values S3 accepts whenever they are set, and
 * what results.storage s3 needs. Runs after the whole file was read.
 */
static int check_results(struct loader *ld)
{
    struct tw_config *c = ld->cfg;
    bool s3 = strcmp(c->results_storage, "s3") == 0;
    char *ep = c->results_s3_endpoint;
    const char *host;
    size_t len;

    if (ep[0] != '\0') {
        host = strncmp(ep, "https://", 8) == 0  ? ep + 8
               : strncmp(ep, "http://", 7) == 0 ? ep + 7
                                                : NULL;
        len = strlen(ep);
        while (len > 0 && ep[len - 1] == '/')
            ep[--len] = '\0'; /* object paths are added with their own slash */
        if (host == NULL || host[0] == '\0' || host[0] == '/' || strpbrk(host, "/?#@ \t") != NULL)
            return fail_key(ld, "results.s3.endpoint",
                            "must be http://host[:port] or https://host[:port], without a path "
                            "(got \"%.80s\")",
                            ep);
    }
    if (c->results_s3_region[0] != '\0' && !only_chars(c->results_s3_region, LOWER_DIGITS "-"))
        return fail_key(ld, "results.s3.region",
                        "must be a region name such as eu-west-1 (got \"%.80s\")",
                        c->results_s3_region);
    if (c->results_s3_bucket[0] != '\0' && !is_bucket(c->results_s3_bucket))
        return fail_key(ld, "results.s3.bucket",
                        "must be a bucket name: 3 to 63 of a-z, 0-9, '.' and '-', beginning and "
                        "ending with a letter or digit (got \"%.80s\")",
                        c->results_s3_bucket);
    if (c->results_s3_prefix[0] == '/' || strlen(c->results_s3_prefix) > 512 ||
        strpbrk(c->results_s3_prefix, "\\\r\n\t") != NULL)
        return fail_key(ld, "results.s3.prefix",
                        "must not begin with '/' nor hold backslashes or control characters, "
                        "and at most 512 bytes (object keys are <prefix><chain>/<task id>/<file>)");
    if ((c->results_s3_access_key_id[0] == '\0') != (c->results_s3_secret_access_key[0] == '\0'))
        return fail_key(ld,
                        c->results_s3_access_key_id[0] != '\0' ? "results.s3.access_key_id"
                                                               : "results.s3.secret_access_key",
                        "needs its pair: set both results.s3.access_key_id and "
                        "results.s3.secret_access_key, or neither (then AWS_ACCESS_KEY_ID and "
                        "AWS_SECRET_ACCESS_KEY are used)");
    if (!s3)
        return TW_OK;
    if (ep[0] == '\0')
        return fail_key(ld, "results.s3.endpoint",
                        "must be set when results.storage is s3 (e.g. "
                        "https://s3.eu-west-1.amazonaws.com)");
    if (c->results_s3_region[0] == '\0')
        return fail_key(ld, "results.s3.region",
                        "must be set when results.storage is s3 (e.g. eu-west-1; us-east-1 for "
                        "most S3-compatible stores)");
    if (c->results_s3_bucket[0] == '\0')
        return fail_key(ld, "results.s3.bucket", "must be set when results.storage is s3");
    return TW_OK;
}

/* k's default; an installed binary's plugins and scripts lie below its prefix (core/paths.h). */
static const char *default_of(const struct key *k, char *buf, size_t size)
{
    const char *sub = NULL;
    char prefix[PATH_MAX];

    if (k->offset == OFF(plugins_dir))
        sub = TW_PATHS_PLUGINDIR;
    else if (k->offset == OFF(lua_dir))
        sub = TW_PATHS_LUADIR;
    if (sub == NULL || !tw_paths_prefix(prefix, sizeof(prefix)) ||
        snprintf(buf, size, "%s/%s", prefix, sub) >= (int)size)
        return k->def;
    return buf;
}

static int apply_defaults(struct loader *ld)
{
    struct tw_yaml_node def = { .kind = TW_YAML_SCALAR, .plain = true };
    char buf[PATH_MAX + 64];
    int ret;

    for (size_t i = 0; i < NKEYS; i++) {
        if (strncmp(keys[i].def, DERIVED, DERIVED_LEN) == 0 ||
            strcmp(keys[i].def, FROM_LISTEN) == 0)
            continue;
        def.scalar = (char *)default_of(&keys[i], buf, sizeof(buf));
        ret = set_value(ld, &keys[i], &def);
        if (ret != TW_OK)
            return ret;
    }
    return TW_OK;
}

/*
 * "http://" + listen, the default of results.public_url; tw_config_bound puts the bound port
 * in. A wildcard host is not an address a client can use: loopback stands in for it.
 */
static char *url_from_listen(const char *listen, unsigned port)
{
    const char *colon = strrchr(listen, ':');
    int host_len = (int)(colon - listen);
    const char *host = listen;
    size_t size = strlen(listen) + 32;
    char *url;

    if ((host_len == 7 && strncmp(listen, "0.0.0.0", 7) == 0) ||
        (host_len == 1 && listen[0] == '*')) {
        host = "127.0.0.1";
        host_len = 9;
    } else if (host_len == 4 && strncmp(listen, "[::]", 4) == 0) {
        host = "[::1]";
        host_len = 5;
    }
    url = tw_malloc(size);
    if (url != NULL)
        snprintf(url, size, "http://%.*s:%u", host_len, host, port);
    return url;
}

static int apply_derived(struct loader *ld)
{
    if (ld->cfg->results_public_url == NULL) {
        ld->cfg->results_public_url = url_from_listen(
            ld->cfg->listen, (unsigned)strtoul(strrchr(ld->cfg->listen, ':') + 1, NULL, 10));
        ld->cfg->results_public_url_from_listen = true;
        if (ld->cfg->results_public_url == NULL)
            return tw_err_set(ld->err, TW_ENOMEM, "%s: out of memory", ld->name);
    }
    for (size_t i = 0; i < NKEYS; i++) {
        char **field = str_field(ld->cfg, &keys[i]);
        const char *file = keys[i].def + DERIVED_LEN;
        size_t size;

        if (strncmp(keys[i].def, DERIVED, DERIVED_LEN) != 0 || *field != NULL)
            continue;
        size = strlen(ld->cfg->data_dir) + 1 + strlen(file) + 1;
        *field = tw_malloc(size);
        if (*field == NULL)
            return tw_err_set(ld->err, TW_ENOMEM, "%s: out of memory", ld->name);
        snprintf(*field, size, "%s/%s", ld->cfg->data_dir, file);
    }
    return TW_OK;
}

/*
 * Defaults, then the tree (borrowed; NULL when empty), then derived paths, into a new *out.
 * is_file: name is the file's path, kept in cfg->path.
 */
/* The directory of file, or NULL when it is the working directory ("config.yaml"). */
static char *dir_of(const char *file)
{
    const char *slash = strrchr(file, '/');

    if (slash == NULL)
        return NULL;
    if (slash == file)
        return tw_strdup("/");
    return tw_strndup(file, (size_t)(slash - file));
}

static int load_tree(const char *name, bool is_file, const struct tw_yaml_node *root,
                     struct tw_config **out, struct tw_err *err)
{
    struct loader ld = { .name = name, .err = err };
    char *base_dir = NULL;
    int ret = TW_EINVAL;

    ld.cfg = tw_calloc(1, sizeof(*ld.cfg));
    if (ld.cfg != NULL && is_file)
        ld.cfg->path = tw_strdup(name);
    if (ld.cfg == NULL || (is_file && ld.cfg->path == NULL)) {
        ret = tw_err_set(err, TW_ENOMEM, "%s: out of memory", name);
        goto out;
    }
    if (root != NULL && !tw_yaml_is_null(root) && root->kind != TW_YAML_MAPPING) {
        tw_err_set(err, ret,
                   "%s:%u:%u: the file must be a mapping of keys such as "
                   "\"workers: 2\" (got %s)",
                   name, root->line, root->col, tw_yaml_kind_name(root->kind));
        goto out;
    }
    ret = apply_defaults(&ld);
    if (ret == TW_OK && is_file && strchr(name, '/') != NULL && (base_dir = dir_of(name)) == NULL)
        ret = tw_err_set(err, TW_ENOMEM, "%s: out of memory", name);
    ld.base_dir = base_dir;
    if (ret == TW_OK && root != NULL && root->kind == TW_YAML_MAPPING)
        ret = apply_mapping(&ld, root, "");
    if (ret == TW_OK)
        ret = check_results(&ld);
    if (ret == TW_OK)
        ret = check_cluster(&ld);
    if (ret == TW_OK)
        ret = apply_derived(&ld);
out:
    tw_free(base_dir);
    if (ret != TW_OK)
        tw_config_destroy(ld.cfg);
    else
        *out = ld.cfg;
    return ret;
}

int tw_config_load_string(const char *yaml, const char *name, struct tw_config **out,
                          struct tw_err *err)
{
    struct tw_yaml_node *root = NULL;
    int ret;

    if (name == NULL)
        name = "<string>";
    ret = tw_yaml_parse(yaml, yaml != NULL ? strlen(yaml) : 0, name, &root, err);
    if (ret == TW_OK)
        ret = load_tree(name, false, root, out, err);
    tw_yaml_destroy(root);
    return ret;
}

/* <sysconfdir>/taskwheel/config.yaml of an installed binary into buf; false when not installed. */
static bool system_file(char *buf, size_t size)
{
    char prefix[PATH_MAX];
    char etc[PATH_MAX];

    return tw_paths_prefix(prefix, sizeof(prefix)) &&
           tw_paths_sysconfdir(prefix, etc, sizeof(etc)) &&
           snprintf(buf, size, "%s/taskwheel/config.yaml", etc) < (int)size;
}

/*
 * Without -c (docs/reference.md §14): $TASKWHEEL_CONFIG, which must then exist like -c; else ./config.yaml,
 * then an installed binary's <sysconfdir>/taskwheel/config.yaml, each only if it exists; else
 * the built-in defaults.
 */
int tw_config_load(const char *path, struct tw_config **out, struct tw_err *err)
{
    const char *env = getenv("TASKWHEEL_CONFIG");
    const char *file;
    struct tw_yaml_node *root = NULL;
    char sys[PATH_MAX];
    int ret;

    if (path == NULL && env != NULL && env[0] != '\0')
        path = env;
    file = path != NULL ? path : "config.yaml";
    ret = tw_yaml_parse_file(file, MAX_FILE_BYTES, &root, err);
    if (ret == TW_ENOTFOUND && path == NULL && system_file(sys, sizeof(sys))) {
        tw_err_clear(err);
        file = sys;
        ret = tw_yaml_parse_file(file, MAX_FILE_BYTES, &root, err);
    }
    if (ret == TW_ENOTFOUND && path == NULL) {
        /* No -c and no ./config.yaml: the built-in defaults (docs/reference.md §8). */
        tw_err_clear(err);
        return tw_config_load_string("", "<defaults>", out, err);
    }
    /* Named explicitly, so its absence is an error like any other unreadable file. */
    if (ret == TW_ENOTFOUND && err != NULL)
        err->code = TW_EIO;
    if (ret == TW_ENOTFOUND)
        ret = TW_EIO;
    if (ret == TW_OK)
        ret = load_tree(file, true, root, out, err);
    tw_yaml_destroy(root);
    return ret;
}

void tw_config_destroy(struct tw_config *cfg)
{
    if (cfg == NULL)
        return;
    for (size_t i = 0; i < NKEYS; i++)
        if (is_string(&keys[i]))
            tw_free(*str_field(cfg, &keys[i]));
    tw_free(cfg->path);
    tw_free(cfg);
}

int tw_config_bound(struct tw_config *cfg, unsigned port, struct tw_err *err)
{
    char *url;

    if (!cfg->results_public_url_from_listen)
        return TW_OK;
    url = url_from_listen(cfg->listen, port);
    if (url == NULL)
        return tw_err_set(err, TW_ENOMEM, "out of memory");
    tw_free(cfg->results_public_url);
    cfg->results_public_url = url;
    return TW_OK;
}

const char *tw_config_key_path(size_t i)
{
    return i < NKEYS ? keys[i].path : NULL;
}

bool tw_config_equal(const struct tw_config *a, const struct tw_config *b)
{
    for (size_t i = 0; i < NKEYS; i++) {
        const struct key *k = &keys[i];
        const void *pa = (const char *)a + k->offset;
        const void *pb = (const char *)b + k->offset;
        size_t size = k->type == KEY_U32   ? sizeof(uint32_t)
                      : k->type == KEY_U64 ? sizeof(uint64_t)
                                           : sizeof(bool);

        if (is_string(k) ? strcmp(*(char *const *)pa, *(char *const *)pb) != 0
                         : memcmp(pa, pb, size) != 0)
            return false;
    }
    return true;
}

int tw_config_describe(FILE *out)
{
    fprintf(out, "| key | default | description |\n|---|---|---|\n");
    for (size_t i = 0; i < NKEYS; i++) {
        const struct key *k = &keys[i];

        fprintf(out, "| `%s` | `%s` | %s", k->path, k->def[0] != '\0' ? k->def : "\"\"", k->desc);
        if (k->type == KEY_U32 || k->type == KEY_U64)
            fprintf(out, " (%" PRIu64 "..%" PRIu64 ")", k->min, k->max);
        else if (k->type == KEY_CHOICE)
            fprintf(out, " (%s)", k->choices);
        if (fprintf(out, " |\n") < 0)
            return TW_EIO;
    }
    return TW_OK;
}
