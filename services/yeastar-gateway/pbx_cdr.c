/* One finished call as the PBX describes it -> the contract's normalised
 * CDR (struct pb_cdr, pb/payload_call.h). Two shapes come in: a record of
 * cdr/search and cdr/list (P-Series "Search specific CDR": id, uid, time,
 * timestamp, call_from, call_to, duration, ring_duration, talk_duration,
 * disposition, call_type, src_trunk, dst_trunk, recording) and the message
 * of event 30012 "New CDR" (call_id, time_start, call_from, call_to,
 * call_duration, talk_duration, src_trunk_name, dst_trunk_name, status,
 * type, recording). Both are read by the same function, field by field. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gateway.h"
#include "pb/bus.h"
#include "pb/log.h"
#include "pb/tz.h"

/* A call lasting longer than a week is a PBX error, not a call. */
#define MAX_CALL_SECONDS (7 * 86400)

/* The first of `keys` present and not null. */
static const json_t *field(const json_t *j, const char *const *keys) {
  for (; *keys; keys++) {
    const json_t *v = json_object_get(j, *keys);
    if (v && !json_is_null(v))
      return v;
  }
  return NULL;
}

/* A string, or an integer written as one (some firmware sends numbers as
 * JSON integers). "" when absent. */
static bool text_of(const json_t *v, char *out, size_t len) {
  out[0] = '\0';
  if (!v)
    return true;
  if (json_is_integer(v)) {
    snprintf(out, len, "%lld", (long long)json_integer_value(v));
    return true;
  }
  if (!json_is_string(v))
    return false;
  return pb_strlcpy(out, json_string_value(v), len);
}

/* Durations come as integers (30012) or digit strings (older firmware). */
static bool seconds_of(const json_t *v, int64_t *out) {
  if (json_is_integer(v)) {
    *out = (int64_t)json_integer_value(v);
    return *out >= 0 && *out <= MAX_CALL_SECONDS;
  }
  const char *s = json_string_value(v);
  if (!s || !*s || strlen(s) > 9)
    return false;
  int64_t n = 0;
  for (; *s; s++) {
    if (!isdigit((unsigned char)*s))
      return false;
    n = n * 10 + (*s - '0');
  }
  *out = n;
  return n <= MAX_CALL_SECONDS;
}

/* "Alice Martin<2000>" (cdr/list shows the number and the name) -> 2000;
 * spaces are dropped. */
static void number_of(const char *in, char *out, size_t len) {
  const char *lt = strrchr(in, '<');
  const char *gt = lt ? strchr(lt, '>') : NULL;
  const char *p = in, *end = in + strlen(in);
  if (lt && gt) {
    p = lt + 1;
    end = gt;
  }
  size_t n = 0;
  for (; p < end && n + 1 < len; p++)
    if (!isspace((unsigned char)*p))
      out[n++] = *p;
  out[n] = '\0';
}

static bool read_uint(const char **p, int digits_min, int digits_max,
                      int *out) {
  int n = 0, v = 0;
  while (isdigit((unsigned char)**p) && n < digits_max) {
    v = v * 10 + (**p - '0');
    (*p)++;
    n++;
  }
  *out = v;
  return n >= digits_min && !isdigit((unsigned char)**p);
}

int gw_pbx_time_parse(const char *text, enum gw_date_order order,
                      const struct pb_tz *tz, int64_t *out) {
  const char *p = text;
  int a, b, c;
  struct pb_civil t = {0};
  if (!text || !*text)
    return PB_EINVAL;
  /* Unix seconds: what the guide allows besides the display format. */
  size_t digits = strspn(text, "0123456789");
  if (digits == strlen(text)) {
    if (digits > 12)
      return PB_EINVAL;
    *out = strtoll(text, NULL, 10);
    return 0;
  }
  if (!read_uint(&p, 1, 4, &a) || (*p != '/' && *p != '-'))
    return PB_EINVAL;
  char sep = *p++;
  if (!read_uint(&p, 1, 2, &b) || *p++ != sep || !read_uint(&p, 1, 4, &c))
    return PB_EINVAL;
  if (p - text >= 4 && a >= 1000) { /* Year/Month/Day, always */
    t.year = a;
    t.month = b;
    t.day = c;
  } else if (order == GW_DATE_DMY) {
    t.day = a;
    t.month = b;
    t.year = c;
  } else {
    t.month = a;
    t.day = b;
    t.year = c;
  }
  if (*p != ' ' && *p != 'T')
    return PB_EINVAL;
  p++;
  if (!read_uint(&p, 1, 2, &t.hour) || *p++ != ':' ||
      !read_uint(&p, 2, 2, &t.minute))
    return PB_EINVAL;
  if (*p == ':') {
    p++;
    if (!read_uint(&p, 2, 2, &t.second))
      return PB_EINVAL;
  }
  while (*p == ' ')
    p++;
  if (!strcasecmp(p, "AM") || !strcasecmp(p, "PM")) {
    /* The 12-hour display format: 12:05 AM is 00:05. */
    if (t.hour < 1 || t.hour > 12)
      return PB_EINVAL;
    t.hour = t.hour % 12 + (toupper((unsigned char)*p) == 'P' ? 12 : 0);
  } else if (*p) {
    return PB_EINVAL;
  }
  if (t.year < 1970 || t.year > 9999 || t.month < 1 || t.month > 12 ||
      t.day < 1 || t.hour > 23 || t.minute > 59 || t.second > 60)
    return PB_EINVAL;
  int64_t days = pb_days_from_civil(t.year, t.month, t.day);
  int y, m, d;
  pb_civil_from_days(days, &y, &m, &d);
  if (d != t.day || m != t.month) /* 02/30 does not exist */
    return PB_EINVAL;
  *out = tz ? pb_tz_local_to_utc(tz, &t)
            : days * 86400 + t.hour * 3600 + t.minute * 60 + t.second;
  return 0;
}

