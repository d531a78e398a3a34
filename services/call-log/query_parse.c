/* The call log's requests read whole (docs/call-log.md): `search` and
 * `stats` checked field by field before anything runs, the first bad field
 * named in the error. Fields the contract does not list are refused too, so
 * a misspelt filter is not silently ignored. */
#include <stdio.h>
#include <string.h>

#include "calllog.h"
#include "pb/bus.h"

static bool one_of(const char *key, const char *const *keys) {
  for (; *keys; keys++)
    if (strcmp(key, *keys) == 0)
      return true;
  return false;
}

static int check_fields(const json_t *req, const char *const *allowed,
                        char *err, size_t errlen) {
  const char *key;
  json_t *v;
  if (!json_is_object(req)) {
    snprintf(err, errlen, "the request must be a JSON object");
    return PB_EINVAL;
  }
  /* jansson's iteration wants a non-const object; nothing is changed. */
  json_t *obj = json_incref((json_t *)(uintptr_t)req);
  int rc = 0;
  json_object_foreach(obj, key, v) {
    if (strcmp(key, "transaction") != 0 && !one_of(key, allowed)) {
      snprintf(err, errlen, "field '%s' is not known here", key);
      rc = PB_EINVAL;
      break;
    }
  }
  json_decref(obj);
  return rc;
}

static int get_number(const json_t *req, struct calllog_filter *f, char *err,
                      size_t errlen) {
  const char *n;
  int rc = pb_json_get_str(req, "number", false, &n, err, errlen);
  if (rc == PB_ENOTFOUND)
    return 0;
  if (rc)
    return rc;
  if (!pb_phone_number_clean(n, f->number, sizeof f->number)) {
    snprintf(err, errlen,
             "field 'number' must be a phone number: an optional '+' then "
             "1-32 of 0-9 * # (spaces, dots, dashes and brackets ignored)");
    return PB_EINVAL;
  }
  /* 6+ digits (no * or #): a suffix, leading '+' and zeros dropped, so a
   * national 0123456789 finds the international +33123456789. */
  const char *d = f->number[0] == '+' ? f->number + 1 : f->number;
  bool digits_only = strspn(d, "0123456789") == strlen(d);
  while (*d == '0')
    d++;
  if (digits_only && strlen(d) >= CALLLOG_SUFFIX_DIGITS) {
    f->match = CALLLOG_MATCH_SUFFIX;
    calllog_number_rev(d, f->key_lo, sizeof f->key_lo);
    snprintf(f->key_hi, sizeof f->key_hi, "%s:", f->key_lo); /* ':' > '9' */
  } else {
    f->match = CALLLOG_MATCH_EXACT;
    calllog_number_rev(f->number, f->key_lo, sizeof f->key_lo);
  }
  return 0;
}

static int get_id(const json_t *req, const char *key, char *out, size_t len,
                  char *err, size_t errlen) {
  const char *v;
  int rc = pb_json_get_str(req, key, false, &v, err, errlen);
  if (rc == PB_ENOTFOUND)
    return 0;
  if (rc)
    return rc;
  if (!pb_topic_id_valid(v) || strlen(v) >= len) {
    snprintf(err, errlen, "field '%s' must be 1-64 characters of [A-Za-z0-9_-]",
             key);
    return PB_EINVAL;
  }
  snprintf(out, len, "%s", v);
  return 0;
}

static int get_filter(const json_t *req, struct calllog_filter *f,
                      bool times_required, char *err, size_t errlen) {
  const char *v;
  int rc;
  memset(f, 0, sizeof *f);
  if ((rc = get_id(req, "site", f->site, sizeof f->site, err, errlen)) ||
      (rc = get_number(req, f, err, errlen)) ||
      (rc = get_id(req, "ext", f->ext, sizeof f->ext, err, errlen)))
    return rc;
  rc = pb_json_get_str(req, "direction", false, &v, err, errlen);
  if (rc == 0) {
    enum pb_call_direction d;
    if (pb_call_direction_parse(v, &d) || d == PB_DIR_NONE) {
      snprintf(err, errlen,
               "field 'direction' must be inbound, outbound or internal");
      return PB_EINVAL;
    }
    f->direction = pb_call_direction_name(d);
  } else if (rc != PB_ENOTFOUND) {
    return rc;
  }
  rc = pb_json_get_str(req, "status", false, &v, err, errlen);
  if (rc == 0) {
    enum pb_cdr_status s;
    if (pb_cdr_status_parse(v, &s)) {
      snprintf(err, errlen,
               "field 'status' must be answered, no_answer, busy, failed or "
               "voicemail");
      return PB_EINVAL;
    }
    f->status = pb_cdr_status_name(s);
  } else if (rc != PB_ENOTFOUND) {
    return rc;
  }
  if ((rc = pb_json_get_time(req, "from", times_required, &f->from, err,
                             errlen)) ||
      (rc = pb_json_get_time(req, "to", times_required, &f->to, err, errlen)))
    return rc;
  if (f->from >= 0 && f->to >= 0 && f->from > f->to) {
    snprintf(err, errlen, "field 'from' is after 'to'");
    return PB_EINVAL;
  }
  return 0;
}

