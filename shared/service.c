/* The common start-up and shutdown of the four services (pb/service.h). */
#include "pb/service.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb/bus.h"
#include "pb/error.h"
#include "pb/log.h"
#include "pb/loop.h"
#include "pb/tz.h"

int pb_service_init(struct pb_service *svc, const char *name, int argc,
                    char **argv, const char *summary,
                    const struct pb_cli_option *extra, int *exit_code) {
  memset(svc, 0, sizeof *svc);
  svc->name = name;
  pb_log_init(name, PB_LOG_INFO);
  if (pb_config_setup(argc, argv, name, summary, extra, &svc->cfg, exit_code))
    return PB_ESTATE;
  const char *zone = pb_config_str(svc->cfg, PB_CFG_TIMEZONE);
  int rc = *zone ? pb_tz_load(zone, &svc->tz) : pb_tz_load_system(&svc->tz);
  if (rc) {
    const char *env = getenv("TZ"); /* the system zone comes from TZ first */
    pb_error("cannot load time zone '%s'%s: %s",
             *zone         ? zone
             : env && *env ? env
                           : "(system)",
             *zone || !env || !*env ? "" : " (from TZ)", pb_strerror(rc));
    *exit_code = 2;
    return rc;
  }
  if ((rc = pb_loop_new(&svc->loop))) {
    *exit_code = 1;
    return rc;
  }
  return 0;
}

int pb_service_connect(struct pb_service *svc) {
  return pb_bus_new_from_config(svc->loop, svc->cfg, svc->name, svc->name,
                                false, &svc->bus);
}

int pb_service_run(struct pb_service *svc) {
  pb_info("%s %s starting (time zone %s, data in %s, broker %s)", svc->name,
          PB_VERSION, pb_tz_name(svc->tz),
          pb_config_str(svc->cfg, PB_CFG_DATA_DIR),
          pb_config_str(svc->cfg, PB_CFG_MQTT_URL));
  if (svc->bus && pb_bus_start(svc->bus))
    return 1;
  int rc = pb_loop_run(svc->loop);
  pb_info("%s stopping", svc->name);
  return rc < 0 ? 1 : 0;
}

void pb_service_cleanup(struct pb_service *svc) {
  pb_bus_free(svc->bus);
  svc->bus = NULL;
  pb_loop_free(svc->loop);
  svc->loop = NULL;
  pb_tz_free(svc->tz);
  svc->tz = NULL;
  pb_config_free(svc->cfg);
  svc->cfg = NULL;
}
