/* Crypto helpers (see crypto.h): thin, checked wrappers over libcrypto. */
#include "core/crypto.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <openssl/rand.h>

int tw_random_bytes(void *buf, size_t n, struct tw_err *err)
{
    if (RAND_bytes(buf, (int)n) != 1)
        return tw_err_set(err, TW_EINTERNAL, "random: the system random generator failed");
    return TW_OK;
}

/*
 * One HMAC context keyed with the last key seen, duplicated per call: OpenSSL 3's one-shot
 * HMAC() fetches the MAC and digest implementations and sets the key on every call, which was
 * most of its cost on the API's hot path (every authenticated request MACs the presented
 * secret). The process is single-threaded where this is hot; workers are processes, each with
 * its own copy. The template lives until exit (reachable, so not a leak to LeakSanitizer).
 */
static EVP_MAC_CTX *keyed_template(const unsigned char key[TW_KEY_BYTES])
{
    static unsigned char tkey[TW_KEY_BYTES];
    static EVP_MAC_CTX *tmpl;
    static EVP_MAC *mac;
    OSSL_PARAM params[2];

    if (tmpl != NULL && CRYPTO_memcmp(tkey, key, TW_KEY_BYTES) == 0)
        return tmpl;
    EVP_MAC_CTX_free(tmpl);
    tmpl = NULL;
    if (mac == NULL && (mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL)
        return NULL;
    params[0] = OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0);
    params[1] = OSSL_PARAM_construct_end();
    tmpl = EVP_MAC_CTX_new(mac);
    if (tmpl == NULL || EVP_MAC_init(tmpl, key, TW_KEY_BYTES, params) != 1) {
        EVP_MAC_CTX_free(tmpl);
        tmpl = NULL;
        return NULL;
    }
    memcpy(tkey, key, TW_KEY_BYTES);
    return tmpl;
}

void tw_hmac_sha256(const unsigned char key[TW_KEY_BYTES], const void *data, size_t len,
                    unsigned char out[32])
{
    EVP_MAC_CTX *tmpl = keyed_template(key);
    EVP_MAC_CTX *ctx = tmpl != NULL ? EVP_MAC_CTX_dup(tmpl) : NULL;
    unsigned int n = 32;
    size_t got = 0;

    if (ctx != NULL && EVP_MAC_update(ctx, data, len) == 1 &&
        EVP_MAC_final(ctx, out, &got, 32) == 1 && got == 32) {
        EVP_MAC_CTX_free(ctx);
        return;
    }
    EVP_MAC_CTX_free(ctx);
    HMAC(EVP_sha256(), key, TW_KEY_BYTES, data, len, out, &n); /* the slow, sure way */
}

void tw_hex(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;

    for (i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

void tw_sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char md[32];
    unsigned int n = 32;

    EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
    tw_hex(md, 32, out);
}

void tw_b64url(const unsigned char *in, size_t n, char *out)
{
    int len = EVP_EncodeBlock((unsigned char *)out, in, (int)n);
    int i;

    /* Standard base64 -> the URL-safe alphabet, padding dropped (RFC 4648 §5). */
    while (len > 0 && out[len - 1] == '=')
        len--;
    out[len] = '\0';
    for (i = 0; i < len; i++) {
        if (out[i] == '+')
            out[i] = '-';
        else if (out[i] == '/')
            out[i] = '_';
    }
}

bool tw_ct_equal(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}

int tw_uuid4(char out[37], struct tw_err *err)
{
    unsigned char b[16];
    char hex[33];
    int rc = tw_random_bytes(b, sizeof(b), err);

    if (rc != TW_OK)
        return rc;
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    tw_hex(b, 16, hex);
    snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
    return TW_OK;
}

static int key_create(const char *path, unsigned char key[TW_KEY_BYTES], struct tw_err *err)
{
    int fd;
    ssize_t w;
    int rc = tw_random_bytes(key, TW_KEY_BYTES, err);

    if (rc != TW_OK)
        return rc;
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd == -1)
        return tw_err_set(err, TW_EIO, "cannot create key file %s: %s", path, strerror(errno));
    w = write(fd, key, TW_KEY_BYTES);
    if (w != TW_KEY_BYTES || fsync(fd) == -1) {
        close(fd);
        unlink(path);
        return tw_err_set(err, TW_EIO, "cannot write key file %s: %s", path, strerror(errno));
    }
    close(fd);
    return TW_OK;
}

int tw_key_load(const char *path, unsigned char key[TW_KEY_BYTES], struct tw_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t r;

    if (fd == -1 && errno == ENOENT)
        return key_create(path, key, err);
    if (fd == -1)
        return tw_err_set(err, TW_EIO, "cannot open key file %s: %s", path, strerror(errno));
    r = read(fd, key, TW_KEY_BYTES);
    close(fd);
    if (r != TW_KEY_BYTES)
        return tw_err_set(err, TW_EIO, "key file %s is damaged: expected %d bytes", path,
                          TW_KEY_BYTES);
    return TW_OK;
}
