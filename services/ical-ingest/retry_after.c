/* Retry-After (RFC 9110 §10.2.3): how long a calendar server that answered
 * 429 or 503 asks us to wait. The value is read by pb_http_retry_after
 * (delay-seconds or any of the three HTTP-date forms); here it becomes an
 * instant, capped so that no server can park a source for long. */
#include "ingest.h"
#include "pb/error.h"
#include "pb/http.h"

int ingest_retry_after(const char *value, int64_t now, int64_t max_wait,
                       int64_t *at) {
  int64_t wait;
  if (pb_http_retry_after(value, now, &wait))
    return PB_EPARSE;
  /* A date in the past asks for no wait; one too far is capped. */
  *at = now + (wait < max_wait ? wait : max_wait);
  return 0;
}
