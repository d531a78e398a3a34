/* pb_jitter over libsodium's randombytes_uniform (see pb/jitter.h). */
#include <sodium.h>
#include <string.h>

#include "pb/jitter.h"

/* Uniform in [0, bound], bound < 2^64 - 1. */
static uint64_t uniform(uint64_t bound) {
  if (bound < UINT32_MAX)
    return randombytes_uniform((uint32_t)(bound + 1));
  /* Rejection sampling over 64 bits, as randombytes_uniform does over 32:
   * the lowest values of the remainder would otherwise come up more often. */
  uint64_t range = bound + 1;
  uint64_t min = (0 - range) % range; /* 2^64 mod range */
  uint64_t r;
  do
    randombytes_buf(&r, sizeof r);
  while (r < min);
  return r % range;
}

int64_t pb_jitter(int64_t base, int64_t spread) {
  if (spread <= 0)
    return base;
  /* randombytes_* are thread-safe only after sodium_init (cheap after the
   * first call); without it there is no random spread to give. */
  if (sodium_init() < 0)
    return base;
  int64_t lo = base < INT64_MIN + spread ? INT64_MIN : base - spread;
  int64_t hi = base > INT64_MAX - spread ? INT64_MAX : base + spread;
  uint64_t width = (uint64_t)hi - (uint64_t)lo;
  if (width == UINT64_MAX) { /* the whole of int64_t */
    uint64_t r;
    randombytes_buf(&r, sizeof r);
    int64_t v;
    memcpy(&v, &r, sizeof v);
    return v;
  }
  return (int64_t)((uint64_t)lo + uniform(width));
}
