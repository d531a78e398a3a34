/* The call log as CSV (GET /api/calls?format=csv, docs/api.md): every page
 * of call-log's `search` for the filters, asked one after the other, up to
 * WEB_CSV_MAX_ROWS rows, built in a buffer capped at CSV_MAX_BYTES. One
 * header line; RFC 4180 quoting; a cell that a spreadsheet would read as a
 * formula (starting with = + - @, a tab or a carriage return) is prefixed
 * with ' (OWASP's CSV injection advice), so "+33123456789" is written
 * '+33123456789. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb/clock.h"
#include "pb/topics.h"
#include "web.h"

#define CSV_PAGE_SIZE 1000
#define CSV_MAX_BYTES (64u * 1024 * 1024)
#define CSV_ROW_MAX (64u * 1024)

static const char *const columns[] = {
    "site",         "call_id", "start",     "answer",   "end",
    "from",         "to",      "direction", "status",   "talk_seconds",
    "ring_seconds", "trunk",   "extension", "recording"};
#define NCOLUMNS (sizeof columns / sizeof columns[0])

struct export {
  json_t *query; /* call-log's search, `page` changed at each step */
  struct pb_buf out;
  int64_t page, rows;
  bool truncated;
};

static void free_export(void *p) {
  struct export *x = p;
  if (!x)
    return;
  json_decref(x->query);
  pb_buf_free(&x->out);
  free(x);
}

/* One cell, quoted when it must be, defused when it could be a formula. */
int web_csv_cell(struct pb_buf *b, const char *s) {
  bool formula = s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' ||
                 s[0] == '\t' || s[0] == '\r';
  bool quote = strpbrk(s, ",\"\r\n") != NULL;
  int rc = 0;
  if (quote)
    rc = pb_buf_add(b, "\"", 1);
  if (!rc && formula)
    rc = pb_buf_add(b, "'", 1);
  for (const char *p = s; !rc && *p; p++)
    rc = *p == '"' ? pb_buf_add(b, "\"\"", 2) : pb_buf_add(b, p, 1);
  if (!rc && quote)
    rc = pb_buf_add(b, "\"", 1);
  return rc;
}

static int add_row(struct pb_buf *b, const json_t *cdr) {
  int rc = 0;
  for (size_t i = 0; i < NCOLUMNS && !rc; i++) {
    if (i)
      rc = pb_buf_add(b, ",", 1);
    json_t *v = json_object_get(cdr, columns[i]);
    char num[32];
    const char *text = "";
    if (json_is_string(v)) {
      text = json_string_value(v);
    } else if (json_is_integer(v)) {
      snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
      text = num;
    }
    /* The PBX's file name stays on the server: only whether there is one. */
    if (strcmp(columns[i], "recording") == 0)
      text = *text ? "yes" : "no";
    if (!rc)
      rc = web_csv_cell(b, text);
  }
  return rc ? rc : pb_buf_add(b, "\r\n", 2);
}

static void send_page(struct web_calls_job *job);

static void finish(struct web_calls_job *job) {
  struct export *x = job->state;
  struct web_response r = {.status = 200};
  char *csv = pb_buf_take(&x->out);
  if (!csv) {
    web_reply_error(&r, 503, "out of memory");
    web_calls_job_finish(job, &r);
    return;
  }
  r.raw = csv;
  r.raw_len = strlen(csv);
  r.content_type = "text/csv; charset=utf-8";
  pb_strlcpy(r.disposition, "attachment; filename=\"calls.csv\"",
             sizeof r.disposition);
  web_calls_job_finish(job, &r);
}

static void page_answered(struct web_calls_job *job, const json_t *answer) {
  struct export *x = job->state;
  const char *status = pb_json_str(answer, "status");
  if (!status || strcmp(status, "ok") != 0) {
    web_calls_job_fail(job, answer);
    return;
  }
  const json_t *data = json_object_get(answer, "data");
  const json_t *cdrs = json_object_get(data, "cdrs");
  if (!json_is_array(cdrs)) {
    struct web_response r = {.status = 200};
    web_reply_error(&r, 502, "call-log's search answer has no 'cdrs' array");
    web_calls_job_finish(job, &r);
    return;
  }
  size_t i;
  json_t *cdr;
  json_array_foreach(cdrs, i, cdr) {
    if (x->rows >= WEB_CSV_MAX_ROWS) {
      x->truncated = true;
      break;
    }
    /* A row is written whole or not at all: past the cap, what fits is
     * sent. */
    struct pb_buf row;
    pb_buf_init(&row, CSV_ROW_MAX);
    bool ok = add_row(&row, cdr) == 0 &&
              pb_buf_add(&x->out, pb_buf_str(&row), pb_buf_len(&row)) == 0;
    pb_buf_free(&row);
    if (!ok) {
      x->truncated = true;
      break;
    }
    x->rows++;
  }
  json_int_t total = json_integer_value(json_object_get(data, "total"));
  bool more = !x->truncated && json_array_size(cdrs) == CSV_PAGE_SIZE &&
              (total <= 0 || x->rows < total);
  if (!more) {
    finish(job);
    return;
  }
  x->page++;
  send_page(job);
}

static void send_page(struct web_calls_job *job) {
  struct export *x = job->state;
  json_object_set_new(x->query, "page", json_integer(x->page));
  int rc = web_calls_job_send(job, PB_SERVICE_CALL_LOG, PB_ACTION_CALLS_SEARCH,
                              json_deep_copy(x->query), page_answered);
  if (rc) {
    struct web_response r = {.status = 200};
    web_reply_error(&r, 503, "cannot send the request on the bus: %s",
                    pb_strerror(rc));
    web_calls_job_finish(job, &r);
  }
}

void web_calls_export(struct web *w, const struct web_request *req,
                      struct web_response *resp, json_t *query) {
  if (web_service_down(w, PB_SERVICE_CALL_LOG, resp)) {
    json_decref(query);
    return;
  }
  struct web_calls_job *job =
      web_calls_job_new(w, req, resp, sizeof(struct export), free_export);
  if (!job) {
    json_decref(query);
    return;
  }
  struct export *x = job->state;
  if (!web_calls_job_heavy(job, resp)) {
    json_decref(query);
    web_calls_job_free(job);
    return;
  }
  x->query = query;
  x->page = 1;
  pb_buf_init(&x->out, CSV_MAX_BYTES);
  json_object_set_new(query, "page_size", json_integer(CSV_PAGE_SIZE));
  /* Pages are newest first: a call that ends during the export would push
   * the others down a row. The end is fixed at the start. */
  if (!json_object_get(query, "to"))
    pb_json_set_time_tz(query, "to", pb_clock_now(), w->tz);
  int rc = 0;
  for (size_t i = 0; i < NCOLUMNS && !rc; i++)
    rc = pb_buf_addf(&x->out, "%s%s", i ? "," : "", columns[i]);
  if (rc || pb_buf_add(&x->out, "\r\n", 2)) {
    web_calls_job_free(job);
    web_reply_error(resp, 503, "out of memory");
    return;
  }
  json_object_set_new(query, "page", json_integer(1));
  web_calls_job_start(job, resp, PB_SERVICE_CALL_LOG, PB_ACTION_CALLS_SEARCH,
                      json_deep_copy(query), page_answered);
}
