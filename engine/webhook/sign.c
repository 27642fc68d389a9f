/* Webhook secrets, signatures and retry gaps (see webhook.h). */
#include "webhook/webhook.h"

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/crypto.h"
#include "core/mem.h"

int tw_webhook_secret_new(char out[TW_WEBHOOK_SECRET_LEN], struct tw_err *err)
{
    unsigned char raw[32];
    int rc = tw_random_bytes(raw, sizeof(raw), err);

    if (rc != TW_OK)
        return rc;
    memcpy(out, TW_WEBHOOK_SECRET_PREFIX, sizeof(TW_WEBHOOK_SECRET_PREFIX) - 1);
    tw_b64url(raw, sizeof(raw), out + sizeof(TW_WEBHOOK_SECRET_PREFIX) - 1);
    OPENSSL_cleanse(raw, sizeof(raw));
    return TW_OK;
}

int tw_webhook_signature(const char *const *secrets, size_t n, int64_t t, const char *body,
                         size_t body_len, char *out, size_t cap, struct tw_err *err)
{
    char stamp[24];
    size_t used, slen;
    unsigned char *msg;
    int k = snprintf(out, cap, "t=%lld", (long long)t), rc = TW_OK;

    if (n == 0)
        return tw_err_set(err, TW_EINVAL, "webhook: no secret to sign with");
    if (k < 0 || (size_t)k >= cap)
        return tw_err_set(err, TW_EINVAL, "webhook: signature buffer too small");
    used = (size_t)k;
    slen = (size_t)snprintf(stamp, sizeof(stamp), "%lld.", (long long)t);
    /* The signed text is "<t>." + body, as one buffer for libcrypto's one-shot HMAC. */
    msg = tw_malloc(slen + body_len + 1);
    if (msg == NULL)
        return tw_err_set(err, TW_ENOMEM, "webhook: out of memory");
    memcpy(msg, stamp, slen);
    memcpy(msg + slen, body, body_len);
    for (size_t i = 0; rc == TW_OK && i < n; i++) {
        unsigned char mac[32];
        unsigned int mlen = sizeof(mac);
        char hex[65];

        if (HMAC(EVP_sha256(), secrets[i], (int)strlen(secrets[i]), msg, slen + body_len, mac,
                 &mlen) == NULL) {
            rc = tw_err_set(err, TW_EINTERNAL, "webhook: HMAC failed");
            break;
        }
        tw_hex(mac, sizeof(mac), hex);
        k = snprintf(out + used, cap - used, ",v1=%s", hex);
        if (k < 0 || (size_t)k >= cap - used)
            rc = tw_err_set(err, TW_EINVAL, "webhook: signature buffer too small");
        else
            used += (size_t)k;
    }
    tw_free(msg);
    return rc;
}

int64_t tw_webhook_backoff(unsigned next)
{
    if (next < 2)
        return 0;
    if (next - 2 >= 12) /* 2^12 s > 1 h */
        return 3600;
    int64_t s = (int64_t)1 << (next - 2);
    return s > 3600 ? 3600 : s;
}
