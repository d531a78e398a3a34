/* yeastar-gateway: keeps PBX sites in step with the desired statuses and
 * mirrors what the PBX shows onto the bus (BRIEF §2, §6). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "pb/bus.h"
#include "pb/config.h"
#include "pb/error.h"
#include "pb/http.h"
#include "pb/log.h"
#include "pb/loop.h"
#include "pb/map.h"
#include "pb/secretbox.h"
#include "pb/service.h"
#include "pb/store.h"

/* https://pbx:8088 -> https://pbx:8088/openapi/v1.0/ (kept if already given) */
static void base_url(const char *url, char *out, size_t len) {
  size_t n = strlen(url);
  while (n && url[n - 1] == '/')
    n--;
  if (strstr(url, "/openapi/"))
    snprintf(out, len, "%.*s/", (int)n, url);
  else
    snprintf(out, len, "%.*s/openapi/v1.0/", (int)n, url);
}

static struct gw_site *site_from_config(struct gw *gw) {
  const struct pb_config *cfg = gw->cfg;
  const char *url = pb_config_str(cfg, PB_CFG_YEASTAR_PBX_URL);
  if (!*url)
    return NULL;
  struct gw_site *s = calloc(1, sizeof *s);
  if (!s)
    return NULL;
  s->gw = gw;
  pb_strlcpy(s->name, pb_config_str(cfg, PB_CFG_SITE), sizeof s->name);
  base_url(url, s->base_url, sizeof s->base_url);
  pb_strlcpy(s->client_id, pb_config_str(cfg, PB_CFG_YEASTAR_CLIENT_ID),
             sizeof s->client_id);
  s->secret = strdup(pb_config_str(cfg, PB_CFG_YEASTAR_CLIENT_SECRET));
  pb_strlcpy(s->ca_file, pb_config_str(cfg, PB_CFG_YEASTAR_CA_FILE), sizeof s->ca_file);
  s->insecure = pb_config_bool(cfg, PB_CFG_YEASTAR_INSECURE);
  s->exts = pb_map_new();
  s->pending = pb_map_new();
  if (s->insecure)
    pb_warn("site %s: TLS certificate verification is OFF (YEASTAR_INSECURE): "
            "anyone on the path can read the PBX credentials", s->name);
  if (!*s->client_id)
    pb_warn("site %s: YEASTAR_CLIENT_ID is empty", s->name);
  return s;
}

static void site_free(struct gw_site *s) {
  if (!s)
    return;
  gw_pbx_release_waiting(s, PB_EUNAVAIL, "the gateway is stopping");
  pb_timer_free(s->token_timer);
  pb_timer_free(s->directory_timer);
  pb_timer_free(s->apply_timer);
  size_t pos = 0;
  struct gw_ext *e;
  while (s->exts && (e = pb_map_next(s->exts, &pos, NULL)))
    free(e);
  pb_map_free(s->exts);
  pb_map_free(s->pending);
  if (s->secret) {
    memset(s->secret, 0, strlen(s->secret));
    free(s->secret);
  }
  free(s);
}

static void on_connect(struct pb_bus *bus, void *ud) {
  (void)bus;
  struct gw *gw = ud;
  if (!gw->site)
    return;
  if (gw->site->directory_loaded)
    gw_directory_republish(gw->site);
  else
    gw_directory_refresh(gw->site);
}

int main(int argc, char **argv) {
  struct pb_service svc;
  int exit_code = 0;
  if (pb_service_init(&svc, "yeastar-gateway", argc, argv,
                      "Applies desired statuses to the Yeastar PBX.", NULL,
                      &exit_code)) {
    pb_service_cleanup(&svc);
    return exit_code;
  }
  const struct pb_config *cfg = svc.cfg;
  const char *data_dir = pb_config_str(cfg, PB_CFG_DATA_DIR);
  struct gw gw = {
      .loop = svc.loop,
      .tz = svc.tz,
      .cfg = cfg,
      .user_agent = pb_config_str(cfg, PB_CFG_YEASTAR_USER_AGENT),
      .timeout_ms = (long)pb_config_int(cfg, PB_CFG_PBX_TIMEOUT_SECONDS) * 1000,
      .retry_max_s = pb_config_int(cfg, PB_CFG_APPLY_RETRY_MAX_SECONDS),
      .directory_every_s = pb_config_int(cfg, PB_CFG_DIRECTORY_REFRESH_MINUTES) * 60,
  };
  if (pb_secretbox_open(data_dir, &gw.box) || gw_store_open(data_dir, &gw.store) ||
      pb_http_new(svc.loop, (int)pb_config_int(cfg, PB_CFG_PBX_MAX_CONCURRENCY),
                  &gw.http) ||
      pb_service_connect(&svc)) {
    exit_code = 1;
    goto out;
  }
  gw.bus = svc.bus;
  gw.site = site_from_config(&gw);
  if (gw.site)
    gw_token_load(gw.site);
  else
    pb_warn("no PBX configured (YEASTAR_PBX_URL is empty): nothing will be "
            "applied");
  if (gw_desired_register(&gw)) {
    exit_code = 1;
    goto out;
  }
  pb_bus_on_connect(svc.bus, on_connect, &gw);
  exit_code = pb_service_run(&svc);
out:
  pb_bus_free(svc.bus);
  svc.bus = NULL;
  site_free(gw.site);
  pb_http_free(gw.http);
  pb_store_close(gw.store);
  pb_secretbox_free(gw.box);
  pb_service_cleanup(&svc);
  return exit_code;
}
