/* Calls in progress and the CDRs they leave: a call rings between an
 * extension and another extension or an external number, is answered, held,
 * unheld and hung up; on hang-up one CDR is stored (at most SIM_CDR_MAX, the
 * oldest dropped first). cdr/list and cdr/search read the CDRs in the
 * P-Series "CDR_Details" shape. One mutex guards everything. */
#define _GNU_SOURCE /* qsort_r */
#include "sim.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NUMBER_MAX 32 /* numbers: digits, optional leading '+' */
#define UID_LEN 32
#define RECORDING_LEN 128

enum call_state { CALL_RINGING, CALL_TALKING, CALL_HOLD };

struct call {
  char uid[UID_LEN];
  char from[NUMBER_MAX + 1];
  char to[NUMBER_MAX + 1];
  enum sim_call_type type;
  enum call_state state;
  bool recording;
  int64_t ring_at, answer_at, last_at, hold_at;
  int64_t held_s; /* total seconds on hold so far */
};

struct cdr {
  long id;
  char uid[UID_LEN];
  char from[NUMBER_MAX + 1];
  char to[NUMBER_MAX + 1];
  char recording[RECORDING_LEN];
  int64_t start; /* Unix seconds, when the call rang */
  int duration, ring_duration, talk_duration;
  enum sim_cdr_status status;
  enum sim_call_type type;
};

struct sim_calls {
  pthread_mutex_t mu;
  struct call *calls; /* calls in progress, SIM_CALLS_MAX at most */
  size_t n_calls;
  struct cdr *cdrs; /* oldest at head; a ring once SIM_CDR_MAX is reached */
  size_t cdr_len, cdr_cap, cdr_head;
  long next_id;  /* CDR sequence number */
  long next_seq; /* call id suffix */
};

static const char *const STATUS_TEXT[] = {"ANSWERED", "NO ANSWER", "BUSY",
                                          "FAILED", "VOICEMAIL"};
static const char *const TYPE_TEXT[] = {"Inbound", "Outbound", "Internal"};
static const char *const STATE_TEXT[] = {"ringing", "talking", "hold"};

int sim_cdr_status_parse(const char *s) {
  for (size_t i = 0; i < sizeof STATUS_TEXT / sizeof STATUS_TEXT[0]; i++)
    if (strcmp(s, STATUS_TEXT[i]) == 0)
      return (int)i;
  return -1;
}

bool sim_external_number_valid(const char *s) {
  size_t len = strlen(s), i = 0;

  if (len < 3 || len > NUMBER_MAX)
    return false;
  if (s[0] == '+')
    i = 1;
  if (i == len)
    return false;
  for (; i < len; i++)
    if (s[i] < '0' || s[i] > '9')
      return false;
  return true;
}

struct sim_calls *sim_calls_new(void) {
  struct sim_calls *c = calloc(1, sizeof *c);

  if (c == NULL)
    return NULL;
  c->calls = calloc(SIM_CALLS_MAX, sizeof *c->calls);
  if (c->calls == NULL) {
    free(c);
    return NULL;
  }
  pthread_mutex_init(&c->mu, NULL);
  c->next_id = 1;
  c->next_seq = 1;
  return c;
}

void sim_calls_free(struct sim_calls *c) {
  if (c == NULL)
    return;
  pthread_mutex_destroy(&c->mu);
  free(c->calls);
  free(c->cdrs);
  free(c);
}

static struct cdr *cdr_at(struct sim_calls *c, size_t i) {
  return &c->cdrs[(c->cdr_head + i) % c->cdr_cap];
}

/* A free slot for one more CDR (the oldest when full), or NULL. */
static struct cdr *cdr_slot(struct sim_calls *c) {
  struct cdr *r;

  if (c->cdr_len == SIM_CDR_MAX) {
    r = &c->cdrs[c->cdr_head];
    c->cdr_head = (c->cdr_head + 1) % c->cdr_cap;
    return r;
  }
  if (c->cdr_len == c->cdr_cap) {
    size_t cap = c->cdr_cap ? c->cdr_cap * 2 : 1024;
    struct cdr *v;

    if (cap > SIM_CDR_MAX)
      cap = SIM_CDR_MAX;
    v = realloc(c->cdrs, cap * sizeof *v);
    if (v == NULL)
      return NULL;
    c->cdrs = v;
    c->cdr_cap = cap;
  }
  return &c->cdrs[c->cdr_len++]; /* head is 0 until the cap is reached */
}

