/*
 * Unit tests for core/config.c: defaults, the reference file config.yaml.example (it must load,
 * equal the defaults and mention every key), one case per kind of error with its exact message,
 * file handling (missing, unreadable, empty, ./config.yaml fallback) and allocation failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "core/config.h"
#include "core/mem.h"
#include "core/yaml.h"

#define EXAMPLE TW_SOURCE_DIR "/config.yaml.example"

static struct tw_config *load_ok(const char *yaml)
{
    struct tw_config *cfg = NULL;
    struct tw_err err;

    tw_err_clear(&err);
    cr_assert_eq(tw_config_load_string(yaml, "t.yaml", &cfg, &err), TW_OK, "%s", err.msg);
    cr_assert_not_null(cfg);
    return cfg;
}

Test(config, defaults_match_spec)
{
    struct tw_config *c = load_ok("");

    cr_assert_null(c->path);
    cr_assert_str_eq(c->listen, "127.0.0.1:8080");
    cr_assert_str_eq(c->data_dir, "./var");
    cr_assert_str_eq(c->store_driver, "sqlite");
    cr_assert_str_eq(c->store_path, "./var/taskwheel.db");
    cr_assert_str_eq(c->source_driver, "sqlite");
    cr_assert_str_eq(c->source_path, "./var/retail.db");
    cr_assert_str_eq(c->plugins_dir, "./build/plugins");
    cr_assert_str_eq(c->lua_dir, "./lua");
    cr_assert_eq(c->workers, 2);
    cr_assert_eq(c->max_runs_per_chain, 0);
    cr_assert_eq(c->worker_nice, 19);
    cr_assert_eq(c->workers_max_runs, 1000);
    cr_assert_eq(c->workers_max_rss_bytes, 536870912);
    cr_assert_eq(c->task_timeout_s, 3600);
    cr_assert_eq(c->execute_wait_s, 60);
    cr_assert_eq(c->shutdown_grace_s, 30);
    cr_assert_str_eq(c->results_dir, "./var/results");
    cr_assert_eq(c->results_retention_days, 7);
    cr_assert_eq(c->results_url_ttl_s, 3600);
    cr_assert_str_eq(c->results_public_url, "http://127.0.0.1:8080");
    cr_assert_eq(c->http_max_body_bytes, 1048576);
    cr_assert_eq(c->http_max_connections, 10000);
    cr_assert_eq(c->http_read_timeout_s, 30);
    cr_assert_eq(c->http_max_header_bytes, 65536);
    cr_assert_eq(c->auth_session_ttl_s, 28800);
    cr_assert_eq(c->lua_max_memory_bytes, 67108864);
    cr_assert_eq(c->lua_max_instructions, 100000000);
    cr_assert_str_eq(c->log_level, "info");
    cr_assert_str_eq(c->log_format, "json");
    cr_assert(!c->metrics_require_token);
    cr_assert_eq(c->webhooks_timeout_s, 10);
    cr_assert_eq(c->webhooks_max_attempts, 12);
    cr_assert(!c->webhooks_allow_private);
    tw_config_destroy(c);
}

Test(config, empty_forms_are_all_defaults)
{
    static const char *const empties[] = { "",    "\n\n",    "# nothing\n",        "---\n",
                                           "~\n", "http:\n", "store: {}\nlog: ~\n" };
    struct tw_config *def = load_ok("");

    for (size_t i = 0; i < sizeof(empties) / sizeof(empties[0]); i++) {
        struct tw_config *c = load_ok(empties[i]);

        cr_assert(tw_config_equal(c, def), "%s", empties[i]);
        tw_config_destroy(c);
    }
    tw_config_destroy(def);
    def = NULL;
    cr_assert_eq(tw_config_load_string(NULL, NULL, &def, NULL), TW_OK);
    tw_config_destroy(def);
    tw_config_destroy(NULL);
}

Test(config, example_file_equals_defaults)
{
    struct tw_config *def = load_ok("");
    struct tw_config *ex = NULL;
    struct tw_err err;

    tw_err_clear(&err);
    /* From its own directory, where its relative paths mean what the defaults mean. */
    cr_assert_eq(chdir(TW_SOURCE_DIR), 0); /* each test runs in its own process */
    cr_assert_eq(tw_config_load("config.yaml.example", &ex, &err), TW_OK, "%s", err.msg);
    cr_assert_str_eq(ex->path, "config.yaml.example");
    cr_assert(tw_config_equal(ex, def), "config.yaml.example differs from the defaults");
    cr_assert(ex->results_public_url_from_listen, "the example sets public_url");
    tw_config_destroy(ex);
    /* From elsewhere: the same file's relative paths are its directory's. */
    cr_assert_eq(tw_config_load(EXAMPLE, &ex, &err), TW_OK, "%s", err.msg);
    cr_assert_str_eq(ex->data_dir, TW_SOURCE_DIR "/var");
    cr_assert_str_eq(ex->store_path, TW_SOURCE_DIR "/var/taskwheel.db");
    cr_assert_str_eq(ex->lua_dir, TW_SOURCE_DIR "/lua");
    tw_config_destroy(ex);
    tw_config_destroy(def);
}

