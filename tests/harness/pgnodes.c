/* Several serve nodes on one throwaway PostgreSQL (see pgnodes.h). */
#include "pgnodes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

void tw_pgnodes_init(struct tw_pgnodes *c)
{
    char why[1024];

    memset(c, 0, sizeof(*c));
    cr_assert_eq(tw_pgpeer_start(&c->pg, why, sizeof(why)), 0, "PostgreSQL: %s", why);
    snprintf(c->keydir, sizeof(c->keydir), "/tmp/twkey.XXXXXX");
    cr_assert_not_null(mkdtemp(c->keydir));
    snprintf(c->key, sizeof(c->key), "%s/server.key", c->keydir);
}

void tw_pgnodes_fini(struct tw_pgnodes *c)
{
    char cmd[128];
    int k;

    for (k = 0; k < TW_PGNODES_MAX; k++)
        if (c->node[k].dir[0] != '\0')
            tw_srv_fini(&c->node[k], false);
    if (c->keydir[0] != '\0') {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", c->keydir);
        if (system(cmd) != 0)
            cr_log_warn("could not remove %s", c->keydir);
        c->keydir[0] = '\0';
    }
    tw_pgpeer_fini(&c->pg);
}

void tw_pgnodes_prepare(struct tw_pgnodes *c, int k, const char *node_id, const char *key_file,
                        const char *plugins_dir, const char *extra)
{
    char yaml[2048], log[sizeof(c->log[0])];
    struct tw_srv *s = &c->node[k];

    cr_assert(k >= 0 && k < TW_PGNODES_MAX, "node %d: the fixture holds %d", k, TW_PGNODES_MAX);
    cr_assert_eq(s->dir[0], '\0', "node %d is prepared already", k);
    snprintf(yaml, sizeof(yaml),
             "log: { level: info }\n"
             "store: { driver: postgresql, dsn: \"%s\" }\n"
             "auth: { key_file: \"%s\" }\n"
             "cluster: { node_id: \"%s\", heartbeat: 1, lease: 4 }\n%s",
             c->pg.dsn, key_file != NULL ? key_file : c->key, node_id, extra != NULL ? extra : "");
    tw_srv_prepare(s, plugins_dir, yaml);
    /* through a local: gcc cannot tell s->dir and c->log[k] apart (-Werror=restrict) */
    snprintf(log, sizeof(log), "%s/server.log", s->dir);
    memcpy(c->log[k], log, sizeof(log));
}

bool tw_pgnodes_start(struct tw_pgnodes *c, int k)
{
    return tw_srv_start_logged(&c->node[k], c->log[k]);
}

void tw_pgnodes_up(struct tw_pgnodes *c, int k, const char *node_id, const char *plugins_dir,
                   const char *extra)
{
    tw_pgnodes_prepare(c, k, node_id, NULL, plugins_dir, extra);
    if (!tw_pgnodes_start(c, k)) {
        char *text = tw_slurp(c->log[k], NULL);

        cr_assert_fail("node %d (%s) did not start: %s", k, node_id, text);
    }
}
