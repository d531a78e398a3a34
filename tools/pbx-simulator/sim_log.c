/* The request log behind GET /sim/requests: every Open API request in
 * arrival order, in a ring of at most max_entries (oldest dropped). */
#include "sim.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct entry {
  uint64_t seq;
  char time[40];
  char method[16];
  char *path;
  char *query;
  char *user_agent;
  char *body; /* truncated to SIM_LOG_BODY_MAX bytes */
  bool body_truncated;
  unsigned http_status;
  bool has_errcode;
  long errcode;
};

struct sim_log {
  pthread_mutex_t mu;
  struct entry *ring;
  size_t max, head, count; /* head: index of the oldest entry */
  uint64_t next_seq;
};

struct sim_log *sim_log_new(size_t max_entries) {
  struct sim_log *log = calloc(1, sizeof *log);

  if (log == NULL)
    return NULL;
  log->ring = calloc(max_entries ? max_entries : 1, sizeof *log->ring);
  if (log->ring == NULL) {
    free(log);
    return NULL;
  }
  pthread_mutex_init(&log->mu, NULL);
  log->max = max_entries ? max_entries : 1;
  log->next_seq = 1;
  return log;
}

static void entry_clear(struct entry *e) {
  free(e->path);
  free(e->query);
  free(e->user_agent);
  free(e->body);
  memset(e, 0, sizeof *e);
}

void sim_log_clear(struct sim_log *log) {
  pthread_mutex_lock(&log->mu);
  for (size_t i = 0; i < log->count; i++)
    entry_clear(&log->ring[(log->head + i) % log->max]);
  log->head = 0;
  log->count = 0;
  pthread_mutex_unlock(&log->mu);
}

void sim_log_free(struct sim_log *log) {
  if (log == NULL)
    return;
  sim_log_clear(log);
  pthread_mutex_destroy(&log->mu);
  free(log->ring);
  free(log);
}

static char *dup_or_empty(const char *s) {
  return strdup(s ? s : "");
}

void sim_log_add(struct sim_log *log, const struct sim_log_record *rec) {
  struct entry e;
  size_t keep =
      rec->body_len < SIM_LOG_BODY_MAX ? rec->body_len : SIM_LOG_BODY_MAX;

  memset(&e, 0, sizeof e);
  sim_clock_wall(e.time, sizeof e.time);
  snprintf(e.method, sizeof e.method, "%s", rec->method ? rec->method : "");
  e.path = dup_or_empty(rec->path);
  e.query = dup_or_empty(rec->query);
  e.user_agent = dup_or_empty(rec->user_agent);
  e.body = strndup(rec->body ? rec->body : "", keep);
  e.body_truncated = rec->body_len > keep;
  if (!e.path || !e.query || !e.user_agent || !e.body) {
    entry_clear(&e); /* out of memory: the request goes unlogged */
    return;
  }
  e.http_status = rec->http_status;
  e.has_errcode = rec->has_errcode;
  e.errcode = rec->errcode;

  pthread_mutex_lock(&log->mu);
  e.seq = log->next_seq++;
  if (log->count == log->max) {
    entry_clear(&log->ring[log->head]);
    log->head = (log->head + 1) % log->max;
    log->count--;
  }
  log->ring[(log->head + log->count) % log->max] = e;
  log->count++;
  pthread_mutex_unlock(&log->mu);
}

/* JSON string for logged bytes: anything not valid UTF-8 is shown with
 * its non-ASCII bytes replaced by '?', so the log stays parseable. */
static json_t *safe_string(const char *s) {
  json_t *j = json_string(s ? s : "");
  char *copy;

  if (j != NULL)
    return j;
  copy = strdup(s);
  if (copy == NULL)
    return json_string("");
  for (char *p = copy; *p; p++)
    if ((unsigned char)*p >= 0x80)
      *p = '?';
  j = json_string(copy);
  free(copy);
  return j ? j : json_string("");
}

static json_t *entry_json(const struct entry *e) {
  json_t *j = json_object();

  json_object_set_new(j, "seq", json_integer((json_int_t)e->seq));
  json_object_set_new(j, "time", json_string(e->time));
  json_object_set_new(j, "method", safe_string(e->method));
  json_object_set_new(j, "path", safe_string(e->path));
  json_object_set_new(j, "query", safe_string(e->query));
  json_object_set_new(j, "user_agent", safe_string(e->user_agent));
  json_object_set_new(j, "body", safe_string(e->body));
  if (e->body_truncated)
    json_object_set_new(j, "body_truncated", json_true());
  json_object_set_new(j, "http_status", json_integer(e->http_status));
  json_object_set_new(j, "errcode",
                      e->has_errcode ? json_integer(e->errcode) : json_null());
  return j;
}

json_t *sim_log_json(struct sim_log *log, uint64_t since) {
  json_t *all = json_array();

  pthread_mutex_lock(&log->mu);
  for (size_t i = 0; i < log->count; i++) {
    const struct entry *e = &log->ring[(log->head + i) % log->max];
    if (e->seq > since)
      json_array_append_new(all, entry_json(e));
  }
  pthread_mutex_unlock(&log->mu);
  return all;
}