/* Issue 11 #17: results.public_url follows listen, port 0 included, unless it is set. */
Test(config, public_url_follows_listen_unless_set)
{
    struct tw_config *c = load_ok("listen: \"127.0.0.1:9000\"\n");
    struct tw_err err;

    cr_assert_str_eq(c->results_public_url, "http://127.0.0.1:9000");
    cr_assert(c->results_public_url_from_listen);
    tw_config_destroy(c);
    c = load_ok("listen: \"127.0.0.1:0\"\n");
    cr_assert_eq(tw_config_bound(c, 41234, &err), TW_OK);
    cr_assert_str_eq(c->results_public_url, "http://127.0.0.1:41234");
    tw_config_destroy(c);
    c = load_ok("listen: \"0.0.0.0:8081\"\n");
    cr_assert_str_eq(c->results_public_url, "http://127.0.0.1:8081");
    tw_config_destroy(c);
    c = load_ok("listen: \"[::]:0\"\n");
    cr_assert_eq(tw_config_bound(c, 80, &err), TW_OK);
    cr_assert_str_eq(c->results_public_url, "http://[::1]:80");
    tw_config_destroy(c);
    c = load_ok("listen: \"files.example:8443\"\nresults: { public_url: }\n");
    cr_assert_str_eq(c->results_public_url, "http://files.example:8443");
    tw_config_destroy(c);
    c = load_ok("listen: \"127.0.0.1:0\"\nresults: { public_url: \"https://dl.example/x/\" }\n");
    cr_assert(!c->results_public_url_from_listen);
    cr_assert_eq(tw_config_bound(c, 41234, &err), TW_OK);
    cr_assert_str_eq(c->results_public_url, "https://dl.example/x");
    tw_config_destroy(c);
}

/* Every key of the table is spelled out in the example, not merely defaulted. */
Test(config, example_file_documents_every_key)
{
    struct tw_yaml_node *root = NULL;
    struct tw_err err;
    size_t i;

    cr_assert_eq(tw_yaml_parse_file(EXAMPLE, 1 << 20, &root, &err), TW_OK, "%s", err.msg);
    for (i = 0; tw_config_key_path(i) != NULL; i++) {
        const struct tw_yaml_node *n = root;
        char path[128];
        char *save = NULL;

        snprintf(path, sizeof(path), "%s", tw_config_key_path(i));
        for (char *seg = strtok_r(path, ".", &save); seg != NULL && n != NULL;
             seg = strtok_r(NULL, ".", &save))
            n = tw_yaml_get(n, seg);
        cr_assert_not_null(n, "config.yaml.example lacks %s", tw_config_key_path(i));
    }
    cr_assert_eq(i, 53);
    tw_yaml_destroy(root);
}

