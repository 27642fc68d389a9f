/*
 * The POSIX TZ rule of a TZif file's footer (RFC 8536 §3.3, POSIX TZ with the RFC's
 * extensions: hours up to 167 in rule times, <...> abbreviations): parsed once per zone, its
 * transitions computed per year when asked for. See tz_int.h.
 */
#include "core/tz_int.h"

#include <string.h>

#include "core/time.h"

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

static const char *rule_date(const char *p, struct tw_tz_rule_date *r)
{
    memset(r, 0, sizeof(*r));
    r->time = 2 * 3600; /* POSIX default: 02:00 */
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
        p = hms(p + 1, 167, &r->time); /* RFC 8536 §3.3.1: -167..167 hours */
    return p;
}

int tw_tz_rule_parse(const char *s, struct tw_tz_rule *r, struct tw_err *err)
{
    const char *p = abbr(s);
    int32_t v;

    memset(r, 0, sizeof(*r));
    if (p == NULL || (p = hms(p, 24, &v)) == NULL)
        goto bad;
    r->std = -v; /* POSIX offsets count west */
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
static int64_t rule_day(const struct tw_tz_rule_date *d, int64_t y)
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
void tw_tz_rule_year(const struct tw_tz_rule *r, int64_t y, int64_t at[2], int32_t off[2])
{
    int64_t s = rule_day(&r->start, y) * SECS_PER_DAY + r->start.time - r->std;
    int64_t e = rule_day(&r->end, y) * SECS_PER_DAY + r->end.time - r->dst;

    if (s <= e) {
        at[0] = s, off[0] = r->dst, at[1] = e, off[1] = r->std;
    } else { /* southern hemisphere: daylight time spans new year */
        at[0] = e, off[0] = r->std, at[1] = s, off[1] = r->dst;
    }
}

int64_t tw_tz_year_of(int64_t t)
{
    int64_t y;
    unsigned m, d;

    tw_civil_from_days(floor_div(t, SECS_PER_DAY), &y, &m, &d);
    return y;
}

void tw_tz_window_add(struct tw_tz_window *w, int64_t at, int32_t off)
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
int32_t tw_tz_rule_offset(const struct tw_tz_rule *r, int64_t t)
{
    struct tw_tz_window w;
    int64_t at[2], y;
    int32_t off[2], cur;
    size_t i;
    int k;

    if (!r->has_dst || t <= -RULE_LIMIT || t >= RULE_LIMIT)
        return r->std;
    w.n = 0;
    for (y = tw_tz_year_of(t) - 2; y <= tw_tz_year_of(t) + 1; y++) {
        tw_tz_rule_year(r, y, at, off);
        for (k = 0; k < 2; k++)
            tw_tz_window_add(&w, at[k], off[k]);
    }
    cur = w.off[0];
    for (i = 0; i < w.n && w.at[i] <= t; i++)
        cur = w.off[i];
    return cur;
}
