/* API requests, the error envelope and login for the command-line client (client.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>

#include "client/client.h"
#include "client/client_int.h"
#include "core/mem.h"

#define RETRIES_429 3        /* a 429 with a short Retry-After is waited out this many times */
#define RETRY_AFTER_MAX_S 30 /* longer than this: give the error to the user */

bool tw_client_header_safe(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return false;
    return true;
}

int tw_client_new(const struct tw_client_opts *o, struct tw_client **out, struct tw_err *err)
{
    struct tw_client *c;
    size_t n;

    *out = NULL;
    if (o->url == NULL ||
        (strncasecmp(o->url, "http://", 7) != 0 && strncasecmp(o->url, "https://", 8) != 0))
        return tw_err_set(err, TW_EINVAL,
                          "the server URL must start with http:// or https:// "
                          "(got \"%s\")",
                          o->url ? o->url : "");
    if (o->token != NULL && !tw_client_header_safe(o->token))
        return tw_err_set(err, TW_EINVAL, "the token holds a control character");
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return tw_err_set(err, TW_EINTERNAL, "libcurl failed to initialise");
    c = tw_calloc(1, sizeof(*c));
    if (c == NULL)
        return tw_err_set(err, TW_ENOMEM, "out of memory");
    c->base = tw_strdup(o->url);
    c->curl = curl_easy_init();
    if (c->base == NULL || c->curl == NULL) {
        tw_client_free(c);
        return tw_err_set(err, TW_ENOMEM, "out of memory");
    }
    n = strlen(c->base);
    while (n > 0 && c->base[n - 1] == '/')
        c->base[--n] = '\0';
    c->chain = o->chain;
    c->connect_timeout_s = o->connect_timeout_s > 0 ? o->connect_timeout_s : 10;
    if (o->token != NULL) {
        size_t len = strlen(o->token) + 32;

        c->auth[0] = tw_malloc(len);
        if (c->auth[0] == NULL) {
            tw_client_free(c);
            return tw_err_set(err, TW_ENOMEM, "out of memory");
        }
        snprintf(c->auth[0], len, "Authorization: Bearer %s", o->token);
    }
    *out = c;
    return TW_OK;
}

void tw_client_free(struct tw_client *c)
{
    size_t i;

    if (c == NULL)
        return;
    if (c->curl != NULL)
        curl_easy_cleanup(c->curl);
    for (i = 0; i < sizeof(c->auth) / sizeof(c->auth[0]); i++) {
        if (c->auth[i] != NULL)
            explicit_bzero(c->auth[i], strlen(c->auth[i]));
        tw_free(c->auth[i]);
    }
    tw_free(c->base);
    tw_free(c);
    curl_global_cleanup();
}

const char *tw_client_base(const struct tw_client *c)
{
    return c->base;
}

void tw_client_resp_fini(struct tw_client_resp *r)
{
    if (r == NULL)
        return;
    tw_free(r->body);
    json_decref(r->json);
    memset(r, 0, sizeof(*r));
}

