/* web-api: the REST API, the dashboard, the live event stream, PBX webhooks,
 * metrics and the audit log (docs/api.md). */
#include <stdio.h>

#include "pb/bus.h"
#include "pb/clock.h"
#include "pb/config.h"
#include "pb/log.h"
#include "pb/loop.h"
#include "pb/service.h"
#include "pb/store.h"
#include "pb/topics.h"
#include "web.h"

static const struct pb_cli_option options[] = {
    {"--reset-admin", NULL,
     "Give the 'admin' account a new random password, print it, and exit."},
    {0},
};

/* What web-api reads from the bus (docs/topics.md), in this order. */
static const struct {
  const char *pattern;
  pb_bus_handler *handler;
} subscriptions[] = {
    {PB_TOPIC_EXT_ALL(PB_EXT_DESIRED), web_handle_ext},
    {PB_TOPIC_EXT_ALL(PB_EXT_STATE), web_handle_ext},
    {PB_TOPIC_EXT_ALL(PB_EXT_OVERRIDE), web_handle_ext},
    {PB_TOPIC_EXT_ALL(PB_EXT_PLANNING), web_handle_ext},
    {PB_TOPIC_EXT_ALL(PB_EXT_SCHEDULE), web_handle_ext},
    {PB_TOPIC_SITE_ALL(PB_SITE_DIRECTORY), web_handle_directory},
    {PB_TOPIC_SVC_ALL(PB_SVC_AVAILABILITY), web_handle_availability},
    {PB_TOPIC_SITE_ALL(PB_SITE_STATUS), web_handle_site_status},
    {PB_TOPIC_SVC_ALL(PB_SVC_PUBKEY), web_handle_pubkey},
    {PB_TOPIC_EXT_ALL(PB_EXT_CALL), web_handle_call},
    {PB_TOPIC_SITE_ALL(PB_SITE_CALLS), web_handle_site_calls},
    {PB_TOPIC_EVENTS_ALL, web_handle_event},
};

/* The bus the core sends on (struct web_bus_io). */
static bool bus_connected(void *ud) {
  return pb_bus_connected(ud);
}

static int bus_publish(void *ud, const char *topic, const void *payload,
                       size_t len) {
  return pb_bus_publish(ud, topic, payload, len, false);
}

static int bus_command(void *ud, const char *service, const char *topic,
                       const void *payload, size_t len, int timeout_ms,
                       pb_bus_response_cb *done, void *done_ud) {
  return pb_bus_command(ud, service, topic, payload, len, timeout_ms, done,
                        done_ud);
}

static int bus_request(void *ud, const char *service, const char *action,
                       json_t *request, int timeout_ms,
                       pb_bus_response_cb *done, void *done_ud) {
  return pb_bus_request(ud, service, action, request, timeout_ms, done,
                        done_ud);
}

static int subscribe(struct web *w) {
  for (size_t i = 0; i < sizeof subscriptions / sizeof subscriptions[0]; i++) {
    int rc = pb_bus_subscribe(w->bus, subscriptions[i].pattern,
                              subscriptions[i].handler, w);
    if (rc)
      return rc;
  }
  return 0;
}

int main(int argc, char **argv) {
  struct pb_service svc;
  int exit_code = 0;
  pb_config_set_check(web_proxies_check);
  if (pb_service_init(
          &svc, "web-api", argc, argv,
          "Serves the REST API, the dashboard and the live event stream.",
          options, &exit_code)) {
    pb_service_cleanup(&svc);
    return exit_code;
  }
  if (pb_config_arg(svc.cfg, "--reset-admin")) {
    exit_code = web_auth_reset_cli(svc.cfg, "admin");
    pb_service_cleanup(&svc);
    return exit_code;
  }
  struct web w = {
      .loop = svc.loop,
      .tz = svc.tz,
      .cfg = svc.cfg,
      .max_body = (size_t)pb_config_int(svc.cfg, PB_CFG_WEB_MAX_BODY_BYTES),
      .started_at = pb_clock_now(),
  };
  if (web_store_open(svc.cfg, &w.store) || pb_service_connect(&svc)) {
    exit_code = 1;
    goto out;
  }
  w.bus = svc.bus;
  w.io = (struct web_bus_io){.connected = bus_connected,
                             .publish = bus_publish,
                             .command = bus_command,
                             .request = bus_request,
                             .ud = svc.bus};
  if (web_auth_init(&w) || web_pw_init(&w) || web_webhook_init(&w) ||
      web_sse_init(&w) || web_model_init(&w) || web_keys_init(&w) ||
      web_audit_init(&w) || subscribe(&w) || web_http_start(&w)) {
    exit_code = 1;
    goto out;
  }
  exit_code = pb_service_run(&svc);
out:
  web_http_stop(&w);
  web_shared_free(w.list_cache);
  web_shared_free(w.list_cache_gz);
  pb_bus_free(svc.bus);
  svc.bus = NULL;
  web_command_cleanup(&w);
  web_calls_cleanup(&w);
  web_audit_cleanup(&w);
  web_sse_cleanup(&w);
  web_webhook_cleanup(&w);
  web_auth_cleanup(&w);
  web_model_cleanup(&w);
  web_keys_cleanup(&w);
  pb_store_close(w.store);
  pb_service_cleanup(&svc);
  return exit_code;
}
