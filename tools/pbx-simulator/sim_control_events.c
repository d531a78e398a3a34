/* The /sim/ control API for what the PBX reports: devices registering
 * "on the phone" (30007), the per-extension monitoring switches set in the
 * PBX's web interface (Registration / Call / Presence Status Monitor), and
 * the webhook URLs with their secrets and events. */
#include "sim.h"

#include <stdio.h>
#include <string.h>

static const char *str(json_t *body, const char *key) {
  return json_string_value(json_object_get(body, key));
}

/* The guide's 30007 kinds and the online_status device each one is. */
static const struct {
  const char *kind, *device;
} kinds[] = {
    {"Sip", "sip_phone"},
    {"Mobile", "linkus_mobile"},
    {"Desktop", "linkus_desktop"},
    {"Web", "linkus_web"},
};

/* {"number":"2000","kind":"Mobile","status":"Registered"} (optional
 * "registered_ip"): a device of the extension logs in or out. */
void sim_ctl_register(struct sim *sim, struct sim_request *req,
                      struct sim_reply *out) {
  json_t *body = sim_control_body(req, out);
  const char *number, *kind, *status, *ip;
  int device = -1;
  bool changed, online;

  if (body == NULL)
    return;
  number = str(body, "number");
  kind = str(body, "kind");
  status = str(body, "status");
  ip = json_object_get(body, "registered_ip") ? str(body, "registered_ip")
                                              : "192.0.2.10";
  for (size_t i = 0; kind && i < sizeof kinds / sizeof kinds[0]; i++)
    if (strcmp(kind, kinds[i].kind) == 0)
      device = sim_device_index(kinds[i].device);
  if (number == NULL || device < 0 || status == NULL || ip == NULL ||
      strlen(ip) >= SIM_IP_TEXT ||
      (strcmp(status, "Registered") != 0 &&
       strcmp(status, "Unregistered") != 0)) {
    sim_reply_control_error(out, 400,
                            "need string number, kind (Sip, Mobile, Desktop, "
                            "Web), status (Registered, Unregistered), "
                            "optional string registered_ip");
    goto out;
  }
  online = strcmp(status, "Registered") == 0;
  if (sim_dir_set_device(sim->dir, number, device, online, &changed) !=
      SIM_DIR_OK) {
    sim_reply_control_error(out, 404, "no such number");
    goto out;
  }
  if (changed)
    sim_events_emit(sim->events, SIM_EV_REGISTRATION,
                    json_pack("{s:s,s:s,s:s,s:s}", "extension", number, "kind",
                              kind, "status", status, "registered_ip", ip));
  sim_reply_json(out, 200, json_pack("{s:b}", "changed", changed));
out:
  json_decref(body);
}

void sim_ctl_monitor_get(struct sim *sim, struct sim_request *req,
                         struct sim_reply *out) {
  (void)req;
  sim_reply_json(out, 200, sim_events_monitor_json(sim->events));
}

/* {"numbers":["2000"] (absent: every extension), "registration":false,
 * "call":true, "presence":true}: each switch given is set. */
void sim_ctl_monitor_set(struct sim *sim, struct sim_request *req,
                         struct sim_reply *out) {
  static const struct {
    const char *key;
    unsigned mask;
  } keys[] = {{"registration", SIM_MON_REGISTRATION},
              {"call", SIM_MON_CALL},
              {"presence", SIM_MON_PRESENCE}};
  json_t *body = sim_control_body(req, out), *numbers, *v;
  const char *key;
  size_t i;

  if (body == NULL)
    return;
  numbers = json_object_get(body, "numbers");
  json_object_foreach(body, key, v) {
    bool known = strcmp(key, "numbers") == 0;
    for (size_t k = 0; k < 3; k++)
      if (strcmp(key, keys[k].key) == 0)
        known = json_is_boolean(v);
    if (!known)
      goto bad;
  }
  if (numbers != NULL) {
    if (!json_is_array(numbers) || json_array_size(numbers) == 0)
      goto bad;
    json_array_foreach(numbers, i, v) {
      if (!json_is_string(v))
        goto bad;
      if (!sim_dir_has_number(sim->dir, json_string_value(v))) {
        sim_reply_control_error(out, 404, "no such number");
        goto out;
      }
    }
  }
  for (size_t k = 0; k < 3; k++) {
    json_t *sw = json_object_get(body, keys[k].key);
    if (sw == NULL)
      continue;
    if (numbers == NULL)
      sim_events_monitor(sim->events, NULL, keys[k].mask, json_is_true(sw));
    else
      json_array_foreach(numbers, i, v) sim_events_monitor(
          sim->events, json_string_value(v), keys[k].mask, json_is_true(sw));
  }
  sim_reply_json(out, 200, sim_events_monitor_json(sim->events));
  goto out;
bad:
  sim_reply_control_error(out, 400,
                          "need optional numbers (non-empty array of "
                          "strings) and booleans registration, call, "
                          "presence");
out:
  json_decref(body);
}

void sim_ctl_webhooks_get(struct sim *sim, struct sim_request *req,
                          struct sim_reply *out) {
  (void)req;
  sim_reply_json(out, 200, sim_webhooks_json(sim->webhooks));
}

/* {"url":"http://127.0.0.1:9000/hook","secret":"<32 chars>",
 * "events":[30011,30012]}: one more webhook (at most 5). */
void sim_ctl_webhooks_add(struct sim *sim, struct sim_request *req,
                          struct sim_reply *out) {
  json_t *body = sim_control_body(req, out), *events, *v;
  const char *url, *secret;
  int types[16];
  size_t n = 0, i;

  if (body == NULL)
    return;
  url = str(body, "url");
  secret = str(body, "secret");
  events = json_object_get(body, "events");
  if (url == NULL || secret == NULL || strlen(secret) < 1 ||
      !json_is_array(events) || json_array_size(events) == 0 ||
      json_array_size(events) > 16)
    goto bad;
  json_array_foreach(events, i, v) {
    if (!json_is_integer(v) || json_integer_value(v) < 30001 ||
        json_integer_value(v) > 30099)
      goto bad;
    types[n++] = (int)json_integer_value(v);
  }
  if (sim_webhooks_add(sim->webhooks, url, secret, types, n) != 0) {
    sim_reply_control_error(out, 400,
                            "url must be http://host[:port]/path, at most 5 "
                            "webhooks");
    goto out;
  }
  sim_reply_json(out, 201, sim_webhooks_json(sim->webhooks));
  goto out;
bad:
  sim_reply_control_error(out, 400,
                          "need string url and secret, events: 1-16 event "
                          "ids 30001-30099");
out:
  json_decref(body);
}

void sim_ctl_webhooks_clear(struct sim *sim, struct sim_request *req,
                            struct sim_reply *out) {
  (void)req;
  sim_webhooks_clear(sim->webhooks);
  sim_reply_json(out, 200, sim_webhooks_json(sim->webhooks));
}
