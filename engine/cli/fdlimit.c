/*
 * The open-file limit and http.max_connections (issue 11 item 3). Every connection costs a
 * file descriptor, so a server whose RLIMIT_NOFILE is below http.max_connections plus what it
 * needs besides (tw_api_fd_overhead) cannot keep its promise: serve raises the soft limit to
 * the hard one at start, and both serve (a log line) and check-config (a warning) say when the
 * configured connections still do not fit. The server then plans on fewer connections rather
 * than running out of fds (engine/api/conns.c).
 */
#include <inttypes.h>
#include <stdio.h>
#include <sys/resource.h>

#include "api/api.h"
#include "cli/cli_int.h"

uint64_t tw_cli_fd_raise(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return UINT64_MAX;
    if (rl.rlim_cur < rl.rlim_max) {
        rlim_t want = rl.rlim_max;

        rl.rlim_cur = want;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            getrlimit(RLIMIT_NOFILE, &rl);
    }
    return rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : (uint64_t)rl.rlim_cur;
}

uint64_t tw_cli_fd_hard(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_max == RLIM_INFINITY)
        return UINT64_MAX;
    return (uint64_t)rl.rlim_max;
}

bool tw_cli_fd_fits(const struct tw_config *cfg, uint64_t limit, char *msg, size_t len)
{
    uint64_t need = cfg->http_max_connections + tw_api_fd_overhead(cfg);

    if (limit >= need)
        return true;
    snprintf(msg, len,
             "http.max_connections (%" PRIu64 ") does not fit under the open-file "
             "limit (%" PRIu64 "): the server needs about %" PRIu64 " file descriptors and will "
             "take at most %" PRIu64 " connections; raise the hard limit (ulimit -Hn, systemd "
             "LimitNOFILE=) or lower http.max_connections",
             (uint64_t)cfg->http_max_connections, limit, need,
             limit > tw_api_fd_overhead(cfg) + 16 ? limit - tw_api_fd_overhead(cfg) : 16);
    return false;
}
