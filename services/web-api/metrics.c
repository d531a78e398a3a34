/* Counters for GET /metrics (Prometheus text exposition format 0.0.4),
 * GET /api/stats (the same numbers plus the read model, as JSON) and
 * GET /healthz. Counters come from the bus events web-api sees, so they
 * count since web-api started, as Prometheus counters do. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb/buf.h"
#include "pb/bus.h"
#include "pb/clock.h"
#include "pb/map.h"
#include "pb/topics.h"
#include "pb/worker.h"
#include "web.h"

static const double latency_bounds[10] = {0.01, 0.025, 0.05, 0.1, 0.25,
                                          0.5,  1,     2.5,  5,   10};
/* Every service of the stack; web-api's own entry is its broker connection. */
static const char *const services[] = {PB_SERVICE_ICAL_INGEST,
                                       PB_SERVICE_SCHEDULER, PB_SERVICE_GATEWAY,
                                       PB_SERVICE_WEB_API, PB_SERVICE_CALL_LOG};

void web_metrics_event(struct web *w, const char *kind, const json_t *ev) {
  struct web_metrics *m = &w->metrics;
  if (strcmp(kind, "apply") == 0) {
    m->applies++;
    /* The gateway may time each PBX call (latency_ms): a histogram then. */
    json_t *lat = json_object_get(ev, "latency_ms");
    if (json_is_number(lat)) {
      double s = json_number_value(lat) / 1000.0;
      m->pbx_latency_count++;
      m->pbx_latency_sum += s;
      for (int i = 0; i < 10; i++)
        if (s <= latency_bounds[i])
          m->pbx_latency_buckets[i]++;
    }
  } else if (strcmp(kind, "apply_failed") == 0) {
    m->apply_failures++;
  } else if (strcmp(kind, "override") == 0) {
    const char *a = pb_json_str(ev, "action");
    if (a && strcmp(a, "set") == 0)
      m->overrides_set++;
    else if (a && strcmp(a, "cleared") == 0)
      m->overrides_cleared++;
    else if (a && strcmp(a, "expired") == 0)
      m->overrides_expired++;
  } else if (strncmp(kind, "source", 6) == 0) {
    /* R/events/source: only downloads count, not added/updated/removed. */
    const char *a = pb_json_str(ev, "action");
    if (a && strcmp(a, "fetched") == 0)
      m->source_fetches++;
    else if (a && strcmp(a, "failed") == 0)
      m->source_failures++;
  }
}

/* /metrics is a few kilobytes; the cap only bounds a mistake. */
#define METRICS_MAX (1024 * 1024)

struct buf {
  struct pb_buf b;
  bool failed; /* out of memory (or past the cap): answered 503 */
};

#define ADD(m, ...)                                                            \
  do {                                                                         \
    if (!(m)->failed && pb_buf_addf(&(m)->b, __VA_ARGS__))                     \
      (m)->failed = true;                                                      \
  } while (0)

static void counter(struct buf *b, const char *name, const char *help,
                    uint64_t v) {
  ADD(b, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name, name,
      (unsigned long long)v);
}

static void gauge(struct buf *b, const char *name, const char *help, double v) {
  ADD(b, "# HELP %s %s\n# TYPE %s gauge\n%s %g\n", name, help, name, name, v);
}

