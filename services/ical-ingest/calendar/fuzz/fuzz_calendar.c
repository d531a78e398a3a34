/* libFuzzer target over the calendar reader: any bytes through cal_expand
 * (reading, recurrence, time zones, replacements) over a wide window, every
 * string handed out touched. Built with clang -fsanitize=fuzzer,address,
 * undefined when PB_FUZZ=ON; replay.c runs it over files otherwise. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "calendar.h"
#include "pb/tz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t touch(const char *s) {
  return s ? strlen(s) : 0;
}

static int on_occurrence(const struct cal_occurrence *o, void *ud) {
  size_t *sum = ud;
  *sum += touch(o->ev.uid) + touch(o->ev.summary) + touch(o->ev.location) +
          touch(o->ev.description) + touch(o->ev.categories) +
          touch(o->ev.busystatus);
  /* The contract: start <= end, and all-day dates are real dates. */
  if (o->start > o->end)
    __builtin_trap();
  if (o->all_day && (o->start_date < 101 || o->end_date < o->start_date))
    __builtin_trap();
  return 0;
}

static void on_warning(int line, const char *msg, void *ud) {
  size_t *sum = ud;
  *sum += (size_t)line + strlen(msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static struct pb_tz *tz;
  if (!tz && pb_tz_load("Europe/Paris", &tz))
    return 0;
  size_t sum = 0;
  char err[256];
  struct cal_options o = {
      .tz = tz,
      .from = 631152000, /* 1990-01-01 */
      .to = 2208988800,  /* 2040-01-01 */
      .max_occurrences = 20000,
      .warn = on_warning,
      .warn_ud = &sum,
      .include_ignored = size & 1,
  };
  int rc = cal_expand((const char *)data, size, &o, on_occurrence, &sum, err,
                      sizeof err);
  if (rc && !err[0])
    __builtin_trap(); /* every refusal names its reason */
  return 0;
}
