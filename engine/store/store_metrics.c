/*
 * Read-only aggregates for GET /metrics. Tasks by state is tw_store_task_count_by_state
 * (store_tasks.c); this file adds what the result files take up, from the tasks' result
 * columns rather than a walk of results.dir (a store query costs the same with a million
 * files, and the store is what download_url answers from).
 */
#include "store/store_int.h" /* first: it names the SQLite driver's functions */

#include <sqlite3.h>

#include "store/store_int.h"

int tw_store_result_usage(struct tw_store *s, int64_t *files, int64_t *bytes, struct tw_err *err)
{
    sqlite3_stmt *q = tw_store_stmt(s, TW_STMT_RESULT_BYTES);
    int ret = tw_store_step(s, q, "sum result sizes", err);

    *files = 0;
    *bytes = 0;
    if (ret == 1) {
        *files = sqlite3_column_int64(q, 0);
        *bytes = sqlite3_column_int64(q, 1);
    }
    tw_store_done(q);
    return ret < 0 ? ret : TW_OK;
}