/* ANSWERED (and the guide's own spelling ANSWERD), NO ANSWER, BUSY,
 * FAILED, VOICEMAIL, in any case. */
static bool status_of(const char *s, enum pb_cdr_status *out) {
  static const struct {
    const char *pbx;
    enum pb_cdr_status status;
  } table[] = {
      {"ANSWERED", PB_CDR_ANSWERED},   {"ANSWERD", PB_CDR_ANSWERED},
      {"NO ANSWER", PB_CDR_NO_ANSWER}, {"NO ANSWERED", PB_CDR_NO_ANSWER},
      {"BUSY", PB_CDR_BUSY},           {"FAILED", PB_CDR_FAILED},
      {"VOICEMAIL", PB_CDR_VOICEMAIL},
  };
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
    if (!strcasecmp(s, table[i].pbx)) {
      *out = table[i].status;
      return true;
    }
  return false;
}

/* Inbound, Outbound, Internal (cdr/search) or inbound... (30012). */
static bool direction_of(const char *s, enum pb_call_direction *out) {
  if (!strcasecmp(s, "Inbound"))
    *out = PB_DIR_INBOUND;
  else if (!strcasecmp(s, "Outbound"))
    *out = PB_DIR_OUTBOUND;
  else if (!strcasecmp(s, "Internal"))
    *out = PB_DIR_INTERNAL;
  else
    return false;
  return true;
}

/* A recording reference is used as a file name (recording/get,
 * RECORDINGS_DIR): printable, no path separator, not hidden. */
bool gw_recording_name_valid(const char *name) {
  size_t n = strlen(name);
  if (n == 0 || n >= PB_TEXT_MAX || name[0] == '.')
    return false;
  for (const char *p = name; *p; p++)
    if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '/' || *p == '\\')
      return false;
  return true;
}

#define FAIL(...)                                                              \
  do {                                                                         \
    snprintf(err, errlen, __VA_ARGS__);                                        \
    return PB_EINVAL;                                                          \
  } while (0)

