/*
 * taskwheel nodes [-c FILE] [--json]: the nodes serving the configured store, as
 * GET /cluster/nodes lists them (docs/cluster.md, "Nodes"), read from the store directly so an
 * operator sees them without an API token.
 */
#include <getopt.h>
#include <stdio.h>
#include <time.h>

#include "cli/cli_int.h"
#include "cli/serve_node.h"
#include "core/clock.h"
#include "core/mem.h"

static const char nodes_usage[] =
    "usage: taskwheel nodes [-c FILE] [--json]\n"
    "\n"
    "Lists the nodes serving the task store (store.driver, store.path or store.dsn): id, start\n"
    "time, last heartbeat, runs in flight, version. A node that has not beaten for 5 heartbeats\n"
    "(cluster.heartbeat) is left out. --json prints the JSON array GET /cluster/nodes answers.\n"
    "Exit status 1 when the store cannot be read, 2 on a bad configuration.\n";

static void utc(int64_t t, char out[32])
{
    time_t tt = (time_t)t;
    struct tm tm;

    gmtime_r(&tt, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* A JSON string of s (node ids and versions are plain, but a config can hold any text). */
static void put_json_str(const char *s)
{
    putchar('"');
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;

        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static void print(const struct tw_node *v, size_t n, int json)
{
    char started[32], beat[32];
    size_t i;

    if (!json)
        printf("%-32s %-20s %-20s %8s %s\n", "NODE", "STARTED", "LAST HEARTBEAT", "IN FLIGHT",
               "VERSION");
    else
        putchar('[');
    for (i = 0; i < n; i++) {
        utc(v[i].started, started);
        utc(v[i].heartbeat, beat);
        if (!json) {
            printf("%-32s %-20s %-20s %8lld %s\n", v[i].id, started, beat,
                   (long long)v[i].in_flight, v[i].version);
            continue;
        }
        printf("%s{\"node_id\":", i ? "," : "");
        put_json_str(v[i].id);
        printf(",\"started\":\"%s\",\"last_heartbeat\":\"%s\",\"runs_in_flight\":%lld,"
               "\"version\":",
               started, beat, (long long)v[i].in_flight);
        put_json_str(v[i].version);
        putchar('}');
    }
    if (json)
        puts("]");
}

int tw_cli_nodes(int argc, char **argv)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *cfg_path = NULL;
    struct tw_config *cfg = NULL;
    struct tw_store *store = NULL;
    struct tw_node *list = NULL;
    struct tw_err err;
    size_t n = 0;
    int c, json = 0, rc = TW_EXIT_FAILURE;
    uint32_t beat;

    optind = 1;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        if (c == 'j') {
            json = 1;
            continue;
        }
        if (c != 'c') {
            fputs(nodes_usage, c == 'h' ? stdout : stderr);
            return c == 'h' ? TW_EXIT_OK : TW_EXIT_USAGE;
        }
        cfg_path = optarg;
    }
    if (optind != argc) {
        fputs(nodes_usage, stderr);
        return TW_EXIT_USAGE;
    }
    if (!tw_cli_read_config(cfg_path, &cfg))
        return TW_EXIT_USAGE;
    tw_err_clear(&err);
    beat = cfg->cluster_heartbeat_s ? cfg->cluster_heartbeat_s : 2;
    if (tw_cli_store_open(cfg, &store, &err) != TW_OK) {
        fprintf(stderr, "taskwheel nodes: cannot open the task store %s: %s\n",
                tw_cli_store_name(cfg), err.msg);
    } else if (tw_store_node_list(store, tw_clock_wall_s() - (int64_t)beat * TW_NODE_STALE_BEATS,
                                  &list, &n, &err) != TW_OK) {
        fprintf(stderr, "taskwheel nodes: %s\n", err.msg);
    } else {
        print(list, n, json);
        rc = TW_EXIT_OK;
    }
    tw_free(list);
    tw_store_close(store);
    tw_config_destroy(cfg);
    return rc;
}