bool tw_client_escape(const char *s, char *buf, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;

    for (; *s != '\0'; s++) {
        unsigned char ch = (unsigned char)*s;
        bool plain = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                     (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.' || ch == '~';

        if (o + (plain ? 1 : 3) >= len)
            return false;
        if (plain) {
            buf[o++] = (char)ch;
        } else {
            buf[o++] = '%';
            buf[o++] = hex[ch >> 4];
            buf[o++] = hex[ch & 15];
        }
    }
    if (len == 0)
        return false;
    buf[o] = '\0';
    return true;
}

/* Growing body buffer for libcurl's write callback. */
struct sink {
    char *buf;
    size_t len, cap;
    bool oom;
};

static size_t sink_write(char *p, size_t size, size_t n, void *arg)
{
    struct sink *s = arg;
    size_t add = size * n;

    if (s->len + add + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        char *nb;

        while (cap < s->len + add + 1)
            cap *= 2;
        nb = tw_realloc(s->buf, cap);
        if (nb == NULL) {
            s->oom = true;
            return 0;
        }
        s->buf = nb;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, p, add);
    s->len += add;
    s->buf[s->len] = '\0';
    return add;
}

static size_t header_line(char *p, size_t size, size_t n, void *arg)
{
    struct tw_client_resp *r = arg;
    size_t len = size * n;
    static const char name[] = "X-Total-Count:";
    static const char retry[] = "Retry-After:";

    if (len > sizeof(retry) && len < 64 && strncasecmp(p, retry, sizeof(retry) - 1) == 0) {
        char num[64];

        memcpy(num, p + sizeof(retry) - 1, len - (sizeof(retry) - 1));
        num[len - (sizeof(retry) - 1)] = '\0';
        r->retry_after = strtol(num, NULL, 10);
    }

    if (len > sizeof(name) && strncasecmp(p, name, sizeof(name) - 1) == 0) {
        char num[32];
        size_t k = len - (sizeof(name) - 1);

        if (k >= sizeof(num))
            k = sizeof(num) - 1;
        memcpy(num, p + sizeof(name) - 1, k);
        num[k] = '\0';
        r->total_count = strtoll(num, NULL, 10);
    }
    return len;
}

/* error.name/description/field of an envelope (docs/reference.md §3), when r holds one. */
static void read_envelope(struct tw_client_resp *r)
{
    json_t *e;

    if (r->json == NULL || !json_is_object(r->json))
        return;
    e = json_object_get(r->json, "error");
    if (!json_is_object(e))
        return;
    r->err_name = json_string_value(json_object_get(e, "name"));
    r->err_desc = json_string_value(json_object_get(e, "description"));
    r->err_field = json_string_value(json_object_get(e, "field"));
}

static int call_once(struct tw_client *c, const char *method, const char *path, const char *body,
                     const char *const *headers, long timeout_s, struct tw_client_resp *r,
                     struct tw_err *err)
{
    struct curl_slist *hl = NULL, *tmp;
    struct sink s = { 0 };
    char url[8192], errbuf[CURL_ERROR_SIZE] = "";
    size_t i;
    CURLcode cc;

    memset(r, 0, sizeof(*r));
    r->total_count = -1;
    r->retry_after = -1;
    if (snprintf(url, sizeof(url), "%s%s", c->base, path) >= (int)sizeof(url))
        return tw_err_set(err, TW_EINVAL, "request URL too long");
    for (i = 0; i < sizeof(c->auth) / sizeof(c->auth[0]); i++)
        if (c->auth[i] != NULL && (tmp = curl_slist_append(hl, c->auth[i])) != NULL)
            hl = tmp;
    for (i = 0; headers != NULL && headers[i] != NULL; i++)
        if ((tmp = curl_slist_append(hl, headers[i])) != NULL)
            hl = tmp;
    if (body != NULL && (tmp = curl_slist_append(hl, "Content-Type: application/json")) != NULL)
        hl = tmp;
    if ((tmp = curl_slist_append(hl, "Accept: application/json")) != NULL)
        hl = tmp;
    /* No "Expect: 100-continue" round trip for larger bodies. */
    if ((tmp = curl_slist_append(hl, "Expect:")) != NULL)
        hl = tmp;

    curl_easy_reset(c->curl);
    curl_easy_setopt(c->curl, CURLOPT_URL, url);
    curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "GET") == 0)
        curl_easy_setopt(c->curl, CURLOPT_HTTPGET, 1L);
    if (body != NULL) {
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    } else if (strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0) {
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
    }
    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, sink_write);
    curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(c->curl, CURLOPT_HEADERFUNCTION, header_line);
    curl_easy_setopt(c->curl, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT, c->connect_timeout_s);
    curl_easy_setopt(c->curl, CURLOPT_TIMEOUT, timeout_s);
    curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c->curl, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(c->curl, CURLOPT_USERAGENT, "taskwheel-cli/" TW_VERSION);
    cc = curl_easy_perform(c->curl);
    curl_slist_free_all(hl);
    if (s.oom) {
        tw_free(s.buf);
        return tw_err_set(err, TW_ENOMEM, "out of memory reading the answer");
    }
    if (cc != CURLE_OK) {
        tw_free(s.buf);
        return tw_err_set(err, TW_EIO, "cannot reach %s: %s", c->base,
                          errbuf[0] ? errbuf : curl_easy_strerror(cc));
    }
    curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &r->status);
    if (s.buf == NULL && (s.buf = tw_strdup("")) == NULL)
        return tw_err_set(err, TW_ENOMEM, "out of memory");
    r->body = s.buf;
    r->len = s.len;
    if (r->len > 0)
        r->json = json_loadb(r->body, r->len, JSON_DECODE_ANY, NULL);
    read_envelope(r);
    return TW_OK;
}

