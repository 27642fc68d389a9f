/* AWS Signature Version 4 (see sigv4.h). HMAC and SHA-256 are libcrypto's. */
#include "core/sigv4.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/buf.h"
#include "core/crypto.h"
#include "core/mem.h"

#define ALGORITHM "AWS4-HMAC-SHA256"
/* Canonical requests are small (a path, a few headers); this bounds a hostile key. */
#define CANON_MAX (64 * 1024)

void tw_sigv4_amz_date(time_t t, char out[17])
{
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

static int unreserved(unsigned char c)
{
    return isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

static int encode_into(struct tw_buf *b, const char *src, int keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";

    for (const unsigned char *p = (const unsigned char *)src; *p != '\0'; p++) {
        char esc[3] = { '%', hex[*p >> 4], hex[*p & 15] };
        int rc = (unreserved(*p) || (keep_slash && *p == '/')) ? tw_buf_append(b, p, 1)
                                                               : tw_buf_append(b, esc, 3);
        if (rc != TW_OK)
            return rc;
    }
    return TW_OK;
}

long tw_sigv4_encode(const char *src, int keep_slash, char *out, size_t cap)
{
    struct tw_buf b;
    long n = -1;

    tw_buf_init(&b, CANON_MAX);
    if (encode_into(&b, src, keep_slash) == TW_OK && b.len < cap) {
        memcpy(out, b.data != NULL ? b.data : "", b.len + 1);
        n = (long)b.len;
    }
    tw_buf_fini(&b);
    return n;
}

/* One encoded query pair or one canonical header line, for sorting. */
struct item {
    char *key;
    char *val;
};

static int item_cmp(const void *a, const void *b)
{
    const struct item *x = a, *y = b;
    int c = strcmp(x->key, y->key);

    return c != 0 ? c : strcmp(x->val, y->val);
}

static void items_free(struct item *it, size_t n)
{
    for (size_t i = 0; it != NULL && i < n; i++) {
        tw_free(it[i].key);
        tw_free(it[i].val);
    }
    tw_free(it);
}

static char *encoded(const char *s)
{
    struct tw_buf b;

    char *out;

    tw_buf_init(&b, CANON_MAX);
    if (encode_into(&b, s, 0) != TW_OK) {
        tw_buf_fini(&b);
        return NULL;
    }
    out = tw_buf_steal(&b);
    return out != NULL ? out : tw_strdup(""); /* an empty buffer has no data yet */
}

/* Lowercase name; value trimmed with inner runs of spaces folded to one. */
static int header_item(const struct tw_sigv4_pair *h, struct item *it)
{
    size_t n = strlen(h->name), vlen = strlen(h->value), o = 0;
    const char *v = h->value;

    it->key = tw_malloc(n + 1);
    it->val = tw_malloc(vlen + 1);
    if (it->key == NULL || it->val == NULL)
        return TW_ENOMEM;
    for (size_t i = 0; i <= n; i++)
        it->key[i] = (char)tolower((unsigned char)h->name[i]);
    while (*v == ' ' || *v == '\t')
        v++;
    for (; *v != '\0'; v++) {
        if ((*v == ' ' || *v == '\t') && (o == 0 || it->val[o - 1] == ' '))
            continue;
        it->val[o++] = (*v == '\t') ? ' ' : *v;
    }
    while (o > 0 && it->val[o - 1] == ' ')
        o--;
    it->val[o] = '\0';
    return TW_OK;
}

/*
 * Sorted, encoded query items: req's pairs plus extra (the X-Amz-* parameters of a pre-signed
 * URL). *out is owned by the caller (items_free).
 */
static int query_items(const struct tw_sigv4_request *req, const struct tw_sigv4_pair *extra,
                       size_t n_extra, struct item **out, size_t *n_out)
{
    size_t n = req->n_query + n_extra;
    struct item *it = tw_calloc(n + 1, sizeof(*it));

    if (it == NULL)
        return TW_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const struct tw_sigv4_pair *p = i < req->n_query ? &req->query[i]
                                                         : &extra[i - req->n_query];
        it[i].key = encoded(p->name);
        it[i].val = encoded(p->value != NULL ? p->value : "");
        if (it[i].key == NULL || it[i].val == NULL) {
            items_free(it, n);
            return TW_ENOMEM;
        }
    }
    qsort(it, n, sizeof(*it), item_cmp);
    *out = it;
    *n_out = n;
    return TW_OK;
}

static int append_query(struct tw_buf *b, const struct item *q, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (tw_buf_printf(b, "%s%s=%s", i > 0 ? "&" : "", q[i].key, q[i].val) != TW_OK)
            return TW_ELIMIT;
    }
    return TW_OK;
}

