/* When a PBX site counts as down, and how long the gateway waits before it
 * tries again: the rules alone, without I/O, so that they are unit-tested
 * (tests/unit/test_gw_outage.c). pbx_client.c applies them to each answer,
 * apply_outbox.c to each failed extension/update (docs/gateway.md, "What a
 * failure looks like"). */
#include <limits.h>

#include "gateway.h"
#include "pb/jitter.h"

enum gw_outage_step gw_outage_note(bool down, int *server_errors,
                                   enum gw_answer answer) {
  switch (answer) {
  case GW_ANSWER_API:
    *server_errors = 0;
    return down ? GW_OUTAGE_BACK : GW_OUTAGE_SAME;
  case GW_ANSWER_SERVER_ERROR:
    if (*server_errors < INT_MAX)
      (*server_errors)++;
    /* Down already (a probe met it): still down. Up: one 5xx is one
     * request's failure, several in a row are the PBX's. */
    return down || *server_errors >= GW_DOWN_AFTER_SERVER_ERRORS
               ? GW_OUTAGE_DOWN
               : GW_OUTAGE_SAME;
  case GW_ANSWER_NONE:
    return GW_OUTAGE_DOWN;
  }
  return GW_OUTAGE_SAME;
}

/* `first` doubling per failure up to `max`. */
static int64_t doubling(int failures, int64_t first, int64_t max) {
  int64_t d = first;
  for (int i = 1; i < failures && d < max; i++)
    d *= 2;
  return d > max ? max : d;
}

int64_t gw_probe_base_ms(int failures) {
  return doubling(failures, GW_PROBE_FIRST_MS, GW_PROBE_MAX_MS);
}

int64_t gw_probe_delay_ms(int failures) {
  /* Up to 10 % more, so that sites do not probe in lock-step. */
  int64_t d = gw_probe_base_ms(failures), half = d / 20;
  return pb_jitter(d + half, half);
}

int64_t gw_retry_base_ms(int attempts, int64_t max_ms) {
  return doubling(attempts, 1000, max_ms > 0 ? max_ms : 1000);
}

int64_t gw_retry_delay_ms(int attempts, int64_t max_ms) {
  /* +-25 % so a whole site's failures do not retry in step. */
  int64_t base = gw_retry_base_ms(attempts, max_ms);
  return pb_jitter(base, base / 4);
}
