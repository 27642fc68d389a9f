/*
 * Test harness: starts a real `taskwheel serve` on a free loopback port in a temporary
 * directory and talks to it with libcurl. Never sends traffic anywhere but 127.0.0.1.
 *
 * Every function asserts (Criterion) on harness failures, so tests read as plain steps.
 */
#ifndef TW_TESTS_HARNESS_H
#define TW_TESTS_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

struct tw_srv {
    char dir[256];     /* temporary directory holding config.yaml and var/ */
    char config[300];  /* path of config.yaml */
    char base_url[64]; /* http://127.0.0.1:PORT */
    unsigned port;
    pid_t pid;         /* server process, 0 when stopped */
    char extra[4096];  /* extra YAML appended to the config */
    bool unprivileged; /* server and CLI run as `nobody` when the tests run as root */
};

struct tw_resp {
    long status;
    char *body; /* NUL-terminated */
    size_t len;
    char *headers; /* raw response headers */
    json_t *json;  /* parsed body, or NULL */
};

/* Create the directory and config (with extra_yaml appended, may be NULL) and start. */
void tw_srv_init(struct tw_srv *s, const char *extra_yaml);
/*
 * The same with another plugins_dir (the config loader refuses a key given twice, so it cannot
 * go in extra_yaml); NULL means the build's production plugins, <build>/plugins, as in
 * tw_srv_init.
 */
void tw_srv_init_plugins(struct tw_srv *s, const char *plugins_dir, const char *extra_yaml);
/* As tw_srv_init_plugins, with lua_dir too (NULL: the shipped <source>/lua). */
void tw_srv_init_dirs(struct tw_srv *s, const char *plugins_dir, const char *lua_dir,
                      const char *extra_yaml);

/*
 * As tw_srv_init, but when the tests run as root the directory is given to the `nobody` user
 * and the server (and tw_srv_cli) run as nobody, so that permission checks (a results
 * directory made read-only) bite as they would for a real unprivileged server. Not root:
 * exactly tw_srv_init.
 */
void tw_srv_init_unprivileged(struct tw_srv *s, const char *extra_yaml);

/*
 * A new temporary directory whose config.yaml holds listen (127.0.0.1:0), data_dir,
 * plugins_dir (NULL: the build's production plugins) and the shipped lua_dir, then yaml as
 * given (log: and the rest are the caller's). Nothing is started: tw_srv_start or
 * tw_srv_start_logged; tw_srv_fini removes it.
 */
void tw_srv_prepare(struct tw_srv *s, const char *plugins_dir, const char *yaml);

/* The run-behaviour fixture plugin "testrun" (tests/runplugin/README.md) lives here alone. */
#define TW_RUNPLUGINS_DIR TW_BUILD_DIR "/tests/runplugins"
void tw_srv_start(struct tw_srv *s);
/*
 * Start serve as tw_srv_start does, with its stdout and stderr appended to log_path (for tests
 * that read the server's own words). Returns false when it exited during start-up (s->pid 0,
 * what it said in log_path); asserts when it does not become ready within 30 s.
 */
bool tw_srv_start_logged(struct tw_srv *s, const char *log_path);
/* Send sig (SIGTERM normally) and wait; returns the exit status (or 128+signal). */
int tw_srv_stop(struct tw_srv *s, int sig);
/* Stop (if running) and remove the directory (once: s->dir is emptied). Asserts a clean exit
 * when check_exit. */
void tw_srv_fini(struct tw_srv *s, bool check_exit);

/*
 * Run `taskwheel ARGS... -c CONFIG` (config added after the subcommand words) with stdin_text
 * on stdin; stdout into *out (caller frees, may be NULL). Returns the exit code.
 */
int tw_srv_cli(struct tw_srv *s, const char *stdin_text, char **out, const char *const *args);

/* Run `taskwheel ARGS... -c CONFIG` with stdout and stderr appended to log_path; its exit code. */
int tw_srv_cli_logged(struct tw_srv *s, const char *log_path, const char *const *args);

/* A new token "id:secret" for chain with level ("read"/"write"); caller frees. */
char *tw_srv_token(struct tw_srv *s, const char *level, const char *const *chains);

/*
 * One HTTP request. headers: NULL-terminated "Name: value" strings (may be NULL); token: a
 * "id:secret" sent as Bearer (may be NULL); body: sent as is (may be NULL).
 */
void tw_http(struct tw_srv *s, const char *method, const char *path, const char *token,
             const char *const *headers, const char *body, struct tw_resp *r);
void tw_resp_fini(struct tw_resp *r);

/* The value of header name in r (case-insensitive), copied to buf; false when absent. */
bool tw_resp_header(const struct tw_resp *r, const char *name, char *buf, size_t len);

/* Assert r is an error envelope with status and name (and field when not NULL). */
void tw_assert_error(const struct tw_resp *r, long status, const char *name, const char *field);

/*
 * Poll GET /tasks/{id}?log_limit=1000 (every 50 ms) until state.code is code, for at most
 * timeout_s seconds; asserts on timeout or on an HTTP error. Returns the task (caller
 * json_decref()s).
 */
json_t *tw_wait_state(struct tw_srv *s, const char *token, long long id, const char *code,
                      int timeout_s);

/* The task (GET /tasks/{id}?log_limit=1000, asserted 200); caller json_decref()s. */
json_t *tw_task_get(struct tw_srv *s, const char *token, long long id);

/* Log entries of task whose msg equals msg exactly. */
size_t tw_task_log_count(const json_t *task, const char *msg);
/* The value of an unlabelled sample of s's /metrics (token may be NULL); -1 when the sample is
 * missing or the request failed. */
long long tw_metric(struct tw_srv *s, const char *token, const char *name);

/* A valid create body for chain (index/format/once given, or defaults). Caller frees. */
char *tw_task_body(long chain, const char *extra_fields);

/*
 * Child processes of parent whose name (/proc/PID/stat's comm) is comm, or all of them when
 * comm is NULL: "tw-worker" runs a job, "tw-spare" waits for one, "tw-spawner" makes spares
 * (engine/run/spawner.c). Returns how many; *one (may be NULL) gets the pid of one of them
 * or -1, and *nice (may be NULL) that one's nice value.
 */
int tw_children(pid_t parent, const char *comm, pid_t *one, int *nice);

/* The whole file at path, NUL-terminated (caller frees); its length into *len (may be NULL).
 * Asserts it can be read. */
char *tw_slurp(const char *path, size_t *len);

/* Unpack a whole gzip stream into *out (malloc'd, caller frees); asserts it is one complete
 * stream with nothing after it. */
void tw_gunzip(const char *in, size_t len, char **out, size_t *out_len);

#endif
