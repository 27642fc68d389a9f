/*
 * Exports and downloads end to end (docs/reference.md §2 download_url, §7): every built-in index in csv and
 * json through a real server, each export read back (jansson; a strict RFC 4180 reader below)
 * and compared cell by cell with the source rows selected independently with SQL; chain
 * isolation; gzip; signed download URLs (tampering, expiry, HEAD, Range); and run faults
 * (missing or broken source, unusable results directory) that must never lose the last good
 * result.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <sqlite3.h>
#include <zlib.h>

#include <curl/curl.h>

#include "harness.h"
#include "s3peer.h"

#define CHAIN_A 1764
#define CHAIN_B 1765
/* 400 users per chain: every 50th user has an awkward name, so 8 of them per chain. */
#define SEED_ROWS "400"

static struct tw_srv srv;
static char *tok;             /* write on both chains */
static long url_ttl = 3600;   /* results.url_ttl of the running server */
static struct tw_s3peer peer; /* results.storage s3 (suite exports_s3): the store */
static bool on_s3;            /* results go to peer; downloads through pre-signed URLs */

/* ---------------------------------------------------------------------------------------- */
/* Index descriptions: docs/reference.md §7.1 columns, their CSV/JSON names, source columns and kinds.    */

/*
 * kind: 'i' integer, 'm' money (INTEGER minor units in the source), 'b' boolean (0/1),
 * 't' text or keyword (CSV guards a leading = + - @ TAB CR with '), 'd' date or date-time
 * (canonical text in the source, exported as is).
 */
struct col {
    const char *csv;  /* CSV header name */
    const char *json; /* JSON key (inside "items" for nested columns) */
    const char *sql;  /* source expression */
    char kind;
    bool nested; /* a column of the transactions' items */
};

struct index_spec {
    const char *index;
    const char *label;
    const char *table;
    const char *filter; /* extra source condition, or NULL */
    const struct col *cols;
    size_t ncols;
    bool nested; /* has the items list (transactions) */
};

#define C(name, kind)                      \
    {                                      \
        name, name, "t." name, kind, false \
    }
#define I(csv, json, kind)               \
    {                                    \
        csv, json, "i." json, kind, true \
    }

static const struct col user_cols[] = {
    C("id", 'i'),
    C("entity_code", 't'),
    C("username", 't'),
    C("firstname", 't'),
    C("lastname", 't'),
    C("gender", 't'),
    C("birthday", 'd'),
    C("country_code", 't'),
    C("store_id", 'i'),
    C("created_date", 'd'),
    C("last_modified", 'd'),
    C("spaaza_opted_in", 'b'),
    C("mailing_list_opted_in", 'b'),
    C("loyalty_status", 't'),
    C("rfm_recency", 'i'),
    C("rfm_frequency", 'i'),
    C("rfm_monetary", 'i'),
    C("wallet_balance", 'm'),
};
static const struct col transaction_cols[] = {
    C("id", 'i'),
    C("retailer_basket_code", 't'),
    C("timestamp", 'd'),
    C("type", 't'),
    C("user_id", 'i'),
    C("store_code", 't'),
    C("currency", 't'),
    C("subtotal", 'm'),
    C("shipping_charge", 'm'),
    C("total_value", 'm'),
    C("payment_method", 't'),
    C("employee_code", 't'),
    I("item_retailer_product_code", "retailer_product_code", 't'),
    I("item_barcode", "barcode", 't'),
    I("item_name", "name", 't'),
    I("item_quantity", "quantity", 'i'),
    I("item_sale_price", "sale_price", 'm'),
    I("item_original_price", "original_price", 'm'),
    I("item_subtotal", "basket_item_subtotal", 'm'),
    I("item_is_promotional", "item_is_promotional", 'b'),
};
static const struct col voucher_cols[] = {
    C("id", 'i'),
    C("user_id", 'i'),
    C("campaign_id", 'i'),
    C("campaign_name", 't'),
    C("type", 't'),
    C("status", 't'),
    C("amount", 'm'),
    C("amount_redeemed", 'm'),
    C("currency", 't'),
    C("created_date", 'd'),
    C("date_time_claimed", 'd'),
    C("date_time_redeemed", 'd'),
    C("expiry_date", 'd'),
};
static const struct col wallet_cols[] = {
    C("id", 'i'),        C("user_id", 'i'),       C("timestamp", 'd'), C("type", 't'),
    C("amount", 'm'),    C("balance_after", 'm'), C("currency", 't'),  C("campaign_id", 'i'),
    C("basket_id", 'i'), C("description", 't'),
};
static const struct col product_cols[] = {
    C("id", 'i'),    C("owner_code", 't'),     C("name", 't'),    C("description", 't'),
    C("brand", 't'), C("category", 't'),       C("price", 'm'),   C("cost_price", 'm'),
    C("unit", 't'),  C("is_promotional", 'b'), C("web_url", 't'), C("created_date", 'd'),
};
static const struct col variant_cols[] = {
    C("id", 'i'),      C("product_id", 'i'), C("owner_code", 't'),
    C("size", 't'),    C("colour", 't'),     C("price", 'm'),
    C("barcode", 't'), C("image_url", 't'),  C("created_date", 'd'),
};

#define N(a) (sizeof(a) / sizeof((a)[0]))
static const struct index_spec IDX_USERS = { "users",   "User",       "users", NULL,
                                             user_cols, N(user_cols), false };
static const struct index_spec IDX_TRANSACTIONS = {
    "transactions", "Transaction", "transactions", NULL, transaction_cols, N(transaction_cols), true
};
static const struct index_spec IDX_VOUCHERS = {
    "vouchers", "Voucher", "vouchers", "t.deleted = 0", voucher_cols, N(voucher_cols), false
};
static const struct index_spec IDX_WALLET = {
    "wallet-ledger", "Wallet", "wallet_ledger", NULL, wallet_cols, N(wallet_cols), false
};
static const struct index_spec IDX_PRODUCTS = { "products",   "Product",       "products", NULL,
                                                product_cols, N(product_cols), false };
static const struct index_spec IDX_VARIANTS = { "product-variants",
                                                "ProductVariant",
                                                "product_variants",
                                                NULL,
                                                variant_cols,
                                                N(variant_cols),
                                                false };

/* ---------------------------------------------------------------------------------------- */
/* Server, seeding, tasks.                                                                  */

static void seed(struct tw_srv *s)
{
    static const char *const args[] = { "seed",      "--rows", SEED_ROWS, "--chains",
                                        "1764,1765", "--seed", "7",       NULL };

    cr_assert_eq(tw_srv_cli(s, NULL, NULL, args), 0, "taskwheel seed failed");
}

static void start_with(const char *extra_yaml)
{
    static const char *const chains[] = { "1764", "1765", NULL };

    tw_srv_init(&srv, extra_yaml);
    seed(&srv);
    tok = tw_srv_token(&srv, "write", chains);
}

static void setup(void)
{
    start_with(NULL);
}

/* As setup, with the server run as `nobody` when the tests run as root (harness.h). */
static void setup_unprivileged(void)
{
    static const char *const chains[] = { "1764", "1765", NULL };

    tw_srv_init_unprivileged(&srv, NULL);
    seed(&srv);
    tok = tw_srv_token(&srv, "write", chains);
}

static void teardown(void)
{
    free(tok);
    tok = NULL;
    tw_srv_fini(&srv, true);
}

static void source_path(char *buf, size_t len)
{
    snprintf(buf, len, "%s/var/retail.db", srv.dir);
}

/* Create an export task; target_extra / trigger_extra are added inside those objects. */
static json_int_t create_task(long chain, const char *index, const char *format,
                              const char *target_extra, const char *once, const char *trigger_extra)
{
    char body[2048];
    struct tw_resp r;
    json_int_t id;

    snprintf(body, sizeof(body),
             "{\"chain\": %ld, \"desc\": \"export test\", \"target\": {\"action\": \"export\","
             " \"export_index\": \"%s\", \"export_format\": \"%s\"%s%s},"
             " \"trigger\": {\"once\": \"%s\"%s%s}}",
             chain, index, format, target_extra ? ", " : "", target_extra ? target_extra : "",
             once ? once : "2099-01-01T00:00:00Z", trigger_extra ? ", " : "",
             trigger_extra ? trigger_extra : "");
    tw_http(&srv, "POST", "/tasks", tok, NULL, body, &r);
    cr_assert_eq(r.status, 201, "create: %ld %s", r.status, r.body);
    id = json_integer_value(json_object_get(r.json, "id"));
    cr_assert(id > 0);
    tw_resp_fini(&r);
    return id;
}

