/* Content lines of an iCalendar stream (RFC 5545 §3.1): unfolding (a CRLF
 * or bare LF followed by one space or tab continues the line), then
 * name *(";" param) ":" value. Lines are handed out one at a time, pointing
 * into the input when they are not folded, so reading costs no copy. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "calendar_int.h"
#include "pb/buf.h"

void cal_lines_init(struct cal_lines *r, const char *buf, size_t len) {
  memset(r, 0, sizeof *r);
  r->buf = buf;
  r->len = len;
  /* A UTF-8 byte order mark is not part of the first line. */
  if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
    r->pos = 3;
}

void cal_lines_cleanup(struct cal_lines *r) {
  free(r->scratch);
  r->scratch = NULL;
  r->scratch_cap = 0;
}

bool cal_name_is(const char *name, size_t len, const char *want) {
  return strlen(want) == len && strncasecmp(name, want, len) == 0;
}

static bool name_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* The end of the physical line that starts at `p` (its '\n' or the end of
 * the input), and the length of its content without a trailing '\r'. */
static size_t physical_end(const struct cal_lines *r, size_t p,
                           size_t *content) {
  const char *nl = memchr(r->buf + p, '\n', r->len - p);
  size_t end = nl ? (size_t)(nl - r->buf) : r->len;
  size_t c = end;
  if (c > p && r->buf[c - 1] == '\r')
    c--;
  *content = c;
  return end;
}

/* Copies the logical line [start, stop) without its folds into scratch. */
static bool unfold(struct cal_lines *r, size_t start, size_t stop,
                   size_t *outlen) {
  size_t n = 0;
  size_t p = start;
  while (p < stop) {
    size_t content;
    size_t end = physical_end(r, p, &content);
    if (content > stop)
      content = stop;
    size_t piece = content - p;
    if (n + piece > CAL_LINE_MAX)
      return false;
    if (pb_array_grow(&r->scratch, &r->scratch_cap, n + piece + 1, 1,
                      CAL_LINE_MAX + 1))
      return false;
    memcpy(r->scratch + n, r->buf + p, piece);
    n += piece;
    /* Skip the line break and the one blank that marks the fold. */
    p = end + 1;
    if (p < stop)
      p++;
  }
  *outlen = n;
  return true;
}

/* Splits "NAME;PARAMS:VALUE" at the first ':' that is not quoted. */
static void split(const char *s, size_t len, struct cal_line *out) {
  size_t i = 0;
  while (i < len && name_char(s[i]))
    i++;
  out->name = s;
  out->name_len = i;
  if (i == 0 || i == len || (s[i] != ';' && s[i] != ':')) {
    out->malformed = true;
    return;
  }
  size_t pstart = i;
  bool quoted = false;
  for (; i < len; i++) {
    if (s[i] == '"')
      quoted = !quoted;
    else if (s[i] == ':' && !quoted)
      break;
  }
  if (i == len) {
    out->malformed = true;
    return;
  }
  out->params = s + pstart;
  out->params_len = i - pstart;
  out->value = s + i + 1;
  out->value_len = len - i - 1;
}

int cal_lines_next(struct cal_lines *r, cal_want_fn *want, void *ud,
                   struct cal_line *out) {
  for (;;) {
    if (r->pos >= r->len)
      return 0;
    memset(out, 0, sizeof *out);
    size_t start = r->pos, content;
    size_t end = physical_end(r, start, &content);
    out->line = ++r->lineno;
    /* Gather the continuation lines. */
    size_t stop = content;
    bool folded = false;
    size_t next = end + 1;
    while (next < r->len && (r->buf[next] == ' ' || r->buf[next] == '\t')) {
      folded = true;
      end = physical_end(r, next, &content);
      stop = content;
      r->lineno++;
      next = end + 1;
    }
    r->pos = next < r->len ? next : r->len;
    if (stop == start)
      continue; /* a blank line */
    out->raw.off = (uint32_t)start;
    out->raw.len = (uint32_t)(stop - start);

    /* The name, from the first physical line when it is there whole. */
    size_t first_end;
    physical_end(r, start, &first_end);
    size_t i = start;
    while (i < first_end && name_char(r->buf[i]))
      i++;
    bool name_whole = i < first_end || !folded;
    if (name_whole && want && !want(r->buf + start, i - start, ud)) {
      out->name = r->buf + start;
      out->name_len = i - start;
      /* Not wanted, but a line that is no content line is still told. */
      out->malformed = i == start || i == first_end ||
                       (r->buf[i] != ':' && r->buf[i] != ';');
      return 1;
    }
    if (!folded) {
      split(r->buf + start, stop - start, out);
      return 1;
    }
    size_t n;
    if (!unfold(r, start, stop, &n)) {
      out->name = r->buf + start;
      out->name_len = i - start;
      out->too_long = true;
      return 1;
    }
    split(r->scratch, n, out);
    if (!name_whole && want && !out->malformed &&
        !want(out->name, out->name_len, ud))
      out->value = NULL;
    return 1;
  }
}

bool cal_param(const char *params, size_t len, const char *name, char *buf,
               size_t buflen) {
  size_t nlen = strlen(name), i = 0;
  while (i < len) {
    if (params[i] != ';') {
      i++;
      continue;
    }
    i++;
    size_t k = i;
    while (k < len && params[k] != '=' && params[k] != ';')
      k++;
    bool match = k - i == nlen && strncasecmp(params + i, name, nlen) == 0;
    if (k >= len || params[k] != '=') {
      i = k;
      continue;
    }
    k++;
    size_t vstart = k, vend = k;
    bool quoted = k < len && params[k] == '"';
    if (quoted) {
      vstart = ++k;
      while (k < len && params[k] != '"')
        k++;
      vend = k;
      if (k < len)
        k++;
    }
    /* Further values of a list, up to the next parameter. */
    while (k < len && params[k] != ';') {
      if (params[k] == '"') {
        k++;
        while (k < len && params[k] != '"')
          k++;
      }
      if (k < len)
        k++;
    }
    if (!quoted)
      vend = k;
    if (match) {
      size_t n = vend - vstart;
      if (buflen == 0)
        return true;
      if (n >= buflen)
        n = buflen - 1;
      memcpy(buf, params + vstart, n);
      buf[n] = '\0';
      return true;
    }
    i = k;
  }
  return false;
}
