/* ical-ingest: owns planning sources, expands them over a moving horizon
 * and publishes each extension's slots (docs/architecture.md). */
#include <stdio.h>
#include <string.h>

#include "expand_cli.h"
#include "ingest.h"
#include "mapping.h"
#include "pb/bus.h"
#include "pb/config.h"
#include "pb/error.h"
#include "pb/http.h"
#include "pb/log.h"
#include "pb/loop.h"
#include "pb/sealed.h"
#include "pb/secretbox.h"
#include "pb/service.h"
#include "pb/store.h"
#include "pb/topics.h"

static const struct pb_cli_option options[] = {
    {"--import", "FILE",
     "send a CSV/JSON weekly planning to the running service"},
    {"--format", "FORMAT", "csv or json (default: from the file name)"},
    {"--site", "SITE", "site of the imported planning (default: SITE)"},
    {"--source", "ID", "source the planning replaces (default: weekly)"},
    {"--dry-run", NULL, "with --import: only check the file, print its errors"},
    {"--expand", "FILE",
     "print a calendar's occurrences (- reads stdin), then exit"},
    {"--from", "WHEN", "with --expand: window start, YYYYMMDD[THHMMSSZ] (UTC)"},
    {"--to", "WHEN", "with --expand: window end (excluded)"},
    {"--tz", "ZONE",
     "with --expand: zone of floating times (default: TIMEZONE)"},
    {"--status", NULL, "with --expand: also print each occurrence's status"},
    {"--all", NULL, "with --expand: keep cancelled and transparent events too"},
    {NULL, NULL, NULL},
};

/* Requests carrying a calendar's URL or password come sealed to this key
 * pair (pb/sealed.h); its public key is on R/svc/ical-ingest/pubkey. */
static struct pb_keypair *request_keys;
static const char *const secret_fields[] = {"url", "password", NULL};

static void on_connect(struct pb_bus *bus, void *ud) {
  if (request_keys)
    pb_sealed_publish_key(bus, request_keys);
  ingest_publish_all(ud);
  ingest_status_publish_all(ud);
}

/* MAPPING_RULES is refused at start (and by --check-config) with the
 * reason, rather than when the first calendar is read. */
static int check_config(const struct pb_config *cfg, char *err, size_t errlen) {
  struct ingest_rules *rules = NULL;
  int rc = ingest_rules_from_config(cfg, &rules, err, errlen);
  ingest_rules_free(rules);
  return rc;
}

/* Calendar sources: the sealing key, the global rules, the HTTP client and
 * the stored sources (whose downloads are planned). */
static int sources_start(struct ingest *in) {
  char err[600];
  const char *dir = pb_config_str(in->cfg, PB_CFG_DATA_DIR);
  if (pb_secretbox_open(dir, &in->box)) {
    pb_error("cannot open the secret key in %s", dir);
    return PB_ECRYPTO;
  }
  if (ingest_rules_from_config(in->cfg, &in->rules, err, sizeof err)) {
    pb_error("%s", err);
    return PB_ECONFIG;
  }
  if (pb_http_new(in->loop, 4, &in->http))
    return PB_ENOMEM;
  return ingest_sources_load(in);
}

static void sources_stop(struct ingest *in) {
  pb_http_free(in->http); /* cancels downloads without calling back */
  ingest_fetch_shutdown(in);
  ingest_sources_free(in);
  ingest_rules_free(in->rules);
  pb_secretbox_free(in->box);
}

int main(int argc, char **argv) {
  struct pb_service svc;
  int exit_code = 0;
  pb_config_set_check(check_config);
  if (pb_service_init(&svc, PB_SERVICE_ICAL_INGEST, argc, argv,
                      "Reads plannings and publishes each extension's slots.",
                      options, &exit_code)) {
    pb_service_cleanup(&svc);
    return exit_code;
  }
  const char *expand = pb_config_arg(svc.cfg, "--expand");
  if (expand) {
    exit_code = ingest_expand_cli(
        svc.cfg, svc.tz, expand, pb_config_arg(svc.cfg, "--from"),
        pb_config_arg(svc.cfg, "--to"), pb_config_arg(svc.cfg, "--tz"),
        pb_config_arg(svc.cfg, "--status") != NULL,
        pb_config_arg(svc.cfg, "--all") != NULL);
    pb_service_cleanup(&svc);
    return exit_code;
  }
  const char *import = pb_config_arg(svc.cfg, "--import");
  if (import) {
    const char *site = pb_config_arg(svc.cfg, "--site");
    const char *source = pb_config_arg(svc.cfg, "--source");
    exit_code =
        ingest_import_cli(svc.cfg, import, pb_config_arg(svc.cfg, "--format"),
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
  if (pb_keypair_open(pb_config_str(svc.cfg, PB_CFG_DATA_DIR),
                      PB_SERVICE_ICAL_INGEST, &request_keys)) {
    pb_error("cannot open the request key pair in %s",
             pb_config_str(svc.cfg, PB_CFG_DATA_DIR));
    pb_store_close(in.store);
    pb_service_cleanup(&svc);
    return 1;
  }
  pb_bus_serve_sealed(svc.bus, request_keys, secret_fields);
  if (ingest_settings_watch(&in) || sources_start(&in) ||
      ingest_schedule_watch(&in) || ingest_status_watch(&in)) {
    sources_stop(&in);
    ingest_zones_free(in.zones);
    pb_store_close(in.store);
    pb_service_cleanup(&svc);
    pb_keypair_free(request_keys);
    return 1;
  }
  pb_bus_on_connect(svc.bus, on_connect, &in);
  ingest_import_serve(&in);
  ingest_source_serve(&in);
  ingest_arm_horizon(&in);
  exit_code = pb_service_run(&svc);
  pb_timer_free(in.horizon_timer);
  sources_stop(&in);
  ingest_zones_free(in.zones);
  pb_bus_free(svc.bus);
  svc.bus = NULL;
  pb_keypair_free(request_keys);
  pb_store_close(in.store);
  pb_service_cleanup(&svc);
  return exit_code;
}
