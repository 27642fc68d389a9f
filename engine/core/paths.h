/*
 * Where an installed taskwheel finds its files (docs/reference.md §14), decided at run time from the
 * binary's own location, so one binary works wherever its tree is put (a DESTDIR, a prefix, a
 * package) and a build-tree binary keeps the build tree's defaults.
 *
 * The binary counts as installed when realpath(/proc/self/exe) is "<P>/bin/taskwheel" and
 * "<P>/lib/taskwheel/plugins" is a directory; <P> is then its prefix. Anything else (the build
 * tree's engine/taskwheel, a test executable) is not installed. docs/installing.md explains it.
 *
 * When changing a relative path here, also change the install() rules in the CMake files of
 * plugins/, lua/ (top-level CMakeLists.txt) and packaging/, which use the same layout.
 */
#ifndef TW_CORE_PATHS_H
#define TW_CORE_PATHS_H

#include <stdbool.h>
#include <stddef.h>

#define TW_PATHS_PLUGINDIR "lib/taskwheel/plugins" /* index plugins, below the prefix */
#define TW_PATHS_LUADIR "share/taskwheel/lua"      /* Lua scripts, below the prefix */

/*
 * Fill prefix (size bytes, caller-owned) with the install prefix of the running binary, without
 * a trailing slash ("/usr", "/tmp/d/usr/local"). Returns false, prefix "", when the
 * binary is not installed or the prefix does not fit. Computed once per process.
 */
bool tw_paths_prefix(char *prefix, size_t size);

/*
 * The system configuration directory of an installed binary with the given prefix: "/etc" for
 * "/usr", "/etc/opt/X" for "/opt/X" (the GNU rules), "<prefix>/etc" otherwise.
 * Writes into out (size bytes); returns false when it does not fit.
 */
bool tw_paths_sysconfdir(const char *prefix, char *out, size_t size);

#endif /* TW_CORE_PATHS_H */
