/* Chains of requests to another service for one HTTP request: a CSV export
 * pages through call-log's `search`, a recording comes chunk by chunk from
 * yeastar-gateway's `recording/get` (docs/topics.md). Each step is one
 * request on R/svc/<service>/request/<action>, sealed to the service's key
 * when it published one, like command.c's; the HTTP request stays suspended
 * until the route's step function finishes the job. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb/bus.h"
#include "pb/config.h"
#include "pb/error.h"
#include "pb/sealed.h"
#include "web.h"

static void unlink_job(struct web *w, struct web_calls_job *j) {
  if (j->prev)
    j->prev->next = j->next;
  else if (w->calls_jobs == j)
    w->calls_jobs = j->next;
  if (j->next)
    j->next->prev = j->prev;
  j->next = j->prev = NULL;
}

void web_calls_job_free(struct web_calls_job *j) {
  if (!j)
    return;
  unlink_job(j->w, j);
  if (j->wc)
    j->wc->calls_job = NULL;
  if (j->free_state)
    j->free_state(j->state);
  free(j);
}

struct web_calls_job *web_calls_job_new(struct web *w,
                                        const struct web_request *req,
                                        struct web_response *resp,
                                        size_t state_size,
                                        void (*free_state)(void *state)) {
  struct web_calls_job *j = calloc(1, sizeof *j);
  void *state = j ? calloc(1, state_size) : NULL;
  if (!state) {
    free(j);
    web_reply_error(resp, 503, "out of memory");
    return NULL;
  }
  j->state = state;
  j->free_state = free_state;
  j->w = w;
  j->timeout_ms = (int)pb_config_int(w->cfg, PB_CFG_WEB_COMMAND_TIMEOUT_MS);
  pb_strlcpy(j->actor, req->auth.user, sizeof j->actor);
  j->role = req->auth.role;
  j->next = w->calls_jobs;
  if (w->calls_jobs)
    w->calls_jobs->prev = j;
  w->calls_jobs = j;
  j->wc = req->wc;
  return j;
}

bool web_calls_job_heavy(struct web_calls_job *job, struct web_response *resp) {
  unsigned n = 0;
  for (const struct web_calls_job *j = job->w->calls_jobs; j; j = j->next)
    n += j->heavy;
  if (n >= WEB_CALLS_HEAVY_MAX) {
    web_reply_error(resp, 503,
                    "%u CSV exports or recording downloads are running: try "
                    "again in a moment",
                    n);
    pb_strlcpy(resp->retry_after, "5", sizeof resp->retry_after);
    return false;
  }
  job->heavy = true;
  return true;
}

static void on_answer(struct pb_bus *bus, json_t *response, void *ud) {
  (void)bus;
  struct web_calls_job *j = ud;
  if (!response)
    j->w->metrics.commands_timeout++;
  if (!j->wc) { /* nobody waits for the rest */
    web_calls_job_free(j);
    return;
  }
  j->step(j, response);
}

int web_calls_job_send(struct web_calls_job *j, const char *service,
                       const char *action, json_t *request,
                       web_calls_step_fn *step) {
  struct web *w = j->w;
  const struct pb_sealed_key *key = web_service_key(w, service);
  if (key) {
    json_t *sealed = pb_sealed_request(key, request);
    json_decref(request);
    if (!sealed)
      return PB_ENOMEM;
    request = sealed;
  }
  pb_strlcpy(j->service, service, sizeof j->service);
  pb_strlcpy(j->action, action, sizeof j->action);
  j->step = step;
  return w->io.request(w->io.ud, service, action, request, j->timeout_ms,
                       on_answer, j);
}

void web_calls_job_start(struct web_calls_job *j, struct web_response *resp,
                         const char *service, const char *action,
                         json_t *request, web_calls_step_fn *step) {
  int rc = web_calls_job_send(j, service, action, request, step);
  if (rc) {
    web_calls_job_free(j);
    web_reply_error(resp, 503, "cannot send the request on the bus: %s",
                    pb_strerror(rc));
    return;
  }
  if (j->wc)
    j->wc->calls_job = j;
  resp->deferred = true;
}

void web_calls_job_finish(struct web_calls_job *j, struct web_response *resp) {
  if (j->wc) {
    struct web_conn *wc = j->wc;
    wc->calls_job = NULL;
    j->wc = NULL;
    web_conn_finish(wc, resp);
  } else {
    web_response_cleanup(resp);
  }
  web_calls_job_free(j);
}

void web_calls_job_fail(struct web_calls_job *j, const json_t *answer) {
  struct web_response r = {.status = 200};
  if (!answer) {
    char msg[256];
    snprintf(msg, sizeof msg,
             "%s did not answer %s within %d ms (its availability is '%s')",
             j->service, j->action, j->timeout_ms,
             web_service_availability(j->w, j->service));
    web_reply_json(&r, 504,
                   json_pack("{s:s,s:i,s:s}", "error", msg, "status", 504,
                             "service", j->service));
  } else {
    /* call-log says "call not found: ...", the gateway "recording not
     * found" (docs/topics.md); a service may also give code not_found. */
    const char *code = pb_json_str(answer, "code");
    const char *err = pb_json_str(answer, "error");
    unsigned status = (code && strcmp(code, "not_found") == 0) ||
                              (err && strstr(err, "not found"))
                          ? 404
                          : 400;
    web_reply_json(&r, status,
                   json_pack("{s:s,s:i,s:s}", "error", err ? err : "refused",
                             "status", (int)status, "service", j->service));
  }
  web_calls_job_finish(j, &r);
}

void web_calls_detach(struct web_conn *wc) {
  if (wc->calls_job)
    wc->calls_job->wc = NULL;
  wc->calls_job = NULL;
}

void web_calls_cleanup(struct web *w) {
  while (w->calls_jobs)
    web_calls_job_free(w->calls_jobs);
}

bool web_service_down(struct web *w, const char *service,
                      struct web_response *resp) {
  bool connected = w->io.connected(w->io.ud);
  if (connected && strcmp(web_service_availability(w, service), "offline") != 0)
    return false;
  char msg[256];
  snprintf(msg, sizeof msg, "%s is %s: the request was not sent", service,
           connected ? "offline" : "unreachable (web-api has no broker)");
  web_reply_json(resp, 504,
                 json_pack("{s:s,s:i,s:s}", "error", msg, "status", 504,
                           "service", service));
  w->metrics.commands_timeout++;
  return true;
}
