/* The /sim/ control API for calls: ring, answer, hold, unhold and hang up
 * calls "on the phones", list calls in progress, add CDRs in bulk. Every
 * step takes an optional "at" (Unix seconds, default now) so tests get
 * exact durations without waiting. Errors: HTTP 4xx with {"error": "..."}. */
#include "sim.h"

#include <string.h>
#include <time.h>

#define AT_MAX 4102444800LL /* 2100-01-01 */
#define BULK_INTERVAL_MAX 86400L

/* Optional "at": Unix seconds; absent: now. */
static bool body_at(json_t *body, int64_t *at, struct sim_reply *out) {
  json_t *v = json_object_get(body, "at");

  if (v == NULL) {
    *at = (int64_t)time(NULL);
    return true;
  }
  if (!json_is_integer(v) || json_integer_value(v) < 0 ||
      json_integer_value(v) > AT_MAX) {
    sim_reply_control_error(out, 400, "at must be Unix seconds");
    return false;
  }
  *at = (int64_t)json_integer_value(v);
  return true;
}

static const char *body_str(json_t *body, const char *key) {
  json_t *v = json_object_get(body, key);

  return json_is_string(v) ? json_string_value(v) : NULL;
}

static void reply_result(enum sim_call_result rc, json_t *result,
                         unsigned ok_status, struct sim_reply *out) {
  switch (rc) {
  case SIM_CALL_OK:
    sim_reply_json(out, ok_status, result);
    return;
  case SIM_CALL_NOT_FOUND:
    sim_reply_control_error(out, 404, "no such call in progress");
    break;
  case SIM_CALL_BAD_STATE:
    sim_reply_control_error(out, 409, "not possible in the call's state");
    break;
  case SIM_CALL_BAD_TIME:
    sim_reply_control_error(out, 400, "at is before the call's last event");
    break;
  case SIM_CALL_FULL:
    sim_reply_control_error(out, 400, "too many calls in progress");
    break;
  case SIM_CALL_BAD_PARTY:
    sim_reply_control_error(out, 400,
                            "no such transfer: the transferor must be an "
                            "extension of the call, the target another "
                            "party, and one side of the new call an "
                            "extension");
    break;
  }
  json_decref(result);
}

void sim_ctl_calls(struct sim *sim, struct sim_request *req,
                   struct sim_reply *out) {
  (void)req;
  sim_reply_json(out, 200, sim_calls_active(sim->calls));
}

void sim_ctl_call_ring(struct sim *sim, struct sim_request *req,
                       struct sim_reply *out) {
  json_t *body = sim_control_body(req, out), *rec, *created = NULL, *events;
  const char *from, *to;
  bool from_ext, to_ext;
  enum sim_call_type type;
  enum sim_call_result rc;
  int64_t at;

  if (body == NULL)
    return;
  from = body_str(body, "from");
  to = body_str(body, "to");
  rec = json_object_get(body, "recording");
  if (from == NULL || to == NULL || (rec != NULL && !json_is_boolean(rec))) {
    sim_reply_control_error(out, 400,
                            "need string from and to (optional boolean "
                            "recording, integer at)");
    goto out;
  }
  if (!body_at(body, &at, out))
    goto out;
  from_ext = sim_dir_has_number(sim->dir, from);
  to_ext = sim_dir_has_number(sim->dir, to);
  if ((!from_ext && !sim_external_number_valid(from)) ||
      (!to_ext && !sim_external_number_valid(to))) {
    sim_reply_control_error(out, 400,
                            "from and to must be extensions or external "
                            "numbers (3-32 digits, optional leading +)");
    goto out;
  }
  if (!from_ext && !to_ext) {
    sim_reply_control_error(out, 400, "one side must be an extension");
    goto out;
  }
  if (strcmp(from, to) == 0) {
    sim_reply_control_error(out, 400, "from and to are the same");
    goto out;
  }
  type = from_ext && to_ext ? SIM_CALL_INTERNAL
         : from_ext         ? SIM_CALL_OUTBOUND
                            : SIM_CALL_INBOUND;
  events = json_array();
  rc = sim_calls_ring(sim->calls, from, to, type, json_is_true(rec), false, at,
                      &created, events);
  sim_events_emit_list(sim->events, events);
  reply_result(rc, created, 201, out);
out:
  json_decref(body);
}

static void step(struct sim *sim, struct sim_request *req,
                 struct sim_reply *out, enum sim_call_step which) {
  json_t *body = sim_control_body(req, out), *result = NULL, *events;
  const char *uid, *status;
  enum sim_call_result rc;
  int st = -1;
  int64_t at;

  if (body == NULL)
    return;
  uid = body_str(body, "call_id");
  if (uid == NULL) {
    sim_reply_control_error(out, 400, "need string call_id");
    goto out;
  }
  if (!body_at(body, &at, out))
    goto out;
  if (which == SIM_STEP_HANGUP && json_object_get(body, "status") != NULL) {
    status = body_str(body, "status");
    if (status == NULL || (st = sim_cdr_status_parse(status)) < 0) {
      sim_reply_control_error(out, 400,
                              "status must be ANSWERED, NO ANSWER, BUSY, "
                              "FAILED or VOICEMAIL");
      goto out;
    }
  }
  events = json_array();
  rc = sim_calls_step(sim->calls, uid, which, at, st, &result, events);
  sim_events_emit_list(sim->events, events);
  reply_result(rc, result, 200, out);
out:
  json_decref(body);
}

