/*
 * docs/reference.md §6.1: "Both paths must give the same answer for every rule; tests check that on
 * generated data." A small seeded source database (two chains), the built-in plugins, and a
 * few thousand random rule sets whose values are drawn from the data itself. Each rule set's
 * exported ids are computed three ways, which must agree exactly:
 *   (a) pushdown + residual: tw_seg_pushdown's conditions as job.query, tw_seg_keep as keep,
 *       ids read back from the JSON result file;
 *   (b) C only: no query, keep calls tw_seg_match on every record;
 *   (c) plain SQL over the source database, translated here from the rule JSON with SQLite's
 *       own means (LIKE, lower(), unixepoch(), date(), EXISTS over the items),
 *       independent of the engine's normal form and of the plugins' WHERE builder.
 * Any difference fails with the rule set printed. With TW_TEST_SOURCE=postgresql (ctest's
 * unit_segeq_test_equivalence_pg) the same data also goes into a throwaway PostgreSQL
 * cluster (harness/pgpeer.h) and (a) and (b) read it through the plugins' PostgreSQL dialect
 * (source.driver postgresql), while (c) still asks SQLite: PostgreSQL's pushdown must give
 * the very ids SQLite's plain SQL gives. The PRNG seed is fixed, so a failure
 * reproduces; TW_SEGEQ_SETS=N overrides the number of rule sets per index and
 * TW_SEGEQ_SEED=K shifts the seed (for longer bug hunts).
 */
#include <criterion/criterion.h>
#include <ftw.h>
#include <math.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api/validate.h"
#include "pgpeer.h"
#include "export/export.h"
#include "plugin/plugin.h"
#include "seed/seed.h"
#include "segment/segment.h"

#define CHAIN INT64_C(1764)
#define OTHER_CHAIN INT64_C(1765)
#define USERS 200
#define RUN_START (INT64_C(1779796800) + 12345) /* 2026-05-26T15:25:45Z, inside the data */
#define DAY 86400
#define USER_SETS 2500
#define TX_SETS 400
#define MAX_REPORTS 5

/* ------------------------------------------------------------------ PRNG (splitmix64) */

static uint64_t rng;

static uint64_t rnd(void)
{
    uint64_t z = (rng += UINT64_C(0x9E3779B97F4A7C15));

    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static uint64_t below(uint64_t n)
{
    return n ? rnd() % n : 0;
}

static bool chance(unsigned pct)
{
    return below(100) < pct;
}

/* ------------------------------------------------------------------ the index under test */

/* A filterable field with the distinct non-null values the chain's data has for it. */
struct gfield {
    const char *name;
    uint32_t type; /* TW_FIELD_* */
    bool nested;   /* a sub-field of the list */
    char **text;   /* TEXT, KEYWORD, DATE, DATETIME */
    int64_t *ints; /* INT, MONEY (cents), BOOL */
    size_t n;
};

struct ix {
    const char *index;
    const char *table;
    const char *items_table; /* child table of the list, or NULL */
    const char *list;        /* the list field's name, or NULL */
    const struct tw_plugin *plugin;
    struct gfield f[40];
    size_t nf;
};

static struct {
    char dir[128];
    char db_path[192];
    struct tw_plugin_registry *reg;
    sqlite3 *db;
    bool pg;               /* TW_TEST_SOURCE=postgresql: exports read PostgreSQL */
    struct tw_pgpeer peer; /* its cluster */
} E;

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

/*
 * What the seeder does not make: empty strings (not set, for exists; a value for is), more
 * case variants, LIKE wildcards in text, and null booleans and item fields.
 */
static void awkward_values(void)
{
    static const char *const sql =
        "UPDATE users SET country_code = '' WHERE id % 13 = 0;"
        "UPDATE users SET lastname = '' WHERE id % 29 = 0;"
        "UPDATE users SET firstname = upper(firstname) WHERE id % 7 = 0;"
        "UPDATE users SET lastname = lastname || '_5%' WHERE id % 23 = 0;"
        "UPDATE users SET spaaza_opted_in = NULL WHERE id % 11 = 0;"
        "UPDATE users SET wallet_balance = NULL WHERE id % 19 = 0;"
        "UPDATE transactions SET payment_method = '' WHERE id % 17 = 0;"
        "UPDATE transaction_items SET name = '' WHERE position = 2 AND transaction_id % 5 = 0;"
        "UPDATE transaction_items SET barcode = NULL, item_is_promotional = NULL "
        " WHERE position = 1 AND transaction_id % 7 = 0;";
    sqlite3 *db;
    char *msg = NULL;

    char why[1024];

    cr_assert_eq(sqlite3_open(E.db_path, &db), SQLITE_OK);
    cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, &msg), SQLITE_OK, "%s", msg);
    sqlite3_close(db);
    /* The same statements in PostgreSQL, whose upper() folds ASCII only under "C" as SQLite's */
    if (E.pg) {
        char pg_sql[2048], *at;

        snprintf(pg_sql, sizeof(pg_sql), "%s", sql);
        at = strstr(pg_sql, "upper(firstname)");
        cr_assert_not_null(at);
        memmove(at + strlen("upper(firstname COLLATE \"C\")"), at + strlen("upper(firstname)"),
                strlen(at + strlen("upper(firstname)")) + 1);
        memcpy(at, "upper(firstname COLLATE \"C\")", strlen("upper(firstname COLLATE \"C\")"));
        cr_assert_eq(tw_pgpeer_sql(&E.peer, NULL, pg_sql, why, sizeof(why)), 0, "%s", why);
    }
}