Test(config, every_key_set)
{
    struct tw_config *c = load_ok(
        "listen: \"[::1]:0\"\n"
        "data_dir: /srv/tw\n"
        "store: {driver: sqlite, path: /db/tasks.db}\n"
        "source: {path: 'retail copy.db'}\n"
        "plugins_dir: /p\nlua_dir: /l\n"
        "workers: 256\nmax_runs_per_chain: 3\nworker_nice: 0\ntask_timeout: 1\nexecute_wait: 0\n"
        "shutdown_grace: 0\n"
        "results: {retention_days: 1, url_ttl: 604800, public_url: 'https://x.example/dl//'}\n"
        "http: {max_body: 1073741824, max_connections: 1, read_timeout: 3600, "
        "max_header_size: 1024}\n"
        "auth: {session_ttl: 60}\n"
        "lua: {max_memory: 68719476736, max_instructions: 1000000000000}\n"
        "log: {level: debug, format: logfmt}\n"
        "metrics: {require_token: True}\n");

    cr_assert_str_eq(c->listen, "[::1]:0");
    cr_assert_str_eq(c->store_path, "/db/tasks.db");
    cr_assert_str_eq(c->source_path, "retail copy.db");
    cr_assert_str_eq(c->results_dir, "/srv/tw/results"); /* still derived */
    cr_assert_str_eq(c->results_public_url, "https://x.example/dl");
    cr_assert_eq(c->workers, 256);
    cr_assert_eq(c->max_runs_per_chain, 3);
    cr_assert_eq(c->worker_nice, 0);
    cr_assert_eq(c->task_timeout_s, 1);
    cr_assert_eq(c->execute_wait_s, 0);
    cr_assert_eq(c->results_url_ttl_s, 604800);
    cr_assert_eq(c->http_max_body_bytes, 1073741824);
    cr_assert_eq(c->http_max_header_bytes, 1024);
    cr_assert_eq(c->auth_session_ttl_s, 60);
    cr_assert_eq(c->lua_max_memory_bytes, 68719476736ULL);
    cr_assert_eq(c->lua_max_instructions, 1000000000000ULL);
    cr_assert_str_eq(c->log_level, "debug");
    cr_assert_str_eq(c->log_format, "logfmt");
    cr_assert(c->metrics_require_token);
    tw_config_destroy(c);
}

Test(config, data_dir_moves_derived_paths)
{
    struct tw_config *c = load_ok("data_dir: /var/lib/taskwheel\n");

    cr_assert_str_eq(c->store_path, "/var/lib/taskwheel/taskwheel.db");
    cr_assert_str_eq(c->source_path, "/var/lib/taskwheel/retail.db");
    cr_assert_str_eq(c->results_dir, "/var/lib/taskwheel/results");
    tw_config_destroy(c);
}

Test(config, accepts_edge_values)
{
    static const char *const ok[] = {
        "listen: localhost:65535",
        "listen: 0.0.0.0:0",
        "listen: '[::]:80'",
        "workers: 1",
        "http: {max_body: 1024}",
        "execute_wait: 3600",
        "results: {url_ttl: 1}",
        "metrics: {require_token: FALSE}",
        "data_dir: 123",
        "results: {public_url: 'http://h'}",
        "workers: 007",
    };

    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        struct tw_config *c = NULL;
        struct tw_err err;

        cr_assert_eq(tw_config_load_string(ok[i], "t.yaml", &c, &err), TW_OK, "%s: %s", ok[i],
                     err.msg);
        tw_config_destroy(c);
    }
}

struct bad {
    char in[72];    /* YAML text */
    char msg[400];  /* the whole message, or its beginning when it ends in '*' */
    char field[32]; /* err.field */
};

#define TOP                                                                \
    "listen, data_dir, store, source, plugins_dir, lua_dir, workers, "     \
    "max_runs_per_chain, worker_nice, workers_max_runs, workers_max_rss, " \
    "task_timeout, execute_wait, shutdown_grace, "                         \
    "logs_keep, results, http, auth, lua, log, metrics, cors, limits, webhooks, cluster"

