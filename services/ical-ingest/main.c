/* ical-ingest: owns planning sources, expands them over a moving horizon
 * and publishes each extension's slots (BRIEF §2). */
#include <stdio.h>
#include <string.h>

#include "ingest.h"
#include "pb/bus.h"
#include "pb/config.h"
#include "pb/error.h"
#include "pb/log.h"
#include "pb/loop.h"
#include "pb/service.h"
#include "pb/store.h"

static const struct pb_cli_option options[] = {
    {"--import", "FILE", "send a CSV/JSON weekly planning to the running service"},
    {"--format", "FORMAT", "csv or json (default: from the file name)"},
    {"--site", "SITE", "site of the imported planning (default: SITE)"},
    {"--source", "ID", "source the planning replaces (default: weekly)"},
    {"--dry-run", NULL, "with --import: only check the file, print its errors"},
    {NULL, NULL, NULL},
};

static void on_connect(struct pb_bus *bus, void *ud) {
  (void)bus;
  ingest_publish_all(ud);
}

int main(int argc, char **argv) {
  struct pb_service svc;
  int exit_code = 0;
  if (pb_service_init(&svc, "ical-ingest", argc, argv,
                      "Reads plannings and publishes each extension's slots.",
                      options, &exit_code)) {
    pb_service_cleanup(&svc);
    return exit_code;
  }
  const char *import = pb_config_arg(svc.cfg, "--import");
  if (import) {
    const char *site = pb_config_arg(svc.cfg, "--site");
    const char *source = pb_config_arg(svc.cfg, "--source");
    exit_code = ingest_import_cli(svc.cfg, import, pb_config_arg(svc.cfg, "--format"),
                                  site ? site : pb_config_str(svc.cfg, PB_CFG_SITE),
                                  source ? source : "weekly",
                                  pb_config_arg(svc.cfg, "--dry-run") != NULL);
    pb_service_cleanup(&svc);
    return exit_code;
  }

  struct ingest in = {
      .loop = svc.loop,
      .tz = svc.tz,
      .cfg = svc.cfg,
      .horizon_days = (int)pb_config_int(svc.cfg, PB_CFG_SCHEDULE_HORIZON_DAYS),
      .import_max = (size_t)pb_config_int(svc.cfg, PB_CFG_IMPORT_MAX_BYTES),
  };
  if (ingest_store_open(pb_config_str(svc.cfg, PB_CFG_DATA_DIR), &in.store) ||
      pb_service_connect(&svc)) {
    pb_store_close(in.store);
    pb_service_cleanup(&svc);
    return 1;
  }
  in.bus = svc.bus;
  pb_bus_on_connect(svc.bus, on_connect, &in);
  ingest_import_serve(&in);
  ingest_arm_horizon(&in);
  exit_code = pb_service_run(&svc);
  pb_timer_free(in.horizon_timer);
  pb_bus_free(svc.bus);
  svc.bus = NULL;
  pb_store_close(in.store);
  pb_service_cleanup(&svc);
  return exit_code;
}
