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
#include "core/tz_int.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/mem.h"

#define MAX_FILE (256 * 1024) /* the largest Debian TZif file is about 4 KB */

static struct tw_tz utc_zone = { .name = "UTC", .utc = true };
static struct tw_tz *cache;
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

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
        return tw_tz_rule_offset(&z->rule, t);
    i = first_after(z, t);
    return i == 0 ? z->off0 : z->off[i - 1];
}

/* The offset at a and every transition in (a, b]. */
static void window_get(const struct tw_tz *z, int64_t a, int64_t b, struct tw_tz_window *w)
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
        tw_tz_window_add(w, z->at[i],
                         i + 1 == z->n && z->has_rule ? tw_tz_rule_offset(&z->rule, z->at[i])
                                                      : z->off[i]);
    if (!z->has_rule || !z->rule.has_dst || b <= -RULE_LIMIT || a >= RULE_LIMIT)
        return;
    from = z->n > 0 && z->at[z->n - 1] > a ? z->at[z->n - 1] : a;
    if (from >= b)
        return;
    for (y = tw_tz_year_of(from) - 1; y <= tw_tz_year_of(b) + 1; y++) {
        tw_tz_rule_year(&z->rule, y, at, off);
        for (k = 0; k < 2; k++)
            if (at[k] > from && at[k] <= b)
                tw_tz_window_add(w, at[k], off[k]);
    }
}

int64_t tw_tz_from_local(const struct tw_tz *z, int64_t local)
{
    struct tw_tz_window w;
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
    return local - w.before; /* not reached with a consistent table */
}

const char *tw_tz_name(const struct tw_tz *z)
{
    return z->name;
}

bool tw_tz_is_utc(const struct tw_tz *z)
{
    return z->utc;
}

/* ---- names and the cache --------------------------------------------------------------- */

static int check_name(const char *name, struct tw_err *err)
{
    size_t i, len = strlen(name);
    bool part_start = true;

    if (len == 0)
        return tw_err_set(err, TW_EINVAL,
                          "a time zone name is required, e.g. "
                          "\"Europe/Amsterdam\" or \"UTC\"");
    if (len > TW_TZ_NAME_MAX)
        return tw_err_set(err, TW_EINVAL,
                          "time zone names are at most %d characters "
                          "(got %zu)",
                          TW_TZ_NAME_MAX, len);
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
    return tw_err_set(err, TW_EINVAL,
                      "unknown time zone \"%s\": use an IANA name such as "
                      "\"Europe/Amsterdam\" or \"UTC\"",
                      name);
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
            return tw_err_set(err, TW_EINVAL, "time zone \"%s\": cannot read %s: %s", name, path,
                              strerror(errno));
        return tw_err_set(err, TW_EINVAL,
                          "unknown time zone \"%s\" (not in the tz database "
                          "at %s); use an IANA name such as \"Europe/Amsterdam\"",
                          name, TW_TZ_DIR);
    }
    if (st.st_size > MAX_FILE) {
        close(fd);
        return tw_err_set(err, TW_EINVAL, "time zone \"%s\": %s is too large for a TZif file", name,
                          path);
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