/* "host;range;x-amz-date" from sorted header items. */
static int append_signed_headers(struct tw_buf *b, const struct item *h, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (tw_buf_printf(b, "%s%s", i > 0 ? ";" : "", h[i].key) != TW_OK)
            return TW_ELIMIT;
    }
    return TW_OK;
}

static void hmac(const void *key, size_t klen, const char *data, unsigned char out[32])
{
    unsigned int olen = 32;

    HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)data, strlen(data), out, &olen);
}

/*
 * The signature (hex) of the canonical request canon at amz_date, and the credential scope
 * ("20130524/us-east-1/s3/aws4_request") into scope.
 */
static void sign(const struct tw_sigv4_creds *creds, const char *amz_date, const char *scope,
                 const char *canon, char sig[65])
{
    char canon_hash[65], date[9], *key0;
    struct tw_buf sts;
    unsigned char k[32];
    size_t klen = strlen(creds->secret_access_key) + 5;

    memcpy(date, amz_date, 8);
    date[8] = '\0';
    tw_sha256_hex(canon, strlen(canon), canon_hash);

    key0 = tw_malloc(klen);
    if (key0 == NULL) {
        sig[0] = '\0';
        return;
    }
    snprintf(key0, klen, "AWS4%s", creds->secret_access_key);
    hmac(key0, klen - 1, date, k);
    OPENSSL_cleanse(key0, klen);
    tw_free(key0);
    hmac(k, 32, creds->region, k);
    hmac(k, 32, creds->service, k);
    hmac(k, 32, "aws4_request", k);

    tw_buf_init(&sts, CANON_MAX);
    tw_buf_printf(&sts, "%s\n%s\n%s\n%s", ALGORITHM, amz_date, scope, canon_hash);
    hmac(k, 32, sts.data != NULL ? sts.data : "", k);
    tw_buf_fini(&sts);
    tw_hex(k, 32, sig);
    OPENSSL_cleanse(k, sizeof(k));
}

static int check_creds(const struct tw_sigv4_creds *c, const struct tw_sigv4_request *r,
                       struct tw_err *err)
{
    if (c == NULL || c->access_key_id == NULL || c->access_key_id[0] == '\0' ||
        c->secret_access_key == NULL || c->secret_access_key[0] == '\0')
        return tw_err_set(err, TW_EINVAL, "sigv4: no access key id or secret access key");
    if (c->region == NULL || c->region[0] == '\0' || c->service == NULL || c->service[0] == '\0')
        return tw_err_set(err, TW_EINVAL, "sigv4: no region or service");
    if (r->method == NULL || r->path == NULL || r->path[0] != '/' || r->payload_sha256 == NULL)
        return tw_err_set(err, TW_EINVAL,
                          "sigv4: a request needs a method, a path and a "
                          "payload hash");
    return TW_OK;
}

/*
 * Builds the canonical request of req with the extra query pairs into canon, and the sorted
 * signed-header list into signed_hdrs. Shared by header signing and pre-signing.
 */
static int canonical(const struct tw_sigv4_request *req, const struct tw_sigv4_pair *extra,
                     size_t n_extra, struct tw_buf *canon, struct tw_buf *query,
                     struct tw_buf *signed_hdrs, struct tw_err *err)
{
    struct item *q = NULL, *h = NULL;
    size_t nq = 0;
    int rc = query_items(req, extra, n_extra, &q, &nq);

