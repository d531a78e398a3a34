/* The rules every weekly planning obeys, whatever its format: day names
 * (French or English), HH:MM times, a known status, an extension usable in a
 * topic, no overlap within one extension's day. */
#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ingest.h"
#include "pb/buf.h"
#include "pb/bus.h"
#include "pb/error.h"

void ingest_error_add(struct import_errors *errs, int line, const char *where,
                      const char *fmt, ...) {
  errs->total++;
  if (errs->count >= IMPORT_MAX_ERRORS)
    return;
  struct import_error *e = &errs->items[errs->count++];
  e->line = line;
  pb_strlcpy(e->where, where ? where : "", sizeof e->where);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(e->message, sizeof e->message, fmt, ap);
  va_end(ap);
}

int ingest_plan_add(struct weekly_plan *plan, const struct weekly_slot *slot) {
  int rc = pb_array_grow(&plan->slots, &plan->cap, plan->count + 1,
                         sizeof *plan->slots, SIZE_MAX / sizeof *plan->slots);
  if (rc)
    return rc;
  plan->slots[plan->count++] = *slot;
  return 0;
}

void ingest_plan_cleanup(struct weekly_plan *plan) {
  free(plan->slots);
  memset(plan, 0, sizeof *plan);
}

static const struct {
  const char *name;
  int wday;
} days[] = {
    {"sunday", 0},   {"monday", 1}, {"tuesday", 2},  {"wednesday", 3},
    {"thursday", 4}, {"friday", 5}, {"saturday", 6}, {"dimanche", 0},
    {"lundi", 1},    {"mardi", 2},  {"mercredi", 3}, {"jeudi", 4},
    {"vendredi", 5}, {"samedi", 6}, {"sun", 0},      {"mon", 1},
    {"tue", 2},      {"wed", 3},    {"thu", 4},      {"fri", 5},
    {"sat", 6},      {"dim", 0},    {"lun", 1},      {"mar", 2},
    {"mer", 3},      {"jeu", 4},    {"ven", 5},      {"sam", 6},
};

int ingest_parse_day(const char *text, int *wday) {
  char buf[16];
  while (isspace((unsigned char)*text))
    text++;
  size_t n = strlen(text);
  while (n && isspace((unsigned char)text[n - 1]))
    n--;
  if (n == 0 || n >= sizeof buf)
    return PB_EINVAL;
  memcpy(buf, text, n);
  buf[n] = '\0';
  if (n > 1 && buf[n - 1] == '.')
    buf[--n] = '\0'; /* "lun." */
  if (n == 1 && buf[0] >= '1' && buf[0] <= '7') {
    *wday = (buf[0] - '0') % 7; /* ISO 8601: 1 = Monday, 7 = Sunday */
    return 0;
  }
  for (size_t i = 0; i < sizeof days / sizeof days[0]; i++) {
    if (strcasecmp(buf, days[i].name) == 0) {
      *wday = days[i].wday;
      return 0;
    }
  }
  return PB_EINVAL;
}

int ingest_parse_hhmm(const char *text, bool allow_24, int *minutes) {
  while (isspace((unsigned char)*text))
    text++;
  int h = 0, m = 0, i = 0;
  if (!isdigit((unsigned char)text[i]))
    return PB_EINVAL;
  h = text[i++] - '0';
  if (isdigit((unsigned char)text[i]))
    h = h * 10 + (text[i++] - '0');
  if (text[i] != ':' && text[i] != 'h' && text[i] != 'H')
    return PB_EINVAL;
  i++;
  if (!isdigit((unsigned char)text[i]) || !isdigit((unsigned char)text[i + 1]))
    return PB_EINVAL;
  m = (text[i] - '0') * 10 + (text[i + 1] - '0');
  i += 2;
  while (isspace((unsigned char)text[i]))
    i++;
  if (text[i] || m > 59 || h > 24 || (h == 24 && (m != 0 || !allow_24)))
    return PB_EINVAL;
  *minutes = h * 60 + m;
  return 0;
}

void ingest_check_slot(const struct weekly_slot *s, struct import_errors *errs,
                       const char *where) {
  if (s->end_min <= s->start_min)
    ingest_error_add(errs, s->line, where,
                     "end time %02d:%02d is not after start time %02d:%02d "
                     "(split a slot that crosses midnight in two)",
                     s->end_min / 60, s->end_min % 60, s->start_min / 60,
                     s->start_min % 60);
}

static int cmp_slot(const void *a, const void *b) {
  const struct weekly_slot *x = a, *y = b;
  int c = strcmp(x->ext, y->ext);
  if (c)
    return c;
  if (x->wday != y->wday)
    return x->wday - y->wday;
  if (x->start_min != y->start_min)
    return x->start_min - y->start_min;
  return x->line - y->line;
}

static const char *const day_names[] = {"Sunday",    "Monday",   "Tuesday",
                                        "Wednesday", "Thursday", "Friday",
                                        "Saturday"};

int ingest_plan_finish(struct weekly_plan *plan, struct import_errors *errs,
                       bool json) {
  if (errs->total)
    return PB_EPARSE;
  if (plan->count == 0) {
    ingest_error_add(errs, 0, "",
                     "the planning has no slot: nothing to import");
    return PB_EPARSE;
  }
  qsort(plan->slots, plan->count, sizeof *plan->slots, cmp_slot);
  for (size_t i = 1; i < plan->count; i++) {
    const struct weekly_slot *a = &plan->slots[i - 1], *b = &plan->slots[i];
    if (strcmp(a->ext, b->ext) != 0 || a->wday != b->wday ||
        b->start_min >= a->end_min)
      continue;
    char where[32] = "";
    if (json)
      snprintf(where, sizeof where, "slot %d", b->line);
    ingest_error_add(errs, json ? 0 : b->line, where,
                     "slot %02d:%02d-%02d:%02d of extension %s on %s overlaps "
                     "%s %d",
                     b->start_min / 60, b->start_min % 60, b->end_min / 60,
                     b->end_min % 60, b->ext, day_names[b->wday],
                     json ? "slot" : "the slot of line", a->line);
  }
  return errs->total ? PB_EPARSE : 0;
}
