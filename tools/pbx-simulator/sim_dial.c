/* Click-to-call as the guide's "Make a Call" page has it (POST call/dial
 * with caller and callee: the PBX rings the caller's extension, then the
 * callee once the caller answers), and the --demo-calls thread that keeps
 * a few calls ringing, talking, on hold and ending, so a fresh demo shows
 * calls moving. */
#include "sim.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DEMO_MAX_CALLS 3

static void value_text(json_t *v, char *buf, size_t size) {
  char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);

  snprintf(buf, size, "%s",
           json_is_string(v) ? json_string_value(v) : (text ? text : ""));
  free(text);
}

/* Body {"caller":"2000","callee":"+33123456789"} (optional dial_permission,
 * an extension number, and auto_answer "yes"/"no"); answers call_id. */
void sim_api_call_dial(struct sim *sim, struct sim_request *req,
                       struct sim_reply *out) {
  static const char *const known[] = {"caller", "callee", "dial_permission",
                                      "auto_answer"};
  json_error_t err;
  size_t len;
  const char *text = sim_request_body(req, &len), *key, *caller, *callee;
  json_t *body = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err), *v;
  json_t *events, *created = NULL, *perm, *auto_ans;
  enum sim_call_type type;
  bool callee_ext, auto_yes;
  char buf[128];

  if (!json_is_object(body)) {
    sim_reply_param_error(out, "body", "not a JSON object");
    goto out;
  }
  json_object_foreach(body, key, v) {
    bool ok = false;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
      ok = ok || strcmp(key, known[i]) == 0;
    if (!ok) {
      value_text(v, buf, sizeof buf);
      sim_reply_param_error(out, key, buf);
      goto out;
    }
  }
  v = json_object_get(body, "caller");
  caller = json_string_value(v);
  if (caller == NULL || !sim_dir_has_number(sim->dir, caller)) {
    value_text(v, buf, sizeof buf); /* only extensions are simulated callers */
    sim_reply_param_error(out, "caller", buf);
    goto out;
  }
  v = json_object_get(body, "callee");
  callee = json_string_value(v);
  callee_ext = callee != NULL && sim_dir_has_number(sim->dir, callee);
  if (callee == NULL || strcmp(callee, caller) == 0 ||
      (!callee_ext && !sim_external_number_valid(callee))) {
    value_text(v, buf, sizeof buf);
    sim_reply_param_error(out, "callee", buf);
    goto out;
  }
  perm = json_object_get(body, "dial_permission");
  if (perm != NULL &&
      (!json_is_string(perm) ||
       !sim_dir_has_number(sim->dir, json_string_value(perm)))) {
    value_text(perm, buf, sizeof buf);
    sim_reply_param_error(out, "dial_permission", buf);
    goto out;
  }
  auto_ans = json_object_get(body, "auto_answer");
  if (auto_ans != NULL && (!json_is_string(auto_ans) ||
                           (strcmp(json_string_value(auto_ans), "yes") != 0 &&
                            strcmp(json_string_value(auto_ans), "no") != 0))) {
    value_text(auto_ans, buf, sizeof buf);
    sim_reply_param_error(out, "auto_answer", buf);
    goto out;
  }
  type = callee_ext ? SIM_CALL_INTERNAL : SIM_CALL_OUTBOUND;
  events = json_array();
  /* auto_answer: the caller's phone picks up by itself, the callee rings. */
  auto_yes =
      auto_ans != NULL && strcmp(json_string_value(auto_ans), "yes") == 0;
  if (sim_calls_ring(sim->calls, caller, callee, type, false, !auto_yes,
                     (int64_t)time(NULL), &created, events) != SIM_CALL_OK) {
    json_decref(events);
    sim_reply_error(out, SIM_ERR_FAILURE, "FAILURE");
    goto out;
  }
  sim_events_emit_list(sim->events, events);
  sim_reply_success(
      out, json_pack("{s:O}", "call_id", json_object_get(created, "call_id")));
  json_decref(created);
out:
  json_decref(body);
}

/* ---- --demo-calls ---- */

struct sim_demo {
  struct sim *sim;
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t wake;
  bool stop;
  unsigned seed;
};

static unsigned hash(const char *s) {
  unsigned h = 2166136261u;

  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 16777619u;
  return h;
}

static void demo_step(struct sim *sim, const char *uid, enum sim_call_step st,
                      int status) {
  json_t *events = json_array(), *result = NULL;

  if (sim_calls_step(sim->calls, uid, st, (int64_t)time(NULL), status, &result,
                     events) == SIM_CALL_OK)
    sim_events_emit_list(sim->events, events);
  else
    json_decref(events);
  json_decref(result);
}

/* Moves one call along by its age; the same call always takes the same
 * path (chosen from a hash of its id). */
