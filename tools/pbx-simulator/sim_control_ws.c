/* The /sim/ control API for the WebSocket feed: see who is connected and
 * to what, drop every connection at once (a feed that fails under the
 * client), and refuse new upgrades (a PBX that refuses the WebSocket). */
#include "sim.h"

void sim_ctl_ws(struct sim *sim, struct sim_request *req,
                struct sim_reply *out) {
  (void)req;
  sim_reply_json(out, 200, sim_ws_status(sim->ws));
}

void sim_ctl_ws_drop(struct sim *sim, struct sim_request *req,
                     struct sim_reply *out) {
  size_t n = sim_ws_drop_all(sim->ws);

  (void)req;
  sim_reply_json(out, 200, json_pack("{s:I}", "dropped", (json_int_t)n));
}

/* {"refuse":true} (optional "status" 400-599, default 503) or
 * {"refuse":false}; optional "idle_timeout" seconds (1-3600) changes the
 * idle limit of every connection. */
void sim_ctl_ws_refuse(struct sim *sim, struct sim_request *req,
                       struct sim_reply *out) {
  json_t *body = sim_control_body(req, out), *refuse, *status, *idle;

  if (body == NULL)
    return;
  refuse = json_object_get(body, "refuse");
  status = json_object_get(body, "status");
  idle = json_object_get(body, "idle_timeout");
  if (!json_is_boolean(refuse) ||
      (status != NULL &&
       (!json_is_integer(status) || json_integer_value(status) < 400 ||
        json_integer_value(status) > 599)) ||
      (idle != NULL &&
       (!json_is_integer(idle) || json_integer_value(idle) < 1 ||
        json_integer_value(idle) > 3600))) {
    sim_reply_control_error(out, 400,
                            "need boolean refuse (optional integer status "
                            "400-599, idle_timeout 1-3600)");
    json_decref(body);
    return;
  }
  sim_ws_set_refuse(sim->ws, json_is_true(refuse),
                    status ? (unsigned)json_integer_value(status) : 503);
  if (idle != NULL)
    sim_ws_set_idle_timeout(sim->ws, (long)json_integer_value(idle));
  json_decref(body);
  sim_reply_json(out, 200, sim_ws_status(sim->ws));
}
