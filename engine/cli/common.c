/* Helpers shared by the subcommands (see cli_int.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli_int.h"
#include "core/crypto.h"
#include "core/log.h"

bool tw_cli_wants_help(int argc, char **argv)
{
    int i;

    for (i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return true;
    return false;
}

int tw_mkdir_p(const char *path, struct tw_err *err)
{
    char buf[4096];
    size_t i;

    if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
        return tw_err_set(err, TW_EINVAL, "path too long: %s", path);
    for (i = 1; buf[i] != '\0'; i++) {
        if (buf[i] != '/')
            continue;
        buf[i] = '\0';
        if (mkdir(buf, 0700) != 0 && errno != EEXIST)
            return tw_err_set(err, TW_EIO, "cannot create directory %s: %s", buf, strerror(errno));
        buf[i] = '/';
    }
    if (mkdir(buf, 0700) != 0 && errno != EEXIST)
        return tw_err_set(err, TW_EIO, "cannot create directory %s: %s", buf, strerror(errno));
    return TW_OK;
}

bool tw_cli_read_config(const char *path, struct tw_config **cfg)
{
    struct tw_err err;
    int lvl;

    /*
     * Before anything is created: the store (password hashes, token MACs), the seeded source
     * and the server key are for this user alone. Result files are made 0640 explicitly.
     */
    umask(077);
    tw_err_clear(&err);
    if (tw_config_load(path, cfg, &err) != TW_OK) {
        fprintf(stderr, "taskwheel: configuration error: %s\n", err.msg);
        return false;
    }
    lvl = tw_log_level_parse((*cfg)->log_level);
    tw_log_setup(lvl < 0 ? TW_LOG_INFO : (enum tw_log_level)lvl,
                 strcmp((*cfg)->log_format, "logfmt") == 0 ? TW_LOG_LOGFMT : TW_LOG_JSON);
    return true;
}

bool tw_cli_load_config(const char *path, struct tw_config **cfg)
{
    struct tw_err err;

    if (!tw_cli_read_config(path, cfg))
        return false;
    tw_err_clear(&err);
    if (tw_mkdir_p((*cfg)->data_dir, &err) != TW_OK) {
        fprintf(stderr, "taskwheel: %s\n", err.msg);
        tw_config_destroy(*cfg);
        *cfg = NULL;
        return false;
    }
    return true;
}

void tw_cli_store_conf(const struct tw_config *cfg, struct tw_store_conf *c)
{
    c->driver = cfg->store_driver;
    c->path = cfg->store_path;
    c->dsn = cfg->store_dsn;
}

int tw_cli_store_open(const struct tw_config *cfg, struct tw_store **store, struct tw_err *err)
{
    struct tw_store_conf c;

    tw_cli_store_conf(cfg, &c);
    return tw_store_open_conf(&c, store, err);
}

const char *tw_cli_store_name(const struct tw_config *cfg)
{
    /* never the dsn: it may hold a password */
    return strcmp(cfg->store_driver, "postgresql") == 0 ? "(postgresql, store.dsn)"
                                                        : cfg->store_path;
}

bool tw_cli_check_key(const struct tw_config *cfg, struct tw_store *store,
                      const unsigned char key[TW_KEY_BYTES])
{
    char fingerprint[65];
    struct tw_err err;
    int ret;

    tw_sha256_hex(key, TW_KEY_BYTES, fingerprint);
    ret = tw_store_key_check(store, fingerprint, &err);
    if (ret == TW_ECONFLICT)
        fprintf(stderr,
                "taskwheel: the server key in %s (auth.key_file) does not match the cluster's: "
                "%s; every node of a cluster must read the same key file\n",
                cfg->auth_key_file, err.msg);
    else if (ret != TW_OK)
        fprintf(stderr, "taskwheel: cannot check the server key against the task store: %s\n",
                err.msg);
    return ret == TW_OK;
}

bool tw_cli_open_store(const struct tw_config *cfg, struct tw_store **store,
                       unsigned char key[TW_KEY_BYTES])
{
    struct tw_err err;

    tw_err_clear(&err);
    if (tw_key_load(cfg->auth_key_file, key, &err) != TW_OK) {
        fprintf(stderr, "taskwheel: %s\n", err.msg);
        return false;
    }
    if (tw_cli_store_open(cfg, store, &err) != TW_OK) {
        fprintf(stderr, "taskwheel: cannot open the task store %s: %s\n", tw_cli_store_name(cfg),
                err.msg);
        return false;
    }
    if (!tw_cli_check_key(cfg, *store, key)) {
        tw_store_close(*store);
        *store = NULL;
        return false;
    }
    return true;
}
