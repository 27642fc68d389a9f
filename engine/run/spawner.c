/*
 * The spawner: a small helper process that creates workers on the server's behalf.
 *
 * Why: fork() marks every page of the forking process copy-on-write, and the first write to
 * each page afterwards costs the forker a fault plus a TLB shootdown (an IPI to every CPU the
 * process ran on; on a paravirtualised VM each one is expensive). Measured with
 * bench_sched_lateness: 5-7 ms of server time per run, almost all of it those faults, so 100
 * runs due in the same second started over half a second. The spawner is forked once, when
 * the runner is created, and then does nothing but wait on its socket, so the faults of later
 * forks land in a process that has almost nothing to write.
 *
 * What it creates are spares (worker.c, tw_spare_main): workers without a job yet, blocked
 * reading one from their job socket, so that starting a run is a sendmsg to a process that
 * already exists (pool.c). Each is cloned with CLONE_PARENT, so it is the server's own child
 * exactly as if the server had forked it: the runner reaps it with waitpid, it dies with the
 * server (PR_SET_PDEATHSIG), and it starts as a copy of the server as it was when the runner
 * was created, which is all a work function may rely on (its ctx is set up before). The
 * spawner lowers its priority by worker_nice as it starts, so its clones and every spare
 * inherit it: exports are batch work and must not take the CPU from the server
 * (docs/scheduling.md, "Priority").
 *
 * Protocol on a SOCK_STREAM socketpair, both ends blocking, in order:
 *   server -> spawner: struct spawn_req with two fds as SCM_RIGHTS (the spare's end of its job
 *                      socket, the write end of its report pipe);
 *   spawner -> server: struct spawn_rep, the spare's pid or the errno of a failed clone.
 * The spawner exits on EOF (runner destroyed) or when the server dies (PR_SET_PDEATHSIG).
 *
 * The clone is the raw system call, not glibc's fork(): glibc's clone() wrapper needs a new
 * stack, and fork() cannot set CLONE_PARENT. Without glibc's fork bookkeeping, the child's
 * cached thread id is the spawner's; that is harmless in a single-threaded child (only
 * recursive and robust mutexes look at it, and both compare against the same stale value).
 * The spawner never has more than one thread, so no lock can be held across the clone.
 * The server itself must have no other thread running when it forks the spawner (at start):
 * a WAL checkpoint thread once did, and a worker cloned from the spawner deadlocked on an
 * allocator lock that thread held at the fork (seen under ASan; docs/scheduling.md).
 */
#include "run/run_int.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/mem.h"

#define SPAWN_MAGIC 0x74777370u /* "twsp" */
#define SPAWN_FD 3              /* the spawner's end of the socket, after close_from */
#define SPAWN_REPLY_TIMEOUT_S 5 /* a spawner that does not answer is killed and replaced */

struct spawn_req {
    uint32_t magic;
    uint32_t spare; /* a sequence number, for the reader of a trace */
};

struct spawn_rep {
    uint32_t magic;
    int32_t err; /* 0, or the errno of a failed clone */
    int64_t pid;
};

struct tw_spawner {
    pid_t pid;    /* the spawner, a child of the server */
    int fd;       /* the server's end of the socket */
    uint32_t seq; /* requests sent */
};

int tw_read_full(int fd, void *buf, size_t len, int flags)
{
    size_t got = 0;
    ssize_t n;

    while (got < len) {
        n = recv(fd, (char *)buf + got, len - got, got == 0 ? flags : 0);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == 0)
            errno = EPIPE;
        if (n <= 0)
            return -1;
        got += (size_t)n;
    }
    return 0;
}

/* Receive one request and the two fds that came with it. -1 on EOF or garbage. */
static int recv_req(int sock, int fds[2])
{
    char cbuf[CMSG_SPACE(2 * sizeof(int))];
    struct spawn_req req;
    struct iovec iov = { &req, sizeof(req) };
    struct msghdr m;
    struct cmsghdr *c;
    ssize_t n;

    fds[0] = fds[1] = -1;
    memset(&m, 0, sizeof(m));
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = cbuf;
    m.msg_controllen = sizeof(cbuf);
    do {
        n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC);
    } while (n == -1 && errno == EINTR);
    if (n <= 0)
        return -1;
    c = CMSG_FIRSTHDR(&m);
    if (c != NULL && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
        c->cmsg_len == CMSG_LEN(2 * sizeof(int)))
        memcpy(fds, CMSG_DATA(c), 2 * sizeof(int));
    if ((size_t)n < sizeof(req) &&
        tw_read_full(sock, (char *)&req + n, sizeof(req) - (size_t)n, 0) == -1)
        return -1;
    return req.magic == SPAWN_MAGIC && fds[0] != -1 && fds[1] != -1 ? 0 : -1;
}