/* POST /tasks/{id}/execute (held until the run ends): 200 and the final state's code. */
static void execute_task(json_int_t id, const char *want_code)
{
    struct tw_resp r;
    char path[96];

    snprintf(path, sizeof(path), "/tasks/%" JSON_INTEGER_FORMAT "/execute", id);
    tw_http(&srv, "POST", path, tok, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, "execute %" JSON_INTEGER_FORMAT ": %ld %s", id, r.status, r.body);
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "code")), want_code,
                     "execute %" JSON_INTEGER_FORMAT ": %s", id, r.body);
    cr_assert(json_is_string(json_object_get(r.json, "last_run_date")), "%s", r.body);
    tw_resp_fini(&r);
}

/* The newest log entry: the run's outcome, carrying the counts. */
static json_t *final_log(json_t *task)
{
    json_t *e = json_array_get(json_object_get(task, "logs"), 0);

    cr_assert_not_null(e, "task has no log");
    return e;
}

static json_int_t log_int(json_t *e, const char *key)
{
    json_t *v = json_object_get(e, key);

    cr_assert(json_is_integer(v), "log entry without integer %s", key);
    return json_integer_value(v);
}

static void sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0, i;

    cr_assert_eq(EVP_Digest(data, len, md, &n, EVP_sha256(), NULL), 1);
    cr_assert_eq(n, 32);
    for (i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

struct dl_url {
    char url[2048];
    char path[2048]; /* the url without scheme and host: what the test server is asked */
    json_int_t size;
    char sha256[65];
};

/*
 * results.storage s3: url is a SigV4 pre-signed GET of the object in peer's bucket, valid
 * url_ttl seconds (reference §11). Takes r.
 */
static void download_url_s3(struct tw_resp *r, const char *url, struct dl_url *u)
{
    char want[128];

    snprintf(want, sizeof(want), "%s/%s/", peer.endpoint, peer.bucket);
    cr_assert(strncmp(url, want, strlen(want)) == 0, "%s is not in %s", url, want);
    snprintf(want, sizeof(want), "X-Amz-Expires=%ld&", url_ttl);
    cr_assert_not_null(strstr(url, want), "%s", url);
    cr_assert_not_null(strstr(url, "X-Amz-Algorithm=AWS4-HMAC-SHA256&"), "%s", url);
    cr_assert_not_null(strstr(url, "&X-Amz-Signature="), "%s", url);
    snprintf(u->url, sizeof(u->url), "%s", url);
    snprintf(u->path, sizeof(u->path), "%s", url + strlen(peer.endpoint)); /* /bucket/key?... */
    u->size = json_integer_value(json_object_get(r->json, "size"));
    snprintf(u->sha256, sizeof(u->sha256), "%s",
             json_string_value(json_object_get(r->json, "sha256")));
    tw_resp_fini(r);
}

/* GET /tasks/{id}/download_url, asserted 200 with the documented fields. */
static void download_url(json_int_t id, struct dl_url *u)
{
    struct tw_resp r;
    char path[96];
    const char *url, *exp, *sha, *p;

    snprintf(path, sizeof(path), "/tasks/%" JSON_INTEGER_FORMAT "/download_url", id);
    tw_http(&srv, "GET", path, tok, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, "download_url: %ld %s", r.status, r.body);
    url = json_string_value(json_object_get(r.json, "url"));
    exp = json_string_value(json_object_get(r.json, "expires"));
    sha = json_string_value(json_object_get(r.json, "sha256"));
    cr_assert_not_null(url, "%s", r.body);
    cr_assert(exp != NULL && strlen(exp) == 20 && exp[19] == 'Z', "%s", r.body);
    cr_assert(json_is_integer(json_object_get(r.json, "size")), "%s", r.body);
    cr_assert(sha != NULL && strlen(sha) == 64 && strspn(sha, "0123456789abcdef") == 64, "%s",
              r.body);
    cr_assert(strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0, "%s", url);
    if (on_s3) {
        download_url_s3(&r, url, u);
        return;
    }
    p = strstr(url, "/downloads/");
    cr_assert_not_null(p, "%s", url);
    cr_assert(strstr(p, "?expires=") != NULL && strstr(p, "&sig=") != NULL, "%s", url);
    /* "expires" is the URL's expiry, url_ttl seconds from now */
    {
        time_t unix_exp = (time_t)strtoll(strstr(p, "?expires=") + 9, NULL, 10);
        struct timespec now;
        long left;
        struct tm tm;
        char iso[32];

        /* time() may read a coarse clock a tick behind the server's: 1 s of slack */
        clock_gettime(CLOCK_REALTIME, &now);
        left = (long)(unix_exp - now.tv_sec);
        gmtime_r(&unix_exp, &tm);
        strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%SZ", &tm);
        cr_assert_str_eq(exp, iso, "expires %s, URL says %s", exp, iso);
        cr_assert(left <= url_ttl + 1 && left >= url_ttl - 30, "URL valid %ld s, url_ttl %ld", left,
                  url_ttl);
    }
    snprintf(u->url, sizeof(u->url), "%s", url);
    snprintf(u->path, sizeof(u->path), "%s", p);
    u->size = json_integer_value(json_object_get(r.json, "size"));
    snprintf(u->sha256, sizeof(u->sha256), "%s", sha);
    tw_resp_fini(&r);
}

/* A download request: no credentials, only the signed path. */
static void fetch(const char *method, const char *path, const char *range, struct tw_resp *r)
{
    char h[128];
    const char *hdrs[] = { h, NULL };

    snprintf(h, sizeof(h), "Range: %s", range ? range : "");
    tw_http(&srv, method, path, NULL, range ? hdrs : NULL, NULL, r);
}

static void header(const struct tw_resp *r, const char *name, char *buf, size_t len)
{
    cr_assert(tw_resp_header(r, name, buf, len), "no %s header in:\n%s", name, r->headers);
}

/* One finished export, downloaded and checked against download_url. */
struct export
{
    json_int_t id;
    char name[256]; /* result file name */
    json_int_t total, success, skips, errors;
    struct dl_url u;
    char *body; /* the downloaded file */
    size_t len;
};

static void export_fini(struct export *e)
{
    free(e->body);
    e->body = NULL;
}

static size_t on_s3_body(char *p, size_t size, size_t n, void *arg)
{
    struct tw_resp *r = arg;

    r->body = realloc(r->body, r->len + size * n + 1);
    cr_assert_not_null(r->body);
    memcpy(r->body + r->len, p, size * n);
    r->len += size * n;
    r->body[r->len] = '\0';
    return size * n;
}

/*
 * results.storage s3: the pre-signed URL fetched with libcurl and no credentials, then the
 * object read by the AWS SDK (an independent client): both give download_url's size and
 * SHA-256. The body goes to e.
 */
static void download_checked_s3(struct export *e)
{
    struct tw_resp r = { 0 };
    char sha[65], key[1024], got[200], want[200];
    const char *args[] = { "get.js", peer.endpoint, "us-east-1", peer.bucket, key, NULL };
    CURL *c = curl_easy_init();

    cr_assert_not_null(c);
    curl_easy_setopt(c, CURLOPT_URL, e->u.url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_s3_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    cr_assert_eq(curl_easy_perform(c), CURLE_OK, "GET %s", e->u.url);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    curl_easy_cleanup(c);
    cr_assert_eq(r.status, 200, "GET %s: %ld %s", e->u.url, r.status, r.body ? r.body : "");
    cr_assert_eq((json_int_t)r.len, e->u.size, "got %zu bytes, size says %lld", r.len,
                 (long long)e->u.size);
    sha256_hex(r.body, r.len, sha);
    cr_assert_str_eq(sha, e->u.sha256, "the object's SHA-256 differs from download_url's");
    /* the key: the URL's path after /bucket/ */
    snprintf(key, sizeof(key), "%.*s", (int)strcspn(e->u.path + strlen(peer.bucket) + 2, "?"),
             e->u.path + strlen(peer.bucket) + 2);
    cr_assert_eq(tw_s3peer_node("S3RVER", "S3RVER", got, sizeof(got), args), 0, "get.js %s", key);
    snprintf(want, sizeof(want), "%lld %s", (long long)e->u.size, e->u.sha256);
    cr_assert_str_eq(got, want, "the SDK reads another object at %s", key);
    e->body = r.body;
    e->len = r.len;
}

/* GET the signed URL and check headers, size and digest; the body goes to e. */
static void download_checked(struct export *e, const char *content_type)
{
    char buf[512], want[512];
    char sha[65];
    struct tw_resp r;

    if (on_s3) {
        download_checked_s3(e);
        return;
    }
    fetch("GET", e->u.path, NULL, &r);
    cr_assert_eq(r.status, 200, "GET %s: %ld %s", e->u.path, r.status, r.body);
    header(&r, "Content-Type", buf, sizeof(buf));
    cr_assert_str_eq(buf, content_type);
    header(&r, "Content-Disposition", buf, sizeof(buf));
    snprintf(want, sizeof(want), "attachment; filename=\"%s\"", e->name);
    cr_assert_str_eq(buf, want);
    header(&r, "Content-Length", buf, sizeof(buf));
    cr_assert_eq(strtoll(buf, NULL, 10), e->u.size, "Content-Length %s, size %lld", buf,
                 (long long)e->u.size);
    cr_assert_eq((json_int_t)r.len, e->u.size, "got %zu bytes, size says %lld", r.len,
                 (long long)e->u.size);
    sha256_hex(r.body, r.len, sha);
    cr_assert_str_eq(sha, e->u.sha256, "the body's SHA-256 differs from download_url's");
    e->body = r.body;
    e->len = r.len;
    r.body = NULL;
    tw_resp_fini(&r);
}

static const char *content_type_for(const char *format, bool gzip)
{
    if (gzip)
        return "application/gzip";
    return strcmp(format, "csv") == 0 ? "text/csv; charset=utf-8" : "application/json";
}

/*
 * Create (future once, so only the execute runs it), execute, check the task's final state,
 * logs and result name, then download and check the file.
 */
static void run_export(long chain, const struct index_spec *x, const char *format, bool gzip,
                       struct export *e)
{
    json_t *task, *last;
    const char *result;

    memset(e, 0, sizeof(*e));
    e->id = create_task(chain, x->index, format, gzip ? "\"compression\": \"gzip\"" : NULL, NULL,
                        NULL);
    execute_task(e->id, "DONE");
    task = tw_task_get(&srv, tok, e->id);
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(task, "state"), "code")),
                     "DONE");
    snprintf(e->name, sizeof(e->name), "%s_Export-%" JSON_INTEGER_FORMAT ".%s%s", x->label, e->id,
             format, gzip ? ".gz" : "");
    result = json_string_value(json_object_get(task, "result"));
    cr_assert_not_null(result);
    cr_assert_str_eq(result, e->name);
    last = final_log(task);
    cr_assert_str_eq(json_string_value(json_object_get(last, "msg")), "success");
    e->total = log_int(last, "total");
    e->success = log_int(last, "success");
    e->skips = log_int(last, "skips");
    e->errors = log_int(last, "errors");
    cr_assert_eq(e->total, e->success + e->skips + e->errors);
    cr_assert_eq(e->errors, 0, "%s: %lld errors", x->index, (long long)e->errors);
    cr_assert_eq(e->skips, 0, "%s: %lld skips without a segment", x->index, (long long)e->skips);
    cr_assert_eq(tw_task_log_count(task, "READY -> INPROGRESS"), 1);
    cr_assert_eq(tw_task_log_count(task, "INPROGRESS -> DONE"), 1);
    json_decref(task);
    download_url(e->id, &e->u);
    download_checked(e, content_type_for(format, gzip));
}