    if (rc != TW_OK)
        return tw_err_set(err, rc, "sigv4: out of memory");
    h = tw_calloc(req->n_headers + 1, sizeof(*h));
    rc = h == NULL ? TW_ENOMEM : TW_OK;
    for (size_t i = 0; rc == TW_OK && i < req->n_headers; i++)
        rc = header_item(&req->headers[i], &h[i]);
    if (rc != TW_OK) {
        items_free(q, nq);
        items_free(h, req->n_headers);
        return tw_err_set(err, rc, "sigv4: out of memory");
    }
    qsort(h, req->n_headers, sizeof(*h), item_cmp);

    rc = tw_buf_printf(canon, "%s\n", req->method);
    if (rc == TW_OK)
        rc = encode_into(canon, req->path, 1);
    if (rc == TW_OK)
        rc = tw_buf_puts(canon, "\n");
    if (rc == TW_OK)
        rc = append_query(query, q, nq);
    if (rc == TW_OK)
        rc = tw_buf_printf(canon, "%s\n", query->data != NULL ? query->data : "");
    for (size_t i = 0; rc == TW_OK && i < req->n_headers; i++)
        rc = tw_buf_printf(canon, "%s:%s\n", h[i].key, h[i].val);
    if (rc == TW_OK)
        rc = append_signed_headers(signed_hdrs, h, req->n_headers);
    if (rc == TW_OK)
        rc = tw_buf_printf(canon, "\n%s\n%s", signed_hdrs->data != NULL ? signed_hdrs->data : "",
                           req->payload_sha256);
    items_free(q, nq);
    items_free(h, req->n_headers);
    if (rc != TW_OK)
        return tw_err_set(err, TW_EINVAL, "sigv4: the request is too large to sign");
    return TW_OK;
}

static int has_host(const struct tw_sigv4_request *req)
{
    for (size_t i = 0; i < req->n_headers; i++) {
        if (strcasecmp(req->headers[i].name, "host") == 0)
            return 1;
    }
    return 0;
}

int tw_sigv4_authorization(const struct tw_sigv4_creds *creds, const struct tw_sigv4_request *req,
                           time_t now, char *out, size_t cap, struct tw_err *err)
{
    struct tw_buf canon, query, signed_hdrs;
    char amz_date[17], scope[160], sig[65];
    int rc = check_creds(creds, req, err), n;

    if (rc != TW_OK)
        return rc;
    if (!has_host(req))
        return tw_err_set(err, TW_EINVAL, "sigv4: the request has no host header");
    tw_sigv4_amz_date(now, amz_date);
    n = snprintf(scope, sizeof(scope), "%.8s/%s/%s/aws4_request", amz_date, creds->region,
                 creds->service);
    if (n < 0 || (size_t)n >= sizeof(scope))
        return tw_err_set(err, TW_EINVAL, "sigv4: region or service name too long");

    tw_buf_init(&canon, CANON_MAX);
    tw_buf_init(&query, CANON_MAX);
    tw_buf_init(&signed_hdrs, CANON_MAX);
    rc = canonical(req, NULL, 0, &canon, &query, &signed_hdrs, err);
    if (rc == TW_OK) {
        sign(creds, amz_date, scope, canon.data, sig);
        n = snprintf(out, cap, "%s Credential=%s/%s,SignedHeaders=%s,Signature=%s", ALGORITHM,
                     creds->access_key_id, scope, signed_hdrs.data, sig);
        if (sig[0] == '\0')
            rc = tw_err_set(err, TW_ENOMEM, "sigv4: out of memory");
        else if (n < 0 || (size_t)n >= cap)
            rc = tw_err_set(err, TW_EINVAL, "sigv4: the Authorization header does not fit");
    }
    tw_buf_fini(&canon);
    tw_buf_fini(&query);
    tw_buf_fini(&signed_hdrs);
    return rc;
}

int tw_sigv4_presign(const struct tw_sigv4_creds *creds, const struct tw_sigv4_request *req,
                     const char *scheme_host, long expires, time_t now, char *out, size_t cap,
                     struct tw_err *err)
{
    struct tw_buf canon, query, signed_hdrs, url;
    char amz_date[17], credential[512], expires_s[24], sig[65], *list = NULL;
    struct tw_sigv4_pair extra[7];
    size_t n_extra = 0;
    int rc = check_creds(creds, req, err), n;

