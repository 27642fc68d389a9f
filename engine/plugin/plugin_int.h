/*
 * Shared between load.c (checks, dlopen) and registry.c (the container, scanning, printing).
 * Nothing outside engine/plugin/ includes this.
 */
#ifndef TW_PLUGIN_PLUGIN_INT_H
#define TW_PLUGIN_PLUGIN_INT_H

#include "plugin/plugin.h"

struct tw_plugin_registry {
    struct tw_plugin **plugins; /* loaded, in load order; owned */
    size_t n;                   /* loaded */
    size_t cap;                 /* allocated */
    char **refused;             /* refusal messages, in order; owned */
    size_t nrefused;            /* messages */
    size_t refused_cap;         /* allocated */
};

/* Append p (stolen, also on failure: then it is unloaded). TW_OK or TW_ENOMEM. */
int tw_plugin_registry_push(struct tw_plugin_registry *reg, struct tw_plugin *p,
                            struct tw_err *err);

/* Remember (and log) the refusal already in err. */
void tw_plugin_registry_refuse(struct tw_plugin_registry *reg, const struct tw_err *err);

/* Unload and free one plugin (dlclose when it came from a file). NULL is a no-op. */
void tw_plugin_destroy(struct tw_plugin *p);

#endif /* TW_PLUGIN_PLUGIN_INT_H */