/* ---------------------------------------------------------------------------------------- */
/* A strict RFC 4180 reader: CRLF record ends, quoted fields with doubled quotes, CR/LF and  */
/* commas inside quotes; a bare CR or LF outside quotes, or a quote inside an unquoted       */
/* field, is an error.                                                                      */

struct csv_row {
    size_t n;
    char **f;
};

struct csv {
    size_t nrows, cap;
    struct csv_row *rows;
};

struct sbuf {
    char *p;
    size_t len, cap;
};

static void sb_put(struct sbuf *b, char c)
{
    if (b->len + 2 > b->cap) {
        b->cap = b->cap ? b->cap * 2 : 64;
        b->p = realloc(b->p, b->cap);
        cr_assert_not_null(b->p);
    }
    b->p[b->len++] = c;
    b->p[b->len] = '\0';
}

static void row_push(struct csv_row *row, struct sbuf *b)
{
    row->f = realloc(row->f, (row->n + 1) * sizeof(*row->f));
    cr_assert_not_null(row->f);
    row->f[row->n++] = b->p ? b->p : strdup("");
    memset(b, 0, sizeof(*b));
}

static void csv_parse(const char *p, size_t len, struct csv *out)
{
    size_t i = 0;

    memset(out, 0, sizeof(*out));
    while (i < len) {
        struct csv_row row = { 0, NULL };

        for (;;) {
            struct sbuf b = { NULL, 0, 0 };

            if (i < len && p[i] == '"') {
                i++;
                for (;;) {
                    cr_assert(i < len, "csv: unterminated quoted field in row %zu", out->nrows);
                    if (p[i] == '"') {
                        if (i + 1 < len && p[i + 1] == '"') {
                            sb_put(&b, '"');
                            i += 2;
                            continue;
                        }
                        i++;
                        break;
                    }
                    sb_put(&b, p[i++]);
                }
            } else {
                while (i < len && p[i] != ',' && p[i] != '\r' && p[i] != '\n') {
                    cr_assert(p[i] != '"', "csv: quote inside an unquoted field, row %zu",
                              out->nrows);
                    sb_put(&b, p[i++]);
                }
            }
            row_push(&row, &b);
            if (i < len && p[i] == ',') {
                i++;
                continue;
            }
            cr_assert(i + 1 < len && p[i] == '\r' && p[i + 1] == '\n',
                      "csv: row %zu field %zu not followed by ',' or CRLF (byte %zu)", out->nrows,
                      row.n, i);
            i += 2;
            break;
        }
        if (out->nrows == out->cap) {
            out->cap = out->cap ? out->cap * 2 : 256;
            out->rows = realloc(out->rows, out->cap * sizeof(*out->rows));
            cr_assert_not_null(out->rows);
        }
        out->rows[out->nrows++] = row;
    }
}

static void csv_fini(struct csv *c)
{
    size_t i, j;

    for (i = 0; i < c->nrows; i++) {
        for (j = 0; j < c->rows[i].n; j++)
            free(c->rows[i].f[j]);
        free(c->rows[i].f);
    }
    free(c->rows);
    memset(c, 0, sizeof(*c));
}

Test(csv_reader, reads_rfc4180)
{
    static const char text[] = "a,b,c\r\n\"x,1\",\"say \"\"hi\"\"\",\r\n\"l1\r\nl2\",\"\",z\r\n";
    struct csv c;

    csv_parse(text, sizeof(text) - 1, &c);
    cr_assert_eq(c.nrows, 3);
    cr_assert_eq(c.rows[1].n, 3);
    cr_assert_str_eq(c.rows[1].f[0], "x,1");
    cr_assert_str_eq(c.rows[1].f[1], "say \"hi\"");
    cr_assert_str_eq(c.rows[1].f[2], "");
    cr_assert_str_eq(c.rows[2].f[0], "l1\r\nl2");
    cr_assert_str_eq(c.rows[2].f[1], "");
    cr_assert_str_eq(c.rows[2].f[2], "z");
    csv_fini(&c);
}

/* ---------------------------------------------------------------------------------------- */
/* The source, read independently.                                                          */

static sqlite3 *open_source(void)
{
    char path[512];
    sqlite3 *db = NULL;

    source_path(path, sizeof(path));
    cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK, "open %s",
                 path);
    return db;
}

/* Run sql (one statement, ?1 = chain) on the source, read-write: extra edge-case rows. */
static void source_exec(const char *sql, long long chain)
{
    char path[512];
    sqlite3 *db = NULL;
    sqlite3_stmt *st;

    source_path(path, sizeof(path));
    cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK, "%s: %s", sql,
                 sqlite3_errmsg(db));
    sqlite3_bind_int64(st, 1, chain);
    cr_assert_eq(sqlite3_step(st), SQLITE_DONE, "%s: %s", sql, sqlite3_errmsg(db));
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static long long sql_int(sqlite3 *db, const char *sql, long long chain)
{
    sqlite3_stmt *st;
    long long v;

    cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK, "%s: %s", sql,
                 sqlite3_errmsg(db));
    sqlite3_bind_int64(st, 1, chain);
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW, "%s", sql);
    v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/*
 * The rows an export of x for chain must hold, in export order (by id; for transactions one
 * row per line item in position order, a basket without items once with NULL item columns).
 * The last column of a nested index is i.position (NULL for such a basket).
 */
