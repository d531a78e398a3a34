/* cdr/list and cdr/search ("Query CDR List", "Search Specific CDR", P-Series
 * API v1.0): page and page_size (default and maximum 10,000, as documented),
 * start_time/end_time as Unix seconds or in the PBX's display format (the
 * simulator's: MM/DD/YYYY HH:mm:ss, UTC), call_from, call_to, status. The
 * User-Agent, method and access token are already checked by sim_http.c. */
#define _GNU_SOURCE /* timegm */
#include "sim.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define PAGE_MAX 2147483647L
#define TIME_MAX 4102444800L /* 2100-01-01 */
#define NUMBER_ARG_MAX 64

/* Documented parameters the simulator does not model: refused with 40002
 * naming them, so a client never believes a filter was applied. */
static const char *const LIST_UNSIMULATED[] = {
    "pin_code", "disposition_code_list", "call_note_remark", "from", NULL};
static const char *const SEARCH_UNSIMULATED[] = {
    "extension_group",       "enable_fuzzy_search", "did",
    "disposition_code_list", "call_note_remark",    NULL};

static bool refuse_unsimulated(struct sim_request *req,
                               const char *const *names,
                               struct sim_reply *out) {
  for (; *names; names++) {
    const char *v = sim_request_arg(req, *names);

    if (v != NULL) {
      sim_reply_param_error(out, *names, v);
      return true;
    }
  }
  return false;
}

/* Unix seconds, or MM/DD/YYYY HH:mm:ss (24 h, UTC), strictly. */
static int parse_time(const char *s, int64_t *out) {
  struct tm tm, back;
  long v;
  int mon, day, year, hh, mm, ss, used = 0;
  time_t t;

  if (sim_parse_long(s, 0, TIME_MAX, &v) == 0) {
    *out = v;
    return 0;
  }
  if (strlen(s) != 19 || s[2] != '/' || s[5] != '/' || s[10] != ' ' ||
      s[13] != ':' || s[16] != ':')
    return -1;
  for (int i = 0; i < 19; i++)
    if (i != 2 && i != 5 && i != 10 && i != 13 && i != 16 &&
        (s[i] < '0' || s[i] > '9'))
      return -1;
  if (sscanf(s, "%2d/%2d/%4d %2d:%2d:%2d%n", &mon, &day, &year, &hh, &mm, &ss,
             &used) != 6 ||
      used != 19)
    return -1;
  memset(&tm, 0, sizeof tm);
  tm.tm_year = year - 1900;
  tm.tm_mon = mon - 1;
  tm.tm_mday = day;
  tm.tm_hour = hh;
  tm.tm_min = mm;
  tm.tm_sec = ss;
  t = timegm(&tm);
  if (t == (time_t)-1 || gmtime_r(&t, &back) == NULL ||
      back.tm_year != year - 1900 || back.tm_mon != mon - 1 ||
      back.tm_mday != day || back.tm_hour != hh || back.tm_min != mm ||
      back.tm_sec != ss)
    return -1;
  *out = (int64_t)t;
  return 0;
}

static bool paging(struct sim_request *req, struct sim_reply *out,
                   struct sim_cdr_query *q) {
  const char *page = sim_request_arg(req, "page");
  const char *size = sim_request_arg(req, "page_size");

  q->page = 1;
  q->page_size = SIM_CDR_PAGE_SIZE;
  q->status = -1;
  q->sort = SIM_CDR_SORT_ID;
  if (page != NULL && sim_parse_long(page, 1, PAGE_MAX, &q->page) != 0) {
    sim_reply_param_error(out, "page", page);
    return false;
  }
  if (size != NULL &&
      sim_parse_long(size, 1, SIM_CDR_PAGE_SIZE, &q->page_size) != 0) {
    sim_reply_param_error(out, "page_size", size);
    return false;
  }
  return true;
}

