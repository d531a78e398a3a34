/* The call log's requests (docs/topics.md, docs/call-log.md):
 * R/svc/call-log/request/search, stats and get, registered from one action
 * table. A bad field is answered with an error naming it; nothing runs. */
#include <stdio.h>
#include <string.h>

#include "calllog.h"
#include "pb/bus.h"
#include "pb/clock.h"
#include "pb/log.h"
#include "pb/topics.h"

static void on_search(struct pb_bus *bus, const char *action, json_t *req,
                      struct pb_bus_reply *reply, void *ud) {
  (void)bus;
  (void)action;
  struct calllog *cl = ud;
  struct calllog_search s;
  char err[300];
  if (calllog_search_parse(req, &s, err, sizeof err)) {
    pb_bus_reply_error(reply, err, NULL);
    return;
  }
  int64_t t0 = pb_clock_mono_ms();
  json_t *out = calllog_search_run(cl->store, &s, cl->tz);
  if (!out) {
    pb_bus_reply_error(reply, "the call log could not be read", NULL);
    return;
  }
  pb_debug("search answered in %lld ms", (long long)(pb_clock_mono_ms() - t0));
  pb_bus_reply_ok(reply, out);
}

static void on_stats(struct pb_bus *bus, const char *action, json_t *req,
                     struct pb_bus_reply *reply, void *ud) {
  (void)bus;
  (void)action;
  struct calllog *cl = ud;
  struct calllog_stats_req r;
  char err[300];
  if (calllog_stats_parse(req, &r, err, sizeof err)) {
    pb_bus_reply_error(reply, err, NULL);
    return;
  }
  int64_t t0 = pb_clock_mono_ms();
  json_t *out = calllog_stats_run(cl->store, &r, cl->tz);
  if (!out) {
    pb_bus_reply_error(reply, "the call log could not be read", NULL);
    return;
  }
  pb_debug("stats answered in %lld ms", (long long)(pb_clock_mono_ms() - t0));
  pb_bus_reply_ok(reply, out);
}

static void on_get(struct pb_bus *bus, const char *action, json_t *req,
                   struct pb_bus_reply *reply, void *ud) {
  (void)bus;
  (void)action;
  struct calllog *cl = ud;
  char err[300];
  struct calllog_get g;
  if (calllog_get_parse(req, cl->default_site, &g, err, sizeof err)) {
    pb_bus_reply_error(reply, err, NULL);
    return;
  }
  struct pb_cdr c;
  int rc = calllog_store_get(cl->store, g.site, g.call_id, &c);
  if (rc == PB_ENOTFOUND) {
    snprintf(err, sizeof err, "call not found: no call '%s' on site '%s'",
             g.call_id, g.site);
    pb_bus_reply_error(reply, err, NULL);
    return;
  }
  if (rc) {
    pb_bus_reply_error(reply, "the call log could not be read", NULL);
    return;
  }
  json_t *out = json_object();
  json_object_set_new(out, "cdr", pb_cdr_to_json(&c, cl->tz));
  pb_bus_reply_ok(reply, out);
}

int calllog_requests_register(struct pb_bus *bus, struct calllog *cl) {
  static const struct pb_bus_action actions[] = {
      {PB_ACTION_CALLS_SEARCH, on_search},
      {PB_ACTION_CALLS_STATS, on_stats},
      {PB_ACTION_CALLS_GET, on_get},
  };
  return pb_bus_serve_table(bus, actions, PB_BUS_ACTIONS(actions), cl);
}