static int send_full(int fd, const void *buf, size_t len)
{
    size_t put = 0;
    ssize_t n;

    while (put < len) {
        n = send(fd, (const char *)buf + put, len - put, MSG_NOSIGNAL);
        if (n == -1 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        put += (size_t)n;
    }
    return 0;
}

/* The spawner's life: one clone per request until EOF. Never returns. */
static void spawner_main(int sock, pid_t server, const struct tw_worker_kind *kind)
{
    struct spawn_rep rep;
    int fds[2];
    long pid;

    (void)prctl(PR_SET_NAME, "tw-spawner");
    tw_proc_lower_priority(kind->nice); /* inherited by every spare it clones */
    tw_proc_reset_signals();
    (void)setpgid(0, 0); /* a terminal's ^C is for the server, which then drains */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 || getppid() != server)
        _exit(0);
    if (sock != SPAWN_FD) {
        if (dup2(sock, SPAWN_FD) == -1)
            _exit(0);
        sock = SPAWN_FD;
    }
    tw_proc_close_from(SPAWN_FD + 1);
    while (recv_req(sock, fds) == 0) {
        pid = syscall(SYS_clone, (unsigned long)(CLONE_PARENT | SIGCHLD), NULL, NULL, NULL, NULL);
        if (pid == 0) {
            close(sock);
            tw_spare_main(fds[1], fds[0], server, kind);
        }
        memset(&rep, 0, sizeof(rep));
        rep.magic = SPAWN_MAGIC;
        rep.err = pid == -1 ? errno : 0;
        rep.pid = pid;
        close(fds[0]);
        close(fds[1]);
        if (send_full(sock, &rep, sizeof(rep)) == -1)
            _exit(0);
    }
    _exit(0);
}

int tw_spawner_create(const struct tw_worker_kind *kind, struct tw_spawner **out,
                      struct tw_err *err)
{
    struct timeval limit = { SPAWN_REPLY_TIMEOUT_S, 0 };
    pid_t server = getpid();
    struct tw_spawner *sp;
    int sv[2];

    sp = tw_calloc(1, sizeof(*sp));
    if (sp == NULL)
        return tw_err_set(err, TW_ENOMEM, "runner: out of memory");
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
        tw_free(sp);
        return tw_err_set(err, TW_EIO, "runner: socketpair: %s", strerror(errno));
    }
    sp->pid = fork();
    if (sp->pid == 0) {
        close(sv[0]);
        spawner_main(sv[1], server, kind);
    }
    close(sv[1]);
    if (sp->pid == -1) {
        close(sv[0]);
        tw_free(sp);
        return tw_err_set(err, TW_EIO, "runner: fork: %s", strerror(errno));
    }
    sp->fd = sv[0];
    (void)setsockopt(sp->fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof(limit));
    (void)setsockopt(sp->fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof(limit));
    *out = sp;
    return TW_OK;
}

void tw_spawner_destroy(struct tw_spawner *sp)
{
    if (sp == NULL)
        return;
    close(sp->fd);                /* EOF: the spawner exits */
    (void)kill(sp->pid, SIGKILL); /* or it is stuck: either way it is gone */
    while (waitpid(sp->pid, NULL, 0) == -1 && errno == EINTR)
        continue;
    tw_free(sp);
}

int tw_spawner_request(struct tw_spawner *sp, int job_fd, int report_fd)
{
    char cbuf[CMSG_SPACE(2 * sizeof(int))];
    int fds[2] = { job_fd, report_fd };
    struct spawn_req req = { SPAWN_MAGIC, sp->seq + 1 };
    struct iovec iov = { &req, sizeof(req) };
    struct msghdr m;
    struct cmsghdr *c;
    ssize_t n;

    memset(&m, 0, sizeof(m));
    memset(cbuf, 0, sizeof(cbuf));
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = cbuf;
    m.msg_controllen = sizeof(cbuf);
    c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(fds));
    memcpy(CMSG_DATA(c), fds, sizeof(fds));
    do {
        n = sendmsg(sp->fd, &m, MSG_NOSIGNAL);
    } while (n == -1 && errno == EINTR);
    if (n == -1)
        return -1;
    if ((size_t)n < sizeof(req) && send_full(sp->fd, (char *)&req + n, sizeof(req) - (size_t)n))
        return -1;
    sp->seq++;
    return 0;
}

int tw_spawner_wait(struct tw_spawner *sp, int ms)
{
    struct pollfd pfd = { sp->fd, POLLIN, 0 };
    int n;

    do {
        n = poll(&pfd, 1, ms);
    } while (n == -1 && errno == EINTR);
    return n > 0 ? 1 : n;
}

int tw_spawner_reply(struct tw_spawner *sp, bool wait, pid_t *pid)
{
    struct spawn_rep rep;

    if (tw_read_full(sp->fd, &rep, sizeof(rep), wait ? 0 : MSG_DONTWAIT) == -1)
        return !wait && (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
    if (rep.magic != SPAWN_MAGIC)
        return errno = EPROTO, -1;
    if (rep.pid <= 0) {
        *pid = -1;
        errno = rep.err != 0 ? rep.err : EAGAIN;
        return 1;
    }
    *pid = (pid_t)rep.pid;
    return 1;
}