void sim_ctl_call_answer(struct sim *sim, struct sim_request *req,
                         struct sim_reply *out) {
  step(sim, req, out, SIM_STEP_ANSWER);
}

void sim_ctl_call_hold(struct sim *sim, struct sim_request *req,
                       struct sim_reply *out) {
  step(sim, req, out, SIM_STEP_HOLD);
}

void sim_ctl_call_unhold(struct sim *sim, struct sim_request *req,
                         struct sim_reply *out) {
  step(sim, req, out, SIM_STEP_UNHOLD);
}

void sim_ctl_call_hangup(struct sim *sim, struct sim_request *req,
                         struct sim_reply *out) {
  step(sim, req, out, SIM_STEP_HANGUP);
}

/* {"call_id":"...","to":"2003"} (optional "by": "from" or "to", the side
 * that transfers; optional "at"): a blind transfer. */
void sim_ctl_call_transfer(struct sim *sim, struct sim_request *req,
                           struct sim_reply *out) {
  json_t *body = sim_control_body(req, out), *result = NULL, *events, *by;
  const char *uid, *to;
  enum sim_call_result rc;
  int by_side = -1;
  bool to_ext;
  int64_t at;

  if (body == NULL)
    return;
  uid = body_str(body, "call_id");
  to = body_str(body, "to");
  by = json_object_get(body, "by");
  if (uid == NULL || to == NULL ||
      (by != NULL &&
       (!json_is_string(by) || (strcmp(json_string_value(by), "from") != 0 &&
                                strcmp(json_string_value(by), "to") != 0)))) {
    sim_reply_control_error(out, 400,
                            "need string call_id and to (optional by: from "
                            "or to, integer at)");
    goto out;
  }
  if (by != NULL)
    by_side = strcmp(json_string_value(by), "to") == 0;
  if (!body_at(body, &at, out))
    goto out;
  to_ext = sim_dir_has_number(sim->dir, to);
  if (!to_ext && !sim_external_number_valid(to)) {
    sim_reply_control_error(out, 400,
                            "to must be an extension or an external number "
                            "(3-32 digits, optional leading +)");
    goto out;
  }
  events = json_array();
  rc = sim_calls_transfer(sim->calls, uid, by_side, to, to_ext, at, &result,
                          events);
  sim_events_emit_list(sim->events, events);
  reply_result(rc, result, 200, out);
out:
  json_decref(body);
}

void sim_ctl_cdrs_add(struct sim *sim, struct sim_request *req,
                      struct sim_reply *out) {
  json_t *body = sim_control_body(req, out), *count, *start, *interval;
  const char *base;
  long step_s = 60;
  size_t n, added;
  int64_t first;

  if (body == NULL)
    return;
  count = json_object_get(body, "count");
  start = json_object_get(body, "start");
  interval = json_object_get(body, "interval");
  base = json_object_get(body, "extension_base")
             ? body_str(body, "extension_base")
             : "2000";
  if (!json_is_integer(count) || json_integer_value(count) < 1 ||
      json_integer_value(count) > SIM_CDR_MAX ||
      (start != NULL &&
       (!json_is_integer(start) || json_integer_value(start) < 0 ||
        json_integer_value(start) > AT_MAX)) ||
      (interval != NULL &&
       (!json_is_integer(interval) || json_integer_value(interval) < 0 ||
        json_integer_value(interval) > BULK_INTERVAL_MAX)) ||
      base == NULL || strlen(base) < 1 || strlen(base) > 9 ||
      strspn(base, "0123456789") != strlen(base)) {
    sim_reply_control_error(out, 400,
                            "need integer count 1-200000 (optional integer "
                            "start, interval 0-86400, digits extension_base)");
    goto out;
  }
  n = (size_t)json_integer_value(count);
  if (interval != NULL)
    step_s = (long)json_integer_value(interval);
  first = start != NULL ? (int64_t)json_integer_value(start)
                        : (int64_t)time(NULL) - (int64_t)n * step_s;
  if (first < 0)
    first = 0;
  added = sim_calls_add_cdrs(sim->calls, n, first, step_s, base);
  sim_reply_json(out, 200,
                 json_pack("{s:I,s:I}", "added", (json_int_t)added, "stored",
                           (json_int_t)sim_calls_cdr_count(sim->calls)));
out:
  json_decref(body);
}
