/* libpq connections whose reasons never show the dsn's password (see pgdsn.h). */
#include "pgdsn.h"

#include <stdio.h>
#include <string.h>

/* Replace every occurrence of password in msg by "***", scanning on after each "***" (which
 * may itself hold a password of asterisks). */
static void scrub(char *msg, const char *password)
{
    size_t plen = password != NULL ? strlen(password) : 0;
    char *at;

    if (plen == 0)
        return;
    for (at = strstr(msg, password); at != NULL; at = strstr(at + 3, password)) {
        memmove(at + 3, at + plen, strlen(at + plen) + 1);
        memcpy(at, "***", 3);
    }
}

/* Mask every "quoted" fragment of msg as "...". */
static void mask_quoted(char *msg)
{
    char *q, *end;

    for (q = strchr(msg, '"'); q != NULL; q = strchr(q, '"')) {
        end = strchr(q + 1, '"');
        if (end == NULL)
            break;
        memmove(q + 1 + 3, end, strlen(end) + 1);
        memcpy(q + 1, "...", 3);
        q = q + 1 + 3 + 1;
    }
}

/* Trailing newlines and spaces off; the newlines and tabs inside become spaces. */
static void one_line(char *s)
{
    size_t n = strlen(s);

    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' '))
        s[--n] = '\0';
    for (; *s != '\0'; s++)
        if (*s == '\n' || *s == '\r' || *s == '\t')
            *s = ' ';
}

void tw_pgdsn_reason(const char *dsn, const char *msg, bool parsed, char *out, size_t cap)
{
    PQconninfoOption *opts = PQconninfoParse(dsn, NULL), *o;

    if (cap == 0)
        return;
    snprintf(out, cap, "%s", msg != NULL && msg[0] != '\0' ? msg : "no reason given");
    /* scrubbed before it is made one line, so a password with a newline in it matches too */
    for (o = opts; o != NULL && o->keyword != NULL; o++)
        if (strcmp(o->keyword, "password") == 0)
            scrub(out, o->val);
    PQconninfoFree(opts);
    if (!parsed)
        mask_quoted(out);
    one_line(out);
}

int tw_pgdsn_connect(const char *dsn, const char *connect_timeout, const char *application_name,
                     PGconn **out, char *reason, size_t cap)
{
    /* defaults first: the dsn (expanded from dbname) overrides them */
    static const char *const keys[] = { "connect_timeout", "application_name", "dbname", NULL };
    const char *vals[] = { connect_timeout, application_name, dsn, NULL };
    PQconninfoOption *opts;
    char *perr = NULL;

    *out = NULL;
    opts = PQconninfoParse(dsn, &perr);
    if (opts == NULL) {
        tw_pgdsn_reason(dsn, perr != NULL ? perr : "out of memory", false, reason, cap);
        PQfreemem(perr);
        return TW_PGDSN_UNPARSABLE;
    }
    PQconninfoFree(opts);
    *out = PQconnectdbParams(keys, vals, 1);
    if (*out == NULL) {
        tw_pgdsn_reason(dsn, "out of memory", true, reason, cap);
        return TW_PGDSN_NOMEM;
    }
    if (PQstatus(*out) != CONNECTION_OK) {
        tw_pgdsn_reason(dsn, PQerrorMessage(*out), true, reason, cap);
        PQfinish(*out);
        *out = NULL;
        return TW_PGDSN_REFUSED;
    }
    return TW_PGDSN_OK;
}
