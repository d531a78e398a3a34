/* Small helpers every simulator module uses: the single clock entry point,
 * randomness from getrandom(), and strict number parsing (whole string,
 * range-checked). */
#include "sim.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

int64_t sim_clock_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sim_clock_wall(char *buf, size_t size) {
  struct timespec ts;
  struct tm tm;
  char base[32];

  if (size == 0)
    return;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  if (strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm) == 0)
    base[0] = '\0';
  snprintf(buf, size, "%s.%03ldZ", base, ts.tv_nsec / 1000000);
}

int sim_random_bytes(void *buf, size_t n) {
  unsigned char *p = buf;

  while (n > 0) {
    ssize_t got = getrandom(p, n, 0);
    if (got < 0) {
      if (errno == EINTR)
        continue;
      return -1;
    }
    p += got;
    n -= (size_t)got;
  }
  return 0;
}

/* A xorshift generator seeded once from getrandom(): the error-rate coin
 * needs no cryptographic quality, only independence between requests. */
static pthread_mutex_t rng_mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t rng_state;

double sim_random_unit(void) {
  uint64_t x;

  pthread_mutex_lock(&rng_mu);
  if (rng_state == 0 &&
      (sim_random_bytes(&rng_state, sizeof rng_state) != 0 || rng_state == 0))
    rng_state = (uint64_t)sim_clock_ms() | 1u;
  x = rng_state;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  rng_state = x;
  pthread_mutex_unlock(&rng_mu);
  return (double)(x >> 11) / 9007199254740992.0; /* 2^53 */
}

int sim_parse_long(const char *s, long min, long max, long *out) {
  const char *p;
  char *end;
  long v;

  if (s == NULL || *s == '\0')
    return -1;
  p = (*s == '-') ? s + 1 : s;
  if (*p == '\0')
    return -1;
  for (; *p; p++)
    if (*p < '0' || *p > '9')
      return -1;
  errno = 0;
  v = strtol(s, &end, 10);
  if (errno != 0 || *end != '\0' || v < min || v > max)
    return -1;
  *out = v;
  return 0;
}

int sim_parse_double(const char *s, double min, double max, double *out) {
  char *end;
  double v;

  if (s == NULL || *s == '\0' || *s == ' ')
    return -1;
  errno = 0;
  v = strtod(s, &end);
  if (errno != 0 || *end != '\0' || !isfinite(v) || v < min || v > max)
    return -1;
  *out = v;
  return 0;
}
