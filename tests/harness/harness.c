/* Test harness (see harness.h). */
#include "harness.h"
#include "oapi_record.h"

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

#include <dirent.h>
#include <grp.h>
#include <pwd.h>

#include <criterion/criterion.h>
#include <curl/curl.h>
#include <zlib.h>

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    cr_assert_not_null(f, "cannot write %s", path);
    fputs(text, f);
    fclose(f);
}

void tw_srv_init(struct tw_srv *s, const char *extra_yaml)
{
    tw_srv_init_plugins(s, NULL, extra_yaml);
}

void tw_srv_init_plugins(struct tw_srv *s, const char *plugins_dir, const char *extra_yaml)
{
    tw_srv_init_dirs(s, plugins_dir, NULL, extra_yaml);
}

/* The user `nobody`; asserts it exists. */
static const struct passwd *nobody(void)
{
    const struct passwd *pw = getpwnam("nobody");

    cr_assert_not_null(pw, "no user nobody to run the server as");
    return pw;
}

/* In a forked child before exec: become nobody when s asks for it (and we are root). */
static void child_drop_privileges(const struct tw_srv *s)
{
    const struct passwd *pw;

    if (!s->unprivileged || geteuid() != 0)
        return;
    pw = getpwnam("nobody");
    if (pw == NULL || setgroups(0, NULL) != 0 || setgid(pw->pw_gid) != 0 ||
        setuid(pw->pw_uid) != 0 || setuid(0) == 0)
        _exit(126); /* never run the server as root when the test asked otherwise */
}

static void init_dirs(struct tw_srv *s, const char *plugins_dir, const char *lua_dir,
                      const char *extra_yaml, bool unprivileged);

void tw_srv_init_unprivileged(struct tw_srv *s, const char *extra_yaml)
{
    init_dirs(s, NULL, NULL, extra_yaml, true);
}

void tw_srv_init_dirs(struct tw_srv *s, const char *plugins_dir, const char *lua_dir,
                      const char *extra_yaml)
{
    init_dirs(s, plugins_dir, lua_dir, extra_yaml, false);
}

/*
 * Whether `nobody` can run the server from this build: a build tree under a 0700 directory (a
 * mktemp -d clone, say) is out of its reach. The check runs as nobody in a child.
 */
