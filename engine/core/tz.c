/*
 * Time zones (see tz.h). A zone is its list of transitions (instant -> new UTC offset) from
 * the TZif file, the offset before the first one (time type 0, RFC 8536 §3.2), and, for times
 * after the last one, the POSIX TZ rule of the file's footer (RFC 8536 §3.3), whose yearly
 * transitions are computed when asked for. Debian ships "fat" files (transitions to 2037) but
 * slim files work the same, since the rule takes over where the table ends.
 *
 * Queries look at a small window of transitions around the instant asked about: offsets are
 * at most 26 hours from UTC, so every instant a wall time can stand for lies within a day of
 * it and a window of two days either side holds every transition that matters.
 *
 * Files with leap-second records ("right/" zones) are refused: their instants count leap
 * seconds, which POSIX time (and so every time in taskwheel) does not.
 */
#include "core/tz.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/mem.h"
#include "core/time.h"

#define SECS_PER_DAY INT64_C(86400)
#define MAX_OFFSET (26 * 3600)         /* larger UTC offsets are refused as corrupt */
#define MAX_FILE (256 * 1024)          /* the largest Debian TZif file is about 4 KB */
#define MAX_TYPES 256
#define WINDOW_MAX 32                  /* transitions looked at around one instant */
#define BIG_BANG (INT64_C(1) << 59)    /* RFC 8536 §3.2: the earliest transition time */
#define DENSE 16                       /* transitions allowed within a week: WINDOW_MAX / 2 */
#define RULE_LIMIT (INT64_C(1) << 40)  /* beyond ~34,000 years the rule is not evaluated */

/* One end of the daylight-saving period in a POSIX TZ rule: Jn, n or Mm.w.d, and a time. */
struct rule_date {
    char kind;                         /* 'J' (1..365, no Feb 29), 'N' (0..365), 'M' */
    int n, m, w, d;
    int32_t time;                      /* seconds after local midnight; -167h..167h */
};

struct rule {
    int32_t std;                       /* standard offset, seconds east */
    int32_t dst;                       /* daylight offset, seconds east */
    bool has_dst;
    struct rule_date start, end;
};

struct tw_tz {
    struct tw_tz *next;                /* the cache's list */
    char name[TW_TZ_NAME_MAX + 1];
    bool utc;
    size_t n;                          /* transitions */
    int64_t *at;                       /* ascending instants */
    int32_t *off;                      /* offset from at[i] on */
    int32_t off0;                      /* offset before at[0] */
    bool has_rule;                     /* footer rule for times after at[n-1] (all, if n == 0) */
    struct rule rule;
};

/* A window of transitions: the offset in force at its start, then transitions in order. */
struct window {
    int32_t before;
    size_t n;
    int64_t at[WINDOW_MAX];
    int32_t off[WINDOW_MAX];
};

static struct tw_tz utc_zone = { .name = "UTC", .utc = true };
static struct tw_tz *cache;
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

/* ---- POSIX TZ rule (the TZif footer) --------------------------------------------------- */

static int64_t floor_div(int64_t a, int64_t b)
{
    return (a >= 0 ? a : a - (b - 1)) / b;
}

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Parse digits into *v (at most max_digits); returns the position after them or NULL. */
static const char *num(const char *p, int max_digits, int *v)
{
    int i;

    *v = 0;
    for (i = 0; i < max_digits && *p >= '0' && *p <= '9'; i++)
        *v = *v * 10 + (*p++ - '0');
    return i == 0 ? NULL : p;
}

/* [+-]hh[:mm[:ss]] with hours up to max_h; the value in seconds, sign as written. */
static const char *hms(const char *p, int max_h, int32_t *out)
{
    int sign = 1, h, m = 0, s = 0;

    if (*p == '+' || *p == '-')
        sign = *p++ == '-' ? -1 : 1;
    if ((p = num(p, 3, &h)) == NULL || h > max_h)
        return NULL;
    if (*p == ':') {
        if ((p = num(p + 1, 2, &m)) == NULL || m > 59)
            return NULL;
        if (*p == ':' && ((p = num(p + 1, 2, &s)) == NULL || s > 59))
            return NULL;
    }
    *out = sign * (h * 3600 + m * 60 + s);
    return p;
}

