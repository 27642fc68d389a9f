/* Running the taskwheel binary for the CLI client's tests (cmd.h). */
#include "cmd.h"

#include <errno.h>
#include <poll.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

extern char **environ;

/* environ without TASKWHEEL_*, then extra; the pointers are borrowed. */
static char **make_env(const char *const *extra)
{
    size_t n = 0, i, k = 0;
    char **env;

    while (environ[n] != NULL)
        n++;
    for (i = 0; extra != NULL && extra[i] != NULL; i++)
        n++;
    env = calloc(n + 1, sizeof(*env));
    cr_assert_not_null(env);
    for (i = 0; environ[i] != NULL; i++)
        if (strncmp(environ[i], "TASKWHEEL_", 10) != 0)
            env[k++] = environ[i];
    for (i = 0; extra != NULL && extra[i] != NULL; i++)
        env[k++] = (char *)extra[i];
    env[k] = NULL;
    return env;
}

static char **make_argv(const char *const *args)
{
    size_t n = 0, i;
    char **argv;

    while (args[n] != NULL)
        n++;
    argv = calloc(n + 2, sizeof(*argv));
    cr_assert_not_null(argv);
    argv[0] = (char *)TW_BINARY;
    for (i = 0; i < n; i++)
        argv[i + 1] = (char *)args[i];
    return argv;
}

struct grow {
    char *buf;
    size_t len, cap;
};

static void grow_add(struct grow *g, const char *p, size_t n)
{
    if (g->len + n + 1 > g->cap) {
        g->cap = (g->len + n + 1) * 2;
        g->buf = realloc(g->buf, g->cap);
        cr_assert_not_null(g->buf);
    }
    memcpy(g->buf + g->len, p, n);
    g->len += n;
    g->buf[g->len] = '\0';
}

static char *grow_take(struct grow *g)
{
    if (g->buf == NULL)
        grow_add(g, "", 0);
    return g->buf;
}

static int exit_code(int status)
{
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void tw_cmd_run(const char *const *args, const char *const *env, const char *stdin_text,
                struct tw_cmd *c)
{
    char **argv = make_argv(args), **envp = make_env(env);
    int in[2], out[2], err[2], status, open_fds = 2;
    struct grow go = { 0 }, ge = { 0 };
    size_t off = 0, want = stdin_text ? strlen(stdin_text) : 0;
    pid_t pid;

    cr_assert(pipe(in) == 0 && pipe(out) == 0 && pipe(err) == 0);
    pid = fork();
    cr_assert(pid != -1);
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        dup2(err[1], 2);
        close(in[1]);
        close(out[0]);
        close(err[0]);
        setsid(); /* no controlling terminal: a password prompt cannot reach ours */
        execve(TW_BINARY, argv, envp);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    close(err[1]);
    if (want == 0) {
        close(in[1]);
        in[1] = -1;
    }
    while (open_fds > 0) {
        struct pollfd p[3] = { { out[0], POLLIN, 0 },
                               { err[0], POLLIN, 0 },
                               { in[1], POLLOUT, 0 } };
        char buf[8192];
        ssize_t r;
        int i;

        if (poll(p, in[1] >= 0 ? 3 : 2, -1) < 0 && errno != EINTR)
            break;
        for (i = 0; i < 2; i++) {
            if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            r = read(p[i].fd, buf, sizeof(buf));
            if (r <= 0) {
                close(p[i].fd);
                if (i == 0)
                    out[0] = -1;
                else
                    err[0] = -1;
                open_fds--;
                continue;
            }
            grow_add(i == 0 ? &go : &ge, buf, (size_t)r);
        }
        if (in[1] >= 0 && (p[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
            r = write(in[1], stdin_text + off, want - off);
            if (r > 0)
                off += (size_t)r;
            if (r <= 0 || off == want) {
                close(in[1]);
                in[1] = -1;
            }
        }
    }
    if (in[1] >= 0)
        close(in[1]);
    waitpid(pid, &status, 0);
    c->code = exit_code(status);
    c->out = grow_take(&go);
    c->err = grow_take(&ge);
    free(argv);
    free(envp);
}

void tw_cmd_run_pty(const char *const *args, const char *const *env, struct tw_cmd *c)
{
    tw_cmd_run_pty_answer(args, env, NULL, NULL, c);
}

struct answer {
    const char *prompt, *text;
    int master;
};

static bool type_answer(const char *out, void *arg)
{
    struct answer *a = arg;

    if (strstr(out, a->prompt) == NULL)
        return false;
    cr_assert_eq(write(a->master, a->text, strlen(a->text)), (ssize_t)strlen(a->text));
    return true;
}

static void run_pty(const char *const *args, const char *const *env, tw_cmd_hook *hook, void *arg,
                    struct answer *ans, struct tw_cmd *c);

void tw_cmd_run_pty_answer(const char *const *args, const char *const *env, const char *prompt,
                           const char *answer, struct tw_cmd *c)
{
    struct answer a = { prompt, answer, -1 };

    run_pty(args, env, prompt ? type_answer : NULL, &a, &a, c);
}

void tw_cmd_run_pty_hook(const char *const *args, const char *const *env, tw_cmd_hook *hook,
                         void *arg, struct tw_cmd *c)
{
    run_pty(args, env, hook, arg, NULL, c);
}

static void run_pty(const char *const *args, const char *const *env, tw_cmd_hook *hook, void *arg,
                    struct answer *ans, struct tw_cmd *c)
{
    char **argv = make_argv(args), **envp = make_env(env);
    struct winsize ws = { .ws_row = 24, .ws_col = 200 };
    struct grow go = { 0 };
    int master, status;
    pid_t pid;

    pid = forkpty(&master, NULL, NULL, &ws);
    cr_assert(pid != -1, "forkpty: %s", strerror(errno));
    if (pid == 0) {
        execve(TW_BINARY, argv, envp);
        _exit(127);
    }
    if (ans != NULL)
        ans->master = master;
    for (;;) {
        char buf[8192];
        ssize_t r = read(master, buf, sizeof(buf));

        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) /* EIO once the child is gone and the terminal hung up */
            break;
        grow_add(&go, buf, (size_t)r);
        if (hook != NULL && hook(go.buf, arg))
            hook = NULL;
    }
    close(master);
    waitpid(pid, &status, 0);
    c->code = exit_code(status);
    c->out = grow_take(&go);
    c->err = strdup("");
    cr_assert_not_null(c->err);
    free(argv);
    free(envp);
}

void tw_cmd_fini(struct tw_cmd *c)
{
    free(c->out);
    free(c->err);
    c->out = c->err = NULL;
}
