/*
 * Crypto helpers over OpenSSL's libcrypto: random bytes, HMAC-SHA256, SHA-256, base64url and
 * constant-time comparison, plus the server key file. Nothing here is hand-rolled crypto.
 */
#ifndef TW_CORE_CRYPTO_H
#define TW_CORE_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"

#define TW_KEY_BYTES 32

/* Fill buf with n cryptographically random bytes. */
int tw_random_bytes(void *buf, size_t n, struct tw_err *err);

/* out = HMAC-SHA256(key, data). */
void tw_hmac_sha256(const unsigned char key[TW_KEY_BYTES], const void *data, size_t len,
                    unsigned char out[32]);

/* Lowercase hex SHA-256 of data into out (65 bytes). */
void tw_sha256_hex(const void *data, size_t len, char out[65]);

/* Lowercase hex of n bytes into out (2n+1 bytes). */
void tw_hex(const unsigned char *in, size_t n, char *out);

/* base64url without padding of n bytes into out (at least 4*((n+2)/3)+1 bytes). */
void tw_b64url(const unsigned char *in, size_t n, char *out);

/* Equality of two equal-length buffers in time independent of their contents. */
bool tw_ct_equal(const void *a, const void *b, size_t n);

/* A random (version 4) UUID as 36 chars + NUL. */
int tw_uuid4(char out[37], struct tw_err *err);

/*
 * Load the server key from path, creating it (mode 0600, TW_KEY_BYTES random bytes) if it does
 * not exist. The key signs download URLs and hashes token secrets and session keys; losing it
 * invalidates all of them.
 */
int tw_key_load(const char *path, unsigned char key[TW_KEY_BYTES], struct tw_err *err);

#endif
