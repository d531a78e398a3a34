/* The `ical-ingest --expand FILE --from X --to Y [--tz ZONE] [--status]`
 * command line: the occurrences a calendar file has in a window, one per
 * line, sorted, in the format of the Python reference
 * ("START END UID SUMMARY", UTC date-times or all-day dates), so that the
 * two can be compared byte for byte; --status appends a tab and the status
 * the mapping rules give (MAPPING_RULES, or the built-in ones). */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "calendar.h"
#include "expand_cli.h"
#include "mapping.h"
#include "pb/buf.h"
#include "pb/config.h"
#include "pb/error.h"
#include "pb/tz.h"

/* The output, kept until it can be sorted: every line in one arena (a
 * large feed prints tens of thousands), with their offsets. */
struct lines {
  char *arena;
  size_t used, size;
  size_t *offs;
  size_t n, cap;
  const char *file;
  const struct ingest_rules *rules;
  int rc;
};

static bool num(const char *s, int n, int *out) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

/* YYYYMMDD (midnight UTC) or YYYYMMDDTHHMMSSZ, as the oracle takes them. */
static int parse_instant(const char *s, int64_t *out) {
  int y, mo, d, h = 0, mi = 0, se = 0;
  size_t n = strlen(s);
  if (n != 8 && !(n == 16 && s[8] == 'T' && s[15] == 'Z'))
    return PB_EPARSE;
  if (!num(s, 4, &y) || !num(s + 4, 2, &mo) || !num(s + 6, 2, &d))
    return PB_EPARSE;
  if (n == 16 &&
      (!num(s + 9, 2, &h) || !num(s + 11, 2, &mi) || !num(s + 13, 2, &se)))
    return PB_EPARSE;
  if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
      se > 59)
    return PB_ERANGE;
  int64_t days = pb_days_from_civil(y, mo, d);
  int cy, cm, cd;
  pb_civil_from_days(days, &cy, &cm, &cd);
  if (cd != d)
    return PB_ERANGE; /* 20230231 */
  *out = days * 86400 + h * 3600 + mi * 60 + se;
  return 0;
}

static void format_utc(int64_t t, char *buf, size_t len) {
  int64_t days = t / 86400, secs = t % 86400;
  if (secs < 0) {
    secs += 86400;
    days--;
  }
  int y, m, d;
  pb_civil_from_days(days, &y, &m, &d);
  snprintf(buf, len, "%04d%02d%02dT%02d%02d%02dZ", y, m, d, (int)(secs / 3600),
           (int)(secs / 60 % 60), (int)(secs % 60));
}

static int on_occurrence(const struct cal_occurrence *o, void *ud) {
  struct lines *l = ud;
  char start[24], end[24];
  if (o->all_day) {
    snprintf(start, sizeof start, "%08d", o->start_date);
    snprintf(end, sizeof end, "%08d", o->end_date);
  } else {
    format_utc(o->start, start, sizeof start);
    format_utc(o->end, end, sizeof end);
  }
  const char *status = "";
  if (l->rules) {
    bool ignore = false;
    enum pb_presence p = ingest_map_status(l->rules, &o->ev, &ignore);
    status = ignore ? "ignore" : pb_presence_name(p);
    if (!status)
      status = "none";
  }
  const char *uid = o->ev.uid ? o->ev.uid : "";
  const char *summary = o->ev.summary ? o->ev.summary : "";
  size_t need = strlen(start) + strlen(end) + strlen(uid) + strlen(summary) +
                strlen(status) + 8;
  /* No cap of their own: the reader's max_occurrences bounds the lines. */
  int rc = pb_array_grow(&l->arena, &l->size, l->used + need, 1, SIZE_MAX);
  if (!rc)
    rc = pb_array_grow(&l->offs, &l->cap, l->n + 1, sizeof *l->offs, SIZE_MAX);
  if (rc)
    return l->rc = rc;
  char *line = l->arena + l->used;
  int n = snprintf(line, need, "%s %s %s %s%s%s", start, end, uid, summary,
                   l->rules ? "\t" : "", status);
  /* One occurrence per output line, as the oracle prints it. */
  for (char *p = line; *p; p++)
    if (*p == '\n')
      *p = ' ';
  l->offs[l->n++] = l->used;
  l->used += (size_t)n + 1;
  return 0;
}

static void on_warning(int line, const char *msg, void *ud) {
  const char *file = *(const char *const *)ud;
  if (line > 0)
    fprintf(stderr, "ical-ingest: %s:%d: warning: %s\n", file, line, msg);
  else
    fprintf(stderr, "ical-ingest: %s: warning: %s\n", file, msg);
}