ParameterizedTestParameters(config, rejects)
{
    static struct bad cases[] = {
        /* unknown keys */
        { "wrokers: 2", "t.yaml:1:1: wrokers: unknown key (valid keys at the top level: " TOP ")",
          "wrokers" },
        { "http:\n  max_bodyy: 5\n",
          "t.yaml:2:3: http.max_bodyy: unknown key (valid keys in "
          "http: max_body, max_connections, read_timeout, max_header_size)",
          "http.max_bodyy" },
        { "results: {dir: x, ttl: 5}",
          "t.yaml:1:19: results.ttl: unknown key (valid keys in "
          "results: dir, retention_days, url_ttl, public_url, storage, s3)",
          "results.ttl" },
        { "http.max_body: 2048",
          "t.yaml:1:1: http.max_body: unknown key (valid keys at the top "
          "level: " TOP "); nest a section's keys under it instead of using dots",
          "http.max_body" },
        { "workers:\n  count: 2",
          "t.yaml:2:3: workers: must be an integer between 1 and 256 "
          "(got a mapping)",
          "workers" },
        /* cors.allow_origins: origins as browsers send them, no paths */
        { "cors: {allow_origins: \"https://a.example/app\"}",
          "t.yaml:1:23: cors.allow_origins: "
          "must be none, * or a comma-separated list of origins like "
          "https://console.example.com (no path) (got \"https://a.example/app\")",
          "cors.allow_origins" },
        { "cors: {allow_origins: \"console.example.com\"}",
          "t.yaml:1:23: cors.allow_origins: "
          "must be none, * or a comma-separated list of origins like "
          "https://console.example.com (no path) (got \"console.example.com\")",
          "cors.allow_origins" },
        /* wrong types */
        { "workers: abc",
          "t.yaml:1:10: workers: must be an integer between 1 and 256 (got "
          "\"abc\")",
          "workers" },
        { "results:\n  url_ttl: soon\n",
          "t.yaml:2:12: results.url_ttl: must be an integer "
          "between 1 and 604800 (got \"soon\")",
          "results.url_ttl" },
        { "workers: \"2\"",
          "t.yaml:1:10: workers: must be an integer between 1 and 256, "
          "written without quotes (got \"2\")",
          "workers" },
        { "workers: 2.5",
          "t.yaml:1:10: workers: must be an integer between 1 and 256 (got "
          "\"2.5\")",
          "workers" },
        { "workers:", "t.yaml:1:9: workers: must be an integer between 1 and 256 (got nothing)",
          "workers" },
        { "workers: [2]",
          "t.yaml:1:10: workers: must be an integer between 1 and 256 (got a "
          "sequence)",
          "workers" },
        { "metrics: {require_token: yes}",
          "t.yaml:1:26: metrics.require_token: must be true "
          "or false (got \"yes\")",
          "metrics.require_token" },
        { "metrics: {require_token: 'true'}",
          "t.yaml:1:26: metrics.require_token: must be "
          "true or false (got \"true\")",
          "metrics.require_token" },
        { "data_dir: [a]", "t.yaml:1:11: data_dir: must be a string (got a sequence)", "data_dir" },
        { "data_dir: ~", "t.yaml:1:11: data_dir: must be a string (got nothing)", "data_dir" },
        { "data_dir: ''", "t.yaml:1:11: data_dir: must not be empty", "data_dir" },
        { "store: sqlite", "t.yaml:1:8: store: must be a mapping of keys (got a scalar)", "store" },
        { "- workers: 2",
          "t.yaml:1:1: the file must be a mapping of keys such as \"workers: 2\" "
          "(got a sequence)",
          "" },
        { "just text", "t.yaml:1:1: the file must be a mapping of keys*", "" },
        /* out of range */
        { "workers: 0",
          "t.yaml:1:10: workers: must be an integer between 1 and 256 (got "
          "\"0\")",
          "workers" },
        { "workers: 257",
          "t.yaml:1:10: workers: must be an integer between 1 and 256 (got "
          "\"257\")",
          "workers" },
        { "workers: -1", "t.yaml:1:10: workers: must be an integer between 1 and 256*", "workers" },
        { "workers: 99999999999999999999999", "t.yaml:1:10: workers: must be an integer*",
          "workers" },
        { "task_timeout: 0", "t.yaml:1:15: task_timeout: must be an integer between 1 and*",
          "task_timeout" },
        { "execute_wait: 3601",
          "t.yaml:1:15: execute_wait: must be an integer between 0 and "
          "3600 (got \"3601\")",
          "execute_wait" },
        { "results: {url_ttl: 0}",
          "t.yaml:1:20: results.url_ttl: must be an integer between 1 "
          "and 604800 (got \"0\")",
          "results.url_ttl" },
        { "results: {url_ttl: 604801}", "t.yaml:1:20: results.url_ttl: must be*",
          "results.url_ttl" },
        { "http: {max_body: 1023}",
          "t.yaml:1:18: http.max_body: must be an integer between "
          "1024 and 1073741824 (got \"1023\")",
          "http.max_body" },
        { "http: {max_body: 1073741825}", "t.yaml:1:18: http.max_body: must be*", "http.max_body" },
        { "max_runs_per_chain: 257", "t.yaml:1:21: max_runs_per_chain: must be*",
          "max_runs_per_chain" },
        { "worker_nice: 20",
          "t.yaml:1:14: worker_nice: must be an integer between 0 and 19 "
          "(got \"20\")",
          "worker_nice" },
        { "worker_nice: -1", "t.yaml:1:14: worker_nice: must be*", "worker_nice" },
        { "log: {level: verbose}",
          "t.yaml:1:14: log.level: must be one of debug, info, warn, "
          "error (got \"verbose\")",
          "log.level" },
        { "log: {level: inf}", "t.yaml:1:14: log.level: must be one of*", "log.level" },
        { "log: {format: text}",
          "t.yaml:1:15: log.format: must be one of json, logfmt (got "
          "\"text\")",
          "log.format" },
        { "store: {driver: postgres}",
          "t.yaml:1:17: store.driver: must be one of sqlite, postgresql (got "
          "\"postgres\")",
          "store.driver" },
        { "source: {driver: mysql}", "t.yaml:1:18: source.driver: must be one of sqlite*",
          "source.driver" },
        { "listen: 8080",
          "t.yaml:1:9: listen: must be \"host:port\" with a port between 0 and "
          "65535 (got \"8080\")",
          "listen" },
        { "listen: 'host:65536'", "t.yaml:1:9: listen: must be \"host:port\"*", "listen" },
        { "listen: ':80'", "t.yaml:1:9: listen: must be \"host:port\"*", "listen" },
        { "listen: 'host:'", "t.yaml:1:9: listen: must be \"host:port\"*", "listen" },
        { "listen: '::1:80'", "t.yaml:1:9: listen: must be \"host:port\"*", "listen" },
        { "listen: 'h:-1'", "t.yaml:1:9: listen: must be \"host:port\"*", "listen" },
        { "results: {public_url: ftp://x}",
          "t.yaml:1:23: results.public_url: must be a URL "
          "starting with http:// or https:// (got \"ftp://x\")",
          "results.public_url" },
        { "results: {public_url: 'https://'}", "t.yaml:1:23: results.public_url: must be a URL*",
          "results.public_url" },
        /* YAML-level */
        { "workers: 2\nworkers: 3\n",
          "t.yaml:2:1: workers: duplicate key (first given at line "
          "1)",
          "" },
        { "log:\n  level: info\n  level: warn\n", "t.yaml:3:3: level: duplicate key*", "" },
        { "workers: 2\nhttp: {max_body: 2048\n",
          "t.yaml:3:1: did not find expected ',' or "
          "'}' (while parsing a flow mapping that started at line 2)",
          "" },
        { "workers: 2\n  lua_dir: x\n", "t.yaml:2:10: mapping values are not allowed*", "" },
        /* object storage (docs/storage.md): values S3 takes, and what storage s3 needs */
        { "results:\n  storage: s3\n",
          "t.yaml:2:12: results.s3.endpoint: must be set when results.storage is s3*",
          "results.s3.endpoint" },
        { "results: {storage: s3, s3: {endpoint: 'http://127.0.0.1:9000'}}",
          "t.yaml:1:20: results.s3.region: must be set when results.storage is s3*",
          "results.s3.region" },
        { "results: {storage: s3, s3: {endpoint: 'http://h', region: us-east-1}}",
          "t.yaml:1:20: results.s3.bucket: must be set when results.storage is s3",
          "results.s3.bucket" },
        { "results: {storage: S3}", "t.yaml:1:20: results.storage: must be one of local, s3*",
          "results.storage" },
        { "results: {s3: {endpoint: 's3.amazonaws.com'}}",
          "t.yaml:1:26: results.s3.endpoint: must be http://host[:port] or https://host[:port], "
          "without a path (got \"s3.amazonaws.com\")",
          "results.s3.endpoint" },
        { "results: {s3: {endpoint: 'https://h/exports'}}",
          "t.yaml:1:26: results.s3.endpoint: must be http://host[:port]*", "results.s3.endpoint" },
        { "results: {s3: {bucket: My_Bucket}}", "t.yaml:1:24: results.s3.bucket: must be a bucket*",
          "results.s3.bucket" },
        { "results: {s3: {region: 'EU West'}}", "t.yaml:1:24: results.s3.region: must be a region*",
          "results.s3.region" },
        { "results: {s3: {prefix: /abs/}}", "t.yaml:1:24: results.s3.prefix: must not begin*",
          "results.s3.prefix" },
        { "results: {s3: {access_key_id: AKIDONLY}}",
          "t.yaml:1:31: results.s3.access_key_id: needs its pair*", "results.s3.access_key_id" },
        { "results: {s3: {part_size: 1048576}}",
          "t.yaml:1:27: results.s3.part_size: must be an integer between 5242880 and 5368709120*",
          "results.s3.part_size" },
        { "results: {s3: {path_style: yes please}}",
          "t.yaml:1:28: results.s3.path_style: must be true or false*", "results.s3.path_style" },
        { "cluster: {heartbeat: 5, lease: 5}",
          "t.yaml:1:32: cluster.lease: must be more than cluster.heartbeat (got lease 5, "
          "heartbeat 5)*",
          "cluster.lease" },
        { "cluster: {heartbeat: 20}",
          "t.yaml:1:22: cluster.heartbeat: must be less than cluster.lease (got heartbeat 20, "
          "lease 10)*",
          "cluster.heartbeat" },
        { "cluster: {lease: 1}", "t.yaml:1:18: cluster.lease: must be an integer between 2*",
          "cluster.lease" },
        { "cluster: {node_id: \"a\\\\b\"}", "t.yaml:1:20: cluster.node_id: must be at most 200*",
          "cluster.node_id" },
        { "source: {driver: mysql}",
          "t.yaml:1:18: source.driver: must be one of sqlite, postgresql*", "source.driver" },
        { "base: &b 1\n", "t.yaml:1:7: anchors (&b) are not supported; write the value out", "" },
        { "a: 1\n---\nb: 2\n", "t.yaml:2:1: only one document per file is supported*", "" },
    };

    return cr_make_param_array(struct bad, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct bad *c, config, rejects)
{
    struct tw_config *cfg = (struct tw_config *)1;
    struct tw_err err;
    size_t len = strlen(c->msg);

    tw_err_clear(&err);
    cr_assert_eq(tw_config_load_string(c->in, "t.yaml", &cfg, &err), TW_EINVAL, "accepted: %s",
                 c->in);
    cr_assert_eq(err.code, TW_EINVAL);
    cr_assert_eq(cfg, (struct tw_config *)1, "output written on error");
    if (c->msg[len - 1] == '*')
        cr_assert(strncmp(err.msg, c->msg, len - 1) == 0, "got \"%s\", want \"%s\"", err.msg,
                  c->msg);
    else
        cr_assert_str_eq(err.msg, c->msg);
    cr_assert_str_eq(err.field, c->field);
}

static char dir[] = "/tmp/tw_config_XXXXXX";

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

static void make_dir(void)
{
    cr_assert_not_null(mkdtemp(dir));
}

/* Every name the file tests create, then the directory itself. */
static void remove_dir(void)
{
    static const char *const names[] = { "bad.yaml", "empty.yaml", "config.yaml" };
    char path[256];

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
}

Test(config, file_errors_name_the_file, .init = make_dir, .fini = remove_dir)
{
    char path[256];
    struct tw_config *c = NULL;
    struct tw_err err;

    snprintf(path, sizeof(path), "%s/missing.yaml", dir);
    cr_assert_eq(tw_config_load(path, &c, &err), TW_EIO);
    cr_assert_eq(err.code, TW_EIO);
    cr_assert(strncmp(err.msg, path, strlen(path)) == 0, "%s", err.msg);
    cr_assert(strstr(err.msg, "No such file or directory") != NULL, "%s", err.msg);
    cr_assert_null(c);
    cr_assert_eq(tw_config_load(dir, &c, &err), TW_EIO);
    cr_assert(strstr(err.msg, "Is a directory") != NULL, "%s", err.msg);
    snprintf(path, sizeof(path), "%s/bad.yaml", dir);
    write_file(path, "workers: 2\nlog:\n  level: loud\n");
    cr_assert_eq(tw_config_load(path, &c, &err), TW_EINVAL);
    cr_assert(strstr(err.msg, "/bad.yaml:3:10: log.level: must be one of") != NULL, "%s", err.msg);
    if (geteuid() != 0) { /* root reads anything */
        chmod(path, 0);
        cr_assert_eq(tw_config_load(path, &c, &err), TW_EIO);
        cr_assert(strstr(err.msg, "Permission denied") != NULL, "%s", err.msg);
    }
}

Test(config, empty_file_is_valid, .init = make_dir, .fini = remove_dir)
{
    char path[256];
    struct tw_config *c = NULL;
    struct tw_config *def = load_ok("");
    struct tw_err err;

    snprintf(path, sizeof(path), "%s/empty.yaml", dir);
    write_file(path, "");
    cr_assert_eq(tw_config_load(path, &c, &err), TW_OK, "%s", err.msg);
    cr_assert_str_eq(c->path, path);
    cr_assert(tw_config_equal(c, def));
    tw_config_destroy(c);
    tw_config_destroy(def);
}

Test(config, null_path_uses_cwd_config_yaml_or_defaults, .init = make_dir, .fini = remove_dir)
{
    struct tw_config *c = NULL;
    struct tw_err err;

    cr_assert_eq(chdir(dir), 0); /* each test runs in its own process */
    cr_assert_eq(tw_config_load(NULL, &c, &err), TW_OK, "%s", err.msg);
    cr_assert_null(c->path);
    cr_assert_eq(c->workers, 2);
    tw_config_destroy(c);
    write_file("config.yaml", "workers: 5\n");
    cr_assert_eq(tw_config_load(NULL, &c, &err), TW_OK, "%s", err.msg);
    cr_assert_str_eq(c->path, "config.yaml");
    cr_assert_eq(c->workers, 5);
    tw_config_destroy(c);
    write_file("config.yaml", "workers: five\n");
    cr_assert_eq(tw_config_load(NULL, &c, &err), TW_EINVAL);
    cr_assert_str_eq(err.msg, "config.yaml:1:10: workers: must be an integer between 1 and 256 "
                              "(got \"five\")");
}

Test(config, survives_allocation_failure_at_every_step)
{
    const char *text = "data_dir: /d\nworkers: 4\nlog: {level: warn}\nstore: {path: x}\n";
    struct tw_config *c = NULL;
    struct tw_err err;
    int ret = TW_ENOMEM;
    unsigned long i;

    for (i = 1; ret != TW_OK && i < 1000; i++) {
        tw_mem_fail_after(i);
        ret = tw_config_load_string(text, "t", &c, &err);
        tw_mem_fail_after(0);
        if (ret != TW_OK)
            cr_assert_eq(ret, TW_ENOMEM, "step %lu: %s", i, err.msg);
    }
    cr_assert_eq(ret, TW_OK);
    cr_assert_gt(i, 20);
    cr_assert_str_eq(c->source_path, "/d/retail.db");
    tw_config_destroy(c);
}

Test(config, describe_lists_every_key)
{
    FILE *f = tmpfile();
    char text[8192];
    size_t n;

    cr_assert_eq(tw_config_describe(f), TW_OK);
    rewind(f);
    n = fread(text, 1, sizeof(text) - 1, f);
    text[n] = '\0';
    fclose(f);
    for (size_t i = 0; tw_config_key_path(i) != NULL; i++) {
        char want[80];

        snprintf(want, sizeof(want), "| `%s` |", tw_config_key_path(i));
        cr_assert(strstr(text, want) != NULL, "%s missing", want);
    }
    cr_assert(strstr(text, "| `store.path` | `<data_dir>/taskwheel.db` |") != NULL, "%s", text);
    cr_assert(strstr(text, "| `workers` | `2` | worker processes (1..256) |") != NULL, "%s", text);
}

Test(config, equal_sees_each_difference)
{
    struct tw_config *a = load_ok("");
    struct tw_config *b = load_ok("lua: {max_instructions: 1001}");
    struct tw_config *d = load_ok("metrics: {require_token: true}");
    struct tw_config *e = load_ok("results: {dir: ./var/results2}");

    cr_assert(tw_config_equal(a, a));
    cr_assert(!tw_config_equal(a, b));
    cr_assert(!tw_config_equal(a, d));
    cr_assert(!tw_config_equal(a, e));
    tw_config_destroy(a);
    tw_config_destroy(b);
    tw_config_destroy(d);
    tw_config_destroy(e);
}

/* Issue 11 #17: relative paths written in a file are relative to the file's directory. */
Test(config, relative_paths_resolve_against_the_file, .init = make_dir, .fini = remove_dir)
{
    char path[256], want[512];
    struct tw_config *c = NULL;
    struct tw_err err;

    snprintf(path, sizeof(path), "%s/config.yaml", dir);
    write_file(path, "data_dir: var\nlua_dir: ./scripts/lua\nplugins_dir: /opt/tw/plugins\n"
                     "source: { path: ../shared/retail.db }\nresults: { dir: . }\n"
                     "log: { level: warn }\n");
    tw_err_clear(&err);
    cr_assert_eq(tw_config_load(path, &c, &err), TW_OK, "%s", err.msg);
    snprintf(want, sizeof(want), "%s/var", dir);
    cr_assert_str_eq(c->data_dir, want);
    snprintf(want, sizeof(want), "%s/var/taskwheel.db", dir); /* derived from data_dir */
    cr_assert_str_eq(c->store_path, want);
    snprintf(want, sizeof(want), "%s/scripts/lua", dir);
    cr_assert_str_eq(c->lua_dir, want);
    cr_assert_str_eq(c->plugins_dir, "/opt/tw/plugins");
    snprintf(want, sizeof(want), "%s/../shared/retail.db", dir);
    cr_assert_str_eq(c->source_path, want);
    cr_assert_str_eq(c->results_dir, dir);
    cr_assert_str_eq(c->log_level, "warn");
    tw_config_destroy(c);
    /* a path not written in the file keeps its default, relative to the working directory */
    write_file(path, "workers: 3\n");
    cr_assert_eq(tw_config_load(path, &c, &err), TW_OK, "%s", err.msg);
    cr_assert_str_eq(c->data_dir, "./var");
    cr_assert_str_eq(c->lua_dir, "./lua");
    tw_config_destroy(c);
    /* a file named without a directory is in the working directory: paths stay as written */
    cr_assert_eq(chdir(dir), 0);
    write_file("config.yaml", "data_dir: var\n");
    cr_assert_eq(tw_config_load("config.yaml", &c, &err), TW_OK, "%s", err.msg);
    cr_assert_str_eq(c->data_dir, "var");
    tw_config_destroy(c);
}

/* Object storage (docs/storage.md): every results.s3 key, empty credentials allowed. */
Test(config, s3_storage_loads_every_key)
{
    struct tw_config *d = load_ok("");
    struct tw_config *c = load_ok("results:\n"
                                  "  storage: s3\n"
                                  "  s3:\n"
                                  "    endpoint: 'https://s3.eu-west-1.amazonaws.com/'\n"
                                  "    region: eu-west-1\n"
                                  "    bucket: exports\n"
                                  "    prefix: taskwheel/\n"
                                  "    path_style: true\n"
                                  "    access_key_id:\n"
                                  "    secret_access_key: ''\n"
                                  "    part_size: 5242880\n");

    cr_assert_str_eq(d->results_storage, "local");
    cr_assert_str_eq(d->results_s3_endpoint, "");
    cr_assert_eq(d->results_s3_part_size, 8388608);
    cr_assert_str_eq(c->results_storage, "s3");
    cr_assert_str_eq(c->results_s3_endpoint, "https://s3.eu-west-1.amazonaws.com");
    cr_assert_str_eq(c->results_s3_region, "eu-west-1");
    cr_assert_str_eq(c->results_s3_bucket, "exports");
    cr_assert_str_eq(c->results_s3_prefix, "taskwheel/");
    cr_assert(c->results_s3_path_style);
    cr_assert_str_eq(c->results_s3_access_key_id, "");
    cr_assert_str_eq(c->results_s3_secret_access_key, "");
    cr_assert_eq(c->results_s3_part_size, 5242880);
    cr_assert(!tw_config_equal(c, d));
    tw_config_destroy(c);
    tw_config_destroy(d);
}