int gw_cdr_read(const char *site, const json_t *pbx, enum gw_date_order order,
                const struct pb_tz *tz, struct pb_cdr *out, char *err,
                size_t errlen) {
  static const char *const k_id[] = {"uid", "call_id", "callid", NULL};
  static const char *const k_stamp[] = {"timestamp", NULL};
  static const char *const k_time[] = {"time", "time_start", "timestart", NULL};
  static const char *const k_from[] = {"call_from", "callfrom", NULL};
  static const char *const k_to[] = {"call_to", "callto", NULL};
  static const char *const k_dur[] = {"duration", "call_duration",
                                      "callduraction", NULL};
  static const char *const k_ring[] = {"ring_duration", NULL};
  static const char *const k_talk[] = {"talk_duration", "talkduraction", NULL};
  static const char *const k_status[] = {"disposition", "status", NULL};
  static const char *const k_type[] = {"call_type", "type", NULL};
  static const char *const k_src[] = {"src_trunk", "src_trunk_name",
                                      "srctrunkname", NULL};
  static const char *const k_dst[] = {"dst_trunk", "dst_trunk_name",
                                      "desttrunkname", NULL};
  static const char *const k_rec[] = {"recording", NULL};
  char text[PB_TEXT_MAX], src[PB_TEXT_MAX], dst[PB_TEXT_MAX];
  const json_t *v;
  int64_t duration = 0, talk = 0, ring = 0;

  memset(out, 0, sizeof *out);
  if (!json_is_object(pbx))
    FAIL("a CDR must be a JSON object");
  if (!pb_strlcpy(out->site, site, sizeof out->site))
    FAIL("site name too long");
  if (!text_of(field(pbx, k_id), out->call_id, sizeof out->call_id) ||
      !out->call_id[0])
    FAIL("field 'uid' (call id) is missing or not a string");
  for (const char *p = out->call_id; *p; p++)
    if ((unsigned char)*p <= 0x20 || *p == 0x7f)
      FAIL("call id '%s' holds a space or a control character", out->call_id);

  /* Start: the record's Unix timestamp when there is one, else its time in
   * the PBX's display format (its local time). */
  v = field(pbx, k_stamp);
  if (v && json_is_integer(v) && json_integer_value(v) > 0) {
    out->start = (int64_t)json_integer_value(v);
  } else {
    if (!text_of(field(pbx, k_time), text, sizeof text) || !text[0])
      FAIL("call %s: field 'time' is missing", out->call_id);
    if (gw_pbx_time_parse(text, order, tz, &out->start))
      FAIL("call %s: time '%.40s' is not in a date format the gateway reads",
           out->call_id, text);
  }

  if (!text_of(field(pbx, k_from), text, sizeof text))
    FAIL("call %s: field 'call_from' is not a string", out->call_id);
  number_of(text, out->from, sizeof out->from);
  if (!text_of(field(pbx, k_to), text, sizeof text))
    FAIL("call %s: field 'call_to' is not a string", out->call_id);
  number_of(text, out->to, sizeof out->to);
  if (!out->from[0] || !out->to[0])
    FAIL("call %s: no caller or callee number", out->call_id);

  if (!seconds_of(field(pbx, k_dur), &duration))
    FAIL("call %s: field 'duration' is missing or out of range", out->call_id);
  v = field(pbx, k_talk);
  if (v && !seconds_of(v, &talk))
    FAIL("call %s: field 'talk_duration' is out of range", out->call_id);
  if (talk > duration)
    FAIL("call %s: talk_duration %lld exceeds duration %lld", out->call_id,
         (long long)talk, (long long)duration);
  v = field(pbx, k_ring);
  if (v) {
    if (!seconds_of(v, &ring) || ring > duration)
      FAIL("call %s: field 'ring_duration' is out of range", out->call_id);
  } else {
    ring = duration - talk; /* 30012 gives no ring time for the call */
  }

  if (!text_of(field(pbx, k_status), text, sizeof text) ||
      !status_of(text, &out->status))
    FAIL("call %s: unknown status '%.40s'", out->call_id, text);
  if (!text_of(field(pbx, k_type), text, sizeof text) ||
      !direction_of(text, &out->direction))
    FAIL("call %s: unknown call type '%.40s'", out->call_id, text);

  out->ring_seconds = ring;
  out->talk_seconds = talk;
  out->end = out->start + duration;
  out->answer = out->status == PB_CDR_ANSWERED ? out->start + ring : -1;
  if (out->status != PB_CDR_ANSWERED)
    out->talk_seconds = 0;

  /* The trunk on the outside of the call: received on (inbound) or sent
   * out through (outbound). */
  if (!text_of(field(pbx, k_src), src, sizeof src))
    src[0] = '\0';
  if (!text_of(field(pbx, k_dst), dst, sizeof dst))
    dst[0] = '\0';
  const char *trunk = out->direction == PB_DIR_OUTBOUND  ? dst
                      : out->direction == PB_DIR_INBOUND ? src
                                                         : (src[0] ? src : dst);
  pb_strlcpy(out->trunk, trunk, sizeof out->trunk);

  if (text_of(field(pbx, k_rec), text, sizeof text) && text[0]) {
    if (gw_recording_name_valid(text))
      pb_strlcpy(out->recording, text, sizeof out->recording);
    else
      pb_warn("site %s: call %s: recording name '%.60s' is not a plain file "
              "name: left out",
              site, out->call_id, text);
  }

  /* This site's extension: the callee of an inbound call, the caller of
   * the others. */
  const char *ext = out->direction == PB_DIR_INBOUND ? out->to : out->from;
  if (pb_topic_id_valid(ext))
    pb_strlcpy(out->extension, ext, sizeof out->extension);
  return 0;
}

int gw_cdr_from_pbx(const struct gw *gw, const char *site, const json_t *pbx,
                    struct pb_cdr *out, char *err, size_t errlen) {
  return gw_cdr_read(site, pbx, gw->date_order,
                     gw->pbx_tz ? gw->pbx_tz : gw->tz, out, err, errlen);
}

/* ---- cdr/search on the bus -> the PBX's cdr/search ---- */

