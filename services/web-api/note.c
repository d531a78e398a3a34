/* Log lines for limits that an attacker can trigger at will: the first
 * time a line, then at most one a minute saying how many more times it
 * happened, so an attack is one line a minute, not a flood. */
#include <stdarg.h>
#include <stdio.h>

#include "pb/clock.h"
#include "pb/log.h"
#include "web.h"

#define NOTE_INTERVAL_MS 60000

void web_note(struct web_note *n, const char *fmt, ...) {
  int64_t now = pb_clock_mono_ms();
  if (n->last_ms && now - n->last_ms < NOTE_INTERVAL_MS) {
    n->more++;
    return;
  }
  char msg[384];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (n->more)
    pb_warn("%s (and %llu more times in the last minute)", msg,
            (unsigned long long)n->more);
  else
    pb_warn("%s", msg);
  n->last_ms = now;
  n->more = 0;
}
