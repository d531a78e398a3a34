/* Commands from HTTP to the bus. web-api owns no state of the system: an
 * override, a planning switch, a source or a site is changed by a command
 * to the owning service, and the HTTP answer is that service's answer
 * (docs/topics.md: MQTT 5 response topic for ext/... commands,
 * R/svc/<service>/request/<action> for configuration). The HTTP request is
 * suspended meanwhile; a service that does not answer within
 * WEB_COMMAND_TIMEOUT_MS gets a 504 naming it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb/bus.h"
#include "pb/config.h"
#include "pb/error.h"
#include "pb/log.h"
#include "pb/sealed.h"
#include "pb/topics.h"
#include "web.h"

struct web_wait {
  struct web_wait *next, *prev;
  struct web *w;
  struct web_conn *wc; /* NULL once the HTTP request went away */
  char service[64];
  char action[64];
  char actor[PB_ID_MAX];
  char site[PB_ID_MAX], ext[PB_ID_MAX];
  json_t *ok;      /* the 200 body of a command, owned */
  bool is_request; /* an R/svc request: answer with its data */
  bool is_read;    /* a GET relayed (source/list...): not audited */
  int timeout_ms;
};

static void unlink_wait(struct web *w, struct web_wait *x) {
  if (x->prev)
    x->prev->next = x->next;
  else if (w->waits == x)
    w->waits = x->next;
  if (x->next)
    x->next->prev = x->prev;
  x->next = x->prev = NULL;
}

static void free_wait(struct web_wait *x) {
  json_decref(x->ok);
  free(x);
}

/* Secrets are write-only: whatever a service puts in an answer, a field
 * that holds one never reaches an HTTP client. */
static void strip_secrets(json_t *j, int depth) {
  static const char *const names[] = {
      "secret", "client_secret", "password",      "webhook_secret",
      "token",  "access_token",  "refresh_token", "api_key"};
  if (depth > 16)
    return;
  if (json_is_object(j)) {
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
      json_object_del(j, names[i]);
    const char *key;
    json_t *v;
    json_object_foreach(j, key, v) strip_secrets(v, depth + 1);
  } else if (json_is_array(j)) {
    size_t i;
    json_t *v;
    json_array_foreach(j, i, v) strip_secrets(v, depth + 1);
  }
}

/* The HTTP status of a refusal: a service may say what kind it is. */
static unsigned refusal_status(const json_t *response) {
  const char *code = pb_json_str(response, "code");
  if (code && strcmp(code, "not_found") == 0)
    return 404;
  if (code && strcmp(code, "conflict") == 0)
    return 409;
  return 400;
}

/* The audit entry of a command: what was sent, to whom, and the answer. */
static void audit_answer(struct web *w, const struct web_wait *x,
                         const json_t *response, bool ok) {
  const char *error = response && !ok ? pb_json_str(response, "error") : NULL;
  json_t *audit = json_pack("{s:s,s:s,s:s}", "service", x->service, "action",
                            x->action, "result",
                            !response ? "timeout"
                            : ok      ? "ok"
                                      : "error");
  if (error)
    json_object_set_new(audit, "error", json_string(error));
  char what[256];
  snprintf(what, sizeof what, "%s sent to %s: %s%s%s", x->action, x->service,
           !response ? "no answer"
           : ok      ? "ok"
                     : "refused",
           error ? ": " : "", error ? error : "");
  web_audit_add(w, "command", x->site, x->ext, x->actor, what, audit);
}

static void on_answer(struct pb_bus *bus, json_t *response, void *ud) {
  (void)bus;
  struct web_wait *x = ud;
  struct web *w = x->w;
  unlink_wait(w, x);
  const char *status = pb_json_str(response, "status");
  bool ok = status && strcmp(status, "ok") == 0;
  /* The audit log is who changed what: a read is not a change. */
  if (!x->is_read)
    audit_answer(w, x, response, ok);
  if (!response)
    w->metrics.commands_timeout++;
  if (!x->wc) {
    free_wait(x);
    return;
  }
  struct web_response r = {.status = 200};
  if (!response) {
    json_t *e = json_pack("{s:s,s:i,s:s}", "error", "", "status", 504,
                          "service", x->service);
    char msg[256];
    snprintf(msg, sizeof msg,
             "%s did not answer within %d ms (its availability is "
             "'%s'): nothing was changed by web-api",
             x->service, x->timeout_ms,
             web_service_availability(w, x->service));
    json_object_set_new(e, "error", json_string(msg));
    web_reply_json(&r, 504, e);
  } else if (ok) {
    if (x->is_request) {
      json_t *data = json_object_get(response, "data");
      data = data ? json_deep_copy(data) : json_object();
      strip_secrets(data, 0);
      web_reply_json(&r, 200, data);
    } else {
      web_reply_json(&r, 200,
                     x->ok ? json_incref(x->ok)
                           : json_pack("{s:s}", "status", "ok"));
    }
  } else {
    unsigned code = refusal_status(response);
    const char *err = pb_json_str(response, "error");
    json_t *e = json_pack("{s:s,s:i,s:s}", "error", err ? err : "refused",
                          "status", (int)code, "service", x->service);
    json_t *details = json_object_get(response, "details");
    if (details)
      json_object_set(e, "details", details);
    web_reply_json(&r, code, e);
  }
  web_conn_finish(x->wc, &r);
  x->wc->wait = NULL;
  free_wait(x);
}