static sqlite3_stmt *source_rows(sqlite3 *db, const struct index_spec *x, long chain)
{
    char sql[4096];
    size_t n = 0, j;
    sqlite3_stmt *st;

    n += (size_t)snprintf(sql + n, sizeof(sql) - n, "SELECT ");
    for (j = 0; j < x->ncols; j++)
        n += (size_t)snprintf(sql + n, sizeof(sql) - n, "%s%s", j ? ", " : "", x->cols[j].sql);
    if (x->nested)
        n += (size_t)snprintf(sql + n, sizeof(sql) - n, ", i.position");
    n += (size_t)snprintf(sql + n, sizeof(sql) - n, " FROM %s AS t", x->table);
    if (x->nested)
        n += (size_t)snprintf(sql + n, sizeof(sql) - n,
                              " LEFT JOIN transaction_items AS i ON i.transaction_id = t.id"
                              " AND i.chain_id = t.chain_id");
    n += (size_t)snprintf(sql + n, sizeof(sql) - n, " WHERE t.chain_id = ?1%s%s ORDER BY t.id%s",
                          x->filter ? " AND " : "", x->filter ? x->filter : "",
                          x->nested ? ", i.position" : "");
    cr_assert(n < sizeof(sql));
    cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK, "%s: %s", sql,
                 sqlite3_errmsg(db));
    sqlite3_bind_int64(st, 1, chain);
    return st;
}

static bool risky_first(char c)
{
    return c == '=' || c == '+' || c == '-' || c == '@' || c == '\t' || c == '\r';
}

static void fmt_money(long long v, char *buf, size_t len)
{
    unsigned long long m = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;

    snprintf(buf, len, "%s%llu.%02llu", v < 0 ? "-" : "", m / 100, m % 100);
}

/* The CSV text docs/reference.md §7.2 asks for source column j of kind; caller frees. */
static char *expect_csv(sqlite3_stmt *st, int j, char kind)
{
    const char *t;
    char num[64];
    char *out;

    if (sqlite3_column_type(st, j) == SQLITE_NULL)
        return strdup("");
    switch (kind) {
    case 'i':
        snprintf(num, sizeof(num), "%lld", (long long)sqlite3_column_int64(st, j));
        return strdup(num);
    case 'm': fmt_money(sqlite3_column_int64(st, j), num, sizeof(num)); return strdup(num);
    case 'b': return strdup(sqlite3_column_int64(st, j) ? "true" : "false");
    case 'd': return strdup((const char *)sqlite3_column_text(st, j));
    default:
        t = (const char *)sqlite3_column_text(st, j);
        out = malloc(strlen(t) + 2);
        cr_assert_not_null(out);
        snprintf(out, strlen(t) + 2, "%s%s", risky_first(t[0]) ? "'" : "", t);
        return out;
    }
}

/* JSON value v against source column j of kind; ctx names the place for messages. */
static void check_json_value(const json_t *v, sqlite3_stmt *st, int j, char kind, const char *ctx)
{
    long long n;

    cr_assert_not_null(v, "%s: key missing", ctx);
    if (sqlite3_column_type(st, j) == SQLITE_NULL) {
        cr_assert(json_is_null(v), "%s: expected null", ctx);
        return;
    }
    n = sqlite3_column_int64(st, j);
    switch (kind) {
    case 'i':
        cr_assert(json_is_integer(v), "%s: expected an integer", ctx);
        cr_assert_eq(json_integer_value(v), n, "%s: %lld != %lld", ctx,
                     (long long)json_integer_value(v), n);
        break;
    case 'm':
        cr_assert(json_is_number(v), "%s: expected a number", ctx);
        cr_assert_eq(llround(json_number_value(v) * 100.0), n, "%s: %.17g != %lld minor units", ctx,
                     json_number_value(v), n);
        break;
    case 'b':
        cr_assert(json_is_boolean(v), "%s: expected a boolean", ctx);
        cr_assert_eq(json_is_true(v), n != 0, "%s", ctx);
        break;
    default:
        cr_assert(json_is_string(v), "%s: expected a string", ctx);
        cr_assert_str_eq(json_string_value(v), (const char *)sqlite3_column_text(st, j), "%s", ctx);
        break;
    }
}

/*
 * Compare a parsed CSV export with the source, row by row and cell by cell. Returns the number
 * of records (distinct ids: baskets for transactions). *guarded / *multiline count the cells
 * that needed the formula guard / held a line break.
 */
static size_t compare_csv(const struct csv *c, const struct index_spec *x, long chain,
                          size_t *guarded, size_t *multiline)
{
    sqlite3 *db = open_source();
    sqlite3_stmt *st = source_rows(db, x, chain);
    long long last_id = -1;
    size_t row = 1, records = 0, j;
    int rc;

    *guarded = *multiline = 0;
    cr_assert(c->nrows >= 1, "%s: no header row", x->index);
    cr_assert_eq(c->rows[0].n, x->ncols, "%s: header has %zu columns", x->index, c->rows[0].n);
    for (j = 0; j < x->ncols; j++)
        cr_assert_str_eq(c->rows[0].f[j], x->cols[j].csv, "%s: header column %zu", x->index, j);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const struct csv_row *r;
        long long id = sqlite3_column_int64(st, 0);

        cr_assert(row < c->nrows, "%s: the CSV ends at row %zu, the source has more (id %lld)",
                  x->index, row, id);
        r = &c->rows[row];
        cr_assert_eq(r->n, x->ncols, "%s: row %zu has %zu fields", x->index, row, r->n);
        for (j = 0; j < x->ncols; j++) {
            char *want = expect_csv(st, (int)j, x->cols[j].kind);

            cr_assert_str_eq(r->f[j], want, "%s: row %zu (id %lld) column %s", x->index, row, id,
                             x->cols[j].csv);
            if (x->cols[j].kind == 't' && want[0] == '\'')
                ++*guarded;
            if (strchr(want, '\n') != NULL)
                ++*multiline;
            free(want);
        }
        if (id != last_id)
            records++;
        last_id = id;
        row++;
    }
    cr_assert_eq(rc, SQLITE_DONE);
    cr_assert_eq(row, c->nrows, "%s: the CSV has %zu data rows, the source %zu", x->index,
                 c->nrows - 1, row - 1);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return records;
}

/* Compare a JSON export with the source, object by object (items element by element). */
static size_t compare_json(const json_t *arr, const struct index_spec *x, long chain)
{
    sqlite3 *db = open_source();
    sqlite3_stmt *st = source_rows(db, x, chain);
    size_t top = 0, k, j;
    int rc = sqlite3_step(st);
    char ctx[256];

    cr_assert(json_is_array(arr), "%s: the JSON export is not an array", x->index);
    while (top < x->ncols && !x->cols[top].nested)
        top++;
    for (k = 0; k < json_array_size(arr); k++) {
        const json_t *o = json_array_get(arr, k), *v, *items;
        const char *key;
        size_t i = 0;

        cr_assert(json_is_object(o), "%s: element %zu is not an object", x->index, k);
        cr_assert_eq(rc, SQLITE_ROW, "%s: the JSON has more records than the source (%zu)",
                     x->index, k);
        /* keys in column order, the nested list last */
        json_object_foreach((json_t *)o, key, v)
        {
            const char *want = i < top ? x->cols[i].json : "items";

            cr_assert(i <= top, "%s: element %zu has extra key %s", x->index, k, key);
            cr_assert_str_eq(key, want, "%s: element %zu key %zu", x->index, k, i);
            i++;
        }
        cr_assert_eq(i, x->nested ? top + 1 : top, "%s: element %zu has %zu keys", x->index, k, i);
        for (j = 0; j < top; j++) {
            snprintf(ctx, sizeof(ctx), "%s[%zu].%s", x->index, k, x->cols[j].json);
            check_json_value(json_object_get(o, x->cols[j].json), st, (int)j, x->cols[j].kind, ctx);
        }
        if (!x->nested) {
            rc = sqlite3_step(st);
            continue;
        }
        items = json_object_get(o, "items");
        cr_assert(json_is_array(items), "%s[%zu].items is not an array", x->index, k);
        if (json_array_size(items) == 0) {
            cr_assert_eq(sqlite3_column_type(st, (int)x->ncols), SQLITE_NULL,
                         "%s[%zu]: no items exported, the source has some", x->index, k);
            rc = sqlite3_step(st);
            continue;
        }
        for (i = 0; i < json_array_size(items); i++) {
            const json_t *it = json_array_get(items, i);
            long long id = json_integer_value(json_object_get(o, "id"));

            cr_assert_eq(rc, SQLITE_ROW, "%s[%zu]: more items than the source", x->index, k);
            cr_assert_eq(sqlite3_column_int64(st, 0), id,
                         "%s[%zu]: item %zu belongs to "
                         "another basket in the source",
                         x->index, k, i);
            cr_assert_eq(json_object_size(it), x->ncols - top);
            for (j = top; j < x->ncols; j++) {
                snprintf(ctx, sizeof(ctx), "%s[%zu].items[%zu].%s", x->index, k, i,
                         x->cols[j].json);
                check_json_value(json_object_get(it, x->cols[j].json), st, (int)j, x->cols[j].kind,
                                 ctx);
            }
            rc = sqlite3_step(st);
        }
        /* the source has no further item of this basket */
        cr_assert(rc != SQLITE_ROW ||
                      sqlite3_column_int64(st, 0) != json_integer_value(json_object_get(o, "id")),
                  "%s[%zu]: fewer items than the source", x->index, k);
    }
    cr_assert_eq(rc, SQLITE_DONE, "%s: the source has more records than the JSON (%zu)", x->index,
                 json_array_size(arr));
    sqlite3_finalize(st);
    sqlite3_close(db);
    return json_array_size(arr);
}