static void utc_tm(int64_t t, struct tm *tm) {
  time_t tt = (time_t)t;

  gmtime_r(&tt, tm);
}

void sim_display_time(int64_t t, char *buf, size_t size) {
  struct tm tm;

  utc_tm(t, &tm);
  strftime(buf, size, "%m/%d/%Y %H:%M:%S", &tm);
}

/* Stores the CDR of a finished call; lock held. */
static bool store_cdr(struct sim_calls *c, const char *uid, const char *from,
                      const char *to, enum sim_call_type type, int64_t start,
                      int64_t answer, int64_t end, enum sim_cdr_status status,
                      bool recording) {
  struct cdr *r = cdr_slot(c);
  struct tm tm;
  char stamp[32];

  if (r == NULL)
    return false;
  memset(r, 0, sizeof *r);
  r->id = c->next_id++;
  snprintf(r->uid, sizeof r->uid, "%s", uid);
  snprintf(r->from, sizeof r->from, "%s", from);
  snprintf(r->to, sizeof r->to, "%s", to);
  r->start = start;
  r->duration = (int)(end - start);
  r->ring_duration = (int)((answer ? answer : end) - start);
  r->talk_duration = answer ? (int)(end - answer) : 0;
  r->status = status;
  r->type = type;
  if (recording && status == SIM_CDR_ANSWERED) {
    utc_tm(start, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%d%H%M%S", &tm);
    snprintf(r->recording, sizeof r->recording, "%s-%s-%s-%s-%s.wav", stamp,
             uid, from, to, TYPE_TEXT[type]);
  }
  return true;
}

static json_t *call_json(const struct call *k) {
  return json_pack("{s:s,s:s,s:s,s:s,s:s,s:b,s:I,s:o,s:I}", "call_id", k->uid,
                   "from", k->from, "to", k->to, "type", TYPE_TEXT[k->type],
                   "state", STATE_TEXT[k->state], "recording", k->recording,
                   "ring_at", (json_int_t)k->ring_at, "answer_at",
                   k->answer_at ? json_integer(k->answer_at) : json_null(),
                   "held_seconds", (json_int_t)k->held_s);
}

static struct call *find_call(struct sim_calls *c, const char *uid) {
  for (size_t i = 0; i < c->n_calls; i++)
    if (strcmp(c->calls[i].uid, uid) == 0)
      return &c->calls[i];
  return NULL;
}

enum sim_call_result sim_calls_ring(struct sim_calls *c, const char *from,
                                    const char *to, enum sim_call_type type,
                                    bool recording, int64_t at,
                                    json_t **created) {
  struct call *k;
  enum sim_call_result rc = SIM_CALL_OK;

  pthread_mutex_lock(&c->mu);
  if (c->n_calls == SIM_CALLS_MAX) {
    rc = SIM_CALL_FULL;
    goto out;
  }
  k = &c->calls[c->n_calls++];
  memset(k, 0, sizeof *k);
  snprintf(k->uid, sizeof k->uid, "%lld.%ld", (long long)at, c->next_seq++);
  snprintf(k->from, sizeof k->from, "%s", from);
  snprintf(k->to, sizeof k->to, "%s", to);
  k->type = type;
  k->state = CALL_RINGING;
  k->recording = recording;
  k->ring_at = k->last_at = at;
  *created = call_json(k);
out:
  pthread_mutex_unlock(&c->mu);
  return rc;
}

enum sim_call_result sim_calls_step(struct sim_calls *c, const char *uid,
                                    enum sim_call_step step, int64_t at,
                                    int hangup_status, json_t **result) {
  enum sim_call_result rc = SIM_CALL_OK;
  struct call *k;
  enum sim_cdr_status status;

  pthread_mutex_lock(&c->mu);
  k = find_call(c, uid);
  if (k == NULL) {
    rc = SIM_CALL_NOT_FOUND;
    goto out;
  }
  if (at < k->last_at) {
    rc = SIM_CALL_BAD_TIME;
    goto out;
  }
  switch (step) {
  case SIM_STEP_ANSWER:
    if (k->state != CALL_RINGING)
      rc = SIM_CALL_BAD_STATE;
    else
      k->state = CALL_TALKING, k->answer_at = at;
    break;
  case SIM_STEP_HOLD:
    if (k->state != CALL_TALKING)
      rc = SIM_CALL_BAD_STATE;
    else
      k->state = CALL_HOLD, k->hold_at = at;
    break;
  case SIM_STEP_UNHOLD:
    if (k->state != CALL_HOLD)
      rc = SIM_CALL_BAD_STATE;
    else
      k->state = CALL_TALKING, k->held_s += at - k->hold_at;
    break;
  case SIM_STEP_HANGUP:
    if (k->state == CALL_RINGING) {
      status = hangup_status < 0 ? SIM_CDR_NO_ANSWER
                                 : (enum sim_cdr_status)hangup_status;
      if (status == SIM_CDR_ANSWERED) {
        rc = SIM_CALL_BAD_STATE;
        break;
      }
    } else {
      if (hangup_status >= 0 && hangup_status != SIM_CDR_ANSWERED) {
        rc = SIM_CALL_BAD_STATE;
        break;
      }
      status = SIM_CDR_ANSWERED;
      if (k->state == CALL_HOLD)
        k->held_s += at - k->hold_at;
    }
    if (!store_cdr(c, k->uid, k->from, k->to, k->type, k->ring_at, k->answer_at,
                   at, status, k->recording)) {
      rc = SIM_CALL_FULL;
      break;
    }
    *result = sim_cdr_json_at(c, c->cdr_len - 1);
    *k = c->calls[--c->n_calls]; /* order of calls in progress is not kept */
    goto out;
  }
  if (rc == SIM_CALL_OK) {
    k->last_at = at;
    *result = call_json(k);
  }
out:
  pthread_mutex_unlock(&c->mu);
  return rc;
}

json_t *sim_calls_active(struct sim_calls *c) {
  json_t *a = json_array();

  pthread_mutex_lock(&c->mu);
  for (size_t i = 0; i < c->n_calls; i++)
    json_array_append_new(a, call_json(&c->calls[i]));
  pthread_mutex_unlock(&c->mu);
  return a;
}

/* Bulk CDRs for tests and benchmarks: a fixed pattern, one every interval
 * seconds from start. */
size_t sim_calls_add_cdrs(struct sim_calls *c, size_t count, int64_t start,
                          long interval, const char *ext_base) {
  static const enum sim_cdr_status pattern[10] = {
      SIM_CDR_ANSWERED, SIM_CDR_ANSWERED, SIM_CDR_ANSWERED, SIM_CDR_ANSWERED,
      SIM_CDR_ANSWERED, SIM_CDR_ANSWERED, SIM_CDR_ANSWERED, SIM_CDR_NO_ANSWER,
      SIM_CDR_BUSY,     SIM_CDR_VOICEMAIL};
  long base = strtol(ext_base, NULL, 10);
  size_t done = 0;
  char uid[UID_LEN], ext[NUMBER_MAX + 1], other[NUMBER_MAX + 1];

  pthread_mutex_lock(&c->mu);
  for (size_t i = 0; i < count; i++) {
    int64_t t = start + (int64_t)i * interval;
    enum sim_cdr_status st = pattern[i % 10];
    enum sim_call_type type = (enum sim_call_type)(i % 3);
    int talk = st == SIM_CDR_ANSWERED ? (int)(30 + i % 300) : 0;
    int ring = (int)(3 + i % 20);
    const char *from = ext, *to = other;

    snprintf(uid, sizeof uid, "%lld.%ld", (long long)t, c->next_seq++);
    snprintf(ext, sizeof ext, "%ld", base + (long)(i % 10));
    if (type == SIM_CALL_INTERNAL)
      snprintf(other, sizeof other, "%ld", base + (long)((i + 1) % 10));
    else
      snprintf(other, sizeof other, "+3314%07zu", i % 10000000);
    if (type == SIM_CALL_INBOUND)
      from = other, to = ext;
    if (!store_cdr(c, uid, from, to, type, t,
                   st == SIM_CDR_ANSWERED ? t + ring : 0, t + ring + talk, st,
                   st == SIM_CDR_ANSWERED && i % 2 == 0))
      break;
    done++;
  }
  pthread_mutex_unlock(&c->mu);
  return done;
}

/* ---- reading CDRs ---- */

static json_t *cdr_json(const struct cdr *r) {
  char when[32];

  sim_display_time(r->start, when, sizeof when);
  return json_pack(
      "{s:I,s:s,s:s,s:s,s:s,s:I,s:i,s:i,s:i,s:s,s:s,s:s,s:s,s:s,"
      "s:s,s:s,s:s}",
      "id", (json_int_t)r->id, "uid", r->uid, "time", when, "call_from",
      r->from, "call_to", r->to, "timestamp", (json_int_t)r->start, "duration",
      r->duration, "ring_duration", r->ring_duration, "talk_duration",
      r->talk_duration, "disposition", STATUS_TEXT[r->status], "call_type",
      TYPE_TEXT[r->type], "recording", r->recording, "src_trunk", "",
      "dst_trunk", "", "did_number", "", "dod_number", "", "src_addr", "");
}

/* Lock held; i counts from the oldest. */
json_t *sim_cdr_json_at(struct sim_calls *c, size_t i) {
  return cdr_json(cdr_at(c, i));
}

static bool cdr_matches(const struct cdr *r, const struct sim_cdr_query *q) {
  if (q->has_start && r->start < q->start)
    return false;
  if (q->has_end && r->start > q->end)
    return false;
  if (q->call_from && strcmp(r->from, q->call_from) != 0)
    return false;
  if (q->call_to && strcmp(r->to, q->call_to) != 0)
    return false;
  if (q->status >= 0 && (int)r->status != q->status)
    return false;
  return true;
}

static int cmp_long(long long a, long long b) {
  return a < b ? -1 : a > b;
}

static int cmp_cdr(const void *pa, const void *pb, void *arg) {
  const struct cdr *a = *(const struct cdr *const *)pa;
  const struct cdr *b = *(const struct cdr *const *)pb;
  const struct sim_cdr_query *q = arg;
  int r = 0;

  switch (q->sort) {
  case SIM_CDR_SORT_TIME:
    r = cmp_long(a->start, b->start);
    break;
  case SIM_CDR_SORT_UID:
    r = strcmp(a->uid, b->uid);
    break;
  case SIM_CDR_SORT_DURATION:
    r = cmp_long(a->duration, b->duration);
    break;
  case SIM_CDR_SORT_RING:
    r = cmp_long(a->ring_duration, b->ring_duration);
    break;
  case SIM_CDR_SORT_TALK:
    r = cmp_long(a->talk_duration, b->talk_duration);
    break;
  case SIM_CDR_SORT_DISPOSITION:
    r = strcmp(STATUS_TEXT[a->status], STATUS_TEXT[b->status]);
    break;
  case SIM_CDR_SORT_CALL_TYPE:
    r = strcmp(TYPE_TEXT[a->type], TYPE_TEXT[b->type]);
    break;
  default:
    break;
  }
  if (r == 0)
    r = cmp_long(a->id, b->id);
  return q->descending ? -r : r;
}

json_t *sim_calls_query(struct sim_calls *c, const struct sim_cdr_query *q,
                        size_t *total) {
  json_t *data = json_array();
  const struct cdr **hits;
  struct sim_cdr_query qc = *q;
  size_t n = 0, first;

  pthread_mutex_lock(&c->mu);
  hits = malloc((c->cdr_len ? c->cdr_len : 1) * sizeof *hits);
  if (hits == NULL) {
    pthread_mutex_unlock(&c->mu);
    *total = 0;
    return data;
  }
  for (size_t i = 0; i < c->cdr_len; i++)
    if (cdr_matches(cdr_at(c, i), q))
      hits[n++] = cdr_at(c, i);
  if (q->sort != SIM_CDR_SORT_ID || q->descending)
    qsort_r(hits, n, sizeof *hits, cmp_cdr, &qc);
  *total = n;
  first = (size_t)(q->page - 1) * (size_t)q->page_size;
  for (size_t i = first; i < n && i < first + (size_t)q->page_size; i++)
    json_array_append_new(data, cdr_json(hits[i]));
  pthread_mutex_unlock(&c->mu);
  free(hits);
  return data;
}

size_t sim_calls_cdr_count(struct sim_calls *c) {
  size_t n;

  pthread_mutex_lock(&c->mu);
  n = c->cdr_len;
  pthread_mutex_unlock(&c->mu);
  return n;
}
