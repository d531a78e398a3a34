/* The /sim/ control API for tests and demos: request log, counters,
 * directory and presence changes "on the phone", outage and live settings.
 * No token, no User-Agent; errors are HTTP 4xx with {"error": "..."}. */
#include "sim.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

static json_t *ok(void) {
  return json_pack("{s:b}", "ok", 1);
}

json_t *sim_control_body(struct sim_request *req, struct sim_reply *out) {
  json_error_t err;
  size_t len;
  const char *text = sim_request_body(req, &len);
  json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);

  if (!json_is_object(j)) {
    json_decref(j);
    sim_reply_control_error(out, 400, "body must be a JSON object");
    return NULL;
  }
  return j;
}

/* Optional string member: NULL when absent; *bad set when not a string. */
static const char *opt_string(json_t *body, const char *key, bool *bad) {
  json_t *v = json_object_get(body, key);

  if (v == NULL)
    return NULL;
  if (!json_is_string(v)) {
    *bad = true;
    return NULL;
  }
  return json_string_value(v);
}

void sim_ctl_requests(struct sim *sim, struct sim_request *req,
                      struct sim_reply *out) {
  const char *since_text = sim_request_arg(req, "since");
  long since = 0;

  if (since_text != NULL &&
      sim_parse_long(since_text, 0, LONG_MAX, &since) != 0) {
    sim_reply_control_error(out, 400, "since must be a sequence number");
    return;
  }
  sim_reply_json(out, 200, sim_log_json(sim->log, (uint64_t)since));
}

void sim_ctl_requests_clear(struct sim *sim, struct sim_request *req,
                            struct sim_reply *out) {
  (void)req;
  sim_log_clear(sim->log);
  sim_reply_json(out, 200, ok());
}

void sim_ctl_stats(struct sim *sim, struct sim_request *req,
                   struct sim_reply *out) {
  struct sim_stats s;

  (void)req;
  sim_state_stats(sim->state, &s);
  sim_reply_json(
      out, 200,
      json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "logins",
                (json_int_t)s.logins, "refreshes", (json_int_t)s.refreshes,
                "failed_logins", (json_int_t)s.failed_logins,
                "token_limit_refusals", (json_int_t)s.token_limit_refusals,
                "live_tokens", (json_int_t)sim_tokens_live(sim->tokens),
                "requests", (json_int_t)s.requests, "in_flight",
                (json_int_t)s.in_flight, "max_in_flight",
                (json_int_t)s.max_in_flight, "server_errors",
                (json_int_t)s.server_errors, "dropped", (json_int_t)s.dropped,
                "token_deletes", (json_int_t)s.token_deletes, "ip_refusals",
                (json_int_t)s.ip_refusals));
}

void sim_ctl_extensions(struct sim *sim, struct sim_request *req,
                        struct sim_reply *out) {
  (void)req;
  sim_reply_json(out, 200, sim_dir_dump(sim->dir));
}

void sim_ctl_extension_add(struct sim *sim, struct sim_request *req,
                           struct sim_reply *out) {
  json_t *body = sim_control_body(req, out);
  json_t *created = NULL;
  const char *number, *name, *email, *mobile, *presence;
  bool bad = false;

  if (body == NULL)
    return;
  number = opt_string(body, "number", &bad);
  name = opt_string(body, "name", &bad);
  email = opt_string(body, "email_addr", &bad);
  mobile = opt_string(body, "mobile_number", &bad);
  presence = opt_string(body, "presence_status", &bad);
  if (bad || number == NULL || name == NULL) {
    sim_reply_control_error(out, 400,
                            "need string number and name (optional "
                            "email_addr, mobile_number, presence_status)");
    goto out;
  }
  switch (
      sim_dir_add(sim->dir, number, name, email, mobile, presence, &created)) {
  case SIM_DIR_OK:
    sim_reply_json(out, 201, created);
    break;
  case SIM_DIR_DUPLICATE:
    sim_reply_control_error(out, 409, "number already exists");
    break;
  case SIM_DIR_FULL:
    sim_reply_control_error(out, 400, "directory is full");
    break;
  default:
    sim_reply_control_error(out, 400,
                            "invalid number (digits), name or presence");
    break;
  }
out:
  json_decref(body);
}

