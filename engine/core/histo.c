/* Fixed-bucket histograms (see histo.h). */
#include "core/histo.h"

#include <math.h>
#include <string.h>

const double tw_histo_http_s[] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                   0.5,   1,      2.5,   5,    10,    30,   60 };
const unsigned tw_histo_http_n = sizeof(tw_histo_http_s) / sizeof(tw_histo_http_s[0]);
const double tw_histo_run_s[] = { 0.1, 0.5, 1, 5, 10, 30, 60, 300, 600, 1800, 3600, 7200 };
const unsigned tw_histo_run_n = sizeof(tw_histo_run_s) / sizeof(tw_histo_run_s[0]);
const double tw_histo_late_s[] = { 0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600 };
const unsigned tw_histo_late_n = sizeof(tw_histo_late_s) / sizeof(tw_histo_late_s[0]);

void tw_histo_init(struct tw_histo *h, const double *bounds, unsigned n)
{
    memset(h, 0, sizeof(*h));
    h->bounds = bounds;
    h->n = n > TW_HISTO_MAX_BOUNDS ? TW_HISTO_MAX_BOUNDS : n;
}

void tw_histo_observe(struct tw_histo *h, double v)
{
    unsigned i;

    if (isnan(v))
        return;
    for (i = 0; i < h->n && v > h->bounds[i]; i++)
        ;
    h->counts[i]++;
    h->count++;
    h->sum += v;
}