static void demo_advance(struct sim *sim, json_t *call, int64_t now) {
  const char *uid = json_string_value(json_object_get(call, "call_id"));
  const char *state = json_string_value(json_object_get(call, "state"));
  int64_t ring_at = json_integer_value(json_object_get(call, "ring_at"));
  int64_t answer_at = json_integer_value(json_object_get(call, "answer_at"));
  int64_t held = json_integer_value(json_object_get(call, "held_seconds"));
  unsigned h = hash(uid ? uid : "");
  int64_t ring_for = 3 + (int64_t)(h % 5), talk_for = 10 + (int64_t)(h % 15);
  bool holds = h % 3 == 0;

  if (uid == NULL || state == NULL)
    return;
  if (strcmp(state, "ringing_caller") == 0) {
    if (now - ring_at >= 2)
      demo_step(sim, uid, SIM_STEP_ANSWER, -1);
  } else if (strcmp(state, "ringing") == 0) {
    if (now - ring_at < ring_for)
      return;
    if (h % 7 == 1)
      demo_step(sim, uid, SIM_STEP_HANGUP, SIM_CDR_NO_ANSWER);
    else if (h % 11 == 2)
      demo_step(sim, uid, SIM_STEP_HANGUP, SIM_CDR_BUSY);
    else
      demo_step(sim, uid, SIM_STEP_ANSWER, -1);
  } else if (strcmp(state, "talking") == 0) {
    if (holds && held == 0 && now - answer_at >= 5)
      demo_step(sim, uid, SIM_STEP_HOLD, -1);
    else if (now - answer_at >= talk_for + (holds ? 5 : 0))
      demo_step(sim, uid, SIM_STEP_HANGUP, -1);
  } else if (strcmp(state, "hold") == 0) {
    if (now - answer_at >= 9)
      demo_step(sim, uid, SIM_STEP_UNHOLD, -1);
  }
}

static bool in_a_call(json_t *calls, const char *number) {
  size_t i;
  json_t *c;

  json_array_foreach(calls, i, c) {
    if (strcmp(json_string_value(json_object_get(c, "from")), number) == 0 ||
        strcmp(json_string_value(json_object_get(c, "to")), number) == 0)
      return true;
  }
  return false;
}

/* A new call between two free extensions among the first 20, or a free
 * extension and an external number; a recording on every other one. */
static void demo_start_call(struct sim_demo *d, json_t *calls) {
  struct sim_dir_query q = {NULL, 0, false, 1, 20};
  size_t total = 0, n = 0, i;
  json_t *list = sim_dir_list(d->sim->dir, &q, &total), *events, *created, *e;
  char free_ext[20][32], external[32];
  unsigned r = (unsigned)rand_r(&d->seed);
  enum sim_call_type type = (enum sim_call_type)(r % 3);
  const char *from, *to, *a, *b;

  json_array_foreach(list, i, e) {
    const char *number = json_string_value(json_object_get(e, "number"));
    if (n < 20 && number != NULL && !in_a_call(calls, number))
      snprintf(free_ext[n++], sizeof free_ext[0], "%s", number);
  }
  json_decref(list);
  if (n == 0 || (type == SIM_CALL_INTERNAL && n < 2))
    return;
  i = (size_t)rand_r(&d->seed) % n;
  a = free_ext[i];
  b = free_ext[(i + 1 + (size_t)rand_r(&d->seed) % (n > 1 ? n - 1 : 1)) % n];
  snprintf(external, sizeof external, "+3314%07u",
           (unsigned)rand_r(&d->seed) % 10000000u);
  from = type == SIM_CALL_INBOUND ? external : a;
  to = type == SIM_CALL_OUTBOUND ? external : type == SIM_CALL_INBOUND ? a : b;
  if (strcmp(from, to) == 0)
    return;
  events = json_array();
  created = NULL;
  if (sim_calls_ring(d->sim->calls, from, to, type, r % 2 == 0, false,
                     (int64_t)time(NULL), &created, events) == SIM_CALL_OK)
    sim_events_emit_list(d->sim->events, events);
  else
    json_decref(events);
  json_decref(created);
}

static void *demo_run(void *arg) {
  struct sim_demo *d = arg;
  int64_t next_start = 0;

  pthread_mutex_lock(&d->mu);
  while (!d->stop) {
    struct timespec until;
    int64_t now = (int64_t)time(NULL);
    json_t *calls, *call;
    size_t i;

    pthread_mutex_unlock(&d->mu);
    calls = sim_calls_active(d->sim->calls);
    json_array_foreach(calls, i, call) demo_advance(d->sim, call, now);
    if (json_array_size(calls) < DEMO_MAX_CALLS && now >= next_start) {
      demo_start_call(d, calls);
      next_start = now + 3 + rand_r(&d->seed) % 4;
    }
    json_decref(calls);
    pthread_mutex_lock(&d->mu);
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 1;
    if (!d->stop)
      pthread_cond_timedwait(&d->wake, &d->mu, &until);
  }
  pthread_mutex_unlock(&d->mu);
  return NULL;
}

struct sim_demo *sim_demo_start(struct sim *sim) {
  struct sim_demo *d = calloc(1, sizeof *d);

  if (d == NULL)
    return NULL;
  d->sim = sim;
  d->seed = (unsigned)time(NULL) ^ (unsigned)getpid();
  pthread_mutex_init(&d->mu, NULL);
  pthread_cond_init(&d->wake, NULL);
  if (pthread_create(&d->thread, NULL, demo_run, d) != 0) {
    pthread_cond_destroy(&d->wake);
    pthread_mutex_destroy(&d->mu);
    free(d);
    return NULL;
  }
  return d;
}

void sim_demo_stop(struct sim_demo *d) {
  if (d == NULL)
    return;
  pthread_mutex_lock(&d->mu);
  d->stop = true;
  pthread_cond_signal(&d->wake);
  pthread_mutex_unlock(&d->mu);
  pthread_join(d->thread, NULL);
  pthread_cond_destroy(&d->wake);
  pthread_mutex_destroy(&d->mu);
  free(d);
}