struct gw_site *gw_request_site(struct gw *gw, const json_t *req, char *err,
                                size_t errlen) {
  const json_t *v = json_object_get(req, "site");
  if (v && !json_is_string(v)) {
    snprintf(err, errlen, "field 'site' must be a string");
    return NULL;
  }
  const char *name = json_string_value(v);
  struct gw_site *s = name ? gw_site_find(gw, name) : gw->sites;
  if (s && (name || !s->next))
    return s;
  if (name)
    snprintf(err, errlen, "no site '%.64s'", name);
  else if (!gw->sites)
    snprintf(err, errlen, "this gateway serves no PBX site");
  else
    snprintf(err, errlen,
             "field 'site' is required (this gateway serves several sites)");
  return NULL;
}

struct search {
  struct gw *gw;
  struct pb_bus_reply *reply;
  int64_t page, page_size;
};

static void on_search(struct gw_site *s, int err, const char *errmsg,
                      json_t *resp, void *ud) {
  struct search *q = ud;
  char why[400];
  if (err) {
    snprintf(why, sizeof why, "site %s: %s", s->name,
             err == PB_ESTATE ? "the site stopped" : errmsg);
    pb_warn("cdr/search: %s", why);
    gw_reply_error(q->gw, q->reply, why, NULL);
    free(q);
    return;
  }
  const json_t *data = json_object_get(resp, "data");
  json_t *cdrs = json_array();
  int64_t skipped = 0;
  size_t i;
  const json_t *item;
  json_array_foreach(data, i, item) {
    struct pb_cdr c;
    if (gw_cdr_from_pbx(q->gw, s->name, item, &c, why, sizeof why)) {
      /* One record the contract cannot hold does not lose the others. */
      pb_warn("site %s: cdr/search: a record skipped: %s", s->name, why);
      skipped++;
      continue;
    }
    json_array_append_new(cdrs, pb_cdr_to_json(&c, q->gw->tz));
  }
  const json_t *total = json_object_get(resp, "total_number");
  gw_reply_ok(q->gw, q->reply,
              json_pack("{s:s,s:I,s:I,s:I,s:I,s:o}", "site", s->name, "page",
                        (json_int_t)q->page, "page_size",
                        (json_int_t)q->page_size, "total",
                        (json_int_t)(json_is_integer(total)
                                         ? json_integer_value(total)
                                         : (json_int_t)json_array_size(cdrs)),
                        "skipped", (json_int_t)skipped, "cdrs", cdrs));
  free(q);
}

/* Times go to the PBX as Unix seconds, which the guide accepts besides its
 * display format: no guess about the PBX's date order or zone. One bus page
 * is one PBX page (at most 1000 records of the PBX's 10,000). */
void gw_cdr_search(struct gw *gw, const json_t *req,
                   struct pb_bus_reply *reply) {
  char err[300];
  int64_t start = -1, end = -1, page = 1, page_size = GW_CDR_PAGE_DEFAULT;
  struct gw_site *s = gw_request_site(gw, req, err, sizeof err);
  if (!s)
    goto refuse;
  if (pb_json_get_time(req, "start", false, &start, err, sizeof err) ||
      pb_json_get_time(req, "end", false, &end, err, sizeof err))
    goto refuse;
  int rc = pb_json_get_int(req, "page", false, &page, err, sizeof err);
  if (rc && rc != PB_ENOTFOUND)
    goto refuse;
  rc = pb_json_get_int(req, "page_size", false, &page_size, err, sizeof err);
  if (rc && rc != PB_ENOTFOUND)
    goto refuse;
  if (page < 1 || page > 1000000) {
    snprintf(err, sizeof err, "field 'page' must be 1 to 1000000");
    goto refuse;
  }
  if (page_size < 1 || page_size > GW_CDR_PAGE_MAX) {
    snprintf(err, sizeof err, "field 'page_size' must be 1 to %d",
             GW_CDR_PAGE_MAX);
    goto refuse;
  }
  if (start >= 0 && end >= 0 && end < start) {
    snprintf(err, sizeof err, "field 'end' is before 'start'");
    goto refuse;
  }
  char query[160];
  int n = snprintf(query, sizeof query, "page=%lld&page_size=%lld",
                   (long long)page, (long long)page_size);
  if (start >= 0)
    n += snprintf(query + n, sizeof query - (size_t)n, "&start_time=%lld",
                  (long long)start);
  if (end >= 0)
    snprintf(query + n, sizeof query - (size_t)n, "&end_time=%lld",
             (long long)end);
  struct search *q = malloc(sizeof *q);
  if (!q) {
    snprintf(err, sizeof err, "out of memory");
    goto refuse;
  }
  *q = (struct search){
      .gw = gw, .reply = reply, .page = page, .page_size = page_size};
  struct gw_request r = {.method = "GET",
                         .endpoint = "cdr/search",
                         .query = query,
                         .cb = on_search,
                         .ud = q};
  if (gw_pbx_submit(s, &r)) {
    free(q);
    snprintf(err, sizeof err, "site %s: the request could not be queued",
             s->name);
    goto refuse;
  }
  return;
refuse:
  gw_reply_error(gw, reply, err, NULL);
}
