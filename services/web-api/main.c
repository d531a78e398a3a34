/* web-api: the REST API and the read models behind it (BRIEF §2). */
#include <stdio.h>

#include "pb/bus.h"
#include "pb/clock.h"
#include "pb/config.h"
#include "pb/log.h"
#include "pb/loop.h"
#include "pb/service.h"
#include "web.h"

int main(int argc, char **argv) {
  struct pb_service svc;
  int exit_code = 0;
  if (pb_service_init(&svc, "web-api", argc, argv,
                      "Serves the REST API and the dashboard.", NULL, &exit_code)) {
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
  if (pb_service_connect(&svc)) {
    exit_code = 1;
    goto out;
  }
  w.bus = svc.bus;
  if (web_model_init(&w) || web_http_start(&w)) {
    exit_code = 1;
    goto out;
  }
  exit_code = pb_service_run(&svc);
out:
  web_http_stop(&w);
  pb_bus_free(svc.bus);
  svc.bus = NULL;
  web_model_cleanup(&w);
  pb_service_cleanup(&svc);
  return exit_code;
}