static json_t *parse_json_export(const struct export *e)
{
    json_error_t jerr;
    json_t *j = json_loadb(e->body, e->len, 0, &jerr);

    cr_assert_not_null(j, "%s is not JSON: %s (line %d)", e->name, jerr.text, jerr.line);
    return j;
}

/* Both formats of one index, checked against the source. */
static void check_index(const struct index_spec *x)
{
    struct export c, j;
    struct csv parsed;
    size_t guarded, multiline, records;
    char sql[512];
    long long want;
    sqlite3 *db;
    json_t *arr;

    snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM %s AS t WHERE t.chain_id = ?1%s%s", x->table,
             x->filter ? " AND " : "", x->filter ? x->filter : "");
    db = open_source();
    want = sql_int(db, sql, CHAIN_A);
    sqlite3_close(db);
    cr_assert(want > 10, "%s: the seed gave only %lld records", x->index, want);

    run_export(CHAIN_A, x, "csv", false, &c);
    cr_assert_eq(c.total, want, "%s: total %lld, the source has %lld", x->index, (long long)c.total,
                 want);
    cr_assert_eq(c.success, want);
    cr_assert(c.len < 3 || memcmp(c.body, "\xEF\xBB\xBF", 3) != 0, "%s: CSV has a BOM", x->index);
    csv_parse(c.body, c.len, &parsed);
    records = compare_csv(&parsed, x, CHAIN_A, &guarded, &multiline);
    cr_assert_eq((long long)records, c.success);
    if (!x->nested)
        cr_assert_eq((long long)(parsed.nrows - 1), c.success);
    if (x == &IDX_USERS) {
        /* the seed's awkward names went through guarding and quoting */
        cr_assert(guarded > 0, "users: no formula-guarded cell");
        cr_assert(multiline > 0, "users: no cell with a line break");
    }
    csv_fini(&parsed);

    run_export(CHAIN_A, x, "json", false, &j);
    cr_assert_eq(j.total, want);
    cr_assert_eq(j.success, want);
    arr = parse_json_export(&j);
    cr_assert_eq((long long)compare_json(arr, x, CHAIN_A), j.success);
    json_decref(arr);
    export_fini(&c);
    export_fini(&j);
}

/* ---------------------------------------------------------------------------------------- */

TestSuite(exports, .init = setup, .fini = teardown, .timeout = 180);

Test(exports, users_csv_and_json)
{
    /* a user with every optional column NULL: empty CSV cells, JSON nulls */
    source_exec("INSERT INTO users (id, chain_id) SELECT MAX(id) + 1, ?1 FROM users", CHAIN_A);
    check_index(&IDX_USERS);
}

Test(exports, transactions_csv_and_json)
{
    sqlite3 *db = open_source();

    /* the data exercises repeated basket columns and, if the seed has one, an empty basket */
    cr_assert(sql_int(db,
                      "SELECT COUNT(*) FROM (SELECT transaction_id FROM transaction_items"
                      " WHERE chain_id = ?1 GROUP BY transaction_id HAVING COUNT(*) > 1)",
                      CHAIN_A) > 0);
    sqlite3_close(db);
    /* a basket without items (the seed has none): one CSV row with empty item columns */
    source_exec("INSERT INTO transactions (id, chain_id, retailer_basket_code, timestamp, type,"
                " currency, subtotal, shipping_charge, total_value)"
                " SELECT MAX(id) + 1, ?1, 'EMPTY, \"basket\"', '2026-01-02T03:04:05Z', 'sale',"
                " 'EUR', 0, -5, -5 FROM transactions",
                CHAIN_A);
    check_index(&IDX_TRANSACTIONS);
}

Test(exports, vouchers_csv_and_json)
{
    sqlite3 *db;

    /* one more deleted voucher, whatever the seed did: deleted ones are never exported */
    source_exec("UPDATE vouchers SET deleted = 1 WHERE id = (SELECT MIN(id) + 3 FROM vouchers"
                " WHERE chain_id = ?1)",
                CHAIN_A);
    db = open_source();
    cr_assert(sql_int(db, "SELECT COUNT(*) FROM vouchers WHERE chain_id = ?1 AND deleted = 1",
                      CHAIN_A) > 0);
    sqlite3_close(db);
    check_index(&IDX_VOUCHERS);
}

Test(exports, wallet_ledger_csv_and_json)
{
    check_index(&IDX_WALLET);
}

Test(exports, products_csv_and_json)
{
    check_index(&IDX_PRODUCTS);
}

Test(exports, product_variants_csv_and_json)
{
    check_index(&IDX_VARIANTS);
}

/* ---------------------------------------------------------------------------------------- */
/* The same checks with results.storage s3 (reference §11): each index in both formats goes  */
/* to s3rver, is fetched through its pre-signed URL, parsed and compared with the source.    */

static void setup_s3(void)
{
    char yaml[1024];

    tw_s3peer_start(&peer, "exports");
    snprintf(yaml, sizeof(yaml),
             "results:\n"
             "  storage: s3\n"
             "  s3: {endpoint: \"%s\", region: us-east-1, bucket: exports, prefix: \"tw/\",\n"
             "       path_style: true, access_key_id: S3RVER, secret_access_key: S3RVER}\n",
             peer.endpoint);
    on_s3 = true;
    start_with(yaml);
}

static void teardown_s3(void)
{
    teardown();
    tw_s3peer_fini(&peer);
    on_s3 = false;
}

TestSuite(exports_s3, .init = setup_s3, .fini = teardown_s3, .timeout = 300);

Test(exports_s3, users_csv_and_json)
{
    check_index(&IDX_USERS);
}

Test(exports_s3, transactions_csv_and_json)
{
    check_index(&IDX_TRANSACTIONS);
}

Test(exports_s3, vouchers_csv_and_json)
{
    check_index(&IDX_VOUCHERS);
}

Test(exports_s3, wallet_ledger_csv_and_json)
{
    check_index(&IDX_WALLET);
}

Test(exports_s3, products_csv_and_json)
{
    check_index(&IDX_PRODUCTS);
}

Test(exports_s3, product_variants_csv_and_json)
{
    check_index(&IDX_VARIANTS);
}

Test(exports_s3, gzip_object_unpacks_to_the_csv)
{
    struct export plain, gz;
    char *out = NULL;
    size_t out_len = 0;

    run_export(CHAIN_A, &IDX_WALLET, "csv", false, &plain);
    run_export(CHAIN_A, &IDX_WALLET, "csv", true, &gz);
    tw_gunzip(gz.body, gz.len, &out, &out_len);
    cr_assert_eq(out_len, plain.len);
    cr_assert(memcmp(out, plain.body, out_len) == 0, "the gzip object unpacks to other bytes");
    free(out);
    export_fini(&plain);
    export_fini(&gz);
}

/* ---------------------------------------------------------------------------------------- */

/*
 * Two seeded chains: an export of one holds only that chain's records. Chain B's task runs on
 * its schedule (trigger.once in the past), not by execute.
 */