/* A zone abbreviation: <...> or at least three letters. */
static const char *abbr(const char *p)
{
    const char *q = p;

    if (*p == '<') {
        for (q = p + 1; *q != '\0' && *q != '>'; q++)
            ;
        return *q == '>' && q - p >= 4 ? q + 1 : NULL;
    }
    while ((*q >= 'A' && *q <= 'Z') || (*q >= 'a' && *q <= 'z'))
        q++;
    return q - p >= 3 ? q : NULL;
}

static const char *rule_date(const char *p, struct rule_date *r)
{
    memset(r, 0, sizeof(*r));
    r->time = 2 * 3600;                /* POSIX default: 02:00 */
    if (*p == 'J') {
        r->kind = 'J';
        if ((p = num(p + 1, 3, &r->n)) == NULL || r->n < 1 || r->n > 365)
            return NULL;
    } else if (*p == 'M') {
        r->kind = 'M';
        if ((p = num(p + 1, 2, &r->m)) == NULL || r->m < 1 || r->m > 12 || *p != '.' ||
            (p = num(p + 1, 1, &r->w)) == NULL || r->w < 1 || r->w > 5 || *p != '.' ||
            (p = num(p + 1, 1, &r->d)) == NULL || r->d > 6)
            return NULL;
    } else {
        r->kind = 'N';
        if ((p = num(p, 3, &r->n)) == NULL || r->n > 365)
            return NULL;
    }
    if (*p == '/')
        p = hms(p + 1, 167, &r->time);  /* RFC 8536 §3.3.1: -167..167 hours */
    return p;
}

static int parse_rule(const char *s, struct rule *r, struct tw_err *err)
{
    const char *p = abbr(s);
    int32_t v;

    memset(r, 0, sizeof(*r));
    if (p == NULL || (p = hms(p, 24, &v)) == NULL)
        goto bad;
    r->std = -v;                       /* POSIX offsets count west */
    if (*p == '\0')
        return TW_OK;
    if ((p = abbr(p)) == NULL)
        goto bad;
    r->has_dst = true;
    r->dst = r->std + 3600;
    if (*p != ',' && *p != '\0') {
        if ((p = hms(p, 24, &v)) == NULL)
            goto bad;
        r->dst = -v;
    }
    /* RFC 8536 requires the rule when there is daylight time; no POSIX default is guessed. */
    if (*p != ',' || (p = rule_date(p + 1, &r->start)) == NULL || *p != ',' ||
        (p = rule_date(p + 1, &r->end)) == NULL || *p != '\0')
        goto bad;
    return TW_OK;
bad:
    return tw_err_set(err, TW_EINVAL, "its TZ rule \"%.40s\" cannot be read", s);
}

/* The day (days since 1970-01-01) that d names in year y. */
static int64_t rule_day(const struct rule_date *d, int64_t y)
{
    int64_t jan1 = tw_days_from_civil(y, 1, 1);
    int64_t first, day;
    unsigned dim;
    int wday;

    if (d->kind == 'J')
        return jan1 + d->n - 1 + (is_leap(y) && d->n >= 60 ? 1 : 0);
    if (d->kind == 'N')
        return jan1 + d->n;
    first = tw_days_from_civil(y, (unsigned)d->m, 1);
    dim = tw_days_in_month(y, (unsigned)d->m);
    /* 1970-01-01 was a Thursday (4); weekdays count from Sunday (0). */
    wday = (int)(first + 4 - floor_div(first + 4, 7) * 7);
    day = first + (d->d - wday + 7) % 7;
    day += 7 * (d->w - 1);
    while (day >= first + (int64_t)dim)
        day -= 7;
    return day;
}

