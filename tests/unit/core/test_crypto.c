/*
 * HMAC-SHA256 as the API and the token command use it (core/crypto.c): known answers (computed
 * independently with Python's hmac module), answers that stay right when the key changes back
 * and forth (the keyed template is rebuilt), and agreement with OpenSSL's one-shot HMAC() over
 * many inputs.
 */
#include <criterion/criterion.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/crypto.h"

static void hex_of(const unsigned char *mac, char out[65])
{
    tw_hex(mac, 32, out);
}

static void key_counting(unsigned char key[TW_KEY_BYTES])
{
    int i;

    for (i = 0; i < TW_KEY_BYTES; i++)
        key[i] = (unsigned char)i;
}

Test(crypto, hmac_known_answers_across_key_changes)
{
    static const char fox[] = "The quick brown fox jumps over the lazy dog";
    unsigned char k1[TW_KEY_BYTES], k2[TW_KEY_BYTES], mac[32];
    char hex[65], thousand[1000];
    int round;

    key_counting(k1);
    memset(k2, 0xaa, sizeof(k2));
    memset(thousand, 'x', sizeof(thousand));
    for (round = 0; round < 3; round++) {
        tw_hmac_sha256(k1, fox, strlen(fox), mac);
        hex_of(mac, hex);
        cr_assert_str_eq(hex, "f87ad256151fc7b4c5dffa4adb3ebe911a8eeb8a8ebdee3c2a4a8e5f5ec02c32");
        tw_hmac_sha256(k2, "", 0, mac);
        hex_of(mac, hex);
        cr_assert_str_eq(hex, "63210aee265762634fa3db8c1aa920dcd07d31ec297309580394a21412f83372");
        tw_hmac_sha256(k1, thousand, sizeof(thousand), mac);
        hex_of(mac, hex);
        cr_assert_str_eq(hex, "2ab4ed3956f17094c9b1878953e91ac9eb42cfa0059df2bfbf832bee29eef5c2");
    }
}

Test(crypto, hmac_agrees_with_one_shot_hmac)
{
    unsigned char key[TW_KEY_BYTES], data[300], mine[32], ref[32];
    unsigned int n = 32;
    size_t len;

    key_counting(key);
    for (len = 0; len < sizeof(data); len++) {
        data[len] = (unsigned char)(len * 31 + 7);
        if (len % 3 == 0)
            key[len % TW_KEY_BYTES] ^= (unsigned char)len; /* a new key now and then */
        tw_hmac_sha256(key, data, len, mine);
        HMAC(EVP_sha256(), key, TW_KEY_BYTES, data, len, ref, &n);
        cr_assert_eq(memcmp(mine, ref, 32), 0, "length %zu", len);
    }
}