Test(exports, chain_isolation)
{
    struct export a;
    struct dl_url u;
    struct csv parsed;
    size_t guarded, multiline, i;
    sqlite3 *db;
    sqlite3_stmt *st;
    json_int_t bid;
    json_t *task, *arr;
    struct tw_resp r;
    int foreign = 0, own = 0;

    run_export(CHAIN_A, &IDX_USERS, "csv", false, &a);
    csv_parse(a.body, a.len, &parsed);
    compare_csv(&parsed, &IDX_USERS, CHAIN_A, &guarded, &multiline);
    db = open_source();
    cr_assert_eq(sqlite3_prepare_v2(db, "SELECT chain_id FROM users WHERE id = ?1", -1, &st, NULL),
                 SQLITE_OK);
    for (i = 1; i < parsed.nrows; i++) {
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, strtoll(parsed.rows[i].f[0], NULL, 10));
        cr_assert_eq(sqlite3_step(st), SQLITE_ROW, "exported user %s not in the source",
                     parsed.rows[i].f[0]);
        if (sqlite3_column_int64(st, 0) == CHAIN_A)
            own++;
        else
            foreign++;
    }
    cr_assert_eq(foreign, 0, "%d users of another chain exported", foreign);
    cr_assert_eq(own, sql_int(db, "SELECT COUNT(*) FROM users WHERE chain_id = ?1", CHAIN_A));
    cr_assert(sql_int(db, "SELECT COUNT(*) FROM users WHERE chain_id = ?1", CHAIN_B) > 0,
              "chain B was not seeded");
    csv_fini(&parsed);

    /* chain B, scheduled: every basket's user is a chain-B user */
    bid = create_task(CHAIN_B, "transactions", "json", NULL, "2020-01-01T00:00:00Z", NULL);
    task = tw_wait_state(&srv, tok, bid, "DONE", 60);
    cr_assert_str_eq(json_string_value(json_object_get(final_log(task), "msg")), "success");
    json_decref(task);
    download_url(bid, &u);
    cr_assert(strstr(u.path, "/downloads/1765/") == u.path, "%s", u.path);
    fetch("GET", u.path, NULL, &r);
    cr_assert_eq(r.status, 200);
    arr = json_loadb(r.body, r.len, 0, NULL);
    cr_assert_eq((long long)compare_json(arr, &IDX_TRANSACTIONS, CHAIN_B),
                 sql_int(db, "SELECT COUNT(*) FROM transactions WHERE chain_id = ?1", CHAIN_B));
    for (i = 0; i < json_array_size(arr); i++) {
        json_t *uid = json_object_get(json_array_get(arr, i), "user_id");

        if (json_is_null(uid))
            continue;
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, json_integer_value(uid));
        cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
        cr_assert_eq(sqlite3_column_int64(st, 0), CHAIN_B,
                     "basket %zu of chain B has a user "
                     "of chain %lld",
                     i, (long long)sqlite3_column_int64(st, 0));
    }
    json_decref(arr);
    tw_resp_fini(&r);
    sqlite3_finalize(st);
    sqlite3_close(db);

    /* a token for chain A alone cannot reach chain B's task or result */
    {
        static const char *const only_a[] = { "1764", NULL };
        char *ta = tw_srv_token(&srv, "read", only_a);
        char path[96];

        snprintf(path, sizeof(path), "/tasks/%" JSON_INTEGER_FORMAT "/download_url", bid);
        tw_http(&srv, "GET", path, ta, NULL, NULL, &r);
        tw_assert_error(&r, 404, "task_not_found", NULL);
        tw_resp_fini(&r);
        free(ta);
    }
    export_fini(&a);
}

