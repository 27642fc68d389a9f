/*
 * out.c: the stream's SHA-256 and size describe the file as written, and gzip output
 * inflates (zlib) back to exactly the plain export.
 */
#include <openssl/evp.h>
#include <zlib.h>

#include "export_fixture.h"

static struct xfx f;

static void setup(void)
{
    xfx_setup(&f, FIXTURES);
}

static void teardown(void)
{
    xfx_teardown(&f);
}

TestSuite(out, .init = setup, .fini = teardown, .timeout = 30);

static void sha_hex(const void *p, size_t n, char out[65])
{
    unsigned char md[32];
    unsigned int len = 0;
    unsigned int i;

    EVP_Digest(p, n, md, &len, EVP_sha256(), NULL);
    for (i = 0; i < 32; i++)
        sprintf(out + 2 * i, "%02x", md[i]);
}

/* gunzip a whole buffer (caller frees). */
static char *gunzip(const char *in, size_t n, size_t *outlen)
{
    size_t cap = n * 8 + 1024;
    char *out = malloc(cap);
    z_stream zs;
    int rc;

    memset(&zs, 0, sizeof(zs));
    cr_assert_eq(inflateInit2(&zs, 15 + 16), Z_OK);
    zs.next_in = (unsigned char *)in;
    zs.avail_in = (uInt)n;
    for (;;) {
        zs.next_out = (unsigned char *)out + zs.total_out;
        zs.avail_out = (uInt)(cap - zs.total_out - 1);
        rc = inflate(&zs, Z_NO_FLUSH);
        if (rc == Z_STREAM_END)
            break;
        cr_assert(rc == Z_OK || rc == Z_BUF_ERROR, "inflate: %d", rc);
        cap *= 2;
        out = realloc(out, cap);
    }
    *outlen = zs.total_out;
    out[*outlen] = '\0';
    inflateEnd(&zs);
    return out;
}

Test(out, sha256_and_size_match_the_file)
{
    struct tw_export_job job = xfx_job(&f, "fixture", "csv", "rows=5000", 1764);
    struct tw_export_stats st;
    char want[65];
    size_t len;
    char *text = xfx_run(&job, &st);

    len = strlen(text);
    cr_assert_eq(st.size, len);
    sha_hex(text, len, want);
    cr_assert_str_eq(st.sha256, want);
    free(text);
}

Test(out, gzip_round_trip)
{
    struct tw_export_job job = xfx_job(&f, "fixture", "csv", "rows=40000", 1764);
    struct tw_export_stats plain;
    struct tw_export_stats gz;
    char *a;
    char *z;
    char *b;
    size_t zlen;
    size_t blen;
    char want[65];

    a = xfx_run(&job, &plain);
    job.gzip = true;
    job.task_id = 777;
    z = xfx_run(&job, &gz);
    cr_assert_str_eq(gz.file, "Fixture_Export-777.csv.gz");
    free(z);
    z = xfx_read(gz.path, &zlen);
    cr_assert_eq(gz.size, zlen);
    cr_assert_lt(zlen, plain.size / 3, "compressed %zu of %llu", zlen,
                 (unsigned long long)plain.size);
    sha_hex(z, zlen, want);
    cr_assert_str_eq(gz.sha256, want, "the hash is of the compressed file");
    b = gunzip(z, zlen, &blen);
    cr_assert_eq(blen, plain.size);
    cr_assert(memcmp(a, b, blen) == 0);
    free(a);
    free(b);
    free(z);
}

Test(out, gzip_of_nothing_is_a_valid_stream)
{
    struct tw_export_job job = xfx_job(&f, "fixture", "json", "rows=0", 1764);
    struct tw_export_stats st;
    size_t zlen;
    size_t blen;
    char *z;
    char *b;

    job.gzip = true;
    free(xfx_run(&job, &st));
    z = xfx_read(st.path, &zlen);
    b = gunzip(z, zlen, &blen);
    cr_assert_str_eq(b, "[]\n");
    free(z);
    free(b);
}

Test(out, a_full_disk_is_named_as_such_and_sticks)
{
    struct tw_out out;
    struct tw_err err;
    uint64_t bytes;
    char sha[65];
    char block[4096];
    int fd = open("/dev/full", O_WRONLY);
    int i;

    cr_assert_neq(fd, -1);
    memset(block, 'x', sizeof(block));
    cr_assert_eq(tw_out_init(&out, fd, "/var/r/User_Export-1.csv", false, &err), TW_OK);
    for (i = 0; i < 600; i++) /* > 2 MiB: at least two flushes */
        tw_out_write(&out, block, sizeof(block));
    cr_assert_eq(tw_out_status(&out), TW_EIO);
    cr_assert_eq(tw_out_finish(&out, &bytes, sha, &err), TW_EIO);
    cr_assert_str_eq(
        err.msg, "results: disk full writing /var/r/User_Export-1.csv (No space left on device)");
    tw_out_fini(&out);
    close(fd);
}
