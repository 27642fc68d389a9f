/*
 * plugins/sql/pgdsn: libpq's reasons with the dsn's password masked, on one line; the quoted
 * fragments of an unparsable dsn masked; a connection that fails leaves nothing open.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "pgdsn.h"

static const char *reason(const char *dsn, const char *msg, bool parsed)
{
    static char buf[512];

    tw_pgdsn_reason(dsn, msg, parsed, buf, sizeof(buf));
    return buf;
}

Test(pgdsn, the_password_is_masked_wherever_it_stands)
{
    cr_assert_str_eq(reason("host=/x user=tw password=Secr3t", "Secr3t: bad for Secr3t\n", true),
                     "***: bad for ***");
    /* a short password: every occurrence, not only the first */
    cr_assert_str_eq(reason("password=ab", "xaby ab ab", true), "x***y *** ***");
    /* a password of asterisks ends: "***" holds it again */
    cr_assert_str_eq(reason("password=**", "a ** b **", true), "a *** b ***");
    /* no password in the dsn: the message as it is */
    cr_assert_str_eq(reason("host=/x dbname=tw", "database \"tw\" does not exist", true),
                     "database \"tw\" does not exist");
}

Test(pgdsn, the_reason_is_one_line)
{
    cr_assert_str_eq(reason("dbname=tw", "failed: no file\n\tIs the server running?\n", true),
                     "failed: no file  Is the server running?");
    cr_assert_str_eq(reason("dbname=tw", "a\r\nb \n \n", true), "a  b");
    cr_assert_str_eq(reason("dbname=tw", "", true), "no reason given");
    cr_assert_str_eq(reason("dbname=tw", NULL, true), "no reason given");
}

Test(pgdsn, an_unparsable_dsn_has_its_quoted_fragments_masked)
{
    /* libpq cannot parse it, so the password cannot be told apart: every quote is masked */
    cr_assert_str_eq(reason("host=/tmp dbname Secr3t",
                            "missing \"=\" after \"Secr3t\" in connection info string\n", false),
                     "missing \"...\" after \"...\" in connection info string");
    cr_assert_str_eq(reason("host=/tmp dbname x", "an \"open quote", false), "an \"open quote");
}

Test(pgdsn, a_failed_connect_leaves_no_connection_and_no_password)
{
    char why[512];
    PGconn *conn = (PGconn *)1;

    cr_assert_eq(
        tw_pgdsn_connect("host=/tmp password=Pw0rd bogus", "5", "test", &conn, why, sizeof(why)),
        TW_PGDSN_UNPARSABLE);
    cr_assert_null(conn);
    cr_assert_null(strstr(why, "Pw0rd"), "%s", why);
    conn = (PGconn *)1;
    cr_assert_eq(tw_pgdsn_connect("host=/nonexistent-dir port=5 dbname=x password=Pw0rd", "5",
                                  "test", &conn, why, sizeof(why)),
                 TW_PGDSN_REFUSED);
    cr_assert_null(conn);
    cr_assert_not_null(strstr(why, "No such file or directory"), "%s", why);
    cr_assert_null(strstr(why, "Pw0rd"), "%s", why);
    cr_assert_null(strchr(why, '\n'), "%s", why);
}