Test(exports, gzip_matches_uncompressed)
{
    static const struct {
        const struct index_spec *x;
        const char *format;
    } cases[] = {
        { &IDX_USERS, "csv" },
        { &IDX_TRANSACTIONS, "json" },
    };
    size_t k;

    for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        struct export plain, gz;
        char *raw;
        size_t raw_len;

        run_export(CHAIN_A, cases[k].x, cases[k].format, false, &plain);
        run_export(CHAIN_A, cases[k].x, cases[k].format, true, &gz); /* .gz name, type */
        cr_assert_eq(gz.success, plain.success);
        cr_assert_eq(gz.total, plain.total);
        cr_assert(gz.len >= 18 && (unsigned char)gz.body[0] == 0x1f &&
                      (unsigned char)gz.body[1] == 0x8b,
                  "%s is not gzip", gz.name);
        cr_assert(gz.len < plain.len, "%s: %zu bytes, not smaller than %zu", gz.name, gz.len,
                  plain.len);
        tw_gunzip(gz.body, gz.len, &raw, &raw_len);
        cr_assert_eq(raw_len, plain.len, "%s: %zu bytes unpacked, plain export %zu", gz.name,
                     raw_len, plain.len);
        cr_assert(memcmp(raw, plain.body, raw_len) == 0, "%s differs from %s unpacked", gz.name,
                  plain.name);
        free(raw);
        export_fini(&plain);
        export_fini(&gz);
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Signed URLs.                                                                             */

Test(exports, download_url_before_any_run_is_409)
{
    json_int_t id = create_task(CHAIN_A, "users", "csv", NULL, NULL, NULL);
    struct tw_resp r;
    char path[96];

    snprintf(path, sizeof(path), "/tasks/%" JSON_INTEGER_FORMAT "/download_url", id);
    tw_http(&srv, "GET", path, tok, NULL, NULL, &r);
    tw_assert_error(&r, 409, "task_not_done", NULL);
    tw_resp_fini(&r);
}

/* Replace the first occurrence of from in s (in place, buffer len) by to. */
static void replace(char *s, size_t len, const char *from, const char *to)
{
    char *p = strstr(s, from);
    char tail[2048];

    cr_assert_not_null(p, "%s not in %s", from, s);
    snprintf(tail, sizeof(tail), "%s", p + strlen(from));
    snprintf(p, len - (size_t)(p - s), "%s%s", to, tail);
}

Test(exports, tampered_urls_are_403)
{
    struct export a, b;
    struct tw_resp r;
    char path[2048], from[128], to[128];
    char *sig;

    run_export(CHAIN_A, &IDX_PRODUCTS, "csv", false, &a);
    run_export(CHAIN_A, &IDX_PRODUCTS, "csv", false, &b);

    /* one hex digit of the signature changed */
    snprintf(path, sizeof(path), "%s", a.u.path);
    sig = strstr(path, "&sig=") + 5;
    sig[10] = sig[10] == '0' ? '1' : '0';
    fetch("GET", path, NULL, &r);
    tw_assert_error(&r, 403, "invalid_signature", NULL);
    tw_resp_fini(&r);

    /* a's signature on b's file (another task id, same chain: the file exists) */
    snprintf(path, sizeof(path), "%s", a.u.path);
    snprintf(from, sizeof(from), "/%" JSON_INTEGER_FORMAT "/%s", a.id, a.name);
    snprintf(to, sizeof(to), "/%" JSON_INTEGER_FORMAT "/%s", b.id, b.name);
    replace(path, sizeof(path), from, to);
    fetch("GET", path, NULL, &r);
    tw_assert_error(&r, 403, "invalid_signature", NULL);
    tw_resp_fini(&r);

    /* only the task id in the path changed */
    snprintf(path, sizeof(path), "%s", a.u.path);
    snprintf(from, sizeof(from), "/%" JSON_INTEGER_FORMAT "/", a.id);
    snprintf(to, sizeof(to), "/%" JSON_INTEGER_FORMAT "/", b.id);
    replace(path, sizeof(path), from, to);
    fetch("GET", path, NULL, &r);
    tw_assert_error(&r, 403, "invalid_signature", NULL);
    tw_resp_fini(&r);

    /* another chain in the path */
    snprintf(path, sizeof(path), "%s", a.u.path);
    replace(path, sizeof(path), "/downloads/1764/", "/downloads/1765/");
    fetch("GET", path, NULL, &r);
    tw_assert_error(&r, 403, "invalid_signature", NULL);
    tw_resp_fini(&r);

    /* a later expiry */
    snprintf(path, sizeof(path), "%s", a.u.path);
    replace(path, sizeof(path), "?expires=", "?expires=9");
    fetch("GET", path, NULL, &r);
    tw_assert_error(&r, 403, "invalid_signature", NULL);
    tw_resp_fini(&r);

    /* no signature at all */
    snprintf(path, sizeof(path), "%s", a.u.path);
    *strstr(path, "&sig=") = '\0';
    fetch("GET", path, NULL, &r);
    tw_assert_error(&r, 403, "invalid_signature", NULL);
    tw_resp_fini(&r);

    /* the untouched URLs still work, each for its own file */
    fetch("GET", b.u.path, NULL, &r);
    cr_assert_eq(r.status, 200);
    cr_assert_eq(r.len, b.len);
    tw_resp_fini(&r);
    export_fini(&a);
    export_fini(&b);
}

Test(exports, head_and_ranges)
{
    struct export e;
    struct tw_resp r;
    char buf[256], want[256], range[64];
    long long size;

    run_export(CHAIN_A, &IDX_USERS, "json", false, &e);
    size = (long long)e.len;
    cr_assert(size > 300);

    /* HEAD: the headers of a GET, no body */
    fetch("HEAD", e.u.path, NULL, &r);
    cr_assert_eq(r.status, 200, "HEAD: %ld", r.status);
    cr_assert_eq(r.len, 0);
    header(&r, "Content-Length", buf, sizeof(buf));
    cr_assert_eq(strtoll(buf, NULL, 10), size);
    header(&r, "Content-Type", buf, sizeof(buf));
    cr_assert_str_eq(buf, "application/json");
    header(&r, "Content-Disposition", buf, sizeof(buf));
    snprintf(want, sizeof(want), "attachment; filename=\"%s\"", e.name);
    cr_assert_str_eq(buf, want);
    tw_resp_fini(&r);

    /* the first 100 bytes */
    fetch("GET", e.u.path, "bytes=0-99", &r);
    cr_assert_eq(r.status, 206, "%ld %s", r.status, r.body);
    header(&r, "Content-Range", buf, sizeof(buf));
    snprintf(want, sizeof(want), "bytes 0-99/%lld", size);
    cr_assert_str_eq(buf, want);
    header(&r, "Content-Length", buf, sizeof(buf));
    cr_assert_str_eq(buf, "100");
    cr_assert_eq(r.len, 100);
    cr_assert(memcmp(r.body, e.body, 100) == 0);
    tw_resp_fini(&r);

    /* a middle slice */
    fetch("GET", e.u.path, "bytes=100-249", &r);
    cr_assert_eq(r.status, 206);
    cr_assert_eq(r.len, 150);
    cr_assert(memcmp(r.body, e.body + 100, 150) == 0);
    tw_resp_fini(&r);

    /* the last 50 bytes (suffix range) */
    fetch("GET", e.u.path, "bytes=-50", &r);
    cr_assert_eq(r.status, 206, "%ld %s", r.status, r.body);
    header(&r, "Content-Range", buf, sizeof(buf));
    snprintf(want, sizeof(want), "bytes %lld-%lld/%lld", size - 50, size - 1, size);
    cr_assert_str_eq(buf, want);
    cr_assert_eq(r.len, 50);
    cr_assert(memcmp(r.body, e.body + size - 50, 50) == 0);
    tw_resp_fini(&r);

    /* open-ended: from byte 10 to the end */
    fetch("GET", e.u.path, "bytes=10-", &r);
    cr_assert_eq(r.status, 206);
    header(&r, "Content-Range", buf, sizeof(buf));
    snprintf(want, sizeof(want), "bytes 10-%lld/%lld", size - 1, size);
    cr_assert_str_eq(buf, want);
    cr_assert_eq((long long)r.len, size - 10);
    cr_assert(memcmp(r.body, e.body + 10, r.len) == 0);
    tw_resp_fini(&r);

    /* an end past the file is clamped */
    snprintf(range, sizeof(range), "bytes=%lld-%lld", size - 5, size + 1000);
    fetch("GET", e.u.path, range, &r);
    cr_assert_eq(r.status, 206);
    cr_assert_eq(r.len, 5);
    cr_assert(memcmp(r.body, e.body + size - 5, 5) == 0);
    tw_resp_fini(&r);

    /* unsatisfiable: starts at the end of the file */
    snprintf(range, sizeof(range), "bytes=%lld-", size);
    fetch("GET", e.u.path, range, &r);
    cr_assert_eq(r.status, 416, "%ld %s", r.status, r.body);
    header(&r, "Content-Range", buf, sizeof(buf));
    snprintf(want, sizeof(want), "bytes */%lld", size);
    cr_assert_str_eq(buf, want);
    tw_resp_fini(&r);

    /* a zero-length suffix selects nothing: unsatisfiable (RFC 9110 14.1.1) */
    fetch("GET", e.u.path, "bytes=-0", &r);
    cr_assert_eq(r.status, 416, "bytes=-0: %ld", r.status);
    tw_resp_fini(&r);

    /* HEAD with a range: 206 headers, no body */
    fetch("HEAD", e.u.path, "bytes=0-9", &r);
    cr_assert_eq(r.status, 206);
    cr_assert_eq(r.len, 0);
    header(&r, "Content-Length", buf, sizeof(buf));
    cr_assert_str_eq(buf, "10");
    tw_resp_fini(&r);

    /* a multi-range request is answered with the whole file (single ranges only) */
    fetch("GET", e.u.path, "bytes=0-9,20-29", &r);
    cr_assert_eq(r.status, 200);
    cr_assert_eq((long long)r.len, size);
    tw_resp_fini(&r);
    export_fini(&e);
}

/* A fresh URL each call; both unexpired ones work. */
Test(exports, each_download_url_is_fresh)
{
    struct export e;
    struct dl_url u2;
    struct tw_resp r;

    run_export(CHAIN_A, &IDX_VARIANTS, "csv", false, &e);
    sleep(1);
    download_url(e.id, &u2);
    cr_assert_str_neq(u2.url, e.u.url);
    cr_assert_eq(u2.size, e.u.size);
    cr_assert_str_eq(u2.sha256, e.u.sha256);
    fetch("GET", u2.path, NULL, &r);
    cr_assert_eq(r.status, 200);
    cr_assert_eq(r.len, e.len);
    cr_assert(memcmp(r.body, e.body, r.len) == 0);
    tw_resp_fini(&r);
    export_fini(&e);
}

/* Names of the non-hidden files in the task's result directory ("" when none). */
static void result_files(long chain, json_int_t id, char *buf, size_t len)
{
    char cmd[700];
    FILE *p;
    size_t n;

    snprintf(cmd, sizeof(cmd), "ls '%s/var/results/%ld/%" JSON_INTEGER_FORMAT "' 2>/dev/null",
             srv.dir, chain, id);
    p = popen(cmd, "r");
    cr_assert_not_null(p);
    n = fread(buf, 1, len - 1, p);
    buf[n] = '\0';
    pclose(p);
}

/* A chain without any source rows: valid, empty exports (docs/reference.md §7.2: "[]" for JSON). */
Test(exports, zero_records)
{
    static const char *const chains[] = { "1766", NULL };
    static const char header[] = "id,entity_code,username,firstname,lastname,gender,birthday,"
                                 "country_code,store_id,created_date,last_modified,"
                                 "spaaza_opted_in,mailing_list_opted_in,loyalty_status,"
                                 "rfm_recency,rfm_frequency,rfm_monetary,wallet_balance\r\n";
    char *saved = tok;
    struct export c, j;
    json_t *arr;

    tok = tw_srv_token(&srv, "write", chains);
    run_export(1766, &IDX_USERS, "csv", false, &c);
    cr_assert_eq(c.total, 0);
    cr_assert_eq(c.success, 0);
    cr_assert_eq(c.len, sizeof(header) - 1);
    cr_assert(memcmp(c.body, header, c.len) == 0, "%.*s", (int)c.len, c.body);
    run_export(1766, &IDX_TRANSACTIONS, "json", false, &j);
    cr_assert_eq(j.total, 0);
    arr = parse_json_export(&j);
    cr_assert(json_is_array(arr) && json_array_size(arr) == 0, "%.*s", (int)j.len, j.body);
    json_decref(arr);
    export_fini(&c);
    export_fini(&j);
    free(tok);
    tok = saved;
}

/* DELETE removes the task's result files: its signed URL then finds nothing. */
Test(exports, deleted_task_result_is_gone)
{
    struct export e;
    struct tw_resp r;
    char path[96], files[512];

    run_export(CHAIN_A, &IDX_WALLET, "json", false, &e);
    snprintf(path, sizeof(path), "/tasks/%" JSON_INTEGER_FORMAT, e.id);
    tw_http(&srv, "DELETE", path, tok, NULL, NULL, &r);
    cr_assert_eq(r.status, 204, "%ld %s", r.status, r.body);
    tw_resp_fini(&r);
    fetch("GET", e.u.path, NULL, &r);
    tw_assert_error(&r, 404, "not_found", NULL);
    tw_resp_fini(&r);
    result_files(CHAIN_A, e.id, files, sizeof(files));
    cr_assert_str_eq(files, "");
    export_fini(&e);
}

static void expiring_setup(void)
{
    url_ttl = 1;
    start_with("results: { url_ttl: 1 }\n");
}

Test(exports_ttl, expired_url_is_403, .init = expiring_setup, .fini = teardown, .timeout = 120)
{
    struct export e;
    struct tw_resp r;
    struct timespec ts = { 2, 500 * 1000 * 1000 };

    run_export(CHAIN_A, &IDX_PRODUCTS, "json", false, &e); /* downloads within the TTL */
    nanosleep(&ts, NULL);
    fetch("GET", e.u.path, NULL, &r);
    tw_assert_error(&r, 403, "url_expired", NULL);
    tw_resp_fini(&r);
    fetch("HEAD", e.u.path, NULL, &r);
    cr_assert_eq(r.status, 403);
    tw_resp_fini(&r);
    /* a new URL works again */
    download_url(e.id, &e.u);
    fetch("GET", e.u.path, NULL, &r);
    cr_assert_eq(r.status, 200);
    cr_assert_eq(r.len, e.len);
    tw_resp_fini(&r);
    export_fini(&e);
}

/* ---------------------------------------------------------------------------------------- */
/* Faults.                                                                                  */

static void missing_source_setup(void)
{
    static const char *const chains[] = { "1764", "1765", NULL };

    /* nothing to seed: the source cannot exist */
    tw_srv_init(&srv, "source: { path: \"/nonexistent/taskwheel-test/retail.db\" }\n");
    tok = tw_srv_token(&srv, "write", chains);
}

Test(exports_faults, missing_source_is_error_without_result, .init = missing_source_setup,
     .fini = teardown, .timeout = 120)
{
    json_int_t id = create_task(CHAIN_A, "wallet-ledger", "csv", NULL, NULL, NULL);
    json_t *task, *last;
    struct tw_resp r;
    char path[96], files[512];
    const char *msg;

    execute_task(id, "ERROR");
    task = tw_task_get(&srv, tok, id);
    last = final_log(task);
    msg = json_string_value(json_object_get(last, "msg"));
    cr_assert_not_null(msg);
    /* a sentence a user can act on: which plugin, what is wrong */
    cr_assert(strstr(msg, "wallet-ledger") != NULL, "log: %s", msg);
    cr_assert(strstr(msg, "source") != NULL, "log: %s", msg);
    cr_assert(strstr(msg, "open") != NULL, "log: %s", msg);
    cr_assert_eq(log_int(last, "success"), 0);
    cr_assert_eq(tw_task_log_count(task, "INPROGRESS -> ERROR"), 1);
    cr_assert(json_is_null(json_object_get(task, "result")));
    json_decref(task);
    result_files(CHAIN_A, id, files, sizeof(files));
    cr_assert_str_eq(files, "", "files left: %s", files);
    snprintf(path, sizeof(path), "/tasks/%" JSON_INTEGER_FORMAT "/download_url", id);
    tw_http(&srv, "GET", path, tok, NULL, NULL, &r);
    tw_assert_error(&r, 409, "task_not_done", NULL);
    tw_resp_fini(&r);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    cr_assert_not_null(f, "cannot write %s", path);
    fputs(text, f);
    fclose(f);
}

/* The second run fails; the first run's result stays downloadable, byte for byte. */
static void check_rerun_keeps_result(bool repeating, bool corrupt)
{
    struct export e;
    struct dl_url u;
    struct tw_resp r;
    json_t *task, *last;
    char src[512], sha[65], files[512], want_files[300];
    const char *msg;

    memset(&e, 0, sizeof(e));
    if (repeating) {
        /* a daily task first run by its schedule */
        e.id = create_task(CHAIN_A, "vouchers", "csv", NULL, "2020-01-01T00:00:00Z",
                           "\"repeat\": \"daily\"");
        task = tw_wait_state(&srv, tok, e.id, "DONE", 60);
        cr_assert_str_eq(json_string_value(json_object_get(final_log(task), "msg")), "success");
        cr_assert_str_neq(
            json_string_value(json_object_get(json_object_get(task, "trigger"), "once")),
            "2020-01-01T00:00:00Z", "trigger.once not advanced");
        snprintf(e.name, sizeof(e.name), "Voucher_Export-%" JSON_INTEGER_FORMAT ".csv", e.id);
        json_decref(task);
        download_url(e.id, &e.u);
        download_checked(&e, "text/csv; charset=utf-8");
    } else {
        run_export(CHAIN_A, &IDX_VOUCHERS, "csv", false, &e);
    }

    source_path(src, sizeof(src));
    if (corrupt)
        write_file(src, "this is not an SQLite database, just some text\n");
    else
        cr_assert_eq(unlink(src), 0, "unlink %s: %s", src, strerror(errno));
    execute_task(e.id, "ERROR");
    task = tw_task_get(&srv, tok, e.id);
    last = final_log(task);
    msg = json_string_value(json_object_get(last, "msg"));
    cr_assert(msg != NULL && strstr(msg, "vouchers") != NULL, "log: %s", msg ? msg : "?");
    cr_assert_str_neq(msg, "success");
    cr_assert_eq(log_int(last, "success"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(task, "state"), "code")),
                     "ERROR");
    /* the result is still the last good one */
    cr_assert_str_eq(json_string_value(json_object_get(task, "result")), e.name);
    json_decref(task);

    /* the URL minted before the failure still serves the old bytes */
    fetch("GET", e.u.path, NULL, &r);
    cr_assert_eq(r.status, 200, "%ld %s", r.status, r.body);
    cr_assert_eq(r.len, e.len);
    cr_assert(memcmp(r.body, e.body, r.len) == 0);
    tw_resp_fini(&r);
    /* and a fresh one too, with the same size and digest */
    download_url(e.id, &u);
    cr_assert_eq(u.size, e.u.size);
    cr_assert_str_eq(u.sha256, e.u.sha256);
    fetch("GET", u.path, NULL, &r);
    cr_assert_eq(r.status, 200);
    sha256_hex(r.body, r.len, sha);
    cr_assert_str_eq(sha, e.u.sha256);
    tw_resp_fini(&r);
    /* no partial file of the failed run */
    result_files(CHAIN_A, e.id, files, sizeof(files));
    snprintf(want_files, sizeof(want_files), "%s\n", e.name);
    cr_assert_str_eq(files, want_files);
    export_fini(&e);
}