static bool nobody_can_run(const char *plugins, const char *lua)
{
    const struct passwd *pw = nobody();
    int status;
    pid_t pid = fork();

    cr_assert_neq(pid, -1, "fork: %s", strerror(errno));
    if (pid == 0) {
        if (setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0)
            _exit(2);
        _exit(access(TW_BINARY, X_OK) == 0 && access(plugins, R_OK | X_OK) == 0 &&
                      access(lua, R_OK | X_OK) == 0
                  ? 0
                  : 1);
    }
    waitpid(pid, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void init_dirs(struct tw_srv *s, const char *plugins_dir, const char *lua_dir,
                      const char *extra_yaml, bool unprivileged)
{
    char cfg[8192], plugins[1024], lua[1024];

    memset(s, 0, sizeof(*s));
    s->unprivileged = unprivileged;
    snprintf(s->dir, sizeof(s->dir), "/tmp/twtest.XXXXXX");
    cr_assert_not_null(mkdtemp(s->dir));
    snprintf(s->config, sizeof(s->config), "%s/config.yaml", s->dir);
    if (extra_yaml != NULL)
        snprintf(s->extra, sizeof(s->extra), "%s", extra_yaml);
    if (plugins_dir != NULL)
        snprintf(plugins, sizeof(plugins), "%s", plugins_dir);
    else
        snprintf(plugins, sizeof(plugins), "%s/plugins", TW_BUILD_DIR);
    snprintf(lua, sizeof(lua), "%s", lua_dir != NULL ? lua_dir : TW_SOURCE_DIR "/lua");
    snprintf(cfg, sizeof(cfg),
             "listen: \"127.0.0.1:0\"\n"
             "data_dir: \"%s/var\"\n"
             "plugins_dir: \"%s\"\n"
             "lua_dir: \"%s\"\n"
             "log: { level: warn }\n"
             "%s",
             s->dir, plugins, lua, s->extra);
    write_file(s->config, cfg);
    if (unprivileged && geteuid() == 0) {
        const struct passwd *pw = nobody();

        if (!nobody_can_run(plugins, lua)) {
            unlink(s->config);
            rmdir(s->dir);
            cr_skip_test("user nobody cannot reach %s (the build tree is under a private "
                         "directory), so the server cannot run unprivileged here",
                         TW_BINARY);
        }

        cr_assert_eq(chown(s->dir, pw->pw_uid, pw->pw_gid), 0, "chown %s", s->dir);
        cr_assert_eq(chown(s->config, pw->pw_uid, pw->pw_gid), 0, "chown %s", s->config);
    }
    tw_srv_start(s);
}

static bool read_port(const char *path, unsigned *port)
{
    FILE *f = fopen(path, "r");
    bool ok;

    if (f == NULL)
        return false;
    ok = fscanf(f, "%u", port) == 1;
    fclose(f);
    return ok;
}

/*
 * Fork and exec serve with --ready-file, its stdout and stderr appended to log_path (inherited
 * when NULL), and wait up to 30 s (sanitizer builds start slowly) for its port. Returns true
 * when ready; false when it exited during start-up (s->pid 0, the exit status in *status).
 */
static bool start_serve(struct tw_srv *s, const char *log_path, int *status)
{
    char ready[320];
    struct timespec ts = { 0, 20 * 1000 * 1000 };
    pid_t parent;
    int i;

    snprintf(ready, sizeof(ready), "%s/ready", s->dir);
    unlink(ready);
    s->port = 0;
    tw_oapi_start(); /* before the fork: the server must not inherit the validator's pipes */
    parent = getpid();
    s->pid = fork();
    cr_assert(s->pid != -1);
    if (s->pid == 0) {
        if (log_path != NULL) {
            int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

            if (fd == -1 || dup2(fd, 1) == -1 || dup2(fd, 2) == -1)
                _exit(126);
        }
        child_drop_privileges(s);
        /*
         * A test process that dies mid-test (a ctest timeout, an interrupted run) takes its
         * server along instead of leaving it serving. Set after the credential change, which
         * clears it; the getppid check covers a parent that died before the prctl.
         */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
            _exit(125);
        execl(TW_BINARY, TW_BINARY, "serve", "-c", s->config, "--ready-file", ready, (char *)NULL);
        _exit(127);
    }
    for (i = 0; i < 1500; i++) {
        if (read_port(ready, &s->port))
            break;
        if (waitpid(s->pid, status, WNOHANG) == s->pid) {
            s->pid = 0;
            s->port = 0;
            return false;
        }
        nanosleep(&ts, NULL);
    }
    cr_assert(s->port != 0, "taskwheel serve did not become ready");
    snprintf(s->base_url, sizeof(s->base_url), "http://127.0.0.1:%u", s->port);
    return true;
}

void tw_srv_start(struct tw_srv *s)
{
    int status = 0;

    if (!start_serve(s, NULL, &status))
        cr_assert_fail("taskwheel serve exited during start-up (status %d)", status);
}

bool tw_srv_start_logged(struct tw_srv *s, const char *log_path)
{
    int status = 0;

    return start_serve(s, log_path, &status);
}

void tw_srv_prepare(struct tw_srv *s, const char *plugins_dir, const char *yaml)
{
    FILE *f;

    memset(s, 0, sizeof(*s));
    snprintf(s->dir, sizeof(s->dir), "/tmp/twtest.XXXXXX");
    cr_assert_not_null(mkdtemp(s->dir));
    snprintf(s->config, sizeof(s->config), "%s/config.yaml", s->dir);
    f = fopen(s->config, "w");
    cr_assert_not_null(f, "cannot write %s", s->config);
    fprintf(f,
            "listen: \"127.0.0.1:0\"\ndata_dir: \"%s/var\"\nplugins_dir: \"%s\"\n"
            "lua_dir: \"%s/lua\"\n%s",
            s->dir, plugins_dir != NULL ? plugins_dir : TW_BUILD_DIR "/plugins", TW_SOURCE_DIR,
            yaml);
    fclose(f);
}

char *tw_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "r");
    char *buf;
    long n;

    cr_assert_not_null(f, "cannot read %s", path);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = calloc(1, (size_t)n + 1);
    cr_assert_not_null(buf);
    cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    if (len != NULL)
        *len = (size_t)n;
    return buf;
}