static void setup(void)
{
    static const int64_t chains[] = { CHAIN, OTHER_CHAIN };
    struct tw_seed_opts o = { 0 };
    struct tw_err err;
    struct stat sb;

    /* tmpfs when there is one: every export fsyncs its result. */
    snprintf(E.dir, sizeof(E.dir), "%s/tw_segeq_XXXXXX",
             stat("/dev/shm", &sb) == 0 && S_ISDIR(sb.st_mode) && access("/dev/shm", W_OK) == 0
                 ? "/dev/shm"
                 : "/tmp");
    cr_assert_not_null(mkdtemp(E.dir));
    snprintf(E.db_path, sizeof(E.db_path), "%s/retail.db", E.dir);
    o.db_path = E.db_path;
    o.chains = chains;
    o.n_chains = 2;
    o.users_per_chain = USERS;
    o.seed = 7;
    cr_assert_eq(tw_seed_run(&o, NULL, &err), TW_OK, "seed: %s", err.msg);
    E.pg = getenv("TW_TEST_SOURCE") != NULL && strcmp(getenv("TW_TEST_SOURCE"), "postgresql") == 0;
    if (E.pg) {
        char why[1024];

        cr_assert_eq(tw_pgpeer_start(&E.peer, why, sizeof(why)), 0, "PostgreSQL: %s", why);
        o.pg_dsn = E.peer.dsn;
        cr_assert_eq(tw_seed_run(&o, NULL, &err), TW_OK, "seed PostgreSQL: %s", err.msg);
    }
    awkward_values();
    cr_assert_eq(tw_plugin_registry_create(&E.reg, &err), TW_OK);
    cr_assert_eq(tw_plugin_registry_load_dir(E.reg, TW_BUILD_DIR "/plugins", &err), TW_OK, "%s",
                 err.msg);
    cr_assert_eq(sqlite3_open_v2(E.db_path, &E.db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
}

static void teardown(void)
{
    sqlite3_close(E.db);
    if (E.pg)
        tw_pgpeer_fini(&E.peer);
    tw_plugin_registry_destroy(E.reg);
    nftw(E.dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(segeq, .init = setup, .fini = teardown, .timeout = 600);

static void load_pool(struct ix *x, struct gfield *g)
{
    char sql[256];
    sqlite3_stmt *st;

    snprintf(sql, sizeof(sql),
             "SELECT DISTINCT %s FROM %s WHERE chain_id = ? AND %s IS NOT NULL "
             "ORDER BY 1",
             g->name, g->nested ? x->items_table : x->table, g->name);
    cr_assert_eq(sqlite3_prepare_v2(E.db, sql, -1, &st, NULL), SQLITE_OK, "%s: %s", sql,
                 sqlite3_errmsg(E.db));
    sqlite3_bind_int64(st, 1, CHAIN);
    while (sqlite3_step(st) == SQLITE_ROW) {
        g->text = realloc(g->text, (g->n + 1) * sizeof(*g->text));
        g->ints = realloc(g->ints, (g->n + 1) * sizeof(*g->ints));
        g->text[g->n] = strdup((const char *)sqlite3_column_text(st, 0));
        g->ints[g->n] = sqlite3_column_int64(st, 0);
        g->n++;
    }
    sqlite3_finalize(st);
}

static void ix_init(struct ix *x, const char *index, const char *table, const char *items_table)
{
    const struct tw_field *f, *s;

    memset(x, 0, sizeof(*x));
    x->index = index;
    x->table = table;
    x->items_table = items_table;
    x->plugin = tw_plugin_registry_find(E.reg, index);
    cr_assert_not_null(x->plugin, "no plugin for %s", index);
    for (f = x->plugin->desc.fields; f->name != NULL; f++) {
        if (f->type == TW_FIELD_LIST) {
            x->list = f->name;
            for (s = f->nested; s->name != NULL; s++) {
                if (!(s->flags & TW_FIELD_FILTERABLE))
                    continue;
                x->f[x->nf] = (struct gfield){ .name = s->name, .type = s->type, .nested = true };
                load_pool(x, &x->f[x->nf++]);
            }
            continue;
        }
        if (!(f->flags & TW_FIELD_FILTERABLE))
            continue;
        x->f[x->nf] = (struct gfield){ .name = f->name, .type = f->type };
        load_pool(x, &x->f[x->nf++]);
    }
}

static void ix_fini(struct ix *x)
{
    size_t i, j;

    for (i = 0; i < x->nf; i++) {
        for (j = 0; j < x->f[i].n; j++)
            free(x->f[i].text[j]);
        free(x->f[i].text);
        free(x->f[i].ints);
    }
}

/* ------------------------------------------------------------------ time text, our own */

static bool is_text_type(uint32_t t)
{
    return t == TW_FIELD_TEXT || t == TW_FIELD_KEYWORD;
}

/* "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SSZ" to epoch seconds (timegm, not the engine's code). */
static int64_t epoch_of(const char *s, bool *date_only)
{
    struct tm tm = { 0 };
    size_t len = strlen(s);

    cr_assert(len == 10 || len == 20, "unexpected time text %s", s);
    cr_assert_eq(sscanf(s, "%4d-%2d-%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday), 3, "%s", s);
    if (len == 20)
        cr_assert_eq(sscanf(s + 11, "%2d:%2d:%2d", &tm.tm_hour, &tm.tm_min, &tm.tm_sec), 3);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    if (date_only != NULL)
        *date_only = len == 10;
    return (int64_t)timegm(&tm);
}

static void fmt_time(int64_t t, bool date_only, char out[32])
{
    time_t tt = (time_t)t;
    struct tm tm;

    gmtime_r(&tt, &tm);
    strftime(out, 32, date_only ? "%Y-%m-%d" : "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ------------------------------------------------------------------ rule generation */

static const char *seg_type(uint32_t t)
{
    switch (t) {
    case TW_FIELD_KEYWORD: return "keyword";
    case TW_FIELD_TEXT: return "text";
    case TW_FIELD_BOOL: return "boolean";
    case TW_FIELD_DATE:
    case TW_FIELD_DATETIME: return "date";
    default: return "number";
    }
}

static const char *pick_text(const struct gfield *g)
{
    return g->n ? g->text[below(g->n)] : "none";
}

static int64_t pick_int(const struct gfield *g)
{
    return g->n ? g->ints[below(g->n)] : 0;
}

/* Flip the case of some ASCII letters. */
static void scramble_case(char *s)
{
    for (; *s; s++)
        if (((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')) && chance(50))
            *s ^= 0x20;
}

/* A string value for is/is_not: mostly a real value, sometimes in another case or absent. */
static json_t *text_value(const struct gfield *g)
{
    char buf[512];

    snprintf(buf, sizeof(buf), "%s", pick_text(g));
    if (chance(10))
        snprintf(buf, sizeof(buf), "no-such-%u", (unsigned)below(100));
    else if (chance(35))
        scramble_case(buf);
    return json_string(buf);
}

/* A non-empty substring of a real value (on UTF-8 boundaries), sometimes case-scrambled. */
static json_t *substring_value(const struct gfield *g)
{
    const char *v = pick_text(g);
    size_t len = strlen(v), a, b;
    char buf[64];

    if (len == 0 || chance(8))
        return json_string(chance(50) ? "qq" : "%");
    a = below(len);
    while (a > 0 && ((unsigned char)v[a] & 0xC0) == 0x80)
        a--;
    b = a + 1 + below(len - a < 6 ? len - a : 6);
    while (b < len && ((unsigned char)v[b] & 0xC0) == 0x80)
        b++;
    if (b - a >= sizeof(buf))
        b = a + 1;
    memcpy(buf, v + a, b - a);
    buf[b - a] = '\0';
    if (chance(40))
        scramble_case(buf);
    return json_string(buf);
}

/* A number near a real value in the rule's units (money in currency units). */
static double num_value(const struct gfield *g)
{
    double v = (double)pick_int(g);

    if (g->type == TW_FIELD_MONEY) {
        v /= 100.0;
        if (chance(25))
            v += chance(50) ? 0.005 : -0.005;
        else if (chance(15))
            v += chance(50) ? 0.01 : -0.01;
        return v;
    }
    if (chance(20))
        v += chance(50) ? 0.5 : -0.5;
    else if (chance(15))
        v += chance(50) ? 1 : -1;
    return v;
}

static json_t *number_json(const struct gfield *g)
{
    double v = num_value(g);

    /* Integers as JSON integers sometimes, as clients write them. */
    if (v == floor(v) && fabs(v) < 1e15 && chance(50))
        return json_integer((json_int_t)v);
    return json_real(v);
}

/* A date or date-time text near a real value of a date field. */
static void date_text(const struct gfield *g, char out[32], bool allow_shift)
{
    const char *v = pick_text(g);
    bool d;
    int64_t t = epoch_of(v, &d);
    char tmp[32];

    /* Times before 1970 are drawn like any other (issue 11 #21: birthdays from 1945). */
    (void)tmp;
    switch (below(allow_shift ? 5 : 3)) {
    case 0: snprintf(out, 32, "%s", v); break;
    case 1: fmt_time(t, true, out); break;
    case 2: fmt_time(t + (int64_t)below(DAY), false, out); break;
    case 3: fmt_time(t + 1, false, out); break;
    default: fmt_time(t - 1, false, out); break;
    }
}

static json_t *gen_rule(const struct ix *x, bool allow_nested)
{
    const struct gfield *g;
    json_t *r = json_object();
    const char *op = NULL;
    char buf[32], buf2[32];
    size_t i, n;

    do
        g = &x->f[below(x->nf)];
    while (g->nested && !allow_nested);
    if (g->nested && chance(50)) {
        snprintf(buf, sizeof(buf), "%s.%s", x->list, g->name);
        json_object_set_new(r, "field_name", json_string(buf));
    } else {
        json_object_set_new(r, "field_name", json_string(g->name));
    }
    json_object_set_new(r, "field_type", json_string(seg_type(g->type)));
    if (g->nested) {
        json_object_set_new(r, "nested", json_true());
        json_object_set_new(r, "nesting_path", json_string(x->list));
    }
    if (chance(12)) {
        op = chance(50) ? "exists" : "does_not_exist";
    } else if (is_text_type(g->type)) {
        static const char *const ops[] = { "is", "is_not", "contains", "does_not_contain" };

        op = ops[below(4)];
        if (op[0] == 'i') {
            if (chance(30)) {
                json_t *a = json_array();

                for (i = 0, n = 1 + below(3); i < n; i++)
                    json_array_append_new(a, text_value(g));
                json_object_set_new(r, "value", a);
            } else {
                json_object_set_new(r, "value", text_value(g));
            }
        } else {
            json_object_set_new(r, "value", substring_value(g));
        }
    } else if (g->type == TW_FIELD_BOOL) {
        op = chance(50) ? "is" : "is_not";
        if (chance(20)) {
            json_t *a = json_array();

            json_array_append_new(a, json_boolean(chance(50)));
            json_array_append_new(a, json_boolean(chance(50)));
            json_object_set_new(r, "value", a);
        } else {
            json_object_set_new(r, "value", json_boolean(chance(50)));
        }
    } else if (g->type == TW_FIELD_DATE || g->type == TW_FIELD_DATETIME) {
        static const char *const ops[] = {
            "is_date",         "is_after_date",      "is_before_date",
            "is_between_date", "relative_less_than", "relative_more_than"
        };
        static const struct {
            const char *name;
            int64_t s;
        } units[] = {
            { "minute", 60 },    { "hour", 3600 },      { "day", DAY },
            { "week", 7 * DAY }, { "month", 30 * DAY }, { "year", 365 * DAY },
        };

        op = ops[below(6)];
        if (strcmp(op, "is_date") == 0) {
            date_text(g, buf, false);
            json_object_set_new(r, "value", json_string(buf));
        } else if (strcmp(op, "is_after_date") == 0) {
            date_text(g, buf, true);
            json_object_set_new(r, "start_date", json_string(buf));
        } else if (strcmp(op, "is_before_date") == 0) {
            date_text(g, buf, true);
            json_object_set_new(r, "end_date", json_string(buf));
        } else if (strcmp(op, "is_between_date") == 0) {
            bool d1, d2;
            int64_t s, e;

            date_text(g, buf, true);
            date_text(g, buf2, true);
            s = epoch_of(buf, &d1);
            e = epoch_of(buf2, &d2);
            if (e + (d2 ? DAY - 1 : 0) < s) { /* swap into a valid order */
                char t[32];

                memcpy(t, buf, 32), memcpy(buf, buf2, 32), memcpy(buf2, t, 32);
                s = epoch_of(buf, &d1);
                e = epoch_of(buf2, &d2);
                if (e + (d2 ? DAY - 1 : 0) < s)
                    memcpy(buf2, buf, 32);
            }
            json_object_set_new(r, "start_date", json_string(buf));
            json_object_set_new(r, "end_date", json_string(buf2));
        } else {
            size_t u = below(6);
            int64_t ago = RUN_START - epoch_of(pick_text(g), NULL);
            int64_t amount = ago / units[u].s + (int64_t)below(3) - 1;

            if (amount < 1)
                amount = 1 + (int64_t)below(3);
            if (amount > 1000000)
                amount = 1000000;
            json_object_set_new(r, "time_factor", json_string(units[u].name));
            json_object_set_new(r, "time_amount", json_integer(amount));
        }
    } else {
        static const char *const ops[] = { "is", "is_not", "is_between_number", "is_greater_than",
                                           "is_less_than" };

        op = ops[below(5)];
        if (strcmp(op, "is_between_number") == 0) {
            double a = num_value(g), b = num_value(g);

            json_object_set_new(r, "min", json_real(a < b ? a : b));
            json_object_set_new(r, "max", json_real(a < b ? b : a));
        } else if (op[0] == 'i' && op[2] != '_' && chance(30)) { /* is, is_not: a list */
            json_t *a = json_array();

            for (i = 0, n = 1 + below(3); i < n; i++)
                json_array_append_new(a, number_json(g));
            json_object_set_new(r, "value", a);
        } else {
            json_object_set_new(r, "value", number_json(g));
        }
    }
    json_object_set_new(r, "operator", json_string(op));
    return r;
}

static json_t *gen_segment(const struct ix *x)
{
    json_t *s = json_object();
    json_t *rules = json_array();
    size_t i, n = 1 + below(4);

    json_object_set_new(s, "entity", json_string("people"));
    json_object_set_new(s, "index", json_string(x->index));
    json_object_set_new(s, "join", json_string(chance(50) ? "all" : "any"));
    json_object_set_new(s, "chain_id", json_integer(CHAIN));
    for (i = 0; i < n; i++)
        json_array_append_new(rules, gen_rule(x, x->list != NULL && chance(40)));
    json_object_set_new(s, "rules", rules);
    return s;
}

/* ------------------------------------------------------------------ (c) plain SQL */

struct param {
    char kind; /* 'i', 'd', 's' */
    int64_t i;
    double d;
    const char *s;
};

struct sqlb {
    char s[16384];
    size_t len;
    struct param p[4096];
    int np;
};

static void sadd(struct sqlb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sadd(struct sqlb *b, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    b->len += (size_t)vsnprintf(b->s + b->len, sizeof(b->s) - b->len, fmt, ap);
    va_end(ap);
    cr_assert_lt(b->len, sizeof(b->s));
}

static void ptext(struct sqlb *b, const char *s)
{
    b->p[b->np++] = (struct param){ .kind = 's', .s = s };
}

static void pint(struct sqlb *b, int64_t i)
{
    b->p[b->np++] = (struct param){ .kind = 'i', .i = i };
}

/* A rule number in the column's units: cents for money; whole when it is (up to float noise). */
static void pnum(struct sqlb *b, const json_t *v, uint32_t type)
{
    double d = json_number_value(v) * (type == TW_FIELD_MONEY ? 100.0 : 1.0);
    double r = nearbyint(d);

    if (fabs(d) < 1e15 && fabs(d - r) < 1e-6)
        pint(b, (int64_t)r);
    else
        b->p[b->np++] = (struct param){ .kind = 'd', .d = d };
}

/* The value(s) of an is/is_not rule, as a parenthesised IN list. */
static void in_list(struct sqlb *b, const json_t *value, uint32_t type)
{
    size_t i, n = json_is_array(value) ? json_array_size(value) : 1;

    sadd(b, "(");
    for (i = 0; i < n; i++) {
        const json_t *v = json_is_array(value) ? json_array_get(value, i) : value;

        if (type == TW_FIELD_TEXT)
            sadd(b, "%slower(?)", i ? ", " : "");
        else
            sadd(b, "%s?", i ? ", " : "");
        if (is_text_type(type))
            ptext(b, json_string_value(v));
        else if (type == TW_FIELD_BOOL)
            pint(b, json_is_true(v));
        else
            pnum(b, v, type);
    }
    sadd(b, ")");
}

/* LIKE pattern "%value%" with \ escaping, kept alive in a small ring. */
static const char *like_pattern(const char *v)
{
    static char ring[8][256];
    static unsigned k;
    char *p = ring[k++ % 8];
    size_t o = 0;

    p[o++] = '%';
    for (; *v && o < 250; v++) {
        if (*v == '%' || *v == '_' || *v == '\\')
            p[o++] = '\\';
        p[o++] = *v;
    }
    p[o++] = '%';
    p[o] = '\0';
    return p;
}

static void sql_cond(struct sqlb *b, const json_t *rule, const char *col, uint32_t type)
{
    const char *op = json_string_value(json_object_get(rule, "operator"));
    const json_t *value = json_object_get(rule, "value");
    bool text = is_text_type(type);
    bool d;
    int64_t t;

    if (strcmp(op, "exists") == 0) {
        sadd(b, text ? "(%s IS NOT NULL AND %s <> '')" : "(%s IS NOT NULL%.0s)", col, col);
    } else if (strcmp(op, "does_not_exist") == 0) {
        sadd(b, text ? "(%s IS NULL OR %s = '')" : "(%s IS NULL%.0s)", col, col);
    } else if (strcmp(op, "is") == 0) {
        sadd(b, type == TW_FIELD_TEXT ? "(lower(%s) IN " : "(%s IN ", col);
        in_list(b, value, type);
        sadd(b, ")");
    } else if (strcmp(op, "is_not") == 0) {
        sadd(b,
             type == TW_FIELD_TEXT ? "(%s IS NULL OR lower(%s) NOT IN "
                                   : "(%s IS NULL OR %s NOT IN ",
             col, col);
        in_list(b, value, type);
        sadd(b, ")");
    } else if (strcmp(op, "contains") == 0) {
        /* LIKE folds ASCII case only, as the reference's "case-insensitive" is implemented. */
        sadd(b, "(%s LIKE ? ESCAPE '\\')", col);
        ptext(b, like_pattern(json_string_value(value)));
    } else if (strcmp(op, "does_not_contain") == 0) {
        sadd(b, "(%s IS NOT NULL AND %s NOT LIKE ? ESCAPE '\\')", col, col);
        ptext(b, like_pattern(json_string_value(value)));
    } else if (strcmp(op, "is_between_number") == 0) {
        sadd(b, "(%s >= ? AND %s <= ?)", col, col);
        pnum(b, json_object_get(rule, "min"), type);
        pnum(b, json_object_get(rule, "max"), type);
    } else if (strcmp(op, "is_greater_than") == 0) {
        sadd(b, "(%s > ?)", col);
        pnum(b, value, type);
    } else if (strcmp(op, "is_less_than") == 0) {
        sadd(b, "(%s < ?)", col);
        pnum(b, value, type);
    } else if (strcmp(op, "is_date") == 0) {
        sadd(b, "(date(%s) = date(?))", col);
        ptext(b, json_string_value(value));
    } else if (strcmp(op, "is_after_date") == 0) {
        t = epoch_of(json_string_value(json_object_get(rule, "start_date")), &d);
        sadd(b, "(unixepoch(%s) > ?)", col);
        pint(b, d ? t + DAY - 1 : t); /* after the whole day */
    } else if (strcmp(op, "is_before_date") == 0) {
        t = epoch_of(json_string_value(json_object_get(rule, "end_date")), &d);
        sadd(b, "(unixepoch(%s) < ?)", col);
        pint(b, t);
    } else if (strcmp(op, "is_between_date") == 0) {
        sadd(b, "(unixepoch(%s) BETWEEN ? AND ?)", col);
        pint(b, epoch_of(json_string_value(json_object_get(rule, "start_date")), NULL));
        t = epoch_of(json_string_value(json_object_get(rule, "end_date")), &d);
        pint(b, d ? t + DAY - 1 : t); /* a date-only end includes its day */
    } else if (strncmp(op, "relative_", 9) == 0) {
        const char *f = json_string_value(json_object_get(rule, "time_factor"));
        int64_t unit = strcmp(f, "minute") == 0  ? 60
                       : strcmp(f, "hour") == 0  ? 3600
                       : strcmp(f, "day") == 0   ? DAY
                       : strcmp(f, "week") == 0  ? 7 * DAY
                       : strcmp(f, "month") == 0 ? 30 * DAY
                                                 : 365 * DAY;

        sadd(b,
             strcmp(op, "relative_less_than") == 0 ? "(unixepoch(%s) >= ?)" : "(unixepoch(%s) < ?)",
             col);
        pint(b, RUN_START - unit * json_integer_value(json_object_get(rule, "time_amount")));
    } else {
        cr_assert_fail("operator %s not translated", op);
    }
}

static const struct gfield *field_of(const struct ix *x, const char *name, bool nested)
{
    size_t i, l = x->list ? strlen(x->list) : 0;

    if (nested && strncmp(name, x->list, l) == 0 && name[l] == '.')
        name += l + 1;
    for (i = 0; i < x->nf; i++)
        if (x->f[i].nested == nested && strcmp(x->f[i].name, name) == 0)
            return &x->f[i];
    cr_assert_fail("no field %s", name);
    return NULL;
}

static void sql_segment(struct sqlb *b, const struct ix *x, const json_t *seg)
{
    const json_t *rules = json_object_get(seg, "rules");
    bool any = strcmp(json_string_value(json_object_get(seg, "join")), "any") == 0;
    const json_t *rule;
    char col[96];
    size_t i;

    b->len = 0;
    b->np = 0;
    sadd(b, "SELECT t.id FROM %s AS t WHERE t.chain_id = ? AND (", x->table);
    pint(b, CHAIN);
    if (json_array_size(rules) == 0)
        sadd(b, "1");
    json_array_foreach(rules, i, rule)
    {
        bool nested = json_is_true(json_object_get(rule, "nested"));
        const struct gfield *g = field_of(x, json_string_value(json_object_get(rule, "field_name")),
                                          nested);

        if (i > 0)
            sadd(b, any ? " OR " : " AND ");
        snprintf(col, sizeof(col), "%s.\"%s\"", nested ? "i" : "t", g->name);
        if (nested)
            /* any element of the list matches */
            sadd(b,
                 "EXISTS (SELECT 1 FROM %s AS i WHERE i.transaction_id = t.id AND "
                 "i.chain_id = t.chain_id AND ",
                 x->items_table);
        sql_cond(b, rule, col, g->type);
        if (nested)
            sadd(b, ")");
    }
    sadd(b, ") ORDER BY t.id");
}

/* ------------------------------------------------------------------ id sets */

struct ids {
    int64_t *v;
    size_t n, cap;
};

static void ids_add(struct ids *s, int64_t id)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 256;
        s->v = realloc(s->v, s->cap * sizeof(*s->v));
    }
    s->v[s->n++] = id;
}

static void sql_ids(const struct ix *x, const json_t *seg, struct ids *out)
{
    static struct sqlb b;
    sqlite3_stmt *st;
    int i, rc;

    sql_segment(&b, x, seg);
    rc = sqlite3_prepare_v2(E.db, b.s, -1, &st, NULL);
    cr_assert_eq(rc, SQLITE_OK, "%s: %s", b.s, sqlite3_errmsg(E.db));
    for (i = 0; i < b.np; i++) {
        if (b.p[i].kind == 'i')
            sqlite3_bind_int64(st, i + 1, b.p[i].i);
        else if (b.p[i].kind == 'd')
            sqlite3_bind_double(st, i + 1, b.p[i].d);
        else
            sqlite3_bind_text(st, i + 1, b.p[i].s, -1, SQLITE_TRANSIENT);
    }
    out->n = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        ids_add(out, sqlite3_column_int64(st, 0));
    cr_assert_eq(rc, SQLITE_DONE, "%s", sqlite3_errmsg(E.db));
    sqlite3_finalize(st);
}

/* ------------------------------------------------------------------ (a), (b) exports */

/* (b): every rule in C; the kept ids are collected here (record column 0 is "id"). */
struct cmatch {
    struct tw_seg *g;
    struct ids *ids;
};

static int keep_match(void *ctx, const struct tw_record *r, struct tw_err *err)
{
    struct cmatch *m = ctx;
    int keep = tw_seg_match(m->g, r);

    (void)err;
    if (keep)
        ids_add(m->ids, tw_record_value(r, 0)->v.i);
    return keep;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    struct stat sb;
    char *buf;

    cr_assert_not_null(fp, "open %s", path);
    cr_assert_eq(fstat(fileno(fp), &sb), 0);
    buf = malloc((size_t)sb.st_size + 1);
    cr_assert_eq(fread(buf, 1, (size_t)sb.st_size, fp), (size_t)sb.st_size);
    fclose(fp);
    *len = (size_t)sb.st_size;
    return buf;
}

/*
 * Run the export; with out, read the ids of the JSON result back (json_loadb over the whole
 * file: json_load_file reads a byte at a time, which dominated the runtime).
 */
static void export_ids(const struct ix *x, struct tw_query *q,
                       int (*keep)(void *, const struct tw_record *, struct tw_err *),
                       void *keep_ctx, struct ids *out)
{
    struct tw_export_job job = { 0 };
    struct tw_export_stats st;
    struct tw_err err;
    json_error_t jerr;
    json_t *doc, *rec;
    char *text;
    size_t i, len;

    job.plugin = x->plugin;
    job.source = E.pg ? E.peer.dsn : E.db_path;
    job.source_driver = E.pg ? "postgresql" : NULL;
    job.chain = CHAIN;
    job.task_id = 1;
    job.run_start = RUN_START;
    job.writer = tw_writer_find("json");
    job.out_dir = E.dir;
    job.query = q;
    job.keep = keep;
    job.keep_ctx = keep_ctx;
    cr_assert_eq(tw_export_run(&job, &st, &err), TW_OK, "export: %s", err.msg);
    cr_assert_eq(st.errors, 0);
    if (out == NULL) {
        unlink(st.path);
        return;
    }
    text = read_file(st.path, &len);
    doc = json_loadb(text, len, 0, &jerr);
    cr_assert_not_null(doc, "%s: %s", st.path, jerr.text);
    free(text);
    out->n = 0;
    json_array_foreach(doc, i, rec) ids_add(out, json_integer_value(json_object_get(rec, "id")));
    cr_assert_eq(out->n, st.success);
    json_decref(doc);
    unlink(st.path);
}

static bool same(const struct ids *a, const struct ids *b)
{
    return a->n == b->n && (a->n == 0 || memcmp(a->v, b->v, a->n * sizeof(*a->v)) == 0);
}

/* The first id in one set and not the other, for the report. */
static int64_t first_diff(const struct ids *a, const struct ids *b)
{
    size_t i;

    for (i = 0; i < a->n && i < b->n; i++)
        if (a->v[i] != b->v[i])
            return a->v[i] < b->v[i] ? a->v[i] : b->v[i];
    return a->n > b->n ? a->v[i] : b->n > a->n ? b->v[i] : -1;
}

/* The three answers for one rule set, and how much of it the source applied. */
struct three {
    struct ids a, b, c;
    uint32_t napplied, nconds;
};

static void three_free(struct three *r)
{
    free(r->a.v);
    free(r->b.v);
    free(r->c.v);
}

/* Compute the three id sets for raw (validated first); a difference is logged and counted. */
static void check_one(const struct ix *x, const json_t *raw, int k, int *failures, struct three *r)
{
    static const char *const indexes[] = { "users", "transactions", NULL };
    static const char *const formats[] = { "json", NULL };
    const struct tw_validate_ctx vctx = { .indexes = indexes, .formats = formats };
    json_t *seg = NULL;
    struct tw_seg *g1 = NULL, *g2 = NULL;
    struct tw_query q;
    struct tw_err err;
    uint32_t i;

    tw_err_clear(&err);
    cr_assert_eq(tw_segment_input_parse(raw, x->index, CHAIN, &vctx, "segment", &seg, &err), TW_OK,
                 "generated an invalid segment (%s): %s", err.msg, json_dumps(raw, JSON_COMPACT));
    cr_assert_eq(tw_seg_check(seg, x->index, x->plugin->desc.fields, "segment", &err), TW_OK, "%s",
                 err.msg);
    cr_assert_eq(tw_seg_compile(seg, x->plugin->desc.fields, RUN_START, &g1, &err), TW_OK, "%s",
                 err.msg);
    cr_assert_eq(tw_seg_compile(seg, x->plugin->desc.fields, RUN_START, &g2, &err), TW_OK, "%s",
                 err.msg);

    /* (a) pushdown + residual */
    tw_query_init(&q, CHAIN, RUN_START, tw_seg_join(g1));
    cr_assert_eq(tw_seg_pushdown(g1, &q, &err), TW_OK);
    export_ids(x, &q, tw_seg_keep, g1, &r->a);
    r->napplied = 0;
    r->nconds = q.n;
    for (i = 0; i < q.n; i++)
        r->napplied += q.applied[i];
    /* (b) C only */
    r->b.n = 0;
    export_ids(x, NULL, keep_match, &(struct cmatch){ g2, &r->b }, NULL);
    /* (c) plain SQL */
    sql_ids(x, seg, &r->c);

    if (!same(&r->a, &r->c) || !same(&r->b, &r->c)) {
        char *text = json_dumps(seg, JSON_COMPACT);

        if ((*failures)++ < MAX_REPORTS)
            cr_log_error("%s rule set %d differs: pushdown+residual %zu ids, C only %zu, "
                         "SQL %zu (first differing id: pushdown %lld, C %lld; %u of %u "
                         "conditions applied)\n  %s",
                         x->index, k, r->a.n, r->b.n, r->c.n, (long long)first_diff(&r->a, &r->c),
                         (long long)first_diff(&r->b, &r->c), r->napplied, r->nconds, text);
        free(text);
    }
    tw_query_fini(&q);
    tw_seg_destroy(g1);
    tw_seg_destroy(g2);
    json_decref(seg);
}

static void run(const char *index, const char *table, const char *items_table, int sets,
                uint64_t seed)
{
    struct three r = { 0 };
    struct ix x;
    int k, failures = 0, nonempty = 0, partial = 0, pushed = 0, applied_all = 0;
    const char *env = getenv("TW_SEGEQ_SETS");
    uint64_t total;

    if (env != NULL && atoi(env) > 0)
        sets = atoi(env);
    if ((env = getenv("TW_SEGEQ_SEED")) != NULL)
        seed += strtoull(env, NULL, 0);
    rng = seed;
    ix_init(&x, index, table, items_table);
    /* The whole chain, for "partial" below. */
    {
        json_t *all = json_pack("{s:s, s:[]}", "join", "all", "rules");

        sql_ids(&x, all, &r.c);
        total = r.c.n;
        json_decref(all);
    }
    cr_assert_gt(total, 50, "the seed gave chain %lld too few %s", (long long)CHAIN, index);
    for (k = 0; k < sets; k++) {
        json_t *raw = gen_segment(&x);

        check_one(&x, raw, k, &failures, &r);
        nonempty += r.c.n > 0;
        partial += r.c.n > 0 && r.c.n < total;
        pushed += r.napplied > 0;
        applied_all += r.nconds > 0 && r.napplied == r.nconds;
        json_decref(raw);
    }
    fprintf(stderr,
            "segeq %s: %d rule sets over %llu records: %d match something, %d a "
            "proper subset, %d had conditions applied by the source (%d all of them), "
            "%d differ\n",
            index, sets, (unsigned long long)total, nonempty, partial, pushed, applied_all,
            failures);
    /* The generator must produce rules that select something, and exercise pushdown. */
    cr_expect_gt(nonempty, sets / 2, "too few rule sets match anything");
    cr_expect_gt(partial, sets / 3, "too few rule sets select a proper subset");
    cr_expect_gt(pushed, sets / 4, "too few rule sets were pushed down");
    cr_assert_eq(failures, 0, "%d of %d %s rule sets gave different ids (first %d above)", failures,
                 sets, index, failures < MAX_REPORTS ? failures : MAX_REPORTS);
    three_free(&r);
    ix_fini(&x);
}

Test(segeq, users)
{
    run("users", "users", NULL, USER_SETS, UINT64_C(0x5e6e0001));
}

Test(segeq, transactions)
{
    run("transactions", "transactions", "transaction_items", TX_SETS, UINT64_C(0x5e6e0002));
}

/* Chain isolation: the other chain has data, and no rule set above ever returned it. */
Test(segeq, other_chain_is_seeded)
{
    sqlite3_stmt *st;

    cr_assert_eq(
        sqlite3_prepare_v2(E.db, "SELECT count(*) FROM users WHERE chain_id = ?", -1, &st, NULL),
        SQLITE_OK);
    sqlite3_bind_int64(st, 1, OTHER_CHAIN);
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    cr_assert_eq(sqlite3_column_int64(st, 0), USERS);
    sqlite3_finalize(st);
}

/*
 * Hand-picked edges the generator rarely or never draws, through the same three-way check:
 * extreme bounds (clamped in the normal form), times before 1970 as pushdown text, value
 * lists longer than one pushdown batch, LIKE wildcards, empty strings, null list elements.
 */
static const char *const user_edges[] = {
    "{'rules':[]}",
    "{'join':'any','rules':[]}",
    "{'rules':[{'field_name':'birthday','field_type':'date','operator':'relative_less_than','time_factor':'year','time_amount':10000}]}",
    "{'rules':[{'field_name':'birthday','field_type':'date','operator':'relative_more_than','time_factor':'year','time_amount':10000}]}",
    "{'rules':[{'field_name':'created_date','field_type':'date','operator':'relative_more_than','time_factor':'minute','time_amount':5256000000}]}",
    "{'rules':[{'field_name':'birthday','field_type':'date','operator':'relative_more_than','time_factor':'year','time_amount':60}]}",
    "{'rules':[{'field_name':'birthday','field_type':'date','operator':'relative_less_than','time_factor':'month','time_amount':700}]}",
    "{'rules':[{'field_name':'birthday','field_type':'date','operator':'is_before_date','end_date':'1970-01-01'}]}",
    "{'rules':[{'field_name':'birthday','field_type':'date','operator':'is_after_date','start_date':'1970-01-01T00:00:00Z'}]}",
    "{'rules':[{'field_name':'birthday','field_type':'date','operator':'is_between_date','start_date':'1970-01-01','end_date':'9999-12-31'}]}",
    /* Dates before 1970 and the calendar's edges (issue 11 #21). */
    "{'rules':[{'field_name':'birthday','field_type':'date','operator':'is_before_date','end_date':'1960-01-01'}]}",
    "{'rules':[{'field_name':'birthday','field_type':'date','operator':'is_after_date','start_date':'1969-12-31'}]}",
    "{'rules':[{'field_name':'birthday','field_type':'date','operator':'is_before_date','end_date':'1969-12-31T23:59:59Z'}]}",
    "{'rules':[{'field_name':'birthday','field_type':'date','operator':'is_between_date','start_date':'1899-12-31','end_date':'1969-12-31'}]}",
    "{'rules':[{'field_name':'birthday','field_type':'date','operator':'is_between_date','start_date':'0001-01-01','end_date':'1955-06-30'}]}",
    "{'rules':[{'field_name':'birthday','field_type':'date','operator':'is_before_date','end_date':'0001-01-01'}]}",
    "{'rules':[{'field_name':'birthday','field_type':'date','operator':'is_after_date','start_date':'0001-01-01T00:00:00Z'}]}",
    "{'rules':[{'field_name':'birthday','field_type':'date','operator':'is_date','value':'2000-02-29'}]}",
    "{'rules':[{'field_name':'birthday','field_type':'date','operator':'is_date','value':'1900-03-01'}]}",
    "{'join':'any','rules':[{'field_name':'birthday','field_type':'date','operator':'is_before_date','end_date':'1950-01-01'},{'field_name':'birthday','field_type':'date','operator':'is_after_date','start_date':'2005-01-01'}]}",
    "{'rules':[{'field_name':'created_date','field_type':'date','operator':'is_after_date','start_date':'9999-12-31'}]}",
    "{'rules':[{'field_name':'wallet_balance','field_type':'number','operator':'is_between_number','min':-1e300,'max':1e300}]}",
    "{'rules':[{'field_name':'wallet_balance','field_type':'number','operator':'is_greater_than','value':-1e300}]}",
    "{'rules':[{'field_name':'wallet_balance','field_type':'number','operator':'is_less_than','value':1e300}]}",
    "{'rules':[{'field_name':'id','field_type':'number','operator':'is_greater_than','value':1e300}]}",
    "{'rules':[{'field_name':'id','field_type':'number','operator':'is_not','value':[1.5,2.5]}]}",
    "{'join':'any','rules':[{'field_name':'id','field_type':'number','operator':'is','value':1.5},{'field_name':'gender','field_type':'keyword','operator':'is','value':'F'}]}",
    "{'rules':[{'field_name':'country_code','field_type':'keyword','operator':'is_not','value':['NL','BE','DE','FR','GB','US','ES','IT','PT','SE','NO','DK','FI','PL','AT','CH']}]}",
    "{'rules':[{'field_name':'country_code','field_type':'keyword','operator':'is_not','value':['NL','BE','DE','FR','GB','US','ES','IT','PT','SE','NO','DK','FI','PL','AT','CH','IE']}]}",
    "{'rules':[{'field_name':'country_code','field_type':'keyword','operator':'is','value':['NL','BE','DE','FR','GB','US','ES','IT','PT','SE','NO','DK','FI','PL','AT','CH','IE','LU','CZ','HU']}]}",
    "{'rules':[{'field_name':'country_code','field_type':'keyword','operator':'is','value':''}]}",
    "{'rules':[{'field_name':'country_code','field_type':'keyword','operator':'is_not','value':''}]}",
    "{'rules':[{'field_name':'country_code','field_type':'keyword','operator':'exists'}]}",
    "{'rules':[{'field_name':'country_code','field_type':'keyword','operator':'does_not_exist'}]}",
    "{'rules':[{'field_name':'lastname','field_type':'text','operator':'is','value':''}]}",
    "{'rules':[{'field_name':'lastname','field_type':'text','operator':'does_not_contain','value':'a'}]}",
    "{'rules':[{'field_name':'lastname','field_type':'text','operator':'contains','value':'_5%'}]}",
    "{'rules':[{'field_name':'lastname','field_type':'text','operator':'contains','value':'%'}]}",
    "{'rules':[{'field_name':'firstname','field_type':'text','operator':'contains','value':'\\\\'}]}",
    "{'rules':[{'field_name':'firstname','field_type':'text','operator':'contains','value':'\\n'}]}",
    "{'rules':[{'field_name':'firstname','field_type':'text','operator':'contains','value':'\\u00eb'}]}",
    "{'rules':[{'field_name':'firstname','field_type':'text','operator':'contains','value':'\\u00cb'}]}",
    "{'rules':[{'field_name':'spaaza_opted_in','field_type':'boolean','operator':'is_not','value':true}]}",
    "{'rules':[{'field_name':'spaaza_opted_in','field_type':'boolean','operator':'does_not_exist'}]}",
    "{'join':'any','rules':[{'field_name':'spaaza_opted_in','field_type':'boolean','operator':'is','value':false},{'field_name':'country_code','field_type':'keyword','operator':'is_not','value':'NL'},{'field_name':'wallet_balance','field_type':'number','operator':'is_less_than','value':0.01},{'field_name':'username','field_type':'keyword','operator':'contains','value':'.A'}]}",
};

static const char *const tx_edges[] = {
    "{'rules':[{'field_name':'quantity','field_type':'number','operator':'is_between_number','min':2,'max':2,'nested':true,'nesting_path':'items'}]}",
    "{'rules':[{'field_name':'quantity','field_type':'number','operator':'is_less_than','value':0,'nested':true,'nesting_path':'items'}]}",
    "{'rules':[{'field_name':'barcode','field_type':'keyword','operator':'does_not_exist','nested':true,'nesting_path':'items'}]}",
    "{'rules':[{'field_name':'barcode','field_type':'keyword','operator':'exists','nested':true,'nesting_path':'items'}]}",
    "{'rules':[{'field_name':'item_is_promotional','field_type':'boolean','operator':'is_not','value':true,'nested':true,'nesting_path':'items'}]}",
    "{'rules':[{'field_name':'items.name','field_type':'text','operator':'is','value':'','nested':true,'nesting_path':'items'}]}",
    "{'rules':[{'field_name':'items.name','field_type':'text','operator':'does_not_exist','nested':true,'nesting_path':'items'}]}",
    "{'rules':[{'field_name':'payment_method','field_type':'keyword','operator':'does_not_exist'}]}",
    "{'rules':[{'field_name':'payment_method','field_type':'keyword','operator':'is_not','value':''}]}",
    "{'rules':[{'field_name':'timestamp','field_type':'date','operator':'relative_less_than','time_factor':'week','time_amount':1}]}",
    "{'rules':[{'field_name':'timestamp','field_type':'date','operator':'relative_more_than','time_factor':'day','time_amount':1}]}",
    "{'join':'any','rules':[{'field_name':'total_value','field_type':'number','operator':'is_greater_than','value':100},{'field_name':'sale_price','field_type':'number','operator':'is_less_than','value':5,'nested':true,'nesting_path':'items'}]}",
    "{'join':'all','rules':[{'field_name':'type','field_type':'keyword','operator':'is','value':'return'},{'field_name':'subtotal','field_type':'number','operator':'is_between_number','min':-50,'max':-10.005},{'field_name':'basket_item_subtotal','field_type':'number','operator':'is_less_than','value':-20,'nested':true,'nesting_path':'items'}]}",
};

static void run_edges(const char *index, const char *table, const char *items_table,
                      const char *const *edges, size_t n)
{
    struct three r = { 0 };
    struct ix x;
    int failures = 0;
    size_t k;

    ix_init(&x, index, table, items_table);
    for (k = 0; k < n; k++) {
        char *text = strdup(edges[k]), *p;
        json_error_t jerr;
        json_t *raw;

        for (p = text; *p; p++)
            if (*p == '\'')
                *p = '"';
        raw = json_loads(text, 0, &jerr);
        cr_assert_not_null(raw, "%s: %s", text, jerr.text);
        check_one(&x, raw, (int)k, &failures, &r);
        json_decref(raw);
        free(text);
    }
    cr_assert_eq(failures, 0, "%d of %zu %s edge rule sets gave different ids", failures, n, index);
    three_free(&r);
    ix_fini(&x);
}

Test(segeq, edges)
{
    run_edges("users", "users", NULL, user_edges, sizeof(user_edges) / sizeof(user_edges[0]));
    run_edges("transactions", "transactions", "transaction_items", tx_edges,
              sizeof(tx_edges) / sizeof(tx_edges[0]));
}
