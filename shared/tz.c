/* Time zones (pb/tz.h): a reader of the system's TZif files (RFC 8536,
 * versions 1-4) and of their POSIX TZ footer (POSIX.1-2017 §8.3 with the
 * RFC 8536 §3.3.1 extensions); local-to-UTC as RFC 5545 §3.3.5 asks. */
#include "pb/tz.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pb/error.h"

#ifndef PB_TZ_SYSTEM_DIR
#define PB_TZ_SYSTEM_DIR "/usr/share/zoneinfo"
#endif
#define MAX_FILE (256 * 1024) /* real TZif files are under 4 KiB */
#define NAME_LEN 128          /* longest IANA name is about 32 */
#define DAY 86400
/* RFC 8536 §3.2 says utoff SHOULD lie in [-89999, 93599]. We insist, so
 * the UTC instant of any local time lies within that window of it. */
#define OFF_MIN (-89999)
#define OFF_MAX 93599

struct rule {
  char kind; /* 'J': Jn (1-365, no Feb 29), 'D': n (0-365), 'M': Mm.w.d */
  int n, m, w, d;
  int32_t secs; /* local time of the change; v3 allows -167h..167h */
};

struct posix {
  bool valid, has_dst;
  int32_t std_off, dst_off; /* seconds east, unlike POSIX */
  struct rule start, end;
};

struct trans {
  int64_t when;
  int32_t off; /* in force from `when` on (time type already resolved) */
};

struct pb_tz {
  char name[NAME_LEN];
  int32_t off0; /* before the first transition: time type 0 (RFC 8536) */
  struct posix footer;
  size_t n;
  struct trans t[];
};

/* ---- Calendar (Howard Hinnant, "chrono-Compatible Low-Level Date
 * Algorithms"), in int64 so that no int input can overflow. */

static int64_t floordiv(int64_t a, int64_t b) {
  return a / b - (a % b < 0);
}

