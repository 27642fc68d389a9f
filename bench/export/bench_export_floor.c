/*
 * The floor of an export for bench/export/run.sh: step a SELECT over the source and convert
 * every column to text (sqlite3_column_text + sqlite3_column_bytes), writing nothing. What no
 * exporter reading SQLite can go below; run.sh prints it next to taskwheel and the shell.
 * Usage: bench_export_floor SOURCE_DB SQL
 */
#include <sqlite3.h>
#include <stdio.h>
#include <time.h>

int main(int argc, char **argv)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    unsigned long long rows = 0;
    unsigned long long bytes = 0;
    struct timespec t0;
    struct timespec t1;
    int rc;
    int i;
    int n;

    if (argc != 3) {
        fprintf(stderr, "usage: %s SOURCE_DB SQL\n", argv[0]);
        return 2;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (sqlite3_open_v2(argv[1], &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
            SQLITE_OK ||
        sqlite3_exec(db, "PRAGMA cache_size=-16384", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, argv[2], -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "%s\n", sqlite3_errmsg(db));
        sqlite3_close(db);
        return 1;
    }
    n = sqlite3_column_count(st);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        for (i = 0; i < n; i++) {
            if (sqlite3_column_text(st, i) != NULL)
                bytes += (unsigned long long)sqlite3_column_bytes(st, i);
        }
        rows++;
    }
    if (rc != SQLITE_DONE)
        fprintf(stderr, "%s\n", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    sqlite3_close(db);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("floor: %llu rows, %llu bytes of text, %.3f s\n", rows, bytes,
           (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    return rc == SQLITE_DONE ? 0 : 1;
}