void sim_ctl_extension_remove(struct sim *sim, struct sim_request *req,
                              struct sim_reply *out) {
  json_t *body = sim_control_body(req, out);
  bool bad = false;
  const char *number;

  if (body == NULL)
    return;
  number = opt_string(body, "number", &bad);
  if (number == NULL)
    sim_reply_control_error(out, 400, "need string number");
  else if (sim_dir_remove(sim->dir, number) != SIM_DIR_OK)
    sim_reply_control_error(out, 404, "no such number");
  else
    sim_reply_json(out, 200, ok());
  json_decref(body);
}

void sim_ctl_presence(struct sim *sim, struct sim_request *req,
                      struct sim_reply *out) {
  json_t *body = sim_control_body(req, out);
  bool bad = false;
  const char *number, *presence;

  if (body == NULL)
    return;
  number = opt_string(body, "number", &bad);
  presence = opt_string(body, "presence_status", &bad);
  switch (sim_dir_set_presence_number(sim->dir, number, presence, "phone")) {
  case SIM_DIR_OK:
    sim_reply_json(out, 200, ok());
    break;
  case SIM_DIR_NOT_FOUND:
    sim_reply_control_error(out, 404, "no such number");
    break;
  default:
    sim_reply_control_error(out, 400,
                            "need string number and a valid presence_status");
    break;
  }
  json_decref(body);
}

void sim_ctl_outage(struct sim *sim, struct sim_request *req,
                    struct sim_reply *out) {
  json_t *body = sim_control_body(req, out);
  json_t *on;
  struct sim_settings set = {0};

  if (body == NULL)
    return;
  on = json_object_get(body, "on");
  if (!json_is_boolean(on)) {
    sim_reply_control_error(out, 400, "need boolean on");
  } else {
    set.outage = json_is_true(on);
    sim_state_update(sim->state, &set, SIM_SET_OUTAGE);
    if (set.outage) /* a PBX that is down keeps no WebSocket open */
      sim_ws_drop_all(sim->ws);
    sim_reply_json(out, 200, json_pack("{s:b}", "outage", set.outage));
  }
  json_decref(body);
}

static json_t *config_json(struct sim *sim) {
  struct sim_settings set;
  json_t *ips = json_array();

  sim_state_get(sim->state, &set);
  for (size_t i = 0; i < set.n_allowed_ips; i++)
    json_array_append_new(ips, json_string(set.allowed_ips[i]));
  return json_pack("{s:I,s:s,s:f,s:I,s:I,s:I,s:b,s:I,s:b,s:o}", "latency_ms",
                   (json_int_t)set.latency_ms, "latency_only", set.latency_only,
                   "error_rate", set.error_rate, "error_status",
                   (json_int_t)set.error_status, "token_lifetime",
                   (json_int_t)set.token_lifetime, "refresh_lifetime",
                   (json_int_t)set.refresh_lifetime, "outage", set.outage,
                   "max_page_size", (json_int_t)set.max_page_size,
                   "api_enabled", !set.api_disabled, "allowed_ips", ips);
}

/* A JSON array of at most SIM_ALLOWED_IPS_MAX address strings. */
static bool ip_list(json_t *v, struct sim_settings *set) {
  size_t i;
  json_t *ip;

  if (!json_is_array(v) || json_array_size(v) > SIM_ALLOWED_IPS_MAX)
    return false;
  set->n_allowed_ips = 0;
  json_array_foreach(v, i, ip) {
    if (!json_is_string(ip) || json_string_length(ip) == 0 ||
        json_string_length(ip) >= SIM_IP_TEXT)
      return false;
    snprintf(set->allowed_ips[i], SIM_IP_TEXT, "%s", json_string_value(ip));
    set->n_allowed_ips++;
  }
  return true;
}

void sim_ctl_config_get(struct sim *sim, struct sim_request *req,
                        struct sim_reply *out) {
  (void)req;
  sim_reply_json(out, 200, config_json(sim));
}

