/* web-api: the REST API, the dashboard, the live event stream, PBX webhooks,
 * metrics and the audit log (BRIEF §2, docs/api.md). */
#include <stdio.h>

#include <microhttpd.h>

#include "pb/bus.h"
#include "pb/clock.h"
#include "pb/config.h"
#include "pb/log.h"
#include "pb/loop.h"
#include "pb/service.h"
#include "pb/store.h"
#include "web.h"

static const struct pb_cli_option options[] = {
    {"--reset-admin", NULL,
     "Give the 'admin' account a new random password, print it, and exit."},
    {0},
};

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
  if (web_auth_init(&w) || web_pw_init(&w) || web_webhook_init(&w) ||
      web_sse_init(&w) || web_model_init(&w) || web_keys_init(&w) ||
      web_audit_init(&w) ||
      web_http_start(&w)) {
    exit_code = 1;
    goto out;
  }
  exit_code = pb_service_run(&svc);
out:
  web_http_stop(&w);
  if (w.list_cache)
    MHD_destroy_response(w.list_cache);
  if (w.list_cache_gz)
    MHD_destroy_response(w.list_cache_gz);
  pb_bus_free(svc.bus);
  svc.bus = NULL;
  web_command_cleanup(&w);
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
