/* call-log: keeps every finished call (CDR) of every site once, catches up
 * from the PBX's CDR search through yeastar-gateway, and answers searches
 * and statistics (docs/call-log.md). Start-up: configuration, database,
 * bus; everything else is in calllog.c, backfill.c, retention.c and
 * handle_*.c. */
#include "calllog.h"
#include "pb/bus.h"
#include "pb/config.h"
#include "pb/log.h"
#include "pb/loop.h"
#include "pb/service.h"
#include "pb/store.h"

static void on_response(struct pb_bus *bus, json_t *response, void *ud) {
  (void)bus;
  calllog_backfill_answer(ud, response);
}

static int io_request(void *ud, const char *service, const char *action,
                      json_t *req, int timeout_ms, struct calllog_site *site) {
  return pb_bus_request(ud, service, action, req, timeout_ms, on_response,
                        site);
}

static int io_event(void *ud, const char *kind, json_t *event) {
  return pb_bus_event(ud, kind, event);
}

int main(int argc, char **argv) {
  struct pb_service svc;
  struct calllog cl = {0};
  struct pb_store *store = NULL;
  int exit_code = 0;
  if (pb_service_init(&svc, "call-log", argc, argv,
                      "Keeps the call log (every CDR once) and answers "
                      "searches and statistics.",
                      NULL, &exit_code)) {
    pb_service_cleanup(&svc);
    return exit_code;
  }
  if (pb_service_connect(&svc)) {
    pb_service_cleanup(&svc);
    return 1;
  }
  const struct pb_config *cfg = svc.cfg;
  struct calllog_settings set = {
      .retention_days = pb_config_int(cfg, PB_CFG_CALL_LOG_RETENTION_DAYS),
      .backfill_seconds = pb_config_int(cfg, PB_CFG_CALL_LOG_BACKFILL_SECONDS),
      .backfill_days = pb_config_int(cfg, PB_CFG_CALL_LOG_BACKFILL_DAYS),
      .overlap_seconds =
          pb_config_int(cfg, PB_CFG_CALL_LOG_BACKFILL_OVERLAP_SECONDS),
      .page_size = pb_config_int(cfg, PB_CFG_CALL_LOG_BACKFILL_PAGE_SIZE),
      /* The gateway's own PBX request has PBX_TIMEOUT_SECONDS, and may
       * queue behind others. */
      .request_timeout_ms =
          (pb_config_int(cfg, PB_CFG_PBX_TIMEOUT_SECONDS) * 3 + 5) * 1000,
  };
  struct calllog_io io = {io_request, io_event, svc.bus};
  if (calllog_store_open(pb_config_str(cfg, PB_CFG_DATA_DIR), &store) ||
      calllog_init(&cl, svc.loop, store, svc.tz, &io, &set) ||
      calllog_cdr_register(svc.bus, &cl) ||
      calllog_requests_register(svc.bus, &cl) ||
      calllog_sites_register(svc.bus, &cl)) {
    exit_code = 1;
    goto out;
  }
  cl.default_site = pb_config_str(cfg, PB_CFG_SITE);
  pb_info("%lld calls in the log; retention %lld days (0: for ever)",
          (long long)calllog_store_count(store), (long long)set.retention_days);
  exit_code = pb_service_run(&svc);
out:
  /* Stop the bus before freeing what its handlers use. */
  pb_bus_free(svc.bus);
  svc.bus = NULL;
  calllog_cleanup(&cl);
  pb_store_close(store);
  pb_service_cleanup(&svc);
  return exit_code;
}
