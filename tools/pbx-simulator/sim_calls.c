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

/* CALL_CALLER_RINGING: a click-to-call (call/dial) rings the caller's own
 * phone first; the callee is rung once the caller answers. */
enum call_state { CALL_RINGING, CALL_TALKING, CALL_HOLD, CALL_CALLER_RINGING };

struct call {
  char uid[UID_LEN];
  char from[NUMBER_MAX + 1];
  char to[NUMBER_MAX + 1];
  enum sim_call_type type;
  enum call_state state;
  bool recording;
  int64_t ring_at, answer_at, last_at, hold_at;
  int64_t held_s;                  /* total seconds on hold so far */
  char chan_from[48], chan_to[48]; /* each member's channel id */
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
  unsigned next_chan;
};

static const char *const STATUS_TEXT[] = {"ANSWERED", "NO ANSWER", "BUSY",
                                          "FAILED", "VOICEMAIL"};
static const char *const TYPE_TEXT[] = {"Inbound", "Outbound", "Internal"};
static const char *const STATE_TEXT[] = {"ringing", "talking", "hold",
                                         "ringing_caller"};
static const char *const TYPE_EVENT[] = {"inbound", "outbound", "internal"};

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

/* ---- events (lock held): appended to a caller's array, sent later ---- */

static void add_event(json_t *events, int type, json_t *msg) {
  if (events == NULL) {
    json_decref(msg);
    return;
  }
  json_array_append_new(events, json_pack("{s:i,s:o}", "type", type, "msg",
                                          msg ? msg : json_object()));
}

static bool from_is_ext(const struct call *k) {
  return k->type != SIM_CALL_INBOUND;
}

static bool to_is_ext(const struct call *k) {
  return k->type != SIM_CALL_OUTBOUND;
}

/* One member of a 30011 Call_Info: "extension", or "inbound"/"outbound"
 * for the external party, as the guide's Members table shows them. */
static json_t *member(const struct call *k, bool from_side,
                      const char *status) {
  bool ext = from_side ? from_is_ext(k) : to_is_ext(k);
  const char *chan = from_side ? k->chan_from : k->chan_to;

  if (ext)
    return json_pack("{s:{s:s,s:s,s:s,s:s}}", "extension", "number",
                     from_side ? k->from : k->to, "channel_id", chan,
                     "member_status", status, "call_path", "");
  return json_pack("{s:{s:s,s:s,s:s,s:s,s:s,s:s}}",
                   k->type == SIM_CALL_INBOUND ? "inbound" : "outbound", "from",
                   k->from, "to", k->to, "trunk_name", SIM_TRUNK_NAME,
                   "channel_id", chan, "member_status", status, "call_path",
                   "");
}

/* 30011: the call and its members' states. from_status NULL: the caller
 * is not a member yet (a click-to-call ringing the caller's phone is the
 * caller alone, shown as the callee of that first leg). */
static void call_event(json_t *events, const struct call *k,
                       const char *from_status, const char *to_status) {
  json_t *members = json_array();

  if (from_status != NULL)
    json_array_append_new(members, member(k, true, from_status));
  if (to_status != NULL)
    json_array_append_new(members, member(k, false, to_status));
  add_event(events, SIM_EV_CALL,
            json_pack("{s:s,s:o}", "call_id", k->uid, "members", members));
}

static void state_event(json_t *events, const struct call *k) {
  switch (k->state) {
  case CALL_CALLER_RINGING:
    call_event(events, k, "RING", NULL);
    break;
  case CALL_RINGING:
    call_event(events, k, "ALERT", "RING");
    break;
  case CALL_TALKING:
    call_event(events, k, "ANSWERED", "ANSWER");
    break;
  case CALL_HOLD:
    call_event(events, k, "HOLD", "HOLD");
    break;
  }
}

enum ext_status { EXT_IDLE, EXT_RINGING, EXT_BUSY };
static const char *const EXT_STATUS_TEXT[] = {"Idle", "Ringing", "Busy"};

/* An extension's call status over every call in progress (30008): Busy
 * when it places a call or talks in one, else Ringing when a call rings
 * it, else Idle. */
static enum ext_status ext_status(struct sim_calls *c, const char *number) {
  enum ext_status st = EXT_IDLE;

  for (size_t i = 0; i < c->n_calls; i++) {
    const struct call *k = &c->calls[i];
    bool caller = from_is_ext(k) && strcmp(k->from, number) == 0;
    bool callee = to_is_ext(k) && strcmp(k->to, number) == 0;

    if (k->state == CALL_CALLER_RINGING) {
      if (caller)
        st = st == EXT_BUSY ? EXT_BUSY : EXT_RINGING;
      continue;
    }
    if (caller || (callee && k->state != CALL_RINGING))
      return EXT_BUSY;
    if (callee)
      st = EXT_RINGING;
  }
  return st;
}

/* The extensions a step may change, with their status before it. */
struct snapshot {
  size_t n;
  char number[4][NUMBER_MAX + 1];
  enum ext_status before[4];
};

