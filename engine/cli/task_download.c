/*
 * taskwheel task download ID [-o FILE]: the latest result through GET /tasks/{id}/download_url
 * (docs/reference.md §2, §7.4). A partial FILE is resumed; the whole is verified against the
 * size and SHA-256 the service announced (client/download.c). Nothing is removed: a file that
 * fails the check is kept and the message says so (exit 1).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli_int.h"
#include "cli/task_int.h"

static int download_opt(struct tw_task_ctx *ctx, int c, const char *arg, void *p)
{
    (void)ctx;
    if (c != 'o')
        return 0;
    *(const char **)p = arg;
    return 1;
}

/* The file name at the end of the URL's path ("Wallet_Export-12.csv"), else "task-ID.out". */
static void name_from_url(const char *url, int64_t id, char *buf, size_t len)
{
    size_t end = strcspn(url, "?#"), start = end;

    while (start > 0 && url[start - 1] != '/')
        start--;
    if (end > start && end - start < len && url[start] != '.' &&
        memchr(url + start, '%', end - start) == NULL)
        snprintf(buf, len, "%.*s", (int)(end - start), url + start);
    else
        snprintf(buf, len, "task-%" PRId64 ".out", id);
}

int tw_task_download(int argc, char **argv)
{
    static const struct option extra[] = {
        { "output", required_argument, NULL, 'o' },
    };
    struct tw_task_ctx ctx = {
        .cmd = "taskwheel task download",
        .usage = "usage: taskwheel task download ID [-o FILE] [options]\n"
                 "Fetches the task's latest result into FILE (default: the result's file name\n"
                 "in the current directory; - for standard output). A shorter FILE left by an\n"
                 "interrupted download is resumed; the whole file is then checked against the\n"
                 "size and SHA-256 the server announced, and a mismatch is exit 1 (the file is\n"
                 "kept). --json prints the download_url answer after a verified download.\n"
                 "  -o, --output FILE  where to write the result\n",
    };
    struct tw_client_resp r;
    struct tw_client_dl dl;
    struct tw_err err;
    char path[64], file[512];
    const char *out = NULL, *url, *sha;
    json_t *size;
    int64_t id = 0;
    int rc;

    rc = tw_task_parse(&ctx, argc, argv, "o:", extra, 1, download_opt, &out, &id);
    if (rc != TW_EXIT_OK)
        return rc < 0 ? TW_EXIT_OK : rc;
    if ((rc = tw_task_connect(&ctx)) != TW_EXIT_OK)
        goto out;
    snprintf(path, sizeof(path), "/tasks/%" PRId64 "/download_url", id);
    if ((rc = tw_task_call(&ctx, "GET", path, NULL, NULL, 60, &r)) != TW_EXIT_OK)
        goto out;
    url = json_string_value(json_object_get(r.json, "url"));
    sha = json_string_value(json_object_get(r.json, "sha256"));
    size = json_object_get(r.json, "size");
    if (url == NULL) {
        fprintf(stderr, "%s: the download_url answer holds no url\n", ctx.cmd);
        rc = TW_EXIT_FAILURE;
        goto done;
    }
    if (out == NULL) {
        name_from_url(url, id, file, sizeof(file));
        out = file;
    }
    tw_err_clear(&err);
    if (tw_client_download(ctx.client, url, out,
                           json_is_integer(size) ? (int64_t)json_integer_value(size) : -1,
                           sha && sha[0] ? sha : NULL, &dl, &err) != TW_OK) {
        fprintf(stderr, "%s: %s\n", ctx.cmd, err.msg);
        rc = TW_EXIT_FAILURE;
        goto done;
    }
    if (ctx.json) {
        tw_task_print_raw(&r);
    } else if (strcmp(out, "-") != 0) {
        if (dl.already_complete)
            printf("%s was complete already: %" PRId64 " bytes, SHA-256 %s verified\n", out,
                   dl.resumed_from, dl.sha256);
        else if (dl.resumed_from > 0)
            printf("%s: resumed at byte %" PRId64 ", %" PRId64 " bytes total, SHA-256 %s "
                   "verified\n",
                   out, dl.resumed_from, dl.resumed_from + dl.fetched, dl.sha256);
        else
            printf("%s: %" PRId64 " bytes, SHA-256 %s verified\n", out, dl.fetched, dl.sha256);
    } else {
        fprintf(stderr, "%" PRId64 " bytes, SHA-256 %s verified\n", dl.fetched, dl.sha256);
    }
done:
    tw_client_resp_fini(&r);
out:
    tw_task_disconnect(&ctx);
    return rc;
}
