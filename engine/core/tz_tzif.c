/*
 * Reading TZif files (RFC 8536) into a struct tw_tz: the version 2+ data block with 64-bit
 * times (or version 1's 32-bit one), every count and index checked against the file's size
 * before use, and the footer's TZ rule (tz_rule.c). See tz_int.h.
 */
#include "core/tz_int.h"

#include <stdio.h>
#include <string.h>

#include "core/mem.h"

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
        return tw_err_set(err, TW_EINVAL,
                          "counts leap seconds (a \"right/\" zone); use the "
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
    if (b[4] == 0) { /* version 1: 32-bit times, no footer */
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
        ret = tw_tz_rule_parse(footer, &z->rule, err);
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
    if (z == NULL || z->utc)
        return;
    tw_free(z->at);
    tw_free(z->off);
    tw_free(z);
}
