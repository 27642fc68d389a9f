/*
 * Upload one file to an S3-compatible store with the engine's S3 client (results/s3.c), the
 * way a worker streams a result: 1 MiB writes into tw_s3_upload_write, multipart above
 * part_size, then commit. Prints bytes, parts, seconds, MB/s and the process's peak RSS.
 *
 *   bench_s3_upload FILE ENDPOINT BUCKET KEY [PART_SIZE]
 *   (credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY; path-style, us-east-1)
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#include "results/s3.h"

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    static char chunk[1 << 20];
    struct tw_s3_conf c = { 0 };
    struct tw_s3_upload *u;
    struct rusage ru;
    struct tw_err err;
    uint64_t bytes = 0;
    unsigned parts;
    double t0, t;
    size_t n;
    FILE *f;

    if (argc < 5) {
        fprintf(stderr, "usage: %s FILE ENDPOINT BUCKET KEY [PART_SIZE]\n", argv[0]);
        return 2;
    }
    c.endpoint = argv[2];
    c.region = "us-east-1";
    c.bucket = argv[3];
    c.prefix = "";
    c.path_style = 1;
    c.access_key_id = getenv("AWS_ACCESS_KEY_ID") ? getenv("AWS_ACCESS_KEY_ID") : "S3RVER";
    c.secret_access_key = getenv("AWS_SECRET_ACCESS_KEY") ? getenv("AWS_SECRET_ACCESS_KEY")
                                                          : "S3RVER";
    c.session_token = "";
    c.part_size = argc > 5 ? (size_t)strtoull(argv[5], NULL, 10) : 8388608;
    c.timeout_s = 60;
    c.retry_base_ms = 250;
    f = fopen(argv[1], "rb");
    if (f == NULL) {
        perror(argv[1]);
        return 1;
    }
    t0 = now_s();
    if (tw_s3_upload_open(&c, argv[4], &u, &err) != TW_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        if (tw_s3_upload_write(u, chunk, n, &err) != TW_OK)
            break;
    fclose(f);
    parts = tw_s3_upload_parts(u) + (tw_s3_upload_id(u)[0] != '\0');
    if (tw_s3_upload_commit(u, &bytes, &err) != TW_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    t = now_s() - t0;
    getrusage(RUSAGE_SELF, &ru);
    printf("engine: %llu bytes, %u parts, %.2f s, %.1f MB/s, max RSS %ld kB\n",
           (unsigned long long)bytes, parts, t, (double)bytes / 1e6 / t, ru.ru_maxrss);
    return 0;
}
