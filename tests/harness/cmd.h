/*
 * Running the built `taskwheel` binary as a user would, for the CLI client's tests: with a
 * chosen environment, piped (stdout and stderr apart) or under a pseudo-terminal.
 */
#ifndef TW_TESTS_CMD_H
#define TW_TESTS_CMD_H

#include <stdbool.h>
#include <stddef.h>

struct tw_cmd {
    int code;  /* exit status, 128+signal when killed */
    char *out; /* standard output (NUL-terminated, owned) */
    char *err; /* standard error (piped runs); "" under a terminal, where both are in out */
};

/*
 * Run TW_BINARY with args (NULL-terminated, without the program name) and env (NULL-terminated
 * "NAME=value" strings added to an environment that has no TASKWHEEL_* variables; may be
 * NULL), stdin_text on standard input (NULL: empty). Waits for the end.
 */
void tw_cmd_run(const char *const *args, const char *const *env, const char *stdin_text,
                struct tw_cmd *c);

/* The same under a new pseudo-terminal (forkpty): stdin, stdout and stderr are the terminal. */
void tw_cmd_run_pty(const char *const *args, const char *const *env, struct tw_cmd *c);

/* The same, typing answer (a line, "\n" included) once prompt has appeared on the terminal. */
void tw_cmd_run_pty_answer(const char *const *args, const char *const *env, const char *prompt,
                           const char *answer, struct tw_cmd *c);

/*
 * The same, calling hook(output so far, arg) after each read from the terminal until it
 * returns true: a test acts on what the command has shown (stops a server, say).
 */
typedef bool tw_cmd_hook(const char *out, void *arg);
void tw_cmd_run_pty_hook(const char *const *args, const char *const *env, tw_cmd_hook *hook,
                         void *arg, struct tw_cmd *c);

void tw_cmd_fini(struct tw_cmd *c);

#endif