/* The rule's two transitions of year y, in time order. */
static void rule_year(const struct rule *r, int64_t y, int64_t at[2], int32_t off[2])
{
    int64_t s = rule_day(&r->start, y) * SECS_PER_DAY + r->start.time - r->std;
    int64_t e = rule_day(&r->end, y) * SECS_PER_DAY + r->end.time - r->dst;

    if (s <= e) {
        at[0] = s, off[0] = r->dst, at[1] = e, off[1] = r->std;
    } else {                           /* southern hemisphere: daylight time spans new year */
        at[0] = e, off[0] = r->std, at[1] = s, off[1] = r->dst;
    }
}

static int64_t year_of(int64_t t)
{
    int64_t y;
    unsigned m, d;

    tw_civil_from_days(floor_div(t, SECS_PER_DAY), &y, &m, &d);
    return y;
}

static void window_add(struct window *w, int64_t at, int32_t off)
{
    size_t i;

    if (w->n == WINDOW_MAX)
        return;
    for (i = w->n; i > 0 && w->at[i - 1] > at; i--) {
        w->at[i] = w->at[i - 1];
        w->off[i] = w->off[i - 1];
    }
    w->at[i] = at;
    w->off[i] = off;
    w->n++;
}

/* The rule's offset at t: that of its latest transition at or before t, in time order. */
static int32_t rule_offset(const struct rule *r, int64_t t)
{
    struct window w;
    int64_t at[2], y;
    int32_t off[2], cur;
    size_t i;
    int k;

    if (!r->has_dst || t <= -RULE_LIMIT || t >= RULE_LIMIT)
        return r->std;
    w.n = 0;
    for (y = year_of(t) - 2; y <= year_of(t) + 1; y++) {
        rule_year(r, y, at, off);
        for (k = 0; k < 2; k++)
            window_add(&w, at[k], off[k]);
    }
    cur = w.off[0];
    for (i = 0; i < w.n && w.at[i] <= t; i++)
        cur = w.off[i];
    return cur;
}

/* ---- queries --------------------------------------------------------------------------- */

