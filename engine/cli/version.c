/*
 * taskwheel --version / taskwheel version (docs/reference.md §14): the version, the plugin ABI version and,
 * one per line as "NAME VERSION", the libraries the binary runs with, as the libraries report
 * themselves at run time (so a library upgraded under the binary shows its new version). Lua
 * has no run-time release string: its line is the release of the header the binary was built
 * with, checked against the running library's major.minor.
 *
 * When linking a new library: add one row to libs[]. libpq's row is already there: its entry
 * point is a weak reference, so the line appears as soon as the binary links libpq and not
 * before (docs/installing.md).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <jansson.h>
#include <lua.h>
#include <openssl/crypto.h>
#include <sqlite3.h>
#include <yaml.h>
#include <zlib.h>

#include "cli/cli_int.h"
#include "taskwheel/plugin.h"

/* Declared here rather than through libpq-fe.h: NULL unless libpq is linked. */
extern int PQlibVersion(void) __attribute__((weak));

/* Writes the version into buf (size bytes); false when the library is not linked. */
typedef bool tw_version_fn(char *buf, size_t size);

static bool v_libevent(char *buf, size_t size)
{
    return snprintf(buf, size, "%s", event_get_version()) > 0;
}

static bool v_sqlite(char *buf, size_t size)
{
    return snprintf(buf, size, "%s", sqlite3_libversion()) > 0;
}

static bool v_lua(char *buf, size_t size)
{
    int num = (int)lua_version(NULL);

    /* LUA_RELEASE is "Lua 5.4.4"; keep the number, unless the library is another 5.x. */
    if (num != LUA_VERSION_NUM)
        return snprintf(buf, size, "%d.%d", num / 100, num % 100) > 0;
    return snprintf(buf, size, "%s", LUA_RELEASE + strlen("Lua ")) > 0;
}

static bool v_jansson(char *buf, size_t size)
{
    return snprintf(buf, size, "%s", jansson_version_str()) > 0;
}

static bool v_libyaml(char *buf, size_t size)
{
    return snprintf(buf, size, "%s", yaml_get_version_string()) > 0;
}

static bool v_libcurl(char *buf, size_t size)
{
    return snprintf(buf, size, "%s", curl_version_info(CURLVERSION_NOW)->version) > 0;
}

static bool v_openssl(char *buf, size_t size)
{
    return snprintf(buf, size, "%s", OpenSSL_version(OPENSSL_VERSION_STRING)) > 0;
}

static bool v_zlib(char *buf, size_t size)
{
    return snprintf(buf, size, "%s", zlibVersion()) > 0;
}

static bool v_libpq(char *buf, size_t size)
{
    int v;

    if (PQlibVersion == NULL)
        return false;
    /* 150003 is 15.3 (since PostgreSQL 10, major * 10000 + minor). */
    v = PQlibVersion();
    return snprintf(buf, size, "%d.%d", v / 10000, v % 10000) > 0;
}

static const struct {
    const char *name;   /* as printed, and as named in the docs */
    tw_version_fn *get; /* its version at run time */
} libs[] = {
    { "libevent", v_libevent }, { "SQLite", v_sqlite },   { "Lua", v_lua },
    { "jansson", v_jansson },   { "libyaml", v_libyaml }, { "libcurl", v_libcurl },
    { "OpenSSL", v_openssl },   { "zlib", v_zlib },       { "libpq", v_libpq },
};

int tw_cli_version(int argc, char **argv)
{
    char buf[128];
    size_t i;

    if (tw_cli_wants_help(argc, argv)) {
        printf("usage: taskwheel version   (or taskwheel --version)\n\n"
               "Prints the version, the plugin ABI version and the version of each library "
               "taskwheel runs with.\n");
        return TW_EXIT_OK;
    }
    if (argc > 1) {
        fprintf(stderr, "taskwheel version: unexpected argument \"%s\"\n", argv[1]);
        return TW_EXIT_USAGE;
    }
    printf("taskwheel %s\n", TW_VERSION);
    printf("plugin ABI %d.%d\n", TW_ABI_MAJOR, TW_ABI_MINOR);
    for (i = 0; i < sizeof(libs) / sizeof(libs[0]); i++)
        if (libs[i].get(buf, sizeof(buf)))
            printf("%s %s\n", libs[i].name, buf);
    return fflush(stdout) == 0 ? TW_EXIT_OK : TW_EXIT_FAILURE;
}
