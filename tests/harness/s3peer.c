/* s3rver and the AWS SDK as test peers (see s3peer.h). */
#include "s3peer.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define S3_DIR TW_SOURCE_DIR "/tests/s3"

static void require_node_modules(void)
{
    struct stat st;

    cr_assert_eq(stat(S3_DIR "/node_modules/s3rver", &st), 0,
                 "tests/s3/node_modules is missing: run `scripts/dev test` (or `npm ci` in "
                 "tests/s3) to install s3rver and the AWS SDK");
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

    nanosleep(&ts, NULL);
}

static void spawn(struct tw_s3peer *p)
{
    char portfile[300], port[16];
    pid_t pid;

    snprintf(portfile, sizeof(portfile), "%s.port", p->dir);
    unlink(portfile);
    snprintf(port, sizeof(port), "%u", p->port); /* 0: a free one */
    pid = fork();
    cr_assert_neq(pid, -1, "fork: %s", strerror(errno));
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);

        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive a crashed test */
        if (null >= 0) {
            dup2(null, 0);
            dup2(null, 1);
        }
        execlp("node", "node", S3_DIR "/s3rver.js", p->dir, portfile, p->bucket, port,
               (char *)NULL);
        _exit(127);
    }
    p->pid = pid;
    p->port = 0;
    for (int i = 0; i < 600; i++) { /* up to 30 s on a loaded machine */
        FILE *f = fopen(portfile, "r");
        int status;

        if (f != NULL) {
            int ok = fscanf(f, "%u", &p->port) == 1;

            fclose(f);
            if (ok)
                break;
        }
        cr_assert_eq(waitpid(pid, &status, WNOHANG), 0, "s3rver exited before listening");
        sleep_ms(50);
    }
    cr_assert_neq(p->port, 0, "s3rver did not start within 30 s");
    snprintf(p->endpoint, sizeof(p->endpoint), "http://127.0.0.1:%u", p->port);
}

void tw_s3peer_start(struct tw_s3peer *p, const char *bucket)
{
    memset(p, 0, sizeof(*p));
    require_node_modules();
    snprintf(p->dir, sizeof(p->dir), "/tmp/tw-s3rver-XXXXXX");
    cr_assert_not_null(mkdtemp(p->dir), "mkdtemp: %s", strerror(errno));
    snprintf(p->bucket, sizeof(p->bucket), "%s", bucket);
    spawn(p);
}

void tw_s3peer_stop(struct tw_s3peer *p, int hard)
{
    int status;

    if (p->pid <= 0)
        return;
    kill(p->pid, hard ? SIGKILL : SIGTERM);
    waitpid(p->pid, &status, 0);
    p->pid = 0;
}

void tw_s3peer_restart(struct tw_s3peer *p)
{
    tw_s3peer_stop(p, 0);
    spawn(p); /* on the same port, so a server configured with the endpoint finds it again */
}

int tw_s3peer_uploads(const struct tw_s3peer *p)
{
    char path[400];
    struct dirent *de;
    int n = 0;
    DIR *d;

    snprintf(path, sizeof(path), "%s/%s/._S3rver_uploads", p->dir, p->bucket);
    d = opendir(path);
    if (d == NULL)
        return 0;
    while ((de = readdir(d)) != NULL)
        if (de->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

int tw_s3peer_parts(const struct tw_s3peer *p)
{
    char path[400], sub[700];
    struct dirent *de, *pe;
    int n = 0;
    DIR *d, *u;

    snprintf(path, sizeof(path), "%s/%s/._S3rver_uploads", p->dir, p->bucket);
    d = opendir(path);
    if (d == NULL)
        return 0;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
        u = opendir(sub);
        while (u != NULL && (pe = readdir(u)) != NULL)
            if (pe->d_name[0] >= '1' && pe->d_name[0] <= '9' && strchr(pe->d_name, '.') == NULL)
                n++;
        if (u != NULL)
            closedir(u);
    }
    closedir(d);
    return n;
}

void tw_s3peer_fini(struct tw_s3peer *p)
{
    char cmd[400];

    tw_s3peer_stop(p, 1);
    if (p->dir[0] != '\0' && strncmp(p->dir, "/tmp/tw-s3rver-", 15) == 0) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s.port'", p->dir, p->dir);
        if (system(cmd) != 0)
            cr_log_warn("could not remove %s", p->dir);
    }
}

int tw_s3peer_node(const char *akid, const char *secret, char *out, size_t cap,
                   const char *const *args)
{
    int fds[2], status;
    size_t n = 0;
    pid_t pid;

    require_node_modules();
    cr_assert_eq(pipe(fds), 0);
    pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        const char *argv[32];
        char script[300];
        int i = 0;

        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        setenv("AWS_ACCESS_KEY_ID", akid, 1);
        setenv("AWS_SECRET_ACCESS_KEY", secret, 1);
        setenv("AWS_REGION", "us-east-1", 1);
        snprintf(script, sizeof(script), "%s/%s", S3_DIR, args[0]);
        argv[i++] = "node";
        argv[i++] = script;
        for (size_t a = 1; args[a] != NULL && i < 31; a++)
            argv[i++] = args[a];
        argv[i] = NULL;
        execvp("node", (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    for (;;) {
        ssize_t r = read(fds[0], out + n, cap - 1 - n);

        if (r <= 0 || (n += (size_t)r) >= cap - 1)
            break;
    }
    close(fds[0]);
    out[n] = '\0';
    out[strcspn(out, "\n")] = '\0';
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}