int tw_client_call(struct tw_client *c, const char *method, const char *path, const char *body,
                   const char *const *headers, long timeout_s, struct tw_client_resp *r,
                   struct tw_err *err)
{
    int tries, rc;

    for (tries = 0;; tries++) {
        rc = call_once(c, method, path, body, headers, timeout_s, r, err);
        /* rate_limited is answered before the request does anything: safe to send again. */
        if (rc != TW_OK || r->status != 429 || tries == RETRIES_429 || r->retry_after < 0 ||
            r->retry_after > RETRY_AFTER_MAX_S)
            return rc;
        tw_client_resp_fini(r);
        sleep((unsigned)(r->retry_after > 0 ? r->retry_after : 1));
    }
}

bool tw_client_failed(const struct tw_client_resp *r, char *msg, size_t len)
{
    size_t n;

    if (r->status < 400)
        return false;
    if (r->err_name != NULL) {
        snprintf(msg, len, "HTTP %ld %s: %s", r->status, r->err_name,
                 r->err_desc ? r->err_desc : "(no description)");
        return true;
    }
    /* Not our envelope (a proxy's page, say): its first line, trimmed. */
    n = strcspn(r->body ? r->body : "", "\r\n");
    if (n > 200)
        n = 200;
    snprintf(msg, len, "HTTP %ld%s%.*s", r->status, n ? ": " : "", (int)n, r->body ? r->body : "");
    return true;
}

int tw_client_login(struct tw_client *c, const char *user, const char *password, struct tw_err *err)
{
    struct tw_client_resp r;
    char msg[768], *body;
    json_t *req, *uid;
    const char *key;
    int rc;

    if (c->chain <= 0)
        return tw_err_set(err, TW_EINVAL, "an admin session acts on one chain: give --chain");
    if (!tw_client_header_safe(user) || !tw_client_header_safe(password))
        return tw_err_set(err, TW_EINVAL, "the user name or password holds a control character");
    req = json_pack("{s:s, s:s}", "username", user, "password", password);
    body = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    if (body == NULL)
        return tw_err_set(err, TW_ENOMEM, "out of memory (or the user name is not UTF-8)");
    rc = tw_client_call(c, "POST", "/auth/login", body, NULL, 60, &r, err);
    explicit_bzero(body, strlen(body));
    free(body);
    if (rc != TW_OK)
        return rc;
    if (tw_client_failed(&r, msg, sizeof(msg))) {
        tw_err_set(err, TW_EAUTH, "login as %s refused: %s", user, msg);
        tw_client_resp_fini(&r);
        return TW_EAUTH;
    }
    uid = json_object_get(r.json, "user_id");
    key = json_string_value(json_object_get(r.json, "session_key"));
    if (!json_is_integer(uid) || key == NULL) {
        tw_client_resp_fini(&r);
        return tw_err_set(err, TW_EIO, "the login answer holds no user_id and session_key");
    }
    for (size_t i = 0; i < sizeof(c->auth) / sizeof(c->auth[0]); i++) {
        tw_free(c->auth[i]); /* a login replaces any token */
        c->auth[i] = NULL;
    }
    c->auth[0] = tw_malloc(64);
    c->auth[1] = tw_malloc(strlen(key) + 32);
    c->auth[2] = tw_malloc(64);
    if (c->auth[0] == NULL || c->auth[1] == NULL || c->auth[2] == NULL) {
        tw_client_resp_fini(&r);
        return tw_err_set(err, TW_ENOMEM, "out of memory");
    }
    snprintf(c->auth[0], 64, "X-Spaaza-Session-User-Id: %lld", (long long)json_integer_value(uid));
    snprintf(c->auth[1], strlen(key) + 32, "X-Spaaza-Session-Key: %s", key);
    snprintf(c->auth[2], 64, "X-Spaaza-Session-Chain-Id: %lld", (long long)c->chain);
    explicit_bzero(r.body, r.len);
    tw_client_resp_fini(&r);
    return TW_OK;
}