static void snap_add(struct snapshot *sn, struct sim_calls *c,
                     const char *number) {
  for (size_t i = 0; i < sn->n; i++)
    if (strcmp(sn->number[i], number) == 0)
      return;
  if (sn->n == 4)
    return;
  snprintf(sn->number[sn->n], sizeof sn->number[0], "%s", number);
  sn->before[sn->n++] = ext_status(c, number);
}

static void snap_call(struct snapshot *sn, struct sim_calls *c,
                      const struct call *k) {
  if (from_is_ext(k))
    snap_add(sn, c, k->from);
  if (to_is_ext(k))
    snap_add(sn, c, k->to);
}

/* 30008 for each extension whose status the step changed. */
static void snap_events(const struct snapshot *sn, struct sim_calls *c,
                        json_t *events) {
  for (size_t i = 0; i < sn->n; i++) {
    enum ext_status now = ext_status(c, sn->number[i]);
    if (now != sn->before[i])
      add_event(events, SIM_EV_EXT_CALL,
                json_pack("{s:s,s:s}", "extension", sn->number[i], "status",
                          EXT_STATUS_TEXT[now]));
  }
}

static void channel(struct sim_calls *c, const char *number, bool ext,
                    char *out, size_t size) {
  unsigned n = c->next_chan++;

  if (ext)
    snprintf(out, size, "PJSIP/%s-%08x", number, n);
  else
    snprintf(out, size, "PJSIP/trunk-%s-%08x", SIM_TRUNK_NAME, n);
}

/* A new call in progress; lock held. */
static struct call *new_call(struct sim_calls *c, const char *from,
                             const char *to, enum sim_call_type type,
                             bool recording, int64_t at) {
  struct call *k;

  if (c->n_calls == SIM_CALLS_MAX)
    return NULL;
  k = &c->calls[c->n_calls++];
  memset(k, 0, sizeof *k);
  snprintf(k->uid, sizeof k->uid, "%lld.%ld", (long long)at, c->next_seq++);
  snprintf(k->from, sizeof k->from, "%s", from);
  snprintf(k->to, sizeof k->to, "%s", to);
  k->type = type;
  k->state = CALL_RINGING;
  k->recording = recording;
  k->ring_at = k->last_at = at;
  channel(c, from, from_is_ext(k), k->chan_from, sizeof k->chan_from);
  channel(c, to, to_is_ext(k), k->chan_to, sizeof k->chan_to);
  return k;
}

enum sim_call_result sim_calls_ring(struct sim_calls *c, const char *from,
                                    const char *to, enum sim_call_type type,
                                    bool recording, bool dial, int64_t at,
                                    json_t **created, json_t *events) {
  struct snapshot sn = {0};
  struct call *k;
  enum sim_call_result rc = SIM_CALL_OK;

  pthread_mutex_lock(&c->mu);
  k = new_call(c, from, to, type, recording, at);
  if (k == NULL) {
    rc = SIM_CALL_FULL;
    goto out;
  }
  if (dial)
    k->state = CALL_CALLER_RINGING;
  c->n_calls--; /* statuses before the call existed */
  snap_call(&sn, c, k);
  c->n_calls++;
  state_event(events, k);
  snap_events(&sn, c, events);
  *created = call_json(k);
out:
  pthread_mutex_unlock(&c->mu);
  return rc;
}

/* 30012 "New CDR": the guide's Call_Details. */
static json_t *cdr_event_json(const struct cdr *r) {
  char when[32];

  sim_display_time(r->start, when, sizeof when);
  return json_pack(
      "{s:s,s:s,s:s,s:s,s:i,s:i,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:i}", "call_id",
      r->uid, "time_start", when, "call_from", r->from, "call_to", r->to,
      "call_duration", r->duration, "talk_duration", r->talk_duration,
      "src_trunk_name", r->type == SIM_CALL_INBOUND ? SIM_TRUNK_NAME : "",
      "dst_trunk_name", r->type == SIM_CALL_OUTBOUND ? SIM_TRUNK_NAME : "",
      "pin_code", "", "status", STATUS_TEXT[r->status], "type",
      TYPE_EVENT[r->type], "recording", r->recording, "did_number", "",
      "agent_ring_time", 0);
}

/* Ends call k at `at` with status: BYE members, CDR stored, the call gone.
 * Lock held; *cdr gets the CDR in cdr/search shape. */
static enum sim_call_result end_call(struct sim_calls *c, struct call *k,
                                     int64_t at, enum sim_cdr_status status,
                                     json_t **cdr, json_t *events) {
  struct snapshot sn = {0};

  snap_call(&sn, c, k);
  if (k->state == CALL_HOLD)
    k->held_s += at - k->hold_at;
  if (!store_cdr(c, k->uid, k->from, k->to, k->type, k->ring_at, k->answer_at,
                 at, status, k->recording))
    return SIM_CALL_FULL;
  call_event(events, k, "BYE", k->state == CALL_CALLER_RINGING ? NULL : "BYE");
  *cdr = sim_cdr_json_at(c, c->cdr_len - 1);
  add_event(events, SIM_EV_CDR, cdr_event_json(cdr_at(c, c->cdr_len - 1)));
  *k = c->calls[--c->n_calls]; /* order of calls in progress is not kept */
  snap_events(&sn, c, events);
  return SIM_CALL_OK;
}

