/*
 * taskwheel user add NAME --chain N=read|write ... (docs/reference.md §8): creates an admin user, or
 * replaces the password and chain access of an existing one (which ends the user's open
 * sessions). The password is the first line of stdin (so it never appears in argv or shell
 * history) and is stored as a yescrypt hash.
 * taskwheel user sessions-revoke NAME ends every session of a user; user remove NAME deletes
 * the user with its sessions. Both take effect on the next request (sessions are checked in
 * the store on every request, never cached).
 */
#include <crypt.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_int.h"
#include "core/mem.h"

#define MAX_USER_CHAINS 1024
#define MAX_PASSWORD 1024

/* Printed with fputs, never as a format: what is shown here is what a user types. */
static const char user_usage[] =
    "usage: taskwheel user add [-c FILE] NAME --chain N=read|write [--chain M=read|write ...]\n"
    "       taskwheel user sessions-revoke [-c FILE] NAME\n"
    "       taskwheel user remove [-c FILE] NAME\n"
    "\n"
    "add reads the password from the first line of stdin, e.g.\n"
    "  printf '%s\\n' \"$PASSWORD\" | taskwheel user add alice --chain 1764=write\n"
    "Adding an existing user replaces its password and access and ends its sessions.\n"
    "sessions-revoke ends every session of NAME; remove deletes NAME and its sessions.\n";

static bool parse_access(const char *s, struct tw_chain_access *a)
{
    const char *eq = strchr(s, '=');
    char *end;
    long long v;

    if (eq == NULL)
        return false;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || end != eq || v <= 0)
        return false;
    a->chain = v;
    a->level = tw_level_parse(eq + 1);
    return a->level >= TW_LEVEL_READ;
}

static bool read_password(char *buf, size_t len)
{
    size_t n;

    if (fgets(buf, (int)len, stdin) == NULL)
        return false;
    n = strcspn(buf, "\r\n");
    buf[n] = '\0';
    return n > 0;
}

static int hash_password(const char *password, char *out, size_t outlen)
{
    struct crypt_data *cd = tw_calloc(1, sizeof(*cd));
    char setting[CRYPT_GENSALT_OUTPUT_SIZE];
    const char *h = NULL;

    if (cd != NULL && crypt_gensalt_rn("$y$", 0, NULL, 0, setting, sizeof(setting)) != NULL)
        h = crypt_r(password, setting, cd);
    if (h == NULL || h[0] == '*' || strlen(h) >= outlen) {
        tw_free(cd);
        return TW_EINTERNAL;
    }
    snprintf(out, outlen, "%s", h);
    explicit_bzero(cd, sizeof(*cd));
    tw_free(cd);
    return TW_OK;
}

