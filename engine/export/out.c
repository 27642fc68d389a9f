/*
 * The output stream (export.h): writers format into a 1 MiB staging buffer; a full buffer is
 * handed to write(2) directly, or first through zlib's deflate (gzip framing) when the result
 * is compressed. SHA-256 (OpenSSL EVP) is updated with exactly the bytes given to write(2), so
 * the hash describes the file the client downloads, without reading it back.
 *
 * Errors are sticky (first one wins, later writes are dropped): a writer formats a whole row
 * and the driver checks once. A full disk reads "results: disk full writing PATH (reason)".
 */
#include "export/export.h"

#include <errno.h>
#include <openssl/evp.h>
#include <unistd.h>
#include <zlib.h>

#include "core/mem.h"

#define ZBUF_BYTES (256u * 1024u)

struct tw_out_z {
    z_stream zs;         /* deflate state */
    unsigned char *zbuf; /* compressed output waiting for write(2) */
};

static void fail_io(struct tw_out *o, int e)
{
    if (o->err.code != TW_OK)
        return;
    if (e == ENOSPC || e == EDQUOT)
        tw_err_set(&o->err, TW_EIO, "results: disk full writing %s (%s)", o->path, strerror(e));
    else
        tw_err_set(&o->err, TW_EIO, "results: writing %s failed (%s)", o->path, strerror(e));
}

/* write(2) all of p, retrying short writes and EINTR; hash what was written. */
static void put_file(struct tw_out *o, const void *p, size_t n)
{
    const char *c = p;
    ssize_t w;

    if (o->err.code != TW_OK)
        return;
    EVP_DigestUpdate(o->sha, p, n);
    if (o->put != NULL) {
        struct tw_err e;

        tw_err_clear(&e);
        if (o->put(o->put_ctx, p, n, &e) != TW_OK) {
            if (e.code == TW_OK)
                tw_err_set(&e, TW_EIO, "results: writing %s failed", o->path);
            o->err = e;
            return;
        }
        o->bytes += n;
        return;
    }
    while (n > 0) {
        w = write(o->fd, c, n);
        if (w == -1) {
            if (errno == EINTR)
                continue;
            fail_io(o, errno);
            return;
        }
        c += w;
        n -= (size_t)w;
        o->bytes += (uint64_t)w;
    }
}

/* Deflate the staged bytes; finish ends the gzip stream. */
static void put_deflate(struct tw_out *o, const char *p, size_t n, bool finish)
{
    z_stream *zs = &o->z->zs;
    int rc;

    zs->next_in = (unsigned char *)p;
    zs->avail_in = (uInt)n;
    do {
        zs->next_out = o->z->zbuf;
        zs->avail_out = ZBUF_BYTES;
        rc = deflate(zs, finish ? Z_FINISH : Z_NO_FLUSH);
        if (rc == Z_STREAM_ERROR) {
            if (o->err.code == TW_OK)
                tw_err_set(&o->err, TW_EINTERNAL, "results: gzip failed for %s", o->path);
            return;
        }
        put_file(o, o->z->zbuf, ZBUF_BYTES - zs->avail_out);
    } while (zs->avail_out == 0 || (finish && rc != Z_STREAM_END));
}

int tw_out_init(struct tw_out *o, int fd, const char *path, bool gzip, struct tw_err *err)
{
    memset(o, 0, sizeof(*o));
    o->fd = fd;
    o->path = path;
    tw_err_clear(&o->err);
    o->buf = tw_malloc(TW_OUT_BUF_BYTES);
    o->sha = EVP_MD_CTX_new();
    if (o->buf == NULL || o->sha == NULL)
        goto nomem;
    if (EVP_DigestInit_ex(o->sha, EVP_sha256(), NULL) != 1) {
        tw_out_fini(o);
        return tw_err_set(err, TW_EINTERNAL, "results: SHA-256 unavailable in libcrypto");
    }
    if (!gzip)
        return TW_OK;
    o->z = tw_calloc(1, sizeof(*o->z));
    if (o->z == NULL)
        goto nomem;
    o->z->zbuf = tw_malloc(ZBUF_BYTES);
    /* windowBits 15 + 16: gzip framing (header, CRC32, size) rather than raw zlib. */
    if (o->z->zbuf == NULL || deflateInit2(&o->z->zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
                                           Z_DEFAULT_STRATEGY) != Z_OK) {
        tw_free(o->z->zbuf);
        tw_free(o->z);
        o->z = NULL;
        goto nomem;
    }
    return TW_OK;
nomem:
    tw_out_fini(o);
    return tw_err_set(err, TW_ENOMEM, "out of memory opening the result stream");
}

int tw_out_init_put(struct tw_out *o,
                    int (*put)(void *ctx, const void *p, size_t n, struct tw_err *err), void *ctx,
                    const char *where, bool gzip, struct tw_err *err)
{
    int rc = tw_out_init(o, -1, where, gzip, err);

    if (rc == TW_OK) {
        o->put = put;
        o->put_ctx = ctx;
    }
    return rc;
}

void tw_out_fini(struct tw_out *o)
{
    if (o->z != NULL) {
        deflateEnd(&o->z->zs);
        tw_free(o->z->zbuf);
        tw_free(o->z);
        o->z = NULL;
    }
    EVP_MD_CTX_free(o->sha);
    o->sha = NULL;
    tw_free(o->buf);
    o->buf = NULL;
}

void tw_out_flush(struct tw_out *o)
{
    if (o->len > 0 && o->err.code == TW_OK) {
        if (o->z != NULL)
            put_deflate(o, o->buf, o->len, false);
        else
            put_file(o, o->buf, o->len);
    }
    /* Also after an error: the buffer must keep taking (and dropping) bytes. */
    o->len = 0;
    o->flushes++;
}

void tw_out_write(struct tw_out *o, const void *p, size_t n)
{
    const char *c = p;
    size_t room;

    while (n > 0) {
        room = TW_OUT_BUF_BYTES - o->len;
        if (room == 0) {
            tw_out_flush(o);
            continue;
        }
        if (room > n)
            room = n;
        memcpy(o->buf + o->len, c, room);
        o->len += room;
        c += room;
        n -= room;
    }
}

int tw_out_finish(struct tw_out *o, uint64_t *bytes, char sha256_hex[65], struct tw_err *err)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    unsigned int i;

    if (o->z != NULL) {
        if (o->err.code == TW_OK)
            put_deflate(o, o->buf, o->len, true);
        o->len = 0;
    } else {
        tw_out_flush(o);
    }
    if (o->err.code != TW_OK) {
        if (err != NULL)
            *err = o->err;
        return o->err.code;
    }
    EVP_DigestFinal_ex(o->sha, md, &mdlen);
    for (i = 0; i < mdlen && i < 32; i++) {
        sha256_hex[2 * i] = hex[md[i] >> 4];
        sha256_hex[2 * i + 1] = hex[md[i] & 15];
    }
    sha256_hex[2 * i] = '\0';
    *bytes = o->bytes;
    return TW_OK;
}