void web_get_metrics(struct web *w, const struct web_request *req,
                     struct web_response *resp) {
  (void)req;
  struct web_metrics *m = &w->metrics;
  struct buf b = {.failed = false};
  pb_buf_init(&b.b, METRICS_MAX);
  counter(&b, "presencebus_status_changes_total",
          "Changes of a desired status seen on the bus.", m->status_changes);
  counter(&b, "presencebus_pbx_status_changes_total",
          "Changes of a PBX status seen on the bus.", m->pbx_changes);
  counter(&b, "presencebus_applies_total",
          "Statuses the gateway applied to the PBX.", m->applies);
  counter(&b, "presencebus_apply_failures_total",
          "Failed attempts to apply a status.", m->apply_failures);
  ADD(&b,
      "# HELP presencebus_overrides_total Override events by action.\n"
      "# TYPE presencebus_overrides_total counter\n"
      "presencebus_overrides_total{action=\"set\"} %llu\n"
      "presencebus_overrides_total{action=\"cleared\"} %llu\n"
      "presencebus_overrides_total{action=\"expired\"} %llu\n",
      (unsigned long long)m->overrides_set,
      (unsigned long long)m->overrides_cleared,
      (unsigned long long)m->overrides_expired);
  ADD(&b,
      "# HELP presencebus_source_fetches_total Calendar source fetches by "
      "result.\n"
      "# TYPE presencebus_source_fetches_total counter\n"
      "presencebus_source_fetches_total{result=\"ok\"} %llu\n"
      "presencebus_source_fetches_total{result=\"failed\"} %llu\n",
      (unsigned long long)m->source_fetches,
      (unsigned long long)m->source_failures);
  ADD(&b, "# HELP presencebus_pbx_latency_seconds Time of the PBX calls that "
          "applied a "
          "status (latency_ms of apply events).\n"
          "# TYPE presencebus_pbx_latency_seconds histogram\n");
  for (int i = 0; i < 10; i++)
    ADD(&b, "presencebus_pbx_latency_seconds_bucket{le=\"%g\"} %llu\n",
        latency_bounds[i], (unsigned long long)m->pbx_latency_buckets[i]);
  ADD(&b,
      "presencebus_pbx_latency_seconds_bucket{le=\"+Inf\"} %llu\n"
      "presencebus_pbx_latency_seconds_sum %g\n"
      "presencebus_pbx_latency_seconds_count %llu\n",
      (unsigned long long)m->pbx_latency_count, m->pbx_latency_sum,
      (unsigned long long)m->pbx_latency_count);
  counter(&b, "presencebus_webhooks_accepted_total",
          "PBX webhooks relayed onto the bus.", m->webhooks_accepted);
  counter(&b, "presencebus_webhooks_refused_total",
          "PBX webhooks refused (bad signature or body).", m->webhooks_refused);
  ADD(&b,
      "# HELP presencebus_logins_total Login attempts by result.\n"
      "# TYPE presencebus_logins_total counter\n"
      "presencebus_logins_total{result=\"ok\"} %llu\n"
      "presencebus_logins_total{result=\"failed\"} %llu\n"
      "presencebus_logins_total{result=\"rate_limited\"} %llu\n",
      (unsigned long long)m->logins_ok, (unsigned long long)m->logins_failed,
      (unsigned long long)m->logins_limited);
  ADD(&b,
      "# HELP presencebus_http_responses_total HTTP answers by status class.\n"
      "# TYPE presencebus_http_responses_total counter\n");
  for (int c = 1; c <= 5; c++)
    ADD(&b, "presencebus_http_responses_total{class=\"%dxx\"} %llu\n", c,
        (unsigned long long)m->http_requests[c]);
  counter(&b, "presencebus_command_timeouts_total",
          "Commands whose owning service did not answer in time (504).",
          m->commands_timeout);
  counter(&b, "presencebus_sse_dropped_total",
          "Event-stream clients dropped as too slow.", m->sse_dropped);
  ADD(&b,
      "# HELP presencebus_http_connections_closed_total Connections closed by "
      "a limit (docs/api.md, Limits).\n"
      "# TYPE presencebus_http_connections_closed_total counter\n"
      "presencebus_http_connections_closed_total{reason=\"refused\"} %llu\n"
      "presencebus_http_connections_closed_total{reason=\"evicted\"} %llu\n"
      "presencebus_http_connections_closed_total{reason=\"deadline\"} %llu\n",
      (unsigned long long)m->conns_refused,
      (unsigned long long)m->conns_evicted,
      (unsigned long long)m->conns_timed_out);
  gauge(&b, "presencebus_sse_clients", "Event-stream clients connected.",
        (double)web_sse_client_count(w));
  gauge(&b, "presencebus_extensions", "Extensions in the read model.",
        (double)pb_map_count(w->exts));
  gauge(&b, "presencebus_password_checks_waiting",
        "Password checks and hashes queued or running on the worker thread.",
        (double)pb_worker_pending(w->pw_worker));
  ADD(&b, "# HELP presencebus_service_up Service availability on the bus (1 "
          "online).\n"
          "# TYPE presencebus_service_up gauge\n");
  for (size_t i = 0; i < sizeof services / sizeof services[0]; i++) {
    const char *a = strcmp(services[i], PB_SERVICE_WEB_API) == 0
                        ? (w->io.connected(w->io.ud) ? "online" : "offline")
                        : web_service_availability(w, services[i]);
    ADD(&b, "presencebus_service_up{service=\"%s\"} %d\n", services[i],
        strcmp(a, "online") == 0);
  }
  size_t len = pb_buf_len(&b.b);
  char *text = b.failed ? NULL : pb_buf_take(&b.b);
  pb_buf_free(&b.b);
  if (!text) {
    web_reply_error(resp, 503, "out of memory");
    return;
  }
  resp->status = 200;
  resp->raw = text;
  resp->raw_len = len;
  resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
}