static int64_t days_from(int64_t y, int64_t m, int64_t d) {
  /* Out-of-range months and days roll over, like mktime. */
  y += floordiv(m - 1, 12);
  m -= floordiv(m - 1, 12) * 12;
  y -= m <= 2;
  int64_t era = floordiv(y, 400);
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

int64_t pb_days_from_civil(int year, int month, int day) {
  return days_from(year, month, day);
}

void pb_civil_from_days(int64_t days, int *year, int *month, int *day) {
  /* Saturate to the days of years INT_MIN and INT_MAX, so that every int
   * year round-trips and the result always fits. */
  const int64_t lo = -784353015833, hi = 784351576776;
  int64_t z = (days < lo ? lo : days > hi ? hi : days) + 719468;
  int64_t era = floordiv(z, 146097);
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  int64_t m = mp < 10 ? mp + 3 : mp - 9;
  *year = (int)(yoe + era * 400 + (m <= 2));
  *month = (int)m;
  *day = (int)(doy - (153 * mp + 2) / 5 + 1);
}

int pb_weekday_from_days(int64_t days) {
  return (int)((days % 7 + 11) % 7); /* day 0 was a Thursday */
}

/* ---- POSIX TZ strings, as found in the TZif footer. */

static bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
static bool is_alpha(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* A decimal in [lo, hi]; NULL on error, so parsers can be chained. */
static const char *num(const char *p, int lo, int hi, int *out) {
  int v = 0;
  if (!p || !is_digit(*p))
    return NULL;
  for (; is_digit(*p); p++)
    if ((v = v * 10 + (*p - '0')) > hi)
      return NULL;
  *out = v;
  return v < lo ? NULL : p;
}

/* [+-]hh[:mm[:ss]] as signed seconds. */
static const char *hms(const char *p, int maxh, int32_t *out) {
  int sign = 1, h = 0, m = 0, s = 0;
  if (p && (*p == '+' || *p == '-'))
    sign = *p++ == '-' ? -1 : 1;
  p = num(p, 0, maxh, &h);
  if (p && *p == ':')
    p = num(p + 1, 0, 59, &m);
  if (p && *p == ':')
    p = num(p + 1, 0, 59, &s);
  if (p)
    *out = sign * (h * 3600 + m * 60 + s);
  return p;
}

/* An abbreviation: "CET" or "<+0330>". Only its extent matters. */
static const char *abbr(const char *p) {
  const char *s = p;
  if (*p == '<') {
    for (s = ++p; is_alpha(*p) || is_digit(*p) || *p == '+' || *p == '-'; p++)
      ;
    return *p == '>' && p > s ? p + 1 : NULL;
  }
  while (is_alpha(*p))
    p++;
  return p - s >= 3 ? p : NULL;
}

static const char *rule(const char *p, struct rule *r) {
  if (!p || *p++ != ',')
    return NULL;
  r->kind = *p;
  if (*p == 'J') {
    p = num(p + 1, 1, 365, &r->n);
  } else if (*p == 'M') {
    p = num(p + 1, 1, 12, &r->m);
    p = p && *p == '.' ? num(p + 1, 1, 5, &r->w) : NULL;
    p = p && *p == '.' ? num(p + 1, 0, 6, &r->d) : NULL;
  } else {
    r->kind = 'D';
    p = num(p, 0, 365, &r->n);
  }
  r->secs = 2 * 3600; /* POSIX default */
  if (p && *p == '/')
    p = hms(p + 1, 167, &r->secs);
  return p;
}

/* "std offset [dst [offset] ,start[/time],end[/time]]". A DST name with no
 * rule leaves the rule to the implementation in POSIX; zic never writes
 * one, so it is rejected rather than guessed. */
static bool parse_posix(const char *s, struct posix *f) {
  int32_t v = 0;
  const char *p = hms(abbr(s), 24, &v);
  memset(f, 0, sizeof *f);
  if (!p)
    return false;
  f->std_off = f->dst_off = -v;
  if (*p) {
    f->has_dst = true;
    if (!(p = abbr(p)))
      return false;
    f->dst_off = f->std_off + 3600;
    if (*p != ',') {
      if (!(p = hms(p, 24, &v)))
        return false;
      f->dst_off = -v;
    }
    p = rule(rule(p, &f->start), &f->end);
    if (!p || *p)
      return false;
  }
  f->valid = true;
  return true;
}

/* The UTC instant of a rule's change in year y, `off` being the offset in
 * force just before it (the rule's time is in that local time). */
static int64_t rule_instant(const struct rule *r, int64_t y, int32_t off) {
  int64_t jan1 = days_from(y, 1, 1), day;
  bool leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
  if (r->kind == 'J') {
    day = jan1 + r->n - 1 + (leap && r->n >= 60);
  } else if (r->kind == 'D') {
    day = jan1 + r->n;
  } else {
    int64_t first = days_from(y, r->m, 1);
    int64_t len = days_from(y, r->m + 1, 1) - first;
    day = first + (r->d - pb_weekday_from_days(first) + 7) % 7 + 7 * (r->w - 1);
    if (day >= first + len) /* week 5 means the last one */
      day -= 7;
  }
  return day * DAY + r->secs - off;
}

/* Offset at t and the next possible change after it. Each year's DST runs
 * from its start to its end, or to next year's end when that comes first
 * (southern hemisphere); t is DST if inside any such period. Five years
 * around t suffice: a v3 time of up to 167h moves a change by a week at
 * most, and "0/0,J365/25" (DST all year) needs adjacent periods to meet. */
static int32_t footer_lookup(const struct posix *f, int64_t t, int64_t *next) {
  int y, m, d;
  bool dst = false;
  *next = INT64_MAX;
  if (!f->has_dst)
    return f->std_off;
  pb_civil_from_days(floordiv(t, DAY), &y, &m, &d);
  int64_t end = rule_instant(&f->end, (int64_t)y - 2, f->dst_off);
  for (int64_t yy = (int64_t)y - 2; yy <= (int64_t)y + 2; yy++) {
    int64_t on = rule_instant(&f->start, yy, f->std_off), this_end = end;
    end = rule_instant(&f->end, yy + 1, f->dst_off);
    int64_t until = on <= this_end ? this_end : end;
    dst |= on <= t && t < until;
    if (on > t && on < *next)
      *next = on;
    if (until > t && until < *next)
      *next = until;
  }
  return dst ? f->dst_off : f->std_off;
}

/* Offset in force at t and the instant of the next possible change. */
static int32_t lookup(const struct pb_tz *tz, int64_t t, int64_t *next) {
  size_t lo = 0, hi;
  *next = INT64_MAX;
  if (!tz) /* a NULL zone is UTC, so callers need no special case */
    return 0;
  for (hi = tz->n; lo < hi;) {
    size_t mid = lo + (hi - lo) / 2;
    if (tz->t[mid].when <= t)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo == tz->n && tz->footer.valid)
    return footer_lookup(&tz->footer, t, next);
  if (lo < tz->n)
    *next = tz->t[lo].when;
  return lo ? tz->t[lo - 1].off : tz->off0;
}

/* ---- TZif files. */

static uint32_t be32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
         (uint32_t)p[3];
}

struct hdr {
  uint32_t isut, isstd, leap, time, type, chars;
  size_t size; /* of the data block that follows the 44-byte header */
};

/* Reads a header and checks that its data block fits in `len` bytes. */
static bool header(const unsigned char *p, size_t len, size_t tsize,
                   struct hdr *h) {
  if (len < 44 || memcmp(p, "TZif", 4) != 0)
    return false;
  h->isut = be32(p + 20), h->isstd = be32(p + 24), h->leap = be32(p + 28);
  h->time = be32(p + 32), h->type = be32(p + 36), h->chars = be32(p + 40);
  /* Each count is capped first, so the sum cannot overflow. */
  if ((h->isut | h->isstd | h->leap | h->time | h->type | h->chars) > MAX_FILE)
    return false;
  h->size = h->time * (tsize + 1) + h->type * 6u + h->chars +
            h->leap * (tsize + 4) + h->isstd + h->isut;
  return h->size <= len - 44;
}

static int parse(const unsigned char *buf, size_t len, struct pb_tz **out) {
  struct hdr h;
  size_t tsize = 4;
  const unsigned char *p = buf;
  if (!header(p, len, 4, &h))
    return PB_EPARSE;
  if (buf[4] >= '2') { /* skip the v1 block: v2+ repeats it in 64 bits */
    p += 44 + h.size;
    tsize = 8;
    if (!header(p, len - (size_t)(p - buf), 8, &h))
      return PB_EPARSE;
  } else if (buf[4] != 0) {
    return PB_EPARSE;
  }
  /* Leap-second ("right/") zones count TAI-like seconds; we count POSIX. */
  if (h.type == 0 || h.type > 256 || h.leap || (h.isut && h.isut != h.type) ||
      (h.isstd && h.isstd != h.type))
    return PB_EPARSE;
  const unsigned char *times = p + 44, *idx = times + h.time * tsize;
  const unsigned char *types = idx + h.time;
  const unsigned char *foot = types + h.type * 6u + h.chars + h.isstd + h.isut;
  struct pb_tz *tz = calloc(1, sizeof *tz + h.time * sizeof tz->t[0]);
  if (!tz)
    return PB_ENOMEM;
  for (uint32_t i = 0; i < h.type; i++) {
    int32_t off = (int32_t)be32(types + 6 * i);
    if (off < OFF_MIN || off > OFF_MAX)
      goto bad;
  }
  tz->off0 = (int32_t)be32(types);
  for (uint32_t i = 0; i < h.time; i++) {
    const unsigned char *w = times + i * tsize;
    int64_t when = tsize == 8 ? (int64_t)((uint64_t)be32(w) << 32 | be32(w + 4))
                              : (int32_t)be32(w);
    if (idx[i] >= h.type || (i && when <= tz->t[i - 1].when))
      goto bad;
    tz->t[i].when = when;
    tz->t[i].off = (int32_t)be32(types + 6 * idx[i]);
  }
  tz->n = h.time;
  if (tsize == 8) { /* footer: "\n" TZ-string "\n", the string may be empty */
    char s[256];
    const unsigned char *nl;
    size_t left = len - (size_t)(foot - buf);
    if (left < 2 || foot[0] != '\n' ||
        !(nl = memchr(foot + 1, '\n', left - 1)) ||
        (size_t)(nl - foot) > sizeof s)
      goto bad;
    memcpy(s, foot + 1, (size_t)(nl - foot - 1));
    s[nl - foot - 1] = '\0';
    if (strlen(s) != (size_t)(nl - foot - 1) ||
        (s[0] && !parse_posix(s, &tz->footer)))
      goto bad;
  }
  *out = tz;
  return PB_OK;
bad:
  free(tz);
  return PB_EPARSE;
}

/* Reads and parses one TZif file. A directory ("Europe") is not found. */
static int load_file(const char *path, const char *name, struct pb_tz **out) {
  struct stat st;
  unsigned char *buf = NULL;
  size_t n = 0;
  int rc = PB_ENOTFOUND, fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return rc;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
    rc = st.st_size > MAX_FILE                            ? PB_EPARSE
         : (buf = malloc((size_t)st.st_size + 1)) != NULL ? PB_OK
                                                          : PB_ENOMEM;
  while (buf && n < (size_t)st.st_size) { /* a short read fails the parse */
    ssize_t r = read(fd, buf + n, (size_t)st.st_size - n);
    if (r <= 0 && !(r < 0 && errno == EINTR))
      break;
    n += r > 0 ? (size_t)r : 0;
  }
  close(fd);
  if (rc == PB_OK && (rc = parse(buf, n, out)) == PB_OK)
    snprintf((*out)->name, sizeof(*out)->name, "%s", name);
  free(buf);
  return rc;
}

static struct pb_tz *builtin_utc(void) {
  struct pb_tz *tz = calloc(1, sizeof *tz);
  if (tz)
    memcpy(tz->name, "UTC", 4);
  return tz;
}

/* Names end up in a path: only [A-Za-z0-9/_+-], no empty component, no
 * leading '/'. '.' is not allowed at all, so ".." cannot occur. */
static bool valid_name(const char *s) {
  if (!s || !*s || *s == '/' || strnlen(s, NAME_LEN) >= NAME_LEN)
    return false;
  for (const char *p = s; *p; p++) {
    if (!is_alpha(*p) && !is_digit(*p) && !strchr("/_+-", *p))
      return false;
    if (*p == '/' && (p[1] == '/' || p[1] == '\0'))
      return false;
  }
  return true;
}

int pb_tz_load(const char *name, struct pb_tz **out) {
  const char *dirs[2] = {getenv("TZDIR"), PB_TZ_SYSTEM_DIR};
  char path[4096];
  int rc = PB_ENOTFOUND;
  if (!out)
    return PB_EINVAL;
  *out = NULL;
  if (!valid_name(name))
    return PB_EINVAL;
  for (int i = 0; i < 2 && rc == PB_ENOTFOUND; i++) {
    int n = dirs[i] && *dirs[i]
                ? snprintf(path, sizeof path, "%s/%s", dirs[i], name)
                : -1;
    if (n > 0 && (size_t)n < sizeof path)
      rc = load_file(path, name, out);
  }
  /* UTC must work on minimal systems without tzdata (containers). */
  if (rc != PB_OK && strcmp(name, "UTC") == 0)
    rc = (*out = builtin_utc()) ? PB_OK : PB_ENOMEM;
  return rc;
}

/* A zone read from a file by path: named after what follows "zoneinfo/"
 * ("/usr/share/zoneinfo/Europe/Paris" is Europe/Paris), else "localtime". */
static int load_path(const char *path, struct pb_tz **out) {
  const char *z = strstr(path, "zoneinfo/");
  const char *name = z && valid_name(z + 9) ? z + 9 : "localtime";
  return load_file(path, name, out);
}

/* The TZ variable as the C library reads it (POSIX.1-2017 §8.3): ":name"
 * or "name" is an IANA zone, ":/path" a TZif file, anything else a POSIX
 * rule ("CET-1CEST,M3.5.0,M10.5.0/3", "UTC0"). */
static int load_tz_env(const char *env, struct pb_tz **out) {
  const char *v = env[0] == ':' ? env + 1 : env;
  if (v[0] == '/')
    return load_path(v, out);
  int rc = valid_name(v) ? pb_tz_load(v, out) : PB_EINVAL;
  if (rc == PB_OK || env[0] == ':')
    return rc;
  struct posix rule;
  if (strnlen(v, NAME_LEN) >= NAME_LEN || !parse_posix(v, &rule))
    return rc;
  struct pb_tz *tz = calloc(1, sizeof *tz);
  if (!tz)
    return PB_ENOMEM;
  snprintf(tz->name, sizeof tz->name, "%s", v);
  tz->off0 = rule.std_off;
  tz->footer = rule;
  *out = tz;
  return PB_OK;
}

int pb_tz_load_system(struct pb_tz **out) {
  char buf[4096], *p = NULL;
  FILE *f;
  ssize_t n;
  if (!out)
    return PB_EINVAL;
  *out = NULL;
  /* TZ wins over the files, as it does for every other program; set but
   * unusable is an error rather than a silent fall back to another zone.
   * An empty TZ (a blank line in an env file) counts as unset. */
  const char *env = getenv("TZ");
  if (env && *env && strcmp(env, ":") != 0)
    return load_tz_env(env, out);
  /* Debian records the zone's name as the first word of /etc/timezone. */
  if ((f = fopen("/etc/timezone", "re")) != NULL) {
    if (fgets(buf, sizeof buf, f)) {
      p = buf + strspn(buf, " \t");
      p[strcspn(p, " \t\r\n")] = '\0';
    }
    fclose(f);
    if (p && pb_tz_load(p, out) == PB_OK)
      return PB_OK;
  }
  /* Else the link names it: "/usr/share/zoneinfo/Europe/Paris". */
  n = readlink("/etc/localtime", buf, sizeof buf - 1);
  if (n > 0 && (size_t)n < sizeof buf - 1) {
    buf[n] = '\0';
    if ((p = strstr(buf, "zoneinfo/")) && pb_tz_load(p + 9, out) == PB_OK)
      return PB_OK;
  }
  if (load_file("/etc/localtime", "localtime", out) == PB_OK)
    return PB_OK;
  return (*out = builtin_utc()) ? PB_OK : PB_ENOMEM;
}

void pb_tz_system_name(char *buf, size_t len) {
  struct pb_tz *tz = NULL;
  if (!buf || len == 0)
    return;
  snprintf(buf, len, "%s", pb_tz_load_system(&tz) == PB_OK ? tz->name : "UTC");
  pb_tz_free(tz);
}

void pb_tz_free(struct pb_tz *tz) {
  free(tz);
}

const char *pb_tz_name(const struct pb_tz *tz) {
  return tz ? tz->name : "UTC";
}

int pb_tz_offset_at(const struct pb_tz *tz, int64_t utc) {
  int64_t next;
  return lookup(tz, utc, &next);
}

void pb_tz_utc_to_local(const struct pb_tz *tz, int64_t utc,
                        struct pb_civil *out) {
  int64_t next, days = utc / DAY;
  int32_t off = lookup(tz, utc, &next);
  /* Offset onto the time of day, not utc: no overflow even at INT64_MIN. */
  int64_t secs = utc % DAY + off;
  days += floordiv(secs, DAY);
  secs -= floordiv(secs, DAY) * DAY;
  pb_civil_from_days(days, &out->year, &out->month, &out->day);
  out->hour = (int)(secs / 3600);
  out->minute = (int)(secs / 60 % 60);
  out->second = (int)(secs % 60);
  out->wday = pb_weekday_from_days(days);
  out->offset = off;
}

/* RFC 5545 §3.3.5. The answer lies in [local - OFF_MAX, local - OFF_MIN];
 * walk that window's constant-offset segments in time order. The first
 * segment holding `local - off` is the first occurrence; if none does, the
 * local time is in a gap and takes the offset of the segment it follows. */
int64_t pb_tz_local_to_utc(const struct pb_tz *tz,
                           const struct pb_civil *local) {
  int64_t l = days_from(local->year, local->month, local->day) * DAY +
              (int64_t)local->hour * 3600 + (int64_t)local->minute * 60 +
              local->second;
  int64_t s = l - OFF_MAX, e;
  int32_t off = lookup(tz, s, &e), before = off;
  for (int i = 0; i < 64; i++) { /* real zones need 2-3 */
    int64_t t = l - off;
    if (t >= s && t < e)
      return t;
    if (t >= e)
      before = off;
    if (e > l - OFF_MIN)
      break;
    s = e;
    off = lookup(tz, s, &e);
  }
  return l - before;
}
