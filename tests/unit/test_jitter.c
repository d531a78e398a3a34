/* pb_jitter: every draw within the bounds, both ends reachable, no spread
 * means no change, the ends saturate. */
#include <stdbool.h>
#include <stdint.h>

#include "check.h"
#include "pb/jitter.h"

static void within_bounds(void) {
  bool seen[11] = {false};
  int outside = 0;
  /* 11 values, 5000 draws: a value never drawn has probability ~1e-205. */
  for (int i = 0; i < 5000; i++) {
    int64_t v = pb_jitter(100, 5);
    if (v < 95 || v > 105)
      outside++;
    else
      seen[v - 95] = true;
  }
  CHECK_INT(outside, 0);
  for (int i = 0; i < 11; i++)
    CHECK(seen[i]);
}

static void no_spread(void) {
  CHECK_INT(pb_jitter(42, 0), 42);
  CHECK_INT(pb_jitter(42, -3), 42);
  CHECK_INT(pb_jitter(-7, 0), -7);
}

static void wide_and_saturating(void) {
  const int64_t big = INT64_C(1) << 40; /* past randombytes_uniform's 32 bits */
  bool below = false, above = false;
  for (int i = 0; i < 200; i++) {
    int64_t v = pb_jitter(0, big);
    CHECK(v >= -big && v <= big);
    below |= v < 0;
    above |= v > 0;
  }
  CHECK(below && above);
  for (int i = 0; i < 200; i++) {
    CHECK(pb_jitter(INT64_MAX - 1, 10) >= INT64_MAX - 11);
    CHECK(pb_jitter(INT64_MIN + 1, 10) <= INT64_MIN + 11);
  }
  (void)pb_jitter(0, INT64_MAX); /* the whole range: must not trap */
}

int main(void) {
  RUN(within_bounds);
  RUN(no_spread);
  RUN(wide_and_saturating);
  return CHECK_DONE();
}
