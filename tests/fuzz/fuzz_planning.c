/* libFuzzer target over the weekly planning importers (ingest_parse_csv,
 * ingest_parse_json): any bytes, both parsers, every error message read. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ingest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int rc, struct weekly_plan *plan,
                  struct import_errors *errs) {
  size_t sum = 0;
  for (size_t i = 0; i < errs->count && i < IMPORT_MAX_ERRORS; i++)
    sum += strlen(errs->items[i].message) + strlen(errs->items[i].where);
  for (size_t i = 0; i < plan->count; i++) {
    const struct weekly_slot *s = &plan->slots[i];
    if (s->wday < 0 || s->wday > 6 || s->start_min < 0 || s->end_min > 1440)
      __builtin_trap();
    sum += strlen(s->ext);
  }
  /* A refused planning says why. */
  if (rc && errs->total == 0)
    __builtin_trap();
  (void)sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static struct import_errors errs;
  struct weekly_plan plan;
  memset(&plan, 0, sizeof plan);
  memset(&errs, 0, sizeof errs);
  int rc = ingest_parse_csv((const char *)data, size, &plan, &errs);
  check(rc, &plan, &errs);
  ingest_plan_cleanup(&plan);
  memset(&plan, 0, sizeof plan);
  memset(&errs, 0, sizeof errs);
  rc = ingest_parse_json((const char *)data, size, &plan, &errs);
  check(rc, &plan, &errs);
  ingest_plan_cleanup(&plan);
  return 0;
}
