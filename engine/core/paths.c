/*
 * Install layout detection (see paths.h). Only Linux's /proc/self/exe is consulted: when /proc
 * is not mounted the binary behaves as a build-tree binary, whose defaults are relative to the
 * working directory, so nothing breaks, it only stops finding an installed tree by itself.
 */
#include "core/paths.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static bool is_dir(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/*
 * prefix of exe when exe is "<P>/bin/<name>" with <P>/lib/taskwheel/plugins present, else "".
 * A prefix of "/" is not supported ("/bin" resolves to "/usr/bin" on a merged-/usr system).
 */
static void detect(char *prefix, size_t size)
{
    char plugins[PATH_MAX + sizeof(TW_PATHS_PLUGINDIR) + 1];
    char *exe = realpath("/proc/self/exe", NULL);
    char *slash;
    size_t len;

    prefix[0] = '\0';
    if (exe == NULL)
        return;
    slash = strrchr(exe, '/');
    if (slash == NULL || slash - exe < 5 || strncmp(slash - 4, "/bin", 4) != 0)
        goto out;
    len = (size_t)(slash - 4 - exe);
    if (len >= size || len >= PATH_MAX)
        goto out;
    snprintf(plugins, sizeof(plugins), "%.*s/%s", (int)len, exe, TW_PATHS_PLUGINDIR);
    if (is_dir(plugins))
        snprintf(prefix, size, "%.*s", (int)len, exe);
out:
    free(exe);
}

bool tw_paths_prefix(char *prefix, size_t size)
{
    static char cached[PATH_MAX];
    static bool done;
    size_t len;

    if (!done) {
        detect(cached, sizeof(cached));
        done = true;
    }
    len = strlen(cached);
    if (len == 0 || len >= size) {
        if (size > 0)
            prefix[0] = '\0';
        return false;
    }
    memcpy(prefix, cached, len + 1);
    return true;
}

bool tw_paths_sysconfdir(const char *prefix, char *out, size_t size)
{
    int n;

    if (strcmp(prefix, "/usr") == 0)
        n = snprintf(out, size, "/etc");
    else if (strncmp(prefix, "/opt/", 5) == 0)
        n = snprintf(out, size, "/etc%s", prefix);
    else
        n = snprintf(out, size, "%s/etc", prefix);
    return n >= 0 && (size_t)n < size;
}