static int user_add(int argc, char **argv)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "chain", required_argument, NULL, 'n' },
        { NULL, 0, NULL, 0 },
    };
    struct tw_chain_access access[MAX_USER_CHAINS];
    char password[MAX_PASSWORD], hash[CRYPT_OUTPUT_SIZE];
    struct tw_config *cfg = NULL;
    struct tw_store *store = NULL;
    unsigned char key[TW_KEY_BYTES];
    const char *cfg_path = NULL;
    struct tw_user u;
    struct tw_err err;
    int rc = TW_EXIT_FAILURE;
    int c;

    memset(&u, 0, sizeof(u));
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
        if (c == 'c') {
            cfg_path = optarg;
        } else if (c == 'n' && u.n_access < MAX_USER_CHAINS &&
                   parse_access(optarg, &access[u.n_access])) {
            u.n_access++;
        } else {
            fprintf(stderr, "taskwheel user add: bad option or value%s%s\n%s", optarg ? ": " : "",
                    optarg ? optarg : "", user_usage);
            return TW_EXIT_USAGE;
        }
    }
    if (argc - optind != 1 || u.n_access == 0 || argv[optind][0] == '\0') {
        fprintf(stderr, "taskwheel user add: %s\n%s",
                argc - optind != 1 ? "exactly one NAME is required"
                                   : "at least one --chain N=LEVEL is required",
                user_usage);
        return TW_EXIT_USAGE;
    }
    if (!read_password(password, sizeof(password))) {
        fprintf(stderr, "taskwheel user add: no password on stdin (first line, not empty)\n");
        return TW_EXIT_USAGE;
    }
    if (hash_password(password, hash, sizeof(hash)) != TW_OK) {
        explicit_bzero(password, sizeof(password));
        fprintf(stderr, "taskwheel user add: the system crypt(3) cannot make a yescrypt hash\n");
        return TW_EXIT_FAILURE;
    }
    explicit_bzero(password, sizeof(password));
    if (!tw_cli_load_config(cfg_path, &cfg))
        return TW_EXIT_USAGE;
    u.name = argv[optind];
    u.pw_hash = hash;
    u.access = access;
    if (tw_cli_open_store(cfg, &store, key)) {
        if (tw_store_user_put(store, &u, &err) != TW_OK) {
            fprintf(stderr, "taskwheel user add: %s\n", err.msg);
        } else {
            fprintf(stderr, "user %s saved (id %" PRId64 ")\n", u.name, u.id);
            rc = TW_EXIT_OK;
        }
    }
    tw_store_close(store);
    tw_config_destroy(cfg);
    return rc;
}

/* user sessions-revoke NAME / user remove NAME: one name, one store call. */
static int user_by_name(int argc, char **argv, bool remove)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { NULL, 0, NULL, 0 },
    };
    const char *what = remove ? "remove" : "sessions-revoke";
    struct tw_config *cfg = NULL;
    struct tw_store *store = NULL;
    unsigned char key[TW_KEY_BYTES];
    const char *cfg_path = NULL;
    struct tw_err err;
    int64_t n = 0;
    int rc = TW_EXIT_FAILURE;
    int c, ret;

    optind = 1;
    while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
        if (c != 'c') {
            fprintf(stderr, "taskwheel user %s: bad option\n%s", what, user_usage);
            return TW_EXIT_USAGE;
        }
        cfg_path = optarg;
    }
    if (argc - optind != 1 || argv[optind][0] == '\0') {
        fprintf(stderr, "taskwheel user %s: exactly one NAME is required\n%s", what, user_usage);
        return TW_EXIT_USAGE;
    }
    if (!tw_cli_load_config(cfg_path, &cfg))
        return TW_EXIT_USAGE;
    if (tw_cli_open_store(cfg, &store, key)) {
        if (remove)
            ret = tw_store_user_remove(store, argv[optind], &err);
        else
            ret = tw_store_sessions_revoke(store, argv[optind], &n, &err);
        if (ret != TW_OK) {
            fprintf(stderr, "taskwheel user %s: %s\n", what, err.msg);
        } else {
            if (remove)
                fprintf(stderr, "user %s removed\n", argv[optind]);
            else
                fprintf(stderr, "user %s: %" PRId64 " session%s ended\n", argv[optind], n,
                        n == 1 ? "" : "s");
            rc = TW_EXIT_OK;
        }
    }
    tw_store_close(store);
    tw_config_destroy(cfg);
    return rc;
}

int tw_cli_user(int argc, char **argv)
{
    if (argc < 2 || tw_cli_wants_help(argc, argv)) {
        fputs(user_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? TW_EXIT_USAGE : TW_EXIT_OK;
    }
    if (strcmp(argv[1], "add") == 0)
        return user_add(argc - 1, argv + 1);
    if (strcmp(argv[1], "sessions-revoke") == 0)
        return user_by_name(argc - 1, argv + 1, false);
    if (strcmp(argv[1], "remove") == 0)
        return user_by_name(argc - 1, argv + 1, true);
    fprintf(stderr, "taskwheel user: unknown action \"%s\"\n%s", argv[1], user_usage);
    return TW_EXIT_USAGE;
}