int tw_srv_stop(struct tw_srv *s, int sig)
{
    int status = 0;

    if (s->pid == 0)
        return 0;
    kill(s->pid, sig);
    waitpid(s->pid, &status, 0);
    s->pid = 0;
    s->port = 0;
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}

void tw_srv_fini(struct tw_srv *s, bool check_exit)
{
    char cmd[400];
    int rc = tw_srv_stop(s, SIGTERM);

    if (s->dir[0] != '\0' && getenv("TW_KEEP_TMP") == NULL) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->dir);
        if (system(cmd) != 0)
            cr_log_warn("could not remove %s", s->dir);
    }
    s->dir[0] = '\0'; /* removed: a second fini must not remove a directory made since */
    if (check_exit)
        cr_expect_eq(rc, 0, "taskwheel serve exited with %d (a sanitizer report?)", rc);
}

/* argv (32 slots) = TW_BINARY, args (at most 27 of them), -c CONFIG, NULL. */
static void cli_argv(const struct tw_srv *s, const char *const *args, const char **argv)
{
    size_t n = 0;

    argv[n++] = TW_BINARY;
    while (*args != NULL && n < 28)
        argv[n++] = *args++;
    argv[n++] = "-c";
    argv[n++] = s->config;
    argv[n] = NULL;
}