static int get_range(const json_t *req, const char *key, int64_t def,
                     int64_t min, int64_t max, int64_t *out, char *err,
                     size_t errlen) {
  int rc = pb_json_get_int(req, key, false, out, err, errlen);
  if (rc == PB_ENOTFOUND) {
    *out = def;
    return 0;
  }
  if (rc)
    return rc;
  if (*out < min || *out > max) {
    snprintf(err, errlen, "field '%s' must be %lld to %lld", key,
             (long long)min, (long long)max);
    return PB_EINVAL;
  }
  return 0;
}

int calllog_search_parse(const json_t *req, struct calllog_search *out,
                         char *err, size_t errlen) {
  static const char *const fields[] = {
      "site", "number", "ext",  "direction", "status",
      "from", "to",     "page", "page_size", NULL};
  int rc;
  memset(out, 0, sizeof *out);
  if ((rc = check_fields(req, fields, err, errlen)) ||
      (rc = get_filter(req, &out->f, false, err, errlen)) ||
      (rc = get_range(req, "page", 1, 1, 1000000, &out->page, err, errlen)) ||
      (rc = get_range(req, "page_size", 50, 1, CALLLOG_PAGE_SIZE_MAX,
                      &out->page_size, err, errlen)))
    return rc;
  return 0;
}

int calllog_stats_parse(const json_t *req, struct calllog_stats_req *out,
                        char *err, size_t errlen) {
  static const char *const fields[] = {"site",   "ext",  "number", "direction",
                                       "status", "from", "to",     "group",
                                       "top",    NULL};
  static const char *const groups[] = {"none", "day", "week", "month"};
  static const int64_t shortest[] = {0, 23 * 3600, 7 * 86400 - 3600,
                                     28 * 86400 - 3600};
  int rc;
  const char *g;
  memset(out, 0, sizeof *out);
  if ((rc = check_fields(req, fields, err, errlen)) ||
      (rc = get_filter(req, &out->f, true, err, errlen)) ||
      (rc = get_range(req, "top", 10, 1, CALLLOG_TOP_MAX, &out->top, err,
                      errlen)))
    return rc;
  rc = pb_json_get_str(req, "group", false, &g, err, errlen);
  if (rc && rc != PB_ENOTFOUND)
    return rc;
  out->group = CALLLOG_GROUP_NONE;
  if (rc == 0) {
    size_t i = 0;
    while (i < 4 && strcmp(g, groups[i]) != 0)
      i++;
    if (i == 4) {
      snprintf(err, errlen, "field 'group' must be day, week, month or none");
      return PB_EINVAL;
    }
    out->group = (enum calllog_group)i;
  }
  /* A bound on the answer's size: periods are whole days, weeks or months
   * (the shortest a day or month can be, across a DST change). */
  if (out->group != CALLLOG_GROUP_NONE &&
      (out->f.to - out->f.from) / shortest[out->group] + 2 >
          CALLLOG_PERIODS_MAX) {
    snprintf(err, errlen,
             "field 'group': from..to holds more than %d periods; use a "
             "larger group or a shorter period",
             CALLLOG_PERIODS_MAX);
    return PB_EINVAL;
  }
  return 0;
}

int calllog_get_parse(const json_t *req, const char *default_site,
                      struct calllog_get *out, char *err, size_t errlen) {
  static const char *const fields[] = {"site", "call_id", NULL};
  const char *id;
  int rc;
  memset(out, 0, sizeof *out);
  if ((rc = check_fields(req, fields, err, errlen)) ||
      (rc = get_id(req, "site", out->site, sizeof out->site, err, errlen)))
    return rc;
  if (!out->site[0])
    snprintf(out->site, sizeof out->site, "%s", default_site);
  rc = pb_json_get_str(req, "call_id", true, &id, err, errlen);
  if (rc)
    return rc;
  if (!*id || strlen(id) >= sizeof out->call_id) {
    snprintf(err, errlen, "field 'call_id' must be 1-%zu characters",
             sizeof out->call_id - 1);
    return PB_EINVAL;
  }
  snprintf(out->call_id, sizeof out->call_id, "%s", id);
  return 0;
}