/* Index of the first table transition after t (n when none). */
static size_t first_after(const struct tw_tz *z, int64_t t)
{
    size_t lo = 0, hi = z->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (z->at[mid] <= t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static bool rule_covers(const struct tw_tz *z, int64_t t)
{
    return z->has_rule && (z->n == 0 || t >= z->at[z->n - 1]);
}

int32_t tw_tz_offset(const struct tw_tz *z, int64_t t)
{
    size_t i;

    if (z->utc)
        return 0;
    if (rule_covers(z, t))
        return rule_offset(&z->rule, t);
    i = first_after(z, t);
    return i == 0 ? z->off0 : z->off[i - 1];
}

/* The offset at a and every transition in (a, b]. */
static void window_get(const struct tw_tz *z, int64_t a, int64_t b, struct window *w)
{
    int64_t at[2], from, y;
    int32_t off[2];
    size_t i;
    int k;

    w->n = 0;
    w->before = tw_tz_offset(z, a);
    /* From the last table transition on, the rule says the offset (RFC 8536 wants the two to
     * agree; a file where they do not is read the rule's way everywhere). */
    for (i = first_after(z, a); i < z->n && z->at[i] <= b; i++)
        window_add(w, z->at[i], i + 1 == z->n && z->has_rule ? rule_offset(&z->rule, z->at[i])
                                                             : z->off[i]);
    if (!z->has_rule || !z->rule.has_dst || b <= -RULE_LIMIT || a >= RULE_LIMIT)
        return;
    from = z->n > 0 && z->at[z->n - 1] > a ? z->at[z->n - 1] : a;
    if (from >= b)
        return;
    for (y = year_of(from) - 1; y <= year_of(b) + 1; y++) {
        rule_year(&z->rule, y, at, off);
        for (k = 0; k < 2; k++)
            if (at[k] > from && at[k] <= b)
                window_add(w, at[k], off[k]);
    }
}

int64_t tw_tz_from_local(const struct tw_tz *z, int64_t local)
{
    struct window w;
    int64_t start, end, t;
    int32_t o, next;
    size_t k;

    if (z->utc)
        return local;
    window_get(z, local - 2 * SECS_PER_DAY, local + 2 * SECS_PER_DAY, &w);
    /* Interval k (0..n) has offset before/off[k-1] from at[k-1] (or -inf) to at[k] (or +inf);
     * the first interval, in time order, whose wall clock shows local holds the answer. */
    for (k = 0; k <= w.n; k++) {
        o = k == 0 ? w.before : w.off[k - 1];
        t = local - o;
        start = k == 0 ? INT64_MIN : w.at[k - 1];
        end = k == w.n ? INT64_MAX : w.at[k];
        if (t >= start && t < end)
            return t;
    }
    /* In a gap: read with the offset before it. */
    for (k = 0; k < w.n; k++) {
        o = k == 0 ? w.before : w.off[k - 1];
        next = w.off[k];
        if (local >= w.at[k] + o && local < w.at[k] + next)
            return local - o;
    }
    return local - w.before;           /* not reached with a consistent table */
}

const char *tw_tz_name(const struct tw_tz *z)
{
    return z->name;
}

bool tw_tz_is_utc(const struct tw_tz *z)
{
    return z->utc;
}

/* ---- TZif (RFC 8536) ------------------------------------------------------------------- */

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

struct tzif_counts {
    uint32_t isut, isstd, leap, time, type, chars;
};

static void counts_read(const unsigned char *h, struct tzif_counts *c)
{
    c->isut = be32(h + 20);
    c->isstd = be32(h + 24);
    c->leap = be32(h + 28);
    c->time = be32(h + 32);
    c->type = be32(h + 36);
    c->chars = be32(h + 40);
}

/* Bytes of a data block with tsize-byte times, or SIZE_MAX when the counts are absurd. */
static size_t block_size(const struct tzif_counts *c, size_t tsize)
{
    if (c->time > 100000 || c->type > MAX_TYPES || c->chars > 100000 || c->leap > 100000 ||
        c->isstd > MAX_TYPES || c->isut > MAX_TYPES)
        return SIZE_MAX;
    return (size_t)c->time * (tsize + 1) + (size_t)c->type * 6 + c->chars +
           (size_t)c->leap * (tsize + 4) + c->isstd + c->isut;
}

static int bad(struct tw_err *err, const char *why)
{
    return tw_err_set(err, TW_EINVAL, "is not a usable TZif file (%s)", why);
}

/* Fill z's table from the data block at p (times of tsize bytes). */
static int read_block(struct tw_tz *z, const unsigned char *p, const struct tzif_counts *c,
                      size_t tsize, struct tw_err *err)
{
    const unsigned char *idx = p + (size_t)c->time * tsize;
    const unsigned char *types = idx + c->time;
    int32_t offs[MAX_TYPES];
    uint32_t i;

    if (c->type == 0)
        return bad(err, "no local time types");
    if (c->leap != 0)
        return tw_err_set(err, TW_EINVAL, "counts leap seconds (a \"right/\" zone); use the "
                          "zone without the \"right/\" prefix");
    for (i = 0; i < c->type; i++) {
        offs[i] = (int32_t)be32(types + 6 * i);
        if (offs[i] < -MAX_OFFSET || offs[i] > MAX_OFFSET)
            return bad(err, "a UTC offset beyond 26 hours");
    }
    z->at = tw_calloc(c->time + 1, sizeof(*z->at));
    z->off = tw_calloc(c->time + 1, sizeof(*z->off));
    if (z->at == NULL || z->off == NULL)
        return tw_err_set(err, TW_ENOMEM, "out of memory loading a time zone");
    for (i = 0; i < c->time; i++) {
        z->at[i] = tsize == 8 ? be64(p + 8 * (size_t)i) : (int32_t)be32(p + 4 * (size_t)i);
        /* zic writes nothing before -2^59 ("the big bang"); keeping times within +-2^59 keeps
         * every sum below far from int64 overflow. */
        if (z->at[i] < -BIG_BANG || z->at[i] > BIG_BANG)
            return bad(err, "a transition time out of range");
        if (i > 0 && z->at[i] <= z->at[i - 1])
            return bad(err, "transitions out of order");
        /* Queries look at a few days of transitions at a time (WINDOW_MAX); no real zone has
         * more than a handful in a week. */
        if (i >= DENSE && z->at[i] - z->at[i - DENSE] < 7 * SECS_PER_DAY)
            return bad(err, "implausibly many transitions in one week");
        if (idx[i] >= c->type)
            return bad(err, "a transition to an unknown type");
        z->off[i] = offs[idx[i]];
    }
    z->n = c->time;
    z->off0 = offs[0];
    return TW_OK;
}

int tw_tz_parse(const unsigned char *b, size_t len, const char *name, struct tw_tz **out,
                struct tw_err *err)
{
    struct tzif_counts c;
    struct tw_tz *z;
    const unsigned char *p, *nl;
    char footer[128];
    size_t v1, v2, flen;
    int ret;

    if (len < 44 || memcmp(b, "TZif", 4) != 0)
        return bad(err, "no TZif header");
    counts_read(b, &c);
    v1 = block_size(&c, 4);
    if (v1 == SIZE_MAX || v1 > len - 44)
        return bad(err, "truncated");
    z = tw_calloc(1, sizeof(*z));
    if (z == NULL)
        return tw_err_set(err, TW_ENOMEM, "out of memory loading a time zone");
    snprintf(z->name, sizeof(z->name), "%s", name);
    if (b[4] == 0) {                   /* version 1: 32-bit times, no footer */
        ret = read_block(z, b + 44, &c, 4, err);
        goto out;
    }
    p = b + 44 + v1;
    if ((size_t)(b + len - p) < 44 || memcmp(p, "TZif", 4) != 0) {
        ret = bad(err, "no second header");
        goto out;
    }
    counts_read(p, &c);
    v2 = block_size(&c, 8);
    if (v2 == SIZE_MAX || (size_t)(b + len - (p + 44)) < v2 + 2) {
        ret = bad(err, "truncated");
        goto out;
    }
    ret = read_block(z, p + 44, &c, 8, err);
    if (ret != TW_OK)
        goto out;
    p += 44 + v2;
    nl = p[0] == '\n' ? memchr(p + 1, '\n', (size_t)(b + len - p - 1)) : NULL;
    if (nl == NULL) {
        ret = bad(err, "no footer");
        goto out;
    }
    flen = (size_t)(nl - p - 1);
    if (flen >= sizeof(footer)) {
        ret = bad(err, "footer too long");
        goto out;
    }
    memcpy(footer, p + 1, flen);
    footer[flen] = '\0';
    if (flen > 0) {
        ret = parse_rule(footer, &z->rule, err);
        z->has_rule = ret == TW_OK;
    }
out:
    if (ret != TW_OK) {
        tw_tz_free(z);
        return ret;
    }
    *out = z;
    return TW_OK;
}

void tw_tz_free(struct tw_tz *z)
{
    if (z == NULL || z == &utc_zone)
        return;
    tw_free(z->at);
    tw_free(z->off);
    tw_free(z);
}

/* ---- names and the cache --------------------------------------------------------------- */

static int check_name(const char *name, struct tw_err *err)
{
    size_t i, len = strlen(name);
    bool part_start = true;

    if (len == 0)
        return tw_err_set(err, TW_EINVAL, "a time zone name is required, e.g. "
                          "\"Europe/Amsterdam\" or \"UTC\"");
    if (len > TW_TZ_NAME_MAX)
        return tw_err_set(err, TW_EINVAL, "time zone names are at most %d characters "
                          "(got %zu)", TW_TZ_NAME_MAX, len);
    for (i = 0; i < len; i++) {
        char ch = name[i];
        bool letter = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z');
        bool ok = letter || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' || ch == '+';

        if (part_start ? !letter : !(ok || (ch == '/' && name[i + 1] != '\0')))
            goto bad;
        part_start = ch == '/';
    }
    /* Files in the tz directory that are not zones, or not the same zone on every machine. */
    if (strcmp(name, "localtime") == 0 || strcmp(name, "posixrules") == 0)
        goto bad;
    return TW_OK;
bad:
    return tw_err_set(err, TW_EINVAL, "unknown time zone \"%s\": use an IANA name such as "
                      "\"Europe/Amsterdam\" or \"UTC\"", name);
}

static int load_file(const char *name, struct tw_tz **out, struct tw_err *err)
{
    char path[sizeof(TW_TZ_DIR) + TW_TZ_NAME_MAX + 2];
    unsigned char *buf = NULL;
    struct tw_err perr;
    struct stat st;
    ssize_t n;
    size_t got = 0;
    int fd, ret;

    snprintf(path, sizeof(path), "%s/%s", TW_TZ_DIR, name);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        if (fd < 0 && errno != ENOENT && errno != ENOTDIR)
            return tw_err_set(err, TW_EINVAL, "time zone \"%s\": cannot read %s: %s", name,
                              path, strerror(errno));
        return tw_err_set(err, TW_EINVAL, "unknown time zone \"%s\" (not in the tz database "
                          "at %s); use an IANA name such as \"Europe/Amsterdam\"", name,
                          TW_TZ_DIR);
    }
    if (st.st_size > MAX_FILE) {
        close(fd);
        return tw_err_set(err, TW_EINVAL, "time zone \"%s\": %s is too large for a TZif file",
                          name, path);
    }
    buf = tw_malloc((size_t)st.st_size + 1);
    if (buf == NULL) {
        close(fd);
        return tw_err_set(err, TW_ENOMEM, "out of memory loading a time zone");
    }
    while (got < (size_t)st.st_size) {
        n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    tw_err_clear(&perr);
    ret = tw_tz_parse(buf, got, name, out, &perr);
    tw_free(buf);
    if (ret == TW_EINVAL)
        return tw_err_set(err, ret, "time zone \"%s\": %s %s", name, path, perr.msg);
    if (ret != TW_OK)
        return tw_err_set(err, ret, "%s", perr.msg);
    return TW_OK;
}

int tw_tz_get(const char *name, const struct tw_tz **out, struct tw_err *err)
{
    struct tw_tz *z;
    int ret;

    if (name == NULL)
        name = "";
    if (strcmp(name, "UTC") == 0) {
        *out = &utc_zone;
        return TW_OK;
    }
    ret = check_name(name, err);
    if (ret != TW_OK)
        return ret;
    pthread_mutex_lock(&cache_lock);
    for (z = cache; z != NULL; z = z->next)
        if (strcmp(z->name, name) == 0)
            break;
    if (z == NULL) {
        ret = load_file(name, &z, err);
        if (ret == TW_OK) {
            z->next = cache;
            cache = z;
        }
    }
    pthread_mutex_unlock(&cache_lock);
    if (ret == TW_OK)
        *out = z;
    return ret;
}

void tw_tz_cache_clear(void)
{
    struct tw_tz *z, *next;

    pthread_mutex_lock(&cache_lock);
    for (z = cache; z != NULL; z = next) {
        next = z->next;
        tw_tz_free(z);
    }
    cache = NULL;
    pthread_mutex_unlock(&cache_lock);
}
