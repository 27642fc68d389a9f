/*
 * Webhook signatures, secrets and retry gaps (webhook/sign.c). The expected MACs were computed
 * independently with Python's hmac module:
 *   hmac.new(b"whsec_test", b"1780000000." + body, hashlib.sha256).hexdigest()
 */
#include <criterion/criterion.h>
#include <string.h>

#include "webhook/webhook.h"

static const char body[] = "{\"event\":\"task.done\",\"delivery\":\"d\"}";

Test(webhook, signature_with_one_and_two_secrets)
{
    const char *one[] = { "whsec_test" };
    const char *two[] = { "whsec_test", "whsec_old" };
    struct tw_err err;
    char sig[400];

    cr_assert_eq(
        tw_webhook_signature(one, 1, 1780000000, body, strlen(body), sig, sizeof(sig), &err), TW_OK,
        "%s", err.msg);
    cr_assert_str_eq(sig, "t=1780000000,v1=f87f945306e6d0d76ce2c20db88f36cba29ac21052fbb22e94323"
                          "62a4d2f4f99");
    cr_assert_eq(
        tw_webhook_signature(two, 2, 1780000000, body, strlen(body), sig, sizeof(sig), &err), TW_OK,
        "%s", err.msg);
    cr_assert_str_eq(sig, "t=1780000000,v1=f87f945306e6d0d76ce2c20db88f36cba29ac21052fbb22e94323"
                          "62a4d2f4f99,v1=1ac212ec92ab81ec03ca0fd14c0b091c86d6fa89d33b551977f27"
                          "216e8ef9a41");
}

Test(webhook, signature_refuses_no_secret_and_small_buffers)
{
    const char *one[] = { "whsec_test" };
    struct tw_err err;
    char sig[40];

    cr_assert_eq(tw_webhook_signature(one, 0, 1, body, strlen(body), sig, sizeof(sig), &err),
                 TW_EINVAL);
    cr_assert_eq(tw_webhook_signature(one, 1, 1, body, strlen(body), sig, sizeof(sig), &err),
                 TW_EINVAL);
}

Test(webhook, secrets_are_prefixed_random_base64url)
{
    char a[TW_WEBHOOK_SECRET_LEN], b[TW_WEBHOOK_SECRET_LEN];
    struct tw_err err;

    cr_assert_eq(tw_webhook_secret_new(a, &err), TW_OK);
    cr_assert_eq(tw_webhook_secret_new(b, &err), TW_OK);
    cr_assert_eq(strlen(a), TW_WEBHOOK_SECRET_LEN - 1);
    cr_assert_eq(strncmp(a, "whsec_", 6), 0);
    cr_assert_eq(strspn(a + 6, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
                 43u);
    cr_assert_str_neq(a, b);
}

Test(webhook, backoff_doubles_from_one_second_to_an_hour)
{
    cr_assert_eq(tw_webhook_backoff(2), 1);
    cr_assert_eq(tw_webhook_backoff(3), 2);
    cr_assert_eq(tw_webhook_backoff(4), 4);
    cr_assert_eq(tw_webhook_backoff(13), 2048);
    cr_assert_eq(tw_webhook_backoff(14), 3600);
    cr_assert_eq(tw_webhook_backoff(1000), 3600);
}