static struct web_wait *new_wait(struct web *w, const struct web_request *req,
                                 const char *service, const char *action) {
  struct web_wait *x = calloc(1, sizeof *x);
  if (!x)
    return NULL;
  x->w = w;
  x->wc = req->wc;
  x->timeout_ms = (int)pb_config_int(w->cfg, PB_CFG_WEB_COMMAND_TIMEOUT_MS);
  pb_strlcpy(x->service, service, sizeof x->service);
  pb_strlcpy(x->action, action, sizeof x->action);
  pb_strlcpy(x->actor, req->auth.user, sizeof x->actor);
  return x;
}

static void track(struct web *w, struct web_wait *x,
                  struct web_response *resp) {
  x->next = w->waits;
  if (w->waits)
    w->waits->prev = x;
  w->waits = x;
  x->wc->wait = x;
  resp->deferred = true;
}

static bool service_offline(struct web *w, const char *service,
                            struct web_response *resp) {
  bool connected = w->io.connected(w->io.ud);
  if (strcmp(web_service_availability(w, service), "offline") != 0 && connected)
    return false;
  json_t *e = json_pack("{s:s,s:i,s:s}", "error", "", "status", 504, "service",
                        service);
  char msg[256];
  snprintf(msg, sizeof msg,
           "%s is %s: the command was not sent, nothing changed", service,
           connected ? "offline" : "unreachable (web-api has no broker)");
  json_object_set_new(e, "error", json_string(msg));
  web_reply_json(resp, 504, e);
  w->metrics.commands_timeout++;
  return true;
}

void web_command(struct web *w, const struct web_request *req,
                 struct web_response *resp, const char *service,
                 const char *topic, const char *payload, json_t *ok) {
  if (service_offline(w, service, resp)) {
    json_decref(ok);
    return;
  }
  char buf[256];
  const char *seg[6];
  struct web_wait *x = new_wait(w, req, service, "");
  if (!x) {
    json_decref(ok);
    web_reply_error(resp, 503, "out of memory");
    return;
  }
  /* ext/<site>/<ext>/<action...>: remembered for the audit log. */
  int n = pb_topic_split(topic, buf, sizeof buf, seg, 6);
  if (n >= 4 && strcmp(seg[0], "ext") == 0) {
    pb_strlcpy(x->site, seg[1], sizeof x->site);
    pb_strlcpy(x->ext, seg[2], sizeof x->ext);
    snprintf(x->action, sizeof x->action, "%s%s%s", seg[3], n > 4 ? "/" : "",
             n > 4 ? seg[4] : "");
  }
  x->ok = ok;
  int rc = w->io.command(w->io.ud, service, topic, payload, strlen(payload),
                         x->timeout_ms, on_answer, x);
  if (rc == PB_EUNAVAIL) {
    /* MQTT 3.1.1: no response topic, so no answer can be awaited. */
    w->io.publish(w->io.ud, topic, payload, strlen(payload));
    web_reply_json(resp, 202,
                   json_pack("{s:s,s:s}", "status", "sent", "note",
                             "MQTT_PROTOCOL=4: the service's answer "
                             "cannot be awaited"));
    free_wait(x);
    return;
  }
  if (rc) {
    free_wait(x);
    web_reply_error(resp, 503, "cannot send the command on the bus: %s",
                    pb_strerror(rc));
    return;
  }
  track(w, x, resp);
}

void web_service_request(struct web *w, const struct web_request *req,
                         struct web_response *resp, const char *service,
                         const char *action, json_t *request) {
  if (service_offline(w, service, resp)) {
    json_decref(request);
    return;
  }
  /* A service that published a key gets every request sealed to it
   * (service_keys.c); a secret is never sent in clear. */
  const struct pb_sealed_key *key = web_service_key(w, service);
  if (!key && web_request_has_secret(service, request)) {
    json_decref(request);
    char topic[160];
    if (pb_topic_svc(topic, sizeof topic, service, PB_SVC_PUBKEY))
      pb_strlcpy(topic, "its pubkey topic", sizeof topic);
    web_reply_error(resp, 503,
                    "the service's key is not known yet (%s publishes it on "
                    "R/%s when it starts): the request carries a secret and "
                    "was not sent; try again in a moment",
                    service, topic);
    return;
  }
  if (key) {
    json_t *sealed = pb_sealed_request(key, request);
    json_decref(request);
    if (!sealed) {
      web_reply_error(resp, 503, "the request could not be sealed to %s",
                      service);
      return;
    }
    request = sealed;
  }
  struct web_wait *x = new_wait(w, req, service, action);
  if (!x) {
    json_decref(request);
    web_reply_error(resp, 503, "out of memory");
    return;
  }
  x->is_request = true;
  x->is_read = !web_method_changes_state(req->method);
  int rc = w->io.request(w->io.ud, service, action, request, x->timeout_ms,
                         on_answer, x);
  if (rc) {
    free_wait(x);
    web_reply_error(resp, 503, "cannot send the request on the bus: %s",
                    pb_strerror(rc));
    return;
  }
  track(w, x, resp);
}

void web_command_detach(struct web_conn *wc) {
  if (wc->wait)
    wc->wait->wc = NULL;
  wc->wait = NULL;
}

void web_command_cleanup(struct web *w) {
  while (w->waits) {
    struct web_wait *x = w->waits;
    unlink_wait(w, x);
    free_wait(x);
  }
}