static void reply_cdrs(struct sim *sim, const struct sim_cdr_query *q,
                       struct sim_reply *out) {
  size_t total;
  json_t *data = sim_calls_query(sim->calls, q, &total);

  sim_reply_success(out, json_pack("{s:I,s:o}", "total_number",
                                   (json_int_t)total, "data", data));
}

static const struct {
  const char *name;
  enum sim_cdr_sort sort;
} SORTS[] = {
    {"id", SIM_CDR_SORT_ID},
    {"uid", SIM_CDR_SORT_UID},
    {"time", SIM_CDR_SORT_TIME},
    {"duration", SIM_CDR_SORT_DURATION},
    {"ring_duration", SIM_CDR_SORT_RING},
    {"talk_duration", SIM_CDR_SORT_TALK},
    {"disposition", SIM_CDR_SORT_DISPOSITION},
    {"call_type", SIM_CDR_SORT_CALL_TYPE},
    /* documented; always "" here, so the order is by id */
    {"src_trunk", SIM_CDR_SORT_ID},
    {"dst_trunk", SIM_CDR_SORT_ID},
    {"did_number", SIM_CDR_SORT_ID},
    {"dod_number", SIM_CDR_SORT_ID},
    {"src_addr", SIM_CDR_SORT_ID},
};

void sim_api_cdr_list(struct sim *sim, struct sim_request *req,
                      struct sim_reply *out) {
  struct sim_cdr_query q = {0};
  const char *sort = sim_request_arg(req, "sort_by");
  const char *order = sim_request_arg(req, "order_by");
  size_t i;

  if (!paging(req, out, &q) || refuse_unsimulated(req, LIST_UNSIMULATED, out))
    return;
  if (sort != NULL) {
    for (i = 0; i < sizeof SORTS / sizeof SORTS[0]; i++)
      if (strcmp(sort, SORTS[i].name) == 0)
        break;
    if (i == sizeof SORTS / sizeof SORTS[0]) {
      sim_reply_param_error(out, "sort_by", sort);
      return;
    }
    q.sort = SORTS[i].sort;
  }
  if (order != NULL) {
    if (strcmp(order, "desc") == 0) {
      q.descending = true;
    } else if (strcmp(order, "asc") != 0) {
      sim_reply_param_error(out, "order_by", order);
      return;
    }
  }
  reply_cdrs(sim, &q, out);
}

static bool number_arg(struct sim_request *req, const char *name,
                       const char **dst, struct sim_reply *out) {
  const char *v = sim_request_arg(req, name);

  if (v != NULL && (*v == '\0' || strlen(v) > NUMBER_ARG_MAX)) {
    sim_reply_param_error(out, name, v);
    return false;
  }
  *dst = v;
  return true;
}

void sim_api_cdr_search(struct sim *sim, struct sim_request *req,
                        struct sim_reply *out) {
  struct sim_cdr_query q = {0};
  const char *start = sim_request_arg(req, "start_time");
  const char *end = sim_request_arg(req, "end_time");
  const char *status = sim_request_arg(req, "status");

  if (!paging(req, out, &q) || refuse_unsimulated(req, SEARCH_UNSIMULATED, out))
    return;
  if (start != NULL) {
    if (parse_time(start, &q.start) != 0) {
      sim_reply_param_error(out, "start_time", start);
      return;
    }
    q.has_start = true;
  }
  if (end != NULL) {
    if (parse_time(end, &q.end) != 0 || (q.has_start && q.end < q.start)) {
      sim_reply_param_error(out, "end_time", end);
      return;
    }
    q.has_end = true;
  }
  if (!number_arg(req, "call_from", &q.call_from, out) ||
      !number_arg(req, "call_to", &q.call_to, out))
    return;
  if (status != NULL && (q.status = sim_cdr_status_parse(status)) < 0) {
    sim_reply_param_error(out, "status", status);
    return;
  }
  reply_cdrs(sim, &q, out);
}