static bool int_in(json_t *v, long min, long max, long *out) {
  if (!json_is_integer(v) || json_integer_value(v) < min ||
      json_integer_value(v) > max)
    return false;
  *out = (long)json_integer_value(v);
  return true;
}

/* All keys are checked before any is applied: a bad request changes
 * nothing. */
void sim_ctl_config_set(struct sim *sim, struct sim_request *req,
                        struct sim_reply *out) {
  json_t *body = sim_control_body(req, out);
  struct sim_settings set = {0};
  unsigned mask = 0;
  const char *key;
  json_t *v;
  char msg[160];

  if (body == NULL)
    return;
  json_object_foreach(body, key, v) {
    bool good;
    if (strcmp(key, "latency_ms") == 0) {
      good = int_in(v, 0, SIM_LATENCY_MAX_MS, &set.latency_ms);
      mask |= SIM_SET_LATENCY;
    } else if (strcmp(key, "error_rate") == 0) {
      good = json_is_number(v) && json_number_value(v) >= 0.0 &&
             json_number_value(v) <= 1.0;
      if (good)
        set.error_rate = json_number_value(v);
      mask |= SIM_SET_ERROR_RATE;
    } else if (strcmp(key, "error_status") == 0) {
      good = int_in(v, 500, 599, &set.error_status);
      mask |= SIM_SET_ERROR_STATUS;
    } else if (strcmp(key, "token_lifetime") == 0) {
      good = int_in(v, 1, SIM_LIFETIME_MAX, &set.token_lifetime);
      mask |= SIM_SET_TOKEN_LIFETIME;
    } else if (strcmp(key, "refresh_lifetime") == 0) {
      good = int_in(v, 1, SIM_LIFETIME_MAX, &set.refresh_lifetime);
      mask |= SIM_SET_REFRESH_LIFETIME;
    } else if (strcmp(key, "latency_only") == 0) {
      good =
          json_is_string(v) && json_string_length(v) < sizeof set.latency_only;
      if (good)
        snprintf(set.latency_only, sizeof set.latency_only, "%s",
                 json_string_value(v));
      mask |= SIM_SET_LATENCY_ONLY;
    } else if (strcmp(key, "max_page_size") == 0) {
      good = int_in(v, 1, SIM_PAGE_SIZE_MAX, &set.max_page_size);
      mask |= SIM_SET_MAX_PAGE_SIZE;
    } else if (strcmp(key, "api_enabled") == 0) {
      good = json_is_boolean(v);
      set.api_disabled = !json_is_true(v);
      mask |= SIM_SET_API_DISABLED;
    } else if (strcmp(key, "allowed_ips") == 0) {
      good = ip_list(v, &set);
      mask |= SIM_SET_ALLOWED_IPS;
    } else {
      snprintf(msg, sizeof msg, "unknown key: %.100s", key);
      sim_reply_control_error(out, 400, msg);
      goto out;
    }
    if (!good) {
      snprintf(msg, sizeof msg, "value out of range for %s", key);
      sim_reply_control_error(out, 400, msg);
      goto out;
    }
  }
  sim_state_update(sim->state, &set, mask);
  sim_reply_json(out, 200, config_json(sim));
out:
  json_decref(body);
}

/* Optional body {"access_only": true}: refresh tokens stay valid, so a
 * client can show it refreshes rather than logs in again. */
void sim_ctl_expire_tokens(struct sim *sim, struct sim_request *req,
                           struct sim_reply *out) {
  size_t len;
  json_t *body = NULL, *only;

  sim_request_body(req, &len);
  if (len > 0 && (body = sim_control_body(req, out)) == NULL)
    return;
  only = json_object_get(body, "access_only");
  if (only != NULL && !json_is_boolean(only)) {
    sim_reply_control_error(out, 400, "access_only must be a boolean");
  } else {
    sim_tokens_expire_all(sim->tokens, json_is_true(only));
    sim_reply_json(out, 200, ok());
  }
  json_decref(body);
}
