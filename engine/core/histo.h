/*
 * A fixed-bucket histogram for metrics (Prometheus style): observations are counted in the
 * first bucket whose upper bound is >= the value, or in the overflow (+Inf) bucket. Counts are
 * kept per bucket (not cumulative); whoever renders them accumulates. No allocation: a
 * histogram is a plain value that can be copied (the bounds are borrowed, normally static).
 */
#ifndef TW_CORE_HISTO_H
#define TW_CORE_HISTO_H

#include <stdint.h>

#define TW_HISTO_MAX_BOUNDS 16

struct tw_histo {
    const double *bounds;                     /* n ascending upper bounds, borrowed */
    unsigned n;                               /* <= TW_HISTO_MAX_BOUNDS */
    uint64_t counts[TW_HISTO_MAX_BOUNDS + 1]; /* per bucket; counts[n] is the +Inf overflow */
    uint64_t count;                           /* observations */
    double sum;                               /* their sum */
};

/* Empty histogram over bounds (n of them, ascending; n is capped at TW_HISTO_MAX_BOUNDS). */
void tw_histo_init(struct tw_histo *h, const double *bounds, unsigned n);

/* Count one observation v (NaN is ignored; negative values go to the first bucket). */
void tw_histo_observe(struct tw_histo *h, double v);

/* Bucket bounds shared by the engine's metrics, in seconds. */
extern const double tw_histo_http_s[]; /* request latency: 1 ms .. 60 s */
extern const unsigned tw_histo_http_n;
extern const double tw_histo_run_s[]; /* run duration: 0.1 s .. 2 h */
extern const unsigned tw_histo_run_n;
extern const double tw_histo_late_s[]; /* scheduler lateness: 10 ms .. 1 h */
extern const unsigned tw_histo_late_n;

#endif
