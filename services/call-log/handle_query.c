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
  const char *site = cl->default_site, *call_id;
  int rc = pb_json_get_str(req, "site", false, &site, err, sizeof err);
  if (rc == PB_ENOTFOUND)
    site = cl->default_site;
  else if (rc || !pb_topic_id_valid(site)) {
    pb_bus_reply_error(
        reply, "field 'site' must be 1-64 characters of [A-Za-z0-9_-]", NULL);
    return;
  }
  if (pb_json_get_str(req, "call_id", true, &call_id, err, sizeof err) ||
      !*call_id || strlen(call_id) >= PB_CALL_ID_MAX) {
    pb_bus_reply_error(
        reply, "field 'call_id' must be a call id of 1-96 characters", NULL);
    return;
  }
  struct pb_cdr c;
  rc = calllog_store_get(cl->store, site, call_id, &c);
  if (rc == PB_ENOTFOUND) {
    snprintf(err, sizeof err, "call not found: no call '%s' on site '%s'",
             call_id, site);
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