    if (rc != TW_OK)
        return rc;
    if (expires < 1 || expires > 604800)
        return tw_err_set(err, TW_EINVAL,
                          "sigv4: a pre-signed URL lives 1 to 604800 seconds, "
                          "not %ld",
                          expires);
    if (!has_host(req))
        return tw_err_set(err, TW_EINVAL, "sigv4: the request has no host header");
    tw_sigv4_amz_date(now, amz_date);
    n = snprintf(credential, sizeof(credential), "%s/%.8s/%s/%s/aws4_request", creds->access_key_id,
                 amz_date, creds->region, creds->service);
    if (n < 0 || (size_t)n >= sizeof(credential))
        return tw_err_set(err, TW_EINVAL, "sigv4: access key id, region or service too long");
    snprintf(expires_s, sizeof(expires_s), "%ld", expires);

    extra[n_extra++] = (struct tw_sigv4_pair){ "X-Amz-Algorithm", ALGORITHM };
    extra[n_extra++] = (struct tw_sigv4_pair){ "X-Amz-Credential", credential };
    extra[n_extra++] = (struct tw_sigv4_pair){ "X-Amz-Date", amz_date };
    extra[n_extra++] = (struct tw_sigv4_pair){ "X-Amz-Expires", expires_s };
    if (creds->session_token != NULL && creds->session_token[0] != '\0')
        extra[n_extra++] = (struct tw_sigv4_pair){ "X-Amz-Security-Token", creds->session_token };

    tw_buf_init(&canon, CANON_MAX);
    tw_buf_init(&query, CANON_MAX);
    tw_buf_init(&signed_hdrs, CANON_MAX);
    tw_buf_init(&url, CANON_MAX);
    /* The signed-header list is itself a signed query parameter: compute it first. */
    {
        struct tw_buf probe_c, probe_q;

        tw_buf_init(&probe_c, CANON_MAX);
        tw_buf_init(&probe_q, CANON_MAX);
        rc = canonical(req, NULL, 0, &probe_c, &probe_q, &signed_hdrs, err);
        tw_buf_fini(&probe_c);
        tw_buf_fini(&probe_q);
    }
    if (rc == TW_OK) {
        /* The list is a value of the next canonical request: keep it apart from the buffer. */
        list = tw_buf_steal(&signed_hdrs);
        extra[n_extra++] = (struct tw_sigv4_pair){ "X-Amz-SignedHeaders", list };
        rc = canonical(req, extra, n_extra, &canon, &query, &signed_hdrs, err);
    }
    if (rc == TW_OK) {
        sign(creds, amz_date, credential + strlen(creds->access_key_id) + 1, canon.data, sig);
        if (sig[0] == '\0')
            rc = tw_err_set(err, TW_ENOMEM, "sigv4: out of memory");
    }
    if (rc == TW_OK) {
        /* The URL's query is the signed one with the signature in its sorted place, as the
         * AWS SDKs write it (so the engine's URL and the SDK's can be compared as strings). */
        struct item *q = NULL;
        size_t nq = 0;
        int brc;

        extra[n_extra++] = (struct tw_sigv4_pair){ "X-Amz-Signature", sig };
        brc = query_items(req, extra, n_extra, &q, &nq);
        if (brc == TW_OK)
            brc = tw_buf_puts(&url, scheme_host);
        if (brc == TW_OK)
            brc = encode_into(&url, req->path, 1);
        if (brc == TW_OK)
            brc = tw_buf_puts(&url, "?");
        if (brc == TW_OK)
            brc = append_query(&url, q, nq);
        items_free(q, nq);
        if (brc != TW_OK || url.len >= cap)
            rc = tw_err_set(err, TW_EINVAL, "sigv4: the pre-signed URL does not fit");
        else
            memcpy(out, url.data, url.len + 1);
    }
    tw_buf_fini(&canon);
    tw_buf_fini(&query);
    tw_buf_fini(&signed_hdrs);
    tw_buf_fini(&url);
    tw_free(list);
    return rc;
}
