/*
 * A one-second memory of tokens read from the store, so that a client sending many requests
 * costs one token lookup per second instead of one per request (bench/api: the lookup was
 * ~10 % of a GET /tasks/{id}). Only what the store holds is remembered (id, the secret's MAC,
 * level, chains); the presented secret is still MACed and compared in constant time on every
 * request, so no secret is kept. Revocation (taskwheel token revoke, another process) takes
 * effect within TOKEN_TTL_MS.
 *
 * Direct-mapped by a hash of the id, fixed size, owned by the api (tw_token_cache_destroy).
 */
#include <string.h>

#include "api/api_int.h"
#include "core/clock.h"
#include "core/mem.h"

#define SLOTS 256
#define TOKEN_TTL_MS 1000

struct slot {
    struct tw_token tok; /* tok.chains owned; id[0] == '\0': empty */
    uint64_t expires_ms;
};

struct tw_token_cache {
    struct slot slot[SLOTS];
};

static struct slot *slot_of(struct tw_token_cache *c, const char *id)
{
    uint32_t h = 2166136261u;

    for (; *id != '\0'; id++)
        h = (h ^ (unsigned char)*id) * 16777619u;
    return &c->slot[h % SLOTS];
}

static bool copy_token(struct tw_token *dst, const struct tw_token *src)
{
    *dst = *src;
    dst->desc = NULL;
    dst->chains = tw_calloc(src->n_chains ? src->n_chains : 1, sizeof(*dst->chains));
    if (dst->chains == NULL)
        return false;
    memcpy(dst->chains, src->chains, src->n_chains * sizeof(*dst->chains));
    return true;
}

int tw_token_cached_get(struct tw_api *api, const char *id, struct tw_token *out,
                        struct tw_err *err)
{
    uint64_t now = tw_clock_mono_ms();
    struct slot *s;
    int rc;

    if (api->tokens == NULL)
        api->tokens = tw_calloc(1, sizeof(*api->tokens));
    if (api->tokens == NULL)
        return tw_store_token_get(api->d.store, id, out, err);
    s = slot_of(api->tokens, id);
    if (s->tok.id[0] != '\0' && strcmp(s->tok.id, id) == 0 && now < s->expires_ms)
        return copy_token(out, &s->tok) ? TW_OK : tw_err_set(err, TW_ENOMEM, "out of memory");
    rc = tw_store_token_get(api->d.store, id, out, err);
    if (rc != TW_OK)
        return rc;
    tw_free(s->tok.chains);
    memset(&s->tok, 0, sizeof(s->tok));
    if (copy_token(&s->tok, out))
        s->expires_ms = now + TOKEN_TTL_MS;
    else
        memset(&s->tok, 0, sizeof(s->tok));
    return TW_OK;
}

void tw_token_cache_destroy(struct tw_api *api)
{
    size_t i;

    if (api->tokens == NULL)
        return;
    for (i = 0; i < SLOTS; i++)
        tw_free(api->tokens->slot[i].tok.chains);
    tw_free(api->tokens);
    api->tokens = NULL;
}