void web_get_stats(struct web *w, const struct web_request *req,
                   struct web_response *resp) {
  (void)req;
  struct web_metrics *m = &w->metrics;
  size_t n = 0;
  struct web_ext **list = web_model_list(w, NULL, &n);
  json_t *desired = json_object(), *pbx = json_object(),
         *causes = json_object();
  size_t in_sync = 0, overrides = 0, planning_off = 0;
  for (size_t i = 0; list && i < n; i++) {
    struct web_ext *e = list[i];
    const char *d = pb_json_str(e->desired, "status");
    const char *p = pb_json_str(e->state, "status");
    const char *c = pb_json_str(e->desired, "cause");
    if (d)
      json_object_set_new(
          desired, d,
          json_integer(json_integer_value(json_object_get(desired, d)) + 1));
    if (p)
      json_object_set_new(
          pbx, p,
          json_integer(json_integer_value(json_object_get(pbx, p)) + 1));
    if (c)
      json_object_set_new(
          causes, c,
          json_integer(json_integer_value(json_object_get(causes, c)) + 1));
    in_sync += json_is_true(json_object_get(e->state, "in_sync"));
    overrides += e->override != NULL;
    planning_off += e->planning_off;
  }
  free(list);
  json_t *out =
      json_pack("{s:I,s:o,s:o,s:o,s:I,s:I,s:I}", "extensions", (json_int_t)n,
                "desired", desired, "pbx", pbx, "causes", causes, "in_sync",
                (json_int_t)in_sync, "overrides", (json_int_t)overrides,
                "planning_off", (json_int_t)planning_off);
  json_object_set_new(
      out, "since_start",
      json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "status_changes",
                (json_int_t)m->status_changes, "applies",
                (json_int_t)m->applies, "apply_failures",
                (json_int_t)m->apply_failures, "overrides_set",
                (json_int_t)m->overrides_set, "source_fetches",
                (json_int_t)m->source_fetches, "source_failures",
                (json_int_t)m->source_failures, "webhooks",
                (json_int_t)m->webhooks_accepted, "command_timeouts",
                (json_int_t)m->commands_timeout));
  json_object_set_new(out, "sites", web_sites_json(w));
  json_object_set_new(out, "event_stream_clients",
                      json_integer((json_int_t)web_sse_client_count(w)));
  json_object_set_new(
      out, "uptime_seconds",
      json_integer((json_int_t)(pb_clock_now() - w->started_at)));
  web_reply_json(resp, 200, out);
}

void web_get_healthz(struct web *w, const struct web_request *req,
                     struct web_response *resp) {
  (void)req;
  json_t *svc = json_object();
  bool all = true;
  for (size_t i = 0; i < sizeof services / sizeof services[0]; i++) {
    const char *a = strcmp(services[i], PB_SERVICE_WEB_API) == 0
                        ? (w->io.connected(w->io.ud) ? "online" : "offline")
                        : web_service_availability(w, services[i]);
    all = all && strcmp(a, "online") == 0;
    json_object_set_new(svc, services[i], json_string(a));
  }
  json_t *j =
      json_pack("{s:s,s:b,s:o,s:I}", "status", all ? "ok" : "degraded",
                "bus_connected", w->io.connected(w->io.ud), "services", svc,
                "uptime_seconds", (json_int_t)(pb_clock_now() - w->started_at));
  web_reply_json(resp, w->io.connected(w->io.ud) ? 200 : 503, j);
}
