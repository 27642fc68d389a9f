/*
 * taskwheel plugins: what plugins_dir provides, field by field, and what it refused.
 * Exit 0 when every plugin loaded, 1 when some were refused (they are listed), 2 when the
 * configuration or plugins_dir cannot be read.
 */
#include <getopt.h>
#include <stdio.h>

#include "cli/cli_int.h"
#include "plugin/plugin.h"

static const char plugins_usage[] =
    "usage: taskwheel plugins [-c FILE]\n"
    "\n"
    "Loads every index plugin in plugins_dir and lists each with its fields and types, then\n"
    "the plugins that were refused and why. Exit status: 0 all loaded, 1 some refused,\n"
    "2 configuration or plugins_dir unreadable.\n";

int tw_cli_load_plugins(const struct tw_config *cfg, struct tw_plugin_registry **out)
{
    struct tw_plugin_registry *reg = NULL;
    struct tw_err err;

    if (tw_plugin_registry_create(&reg, &err) != TW_OK ||
        tw_plugin_registry_load_dir(reg, cfg->plugins_dir, &err) != TW_OK) {
        fprintf(stderr, "taskwheel: plugins_dir \"%s\": %s\n", cfg->plugins_dir, err.msg);
        tw_plugin_registry_destroy(reg);
        return TW_EXIT_USAGE;
    }
    *out = reg;
    return tw_plugin_registry_refused(reg, 0) != NULL ? TW_EXIT_FAILURE : TW_EXIT_OK;
}

int tw_cli_plugins(int argc, char **argv)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *cfg_path = NULL;
    struct tw_plugin_registry *reg = NULL;
    struct tw_config *cfg = NULL;
    int c, rc;

    optind = 1;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        if (c != 'c') {
            fputs(plugins_usage, c == 'h' ? stdout : stderr);
            return c == 'h' ? TW_EXIT_OK : TW_EXIT_USAGE;
        }
        cfg_path = optarg;
    }
    if (optind != argc) {
        fprintf(stderr, "taskwheel plugins: unexpected argument \"%s\"\n%s", argv[optind],
                plugins_usage);
        return TW_EXIT_USAGE;
    }
    if (!tw_cli_read_config(cfg_path, &cfg))
        return TW_EXIT_USAGE;
    rc = tw_cli_load_plugins(cfg, &reg);
    if (reg != NULL && tw_plugin_registry_print(reg, stdout) != TW_OK)
        rc = TW_EXIT_FAILURE;
    tw_plugin_registry_destroy(reg);
    tw_config_destroy(cfg);
    return rc;
}
