/*
 * Fuzz target: the configuration loader (issue #6), tw_config_load_string (core/config.h):
 * libyaml events -> node tree (core/yaml.c) -> key tables (core/config.c). The bytes are
 * copied into a NUL-terminated string (the loader takes a C string).
 *
 * Oracle besides the sanitizers: an accepted config equals itself loaded a second time, and a
 * refusal carries a message.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tw_config *cfg = NULL;
    struct tw_config *again = NULL;
    struct tw_err err;
    char *s = malloc(size + 1);

    if (s == NULL)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    tw_err_clear(&err);
    if (tw_config_load_string(s, "fuzz.yaml", &cfg, &err) == TW_OK) {
        tw_err_clear(&err);
        if (tw_config_load_string(s, "fuzz.yaml", &again, &err) != TW_OK ||
            !tw_config_equal(cfg, again)) {
            fprintf(stderr, "config loaded twice differs or fails the second time: %s\n", err.msg);
            abort();
        }
        tw_config_destroy(again);
        tw_config_destroy(cfg);
    } else if (err.msg[0] == '\0') {
        fprintf(stderr, "config refused without a message\n");
        abort();
    }
    free(s);
    return 0;
}
