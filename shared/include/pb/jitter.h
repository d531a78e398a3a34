/* Random spread for timers (retries, polls, backoff), so that services and
 * sources that started together do not keep hitting a server together.
 * Drawn from libsodium's generator: no seeding, no state to share. */
#ifndef PB_JITTER_H
#define PB_JITTER_H

#include <stdint.h>

/* A value drawn uniformly from [base - spread, base + spread] (both ends
 * included). A negative spread counts as 0; the ends saturate at the limits
 * of int64_t. */
int64_t pb_jitter(int64_t base, int64_t spread);

#endif