enum sim_call_result sim_calls_step(struct sim_calls *c, const char *uid,
                                    enum sim_call_step step, int64_t at,
                                    int hangup_status, json_t **result,
                                    json_t *events) {
  enum sim_call_result rc = SIM_CALL_OK;
  struct snapshot sn = {0};
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
  snap_call(&sn, c, k);
  switch (step) {
  case SIM_STEP_ANSWER:
    if (k->state == CALL_CALLER_RINGING)
      k->state = CALL_RINGING; /* the caller took it: now the callee rings */
    else if (k->state != CALL_RINGING)
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
    if (k->state == CALL_RINGING || k->state == CALL_CALLER_RINGING) {
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
    }
    rc = end_call(c, k, at, status, result, events);
    goto out;
  }
  if (rc == SIM_CALL_OK) {
    k->last_at = at;
    state_event(events, k);
    snap_events(&sn, c, events);
    *result = call_json(k);
  }
out:
  pthread_mutex_unlock(&c->mu);
  return rc;
}

/* A blind transfer: the transferring extension leaves, the answered leg
 * ends with its CDR, and the party left rings the target in a new call
 * (its own call id and CDR, so a log keyed by call id keeps both legs). */
enum sim_call_result sim_calls_transfer(struct sim_calls *c, const char *uid,
                                        int by_to_side, const char *target,
                                        bool target_ext, int64_t at,
                                        json_t **result, json_t *events) {
  enum sim_call_result rc;
  struct call *k, *n, old;
  struct snapshot sn = {0};
  char left[NUMBER_MAX + 1];
  bool left_ext, by_to;
  enum sim_call_type type;
  bool recording;
  json_t *cdr = NULL;

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
  if (k->state != CALL_TALKING && k->state != CALL_HOLD) {
    rc = SIM_CALL_BAD_STATE;
    goto out;
  }
  /* Default transferor: the extension that took the call (the callee),
   * or the caller of an outbound call. */
  by_to = by_to_side < 0 ? to_is_ext(k) : by_to_side != 0;
  if (by_to ? !to_is_ext(k) : !from_is_ext(k)) {
    rc = SIM_CALL_BAD_PARTY;
    goto out;
  }
  snprintf(left, sizeof left, "%s", by_to ? k->from : k->to);
  left_ext = by_to ? from_is_ext(k) : to_is_ext(k);
  if (strcmp(left, target) == 0 ||
      strcmp(by_to ? k->to : k->from, target) == 0 ||
      (!left_ext && !target_ext)) {
    rc = SIM_CALL_BAD_PARTY;
    goto out;
  }
  type = left_ext && target_ext ? SIM_CALL_INTERNAL
         : left_ext             ? SIM_CALL_OUTBOUND
                                : SIM_CALL_INBOUND;
  recording = k->recording;
  old = *k;
  snap_call(&sn, c, k);
  if (target_ext)
    snap_add(&sn, c, target);
  rc = end_call(c, k, at, SIM_CDR_ANSWERED, &cdr, NULL);
  if (rc != SIM_CALL_OK)
    goto out;
  /* end_call's own events are replaced by the whole transfer's below. */
  n = new_call(c, left, target, type, recording, at);
  if (n == NULL) {
    json_decref(cdr);
    rc = SIM_CALL_FULL;
    goto out;
  }
  /* The leg that ended: its members leave, then its CDR. */
  call_event(events, &old, "BYE", "BYE");
  add_event(events, SIM_EV_CDR, cdr_event_json(cdr_at(c, c->cdr_len - 1)));
  state_event(events, n);
  snap_events(&sn, c, events);
  *result = json_pack("{s:o,s:o}", "cdr", cdr, "call", call_json(n));
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
      TYPE_TEXT[r->type], "recording", r->recording, "src_trunk",
      r->type == SIM_CALL_INBOUND ? SIM_TRUNK_NAME : "", "dst_trunk",
      r->type == SIM_CALL_OUTBOUND ? SIM_TRUNK_NAME : "", "did_number", "",
      "dod_number", "", "src_addr", "");
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

int sim_calls_recording(struct sim_calls *c, long id, const char *file,
                        char *out, size_t size) {
  int rc = -1;

  pthread_mutex_lock(&c->mu);
  for (size_t i = c->cdr_len; i-- > 0;) {
    const struct cdr *r = cdr_at(c, i);
    if (r->recording[0] == '\0' || (id > 0 && r->id != id) ||
        (file != NULL && strcmp(r->recording, file) != 0))
      continue;
    snprintf(out, size, "%s", r->recording);
    rc = 0;
    break;
  }
  pthread_mutex_unlock(&c->mu);
  return rc;
}

size_t sim_calls_cdr_count(struct sim_calls *c) {
  size_t n;

  pthread_mutex_lock(&c->mu);
  n = c->cdr_len;
  pthread_mutex_unlock(&c->mu);
  return n;
}