int tw_srv_cli(struct tw_srv *s, const char *stdin_text, char **out, const char *const *args)
{
    const char *argv[32];
    int in[2], outp[2];
    size_t cap = 0, len = 0;
    char *buf = NULL;
    pid_t pid;
    int status;

    cli_argv(s, args, argv);
    cr_assert(pipe(in) == 0 && pipe(outp) == 0);
    pid = fork();
    cr_assert(pid != -1);
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(outp[1], 1);
        close(in[1]);
        close(outp[0]);
        child_drop_privileges(s);
        execv(TW_BINARY, (char *const *)argv);
        _exit(127);
    }
    close(in[0]);
    close(outp[1]);
    if (stdin_text != NULL && write(in[1], stdin_text, strlen(stdin_text)) < 0)
        cr_log_warn("stdin write failed");
    close(in[1]);
    for (;;) {
        ssize_t r;

        if (len + 4096 > cap) {
            cap = cap ? cap * 2 : 8192;
            buf = realloc(buf, cap);
            cr_assert_not_null(buf);
        }
        r = read(outp[0], buf + len, cap - len - 1);
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    close(outp[0]);
    buf[len] = '\0';
    waitpid(pid, &status, 0);
    if (out != NULL)
        *out = buf;
    else
        free(buf);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int tw_srv_cli_logged(struct tw_srv *s, const char *log_path, const char *const *args)
{
    const char *argv[32];
    pid_t pid;
    int status;

    cli_argv(s, args, argv);
    pid = fork();
    cr_assert(pid != -1);
    if (pid == 0) {
        int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

        if (fd == -1 || dup2(fd, 1) == -1 || dup2(fd, 2) == -1)
            _exit(126);
        child_drop_privileges(s);
        execv(TW_BINARY, (char *const *)argv);
        _exit(127);
    }
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

char *tw_srv_token(struct tw_srv *s, const char *level, const char *const *chains)
{
    const char *args[24] = { "token", "create", "--level", level };
    size_t n = 4;
    char *out = NULL;
    int rc;

    while (*chains != NULL && n < 20) {
        args[n++] = "--chain";
        args[n++] = *chains++;
    }
    args[n] = NULL;
    rc = tw_srv_cli(s, NULL, &out, args);
    cr_assert_eq(rc, 0, "token create failed");
    out[strcspn(out, "\n")] = '\0';
    return out;
}

struct sink {
    char *data;
    size_t len;
};

static size_t sink_write(char *p, size_t size, size_t n, void *arg)
{
    struct sink *k = arg;
    char *d = realloc(k->data, k->len + size * n + 1);

    cr_assert_not_null(d);
    memcpy(d + k->len, p, size * n);
    k->len += size * n;
    d[k->len] = '\0';
    k->data = d;
    return size * n;
}

void tw_http(struct tw_srv *s, const char *method, const char *path, const char *token,
             const char *const *headers, const char *body, struct tw_resp *r)
{
    struct sink b = { NULL, 0 }, h = { NULL, 0 };
    struct curl_slist *hl = NULL;
    char url[2048], auth[512];
    CURL *c = curl_easy_init();
    CURLcode rc;

    memset(r, 0, sizeof(*r));
    cr_assert_not_null(c);
    snprintf(url, sizeof(url), "%s%s", s->base_url, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, sink_write);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    if (token != NULL) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
        hl = curl_slist_append(hl, auth);
    }
    while (headers != NULL && *headers != NULL)
        hl = curl_slist_append(hl, *headers++);
    if (body != NULL) {
        hl = curl_slist_append(hl, "Content-Type: application/json");
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    hl = curl_slist_append(hl, "Expect:");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    rc = curl_easy_perform(c);
    cr_assert_eq(rc, CURLE_OK, "%s %s: %s", method, path, curl_easy_strerror(rc));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    r->body = b.data ? b.data : calloc(1, 1);
    r->len = b.len;
    r->headers = h.data ? h.data : calloc(1, 1);
    r->json = r->len ? json_loadb(r->body, r->len, 0, NULL) : NULL;
    tw_oapi_record(s, method, path, r->status, r->headers, r->body, r->len);
}

void tw_resp_fini(struct tw_resp *r)
{
    free(r->body);
    free(r->headers);
    json_decref(r->json);
    memset(r, 0, sizeof(*r));
}

bool tw_resp_header(const struct tw_resp *r, const char *name, char *buf, size_t len)
{
    size_t nl = strlen(name);
    const char *p = r->headers;

    while (p != NULL && *p != '\0') {
        const char *eol = strstr(p, "\r\n");
        size_t ll = eol ? (size_t)(eol - p) : strlen(p);

        if (ll > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;

            while (*v == ' ')
                v++;
            snprintf(buf, len, "%.*s", (int)(ll - (size_t)(v - p)), v);
            return true;
        }
        p = eol ? eol + 2 : NULL;
    }
    return false;
}

void tw_assert_error(const struct tw_resp *r, long status, const char *name, const char *field)
{
    json_t *e;

    cr_assert_eq(r->status, status, "expected HTTP %ld, got %ld: %s", status, r->status, r->body);
    cr_assert_not_null(r->json, "error body is not JSON: %s", r->body);
    cr_assert_str_eq(
        json_string_value(json_object_get(json_object_get(r->json, "result"), "status")), "error");
    e = json_object_get(r->json, "error");
    cr_assert_str_eq(json_string_value(json_object_get(e, "name")), name, "body: %s", r->body);
    cr_assert(json_is_integer(json_object_get(e, "code")));
    cr_assert(json_string_length(json_object_get(e, "description")) > 0);
    if (field != NULL)
        cr_assert_str_eq(json_string_value(json_object_get(e, "field")), field, "body: %s",
                         r->body);
}

json_t *tw_task_get(struct tw_srv *s, const char *token, long long id)
{
    struct tw_resp r;
    char path[96];
    json_t *t;

    snprintf(path, sizeof(path), "/tasks/%lld?log_limit=1000", id);
    tw_http(s, "GET", path, token, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, "GET %s: %ld %s", path, r.status, r.body);
    cr_assert_not_null(r.json, "GET %s: not JSON: %s", path, r.body);
    t = json_incref(r.json);
    tw_resp_fini(&r);
    return t;
}

json_t *tw_wait_state(struct tw_srv *s, const char *token, long long id, const char *code,
                      int timeout_s)
{
    struct timespec ts = { 0, 50 * 1000 * 1000 }, t0, now;
    json_t *t;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        const char *c;
        char *text;

        t = tw_task_get(s, token, id);
        c = json_string_value(json_object_get(json_object_get(t, "state"), "code"));
        if (c != NULL && strcmp(c, code) == 0)
            return t;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - t0.tv_sec >= timeout_s) {
            text = json_dumps(t, JSON_COMPACT);
            cr_assert_fail("task %lld not %s after %d s: %s", id, code, timeout_s,
                           text ? text : "?");
        }
        json_decref(t);
        nanosleep(&ts, NULL);
    }
}