Test(exports_faults, rerun_failing_keeps_previous_result, .init = setup, .fini = teardown,
     .timeout = 120)
{
    check_rerun_keeps_result(false, false);
}

Test(exports_faults, repeating_task_failing_keeps_previous_result, .init = setup, .fini = teardown,
     .timeout = 120)
{
    check_rerun_keeps_result(true, true);
}

/* The results directory cannot take the task's files: ERROR naming it, nothing published. */
Test(exports_faults, unusable_results_dir_is_error, .init = setup_unprivileged, .fini = teardown,
     .timeout = 120)
{
    json_int_t id;
    json_t *task;
    const char *msg;
    char results[400], cmd[500];

    /* results/1764 is a regular file: mkdir of results/1764/<id> fails, even for root */
    snprintf(results, sizeof(results), "%s/var/results/1764", srv.dir);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", results);
    cr_assert_eq(system(cmd), 0);
    write_file(results, "not a directory\n");
    id = create_task(CHAIN_A, "products", "json", NULL, NULL, NULL);
    execute_task(id, "ERROR");
    task = tw_task_get(&srv, tok, id);
    msg = json_string_value(json_object_get(final_log(task), "msg"));
    cr_assert(msg != NULL && strstr(msg, "result") != NULL, "log: %s", msg ? msg : "?");
    cr_assert(json_is_null(json_object_get(task, "result")));
    json_decref(task);
    cr_assert_eq(unlink(results), 0);

    /* not writable (mode 0500): the server is not root (setup_unprivileged), so this bites */
    snprintf(results, sizeof(results), "%s/var/results", srv.dir);
    cr_assert_eq(chmod(results, 0500), 0);
    id = create_task(CHAIN_A, "products", "json", NULL, NULL, NULL);
    execute_task(id, "ERROR");
    task = tw_task_get(&srv, tok, id);
    msg = json_string_value(json_object_get(final_log(task), "msg"));
    cr_assert(msg != NULL && strstr(msg, "result") != NULL, "log: %s", msg ? msg : "?");
    cr_assert(json_is_null(json_object_get(task, "result")));
    json_decref(task);
    cr_assert_eq(chmod(results, 0750), 0);
    /* and once writable again, the same task succeeds */
    execute_task(id, "DONE");
}
