/* The earlier tool's CSV weekly planning (RFC 4180 quoting):
 *   extension,day,start_time,end_time,status
 *   2000,lundi,08:00,12:00,business_trip
 * Columns are found by their header name; status is optional (available).
 * ';' separated files (spreadsheets in French locales) are accepted too. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ingest.h"
#include "pb/bus.h"
#include "pb/error.h"

#define MAX_FIELDS 16
#define FIELD_MAX 256
#define MAX_LINES 200000

enum { COL_EXT, COL_DAY, COL_START, COL_END, COL_STATUS, COL_COUNT };
static const char *const col_names[COL_COUNT] = {
    "extension", "day", "start_time", "end_time", "status"};

struct reader {
  const char *p, *end;
  int line;
  char sep;
};

/* Reads one record into fields; returns the field count, 0 at the end,
 * or -1 for a malformed record (unterminated quote, too many fields). */
static int read_record(struct reader *r, char fields[][FIELD_MAX],
                       int *start_line, const char **why) {
  if (r->p >= r->end)
    return 0;
  int n = 0;
  size_t len = 0;
  bool quoted = false, was_quoted = false, overflow = false;
  *start_line = ++r->line;
  fields[0][0] = '\0';
  while (r->p < r->end) {
    char c = *r->p++;
    if (quoted) {
      if (c == '"') {
        if (r->p < r->end && *r->p == '"') {
          r->p++;
        } else {
          quoted = false;
          continue;
        }
      } else if (c == '\n') {
        r->line++;
      }
    } else if (c == '"' && len == 0 && !was_quoted) {
      quoted = was_quoted = true;
      continue;
    } else if (c == r->sep || c == '\n' || c == '\r') {
      if (c == '\r' && r->p < r->end && *r->p == '\n')
        r->p++;
      fields[n][len] = '\0';
      n++;
      len = 0;
      was_quoted = false;
      if (c != r->sep)
        break;
      if (n == MAX_FIELDS) {
        *why = "too many fields";
        while (r->p < r->end && *r->p != '\n')
          r->p++;
        return -1;
      }
      fields[n][0] = '\0';
      continue;
    }
    if (len + 1 >= FIELD_MAX) {
      overflow = true;
      continue;
    }
    fields[n][len++] = c;
  }
  if (quoted) {
    *why = "a quoted field is not closed";
    return -1;
  }
  if (r->p >= r->end && (len > 0 || n == 0 || r->p[-1] == r->sep)) {
    fields[n][len] = '\0';
    n++;
  }
  if (overflow) {
    *why = "a field is longer than 255 bytes";
    return -1;
  }
  return n;
}

static void trim(char *s) {
  size_t n = strlen(s), i = 0;
  while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
    s[--n] = '\0';
  while (s[i] == ' ' || s[i] == '\t')
    i++;
  if (i)
    memmove(s, s + i, n - i + 1);
}

static bool blank(char fields[][FIELD_MAX], int n) {
  for (int i = 0; i < n; i++)
    if (fields[i][0])
      return false;
  return true;
}

int ingest_parse_csv(const char *buf, size_t len, struct weekly_plan *plan,
                     struct import_errors *errs) {
  char fields[MAX_FIELDS][FIELD_MAX];
  struct reader r = {buf, buf + len, 0, ','};
  if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
    r.p += 3; /* UTF-8 byte order mark from spreadsheet exports */
  const char *nl = memchr(r.p, '\n', (size_t)(r.end - r.p));
  size_t hlen = nl ? (size_t)(nl - r.p) : (size_t)(r.end - r.p);
  if (!memchr(r.p, ',', hlen) && memchr(r.p, ';', hlen))
    r.sep = ';';

  int cols[COL_COUNT] = {-1, -1, -1, -1, -1};
  int line, n;
  const char *why = "";
  do {
    n = read_record(&r, fields, &line, &why);
  } while (n > 0 && blank(fields, n));
  if (n <= 0) {
    ingest_error_add(errs, n < 0 ? line : 0, "",
                     n < 0 ? "header: %s" : "the file is empty%s", why);
    return PB_EPARSE;
  }
  for (int i = 0; i < n; i++) {
    trim(fields[i]);
    int c = 0;
    for (; c < COL_COUNT; c++)
      if (strcasecmp(fields[i], col_names[c]) == 0)
        break;
    if (c == COL_COUNT)
      ingest_error_add(errs, line, "", "unknown column '%s' (expected %s)",
                       fields[i], "extension,day,start_time,end_time,status");
    else if (cols[c] >= 0)
      ingest_error_add(errs, line, "", "column '%s' appears twice", fields[i]);
    else
      cols[c] = i;
  }
  for (int c = 0; c < COL_STATUS; c++)
    if (cols[c] < 0)
      ingest_error_add(errs, line, "",
                       "the header has no '%s' column "
                       "(expected extension,day,start_time,end_time,status)",
                       col_names[c]);
  if (errs->total)
    return PB_EPARSE;

  size_t records = 0;
  while ((n = read_record(&r, fields, &line, &why)) != 0) {
    if (++records > MAX_LINES) {
      ingest_error_add(errs, line, "", "more than %d lines", MAX_LINES);
      break;
    }
    if (n < 0) {
      ingest_error_add(errs, line, "", "%s", why);
      continue;
    }
    if (blank(fields, n) || fields[0][0] == '#')
      continue;
    /* The required columns must be there; a missing trailing status is
     * the default status. */
    int need = 0;
    for (int c = 0; c < COL_STATUS; c++)
      if (cols[c] > need)
        need = cols[c];
    if (n <= need) {
      ingest_error_add(errs, line, "", "expected at least %d fields, found %d",
                       need + 1, n);
      continue;
    }
    for (int i = 0; i < n; i++)
      trim(fields[i]);
    struct weekly_slot s = {.line = line, .status = PB_PRESENCE_AVAILABLE};
    size_t before = errs->total;
    const char *ext = fields[cols[COL_EXT]];
    if (!pb_topic_id_valid(ext))
      ingest_error_add(errs, line, "",
                       "extension '%s' must be 1-64 characters "
                       "of [A-Za-z0-9_-]",
                       ext);
    else
      pb_strlcpy(s.ext, ext, sizeof s.ext);
    if (ingest_parse_day(fields[cols[COL_DAY]], &s.wday))
      ingest_error_add(errs, line, "",
                       "unknown day '%s' (lundi..dimanche or "
                       "monday..sunday)",
                       fields[cols[COL_DAY]]);
    if (ingest_parse_hhmm(fields[cols[COL_START]], false, &s.start_min))
      ingest_error_add(errs, line, "", "start_time '%s' is not HH:MM",
                       fields[cols[COL_START]]);
    if (ingest_parse_hhmm(fields[cols[COL_END]], true, &s.end_min))
      ingest_error_add(errs, line, "", "end_time '%s' is not HH:MM",
                       fields[cols[COL_END]]);
    const char *st = cols[COL_STATUS] >= 0 && cols[COL_STATUS] < n
                         ? fields[cols[COL_STATUS]]
                         : "";
    if (*st && pb_presence_parse(st, &s.status))
      ingest_error_add(errs, line, "", "unknown status '%s' (valid: %s)", st,
                       pb_presence_valid_list());
    if (errs->total == before)
      ingest_check_slot(&s, errs, "");
    if (errs->total == before && ingest_plan_add(plan, &s))
      return PB_ENOMEM;
  }
  return ingest_plan_finish(plan, errs, false);
}