size_t tw_task_log_count(const json_t *task, const char *msg)
{
    json_t *logs = json_object_get(task, "logs"), *e;
    size_t i, n = 0;

    json_array_foreach(logs, i, e)
    {
        const char *m = json_string_value(json_object_get(e, "msg"));

        if (m != NULL && strcmp(m, msg) == 0)
            n++;
    }
    return n;
}

long long tw_metric(struct tw_srv *s, const char *token, const char *name)
{
    struct tw_resp r;
    long long v = -1;
    size_t n = strlen(name);

    tw_http(s, "GET", "/metrics", token, NULL, NULL, &r);
    if (r.status == 200)
        for (const char *p = r.body; p != NULL && *p != '\0';
             p = strchr(p, '\n') != NULL ? strchr(p, '\n') + 1 : NULL)
            if (strncmp(p, name, n) == 0 && p[n] == ' ') {
                v = atoll(p + n + 1);
                break;
            }
    tw_resp_fini(&r);
    return v;
}

char *tw_task_body(long chain, const char *extra_fields)
{
    char *b = malloc(2048);

    cr_assert_not_null(b);
    snprintf(
        b, 2048,
        "{\"chain\": %ld, \"desc\": \"test export\","
        " \"target\": {\"action\": \"export\", \"export_index\": \"users\", \"export_format\": \"csv\"},"
        " \"trigger\": {\"once\": \"2099-01-01T00:00:00Z\"}%s%s}",
        chain, extra_fields ? ", " : "", extra_fields ? extra_fields : "");
    return b;
}

int tw_children(pid_t parent, const char *comm, pid_t *one, int *nice)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    int n = 0;

    cr_assert_not_null(d);
    if (one != NULL)
        *one = -1;
    while ((e = readdir(d)) != NULL) {
        char path[300], buf[512], name[64], *p, *q;
        FILE *f;
        int ppid, ni;

        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
        f = fopen(path, "r");
        if (f == NULL)
            continue;
        p = fgets(buf, sizeof(buf), f);
        fclose(f);
        if (p == NULL || (q = strchr(buf, '(')) == NULL || (p = strrchr(buf, ')')) == NULL)
            continue;
        snprintf(name, sizeof(name), "%.*s", (int)(p - q - 1), q + 1);
        /* ") state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime
         * stime cutime cstime priority nice" */
        if (sscanf(p + 2,
                   "%*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d "
                   "%d",
                   &ppid, &ni) != 2 ||
            ppid != parent || (comm != NULL && strcmp(name, comm) != 0))
            continue;
        n++;
        if (one != NULL)
            *one = (pid_t)atoi(e->d_name);
        if (nice != NULL)
            *nice = ni;
    }
    closedir(d);
    return n;
}

void tw_gunzip(const char *in, size_t len, char **out, size_t *out_len)
{
    z_stream z;
    size_t cap = len * 8 + 1024;
    int rc;

    memset(&z, 0, sizeof(z));
    cr_assert_eq(inflateInit2(&z, 16 + MAX_WBITS), Z_OK);
    *out = malloc(cap);
    cr_assert_not_null(*out);
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)len;
    for (;;) {
        z.next_out = (Bytef *)*out + z.total_out;
        z.avail_out = (uInt)(cap - z.total_out);
        rc = inflate(&z, Z_NO_FLUSH);
        if (rc == Z_STREAM_END)
            break;
        cr_assert(rc == Z_OK || rc == Z_BUF_ERROR, "inflate: %d %s", rc, z.msg ? z.msg : "");
        if (z.avail_out == 0) {
            cap *= 2;
            *out = realloc(*out, cap);
            cr_assert_not_null(*out);
        } else {
            cr_assert_fail("gzip stream truncated (%lu bytes out)", (unsigned long)z.total_out);
        }
    }
    cr_assert_eq(z.avail_in, 0, "bytes after the gzip stream");
    *out_len = z.total_out;
    inflateEnd(&z);
}