static int cmp_line(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The whole file (or standard input for "-"), refused above `max`. */
static int read_file(const char *path, size_t max, char **out, size_t *len) {
  int fd =
      strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    fprintf(stderr, "ical-ingest: %s: %s\n", path, strerror(errno));
    return PB_EIO;
  }
  struct stat st;
  size_t cap = 65536;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
    if ((uint64_t)st.st_size > max) {
      fprintf(stderr,
              "ical-ingest: %s: %lld bytes, larger than SOURCE_MAX_BYTES "
              "(%zu)\n",
              path, (long long)st.st_size, max);
      if (fd != STDIN_FILENO)
        close(fd);
      return PB_ETOOBIG;
    }
    cap = (size_t)st.st_size + 4096; /* room to see the end without growing */
  }
  char *buf = malloc(cap);
  size_t n = 0;
  int rc = buf ? 0 : PB_ENOMEM;
  while (rc == 0) {
    /* Past `max` the loop stops below: a read never needs more. */
    if (n + 1 >= cap && (rc = pb_array_grow(&buf, &cap, n + 2, 1, SIZE_MAX)))
      break;
    ssize_t r = read(fd, buf + n, cap - n - 1);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0) {
      fprintf(stderr, "ical-ingest: %s: %s\n", path, strerror(errno));
      rc = PB_EIO;
    } else if (r == 0) {
      break;
    } else if ((n += (size_t)r) > max) {
      fprintf(stderr, "ical-ingest: %s: larger than SOURCE_MAX_BYTES (%zu)\n",
              path, max);
      rc = PB_ETOOBIG;
    }
  }
  if (fd != STDIN_FILENO)
    close(fd);
  if (rc) {
    free(buf);
    return rc;
  }
  *out = buf;
  *len = n;
  return 0;
}

int ingest_expand_cli(const struct pb_config *cfg,
                      const struct pb_tz *default_tz, const char *file,
                      const char *from, const char *to, const char *zone,
                      bool status, bool all) {
  struct cal_options opts = {.tz = default_tz,
                             .warn = on_warning,
                             .warn_ud = &file,
                             .include_ignored = all};
  if (!from || !to || parse_instant(from, &opts.from) ||
      parse_instant(to, &opts.to) || opts.to < opts.from) {
    fprintf(stderr, "ical-ingest: --expand needs --from and --to as YYYYMMDD "
                    "or YYYYMMDDTHHMMSSZ (UTC), --from not after --to\n");
    return 2;
  }
  struct pb_tz *tz = NULL;
  if (zone) {
    if (pb_tz_load(zone, &tz)) {
      fprintf(stderr, "ical-ingest: --tz %s: not a known IANA time zone\n",
              zone);
      return 2;
    }
    opts.tz = tz;
  }
  struct lines l = {.file = file};
  struct ingest_rules *rules = NULL;
  char err[600];
  int exit_code = 1;
  char *buf = NULL;
  size_t len = 0;
  if (status) {
    if (ingest_rules_from_config(cfg, &rules, err, sizeof err)) {
      fprintf(stderr, "ical-ingest: %s\n", err);
      exit_code = 2;
      goto out;
    }
    l.rules = rules;
  }
  if (read_file(file, (size_t)pb_config_int(cfg, PB_CFG_SOURCE_MAX_BYTES), &buf,
                &len))
    goto out;
  int rc = cal_expand(buf, len, &opts, on_occurrence, &l, err, sizeof err);
  if (rc || l.rc) {
    fprintf(stderr, "ical-ingest: %s: %s\n", file,
            rc && err[0] ? err : pb_strerror(rc ? rc : l.rc));
    goto out;
  }
  /* The offsets become pointers, now that the arena no longer moves. */
  char **sorted = l.n ? malloc(l.n * sizeof *sorted) : NULL;
  if (l.n && !sorted) {
    fprintf(stderr, "ical-ingest: %s: out of memory\n", file);
    goto out;
  }
  for (size_t i = 0; i < l.n; i++)
    sorted[i] = l.arena + l.offs[i];
  if (l.n)
    qsort(sorted, l.n, sizeof *sorted, cmp_line);
  for (size_t i = 0; i < l.n; i++)
    puts(sorted[i]);
  free(sorted);
  exit_code = fflush(stdout) == 0 ? 0 : 1;
out:
  free(l.arena);
  free(l.offs);
  free(buf);
  ingest_rules_free(rules);
  pb_tz_free(tz);
  return exit_code;
}
