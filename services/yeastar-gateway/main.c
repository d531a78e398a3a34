/* yeastar-gateway: keeps PBX sites in step with the desired statuses and
 * mirrors what the PBX shows onto the bus (docs/gateway.md).
 * Start-up: the YEASTAR_* site and the sites stored from site/add; at a
 * clean stop, optionally, each site's token is revoked. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "pb/bus.h"
#include "pb/clock.h"
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

#define DEL_TOKEN_WAIT_MS 3000
/* libcurl runs every site's requests; each site bounds its own. */
#define HTTP_MAX_PARALLEL 512

static int check_config(const struct pb_config *cfg, char *err, size_t errlen) {
  const char *policy = pb_config_str(cfg, PB_CFG_DRIFT_POLICY);
  if (strcmp(policy, "respect") != 0 && strcmp(policy, "enforce") != 0) {
    snprintf(err, errlen, "DRIFT_POLICY: '%s' is not respect or enforce",
             policy);
    return PB_ECONFIG;
  }
  const char *feed = pb_config_str(cfg, PB_CFG_PBX_EVENT_FEED);
  if (strcmp(feed, "websocket") != 0 && strcmp(feed, "off") != 0) {
    snprintf(err, errlen, "PBX_EVENT_FEED: '%s' is not websocket or off", feed);
    return PB_ECONFIG;
  }
  return 0;
}

static void site_from_config(struct gw *gw) {
  const struct pb_config *cfg = gw->cfg;
  const char *url = pb_config_str(cfg, PB_CFG_YEASTAR_PBX_URL);
  char err[300];
  if (!*url)
    return;
  struct gw_site_settings set = {0};
  pb_strlcpy(set.name, pb_config_str(cfg, PB_CFG_SITE), sizeof set.name);
  pb_strlcpy(set.url, url, sizeof set.url);
  pb_strlcpy(set.client_id, pb_config_str(cfg, PB_CFG_YEASTAR_CLIENT_ID),
             sizeof set.client_id);
  set.secret = strdup(pb_config_str(cfg, PB_CFG_YEASTAR_CLIENT_SECRET));
  if (!set.secret) {
    pb_error("site %s from the YEASTAR_* settings: out of memory", set.name);
    return;
  }
  pb_strlcpy(set.ca_file, pb_config_str(cfg, PB_CFG_YEASTAR_CA_FILE),
             sizeof set.ca_file);
  pb_strlcpy(set.pinned_key,
             pb_config_str(cfg, PB_CFG_YEASTAR_PINNED_PUBLIC_KEY),
             sizeof set.pinned_key);
  set.insecure = pb_config_bool(cfg, PB_CFG_YEASTAR_INSECURE);
  if (gw_settings_check(&set, err, sizeof err))
    pb_error("site %s from the YEASTAR_* settings: %s (it is started anyway "
             "and will report what fails)",
             set.name, err);
  gw_site_start(gw, &set, true, NULL);
  gw_settings_cleanup(&set);
}

static void start_stored(struct gw_site_settings *set, void *ud) {
  struct gw *gw = ud;
  if (gw_site_find(gw, set->name))
    pb_warn("site %s: stored from site/add but also given by the YEASTAR_* "
            "settings: the YEASTAR_* one is used",
            set->name);
  else
    gw_site_start(gw, set, false, NULL);
  gw_settings_cleanup(set);
}

/* Requests carrying a client secret come sealed to this key pair
 * (pb/sealed.h); its public key is on R/svc/yeastar-gateway/pubkey. */
static struct pb_keypair *request_keys;
static const char *const secret_fields[] = {"client_secret", NULL};

static void on_connect(struct pb_bus *bus, void *ud) {
  struct gw *gw = ud;
  if (request_keys)
    pb_sealed_publish_key(bus, request_keys);
  for (struct gw_site *s = gw->sites; s; s = s->next) {
    if (!s->directory_timer)
      gw_directory_start(s);
    else if (s->directory_loaded)
      gw_directory_republish(s);
    else
      gw_directory_read(s, true);
    gw_call_republish(s);
  }
}

static void on_revoke_deadline(struct pb_loop *loop, struct pb_timer *t,
                               void *ud) {
  (void)t;
  (void)ud;
  pb_loop_stop(loop);
}

/* PBX_DEL_TOKEN_ON_EXIT: revoke each token; the loop runs once more until
 * the answers are in (the last one stops it) or DEL_TOKEN_WAIT_MS passed. */
static void revoke_tokens(struct gw *gw, struct pb_loop *loop) {
  for (struct gw_site *s = gw->sites; s; s = s->next)
    gw_token_delete(s);
  if (gw->deleting == 0)
    return;
  struct pb_timer *deadline = pb_timer_new(loop, on_revoke_deadline, gw);
  pb_timer_arm_in(deadline, DEL_TOKEN_WAIT_MS);
  pb_loop_run(loop);
  pb_timer_free(deadline);
}

int main(int argc, char **argv) {
  struct pb_service svc;
  int exit_code = 0;
  pb_config_set_check(check_config);
  if (pb_service_init(&svc, PB_SERVICE_GATEWAY, argc, argv,
                      "Applies desired statuses to Yeastar PBX sites.", NULL,
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
      .max_concurrency = (int)pb_config_int(cfg, PB_CFG_PBX_MAX_CONCURRENCY),
      .rate_per_second = (int)pb_config_int(cfg, PB_CFG_PBX_RATE_PER_SECOND),
      .rate_burst = (int)pb_config_int(cfg, PB_CFG_PBX_RATE_BURST),
      .max_tokens = (int)pb_config_int(cfg, PB_CFG_PBX_MAX_TOKENS),
      .retry_max_s = pb_config_int(cfg, PB_CFG_APPLY_RETRY_MAX_SECONDS),
      .directory_every_s =
          pb_config_int(cfg, PB_CFG_DIRECTORY_REFRESH_MINUTES) * 60,
      .readback_every_s = pb_config_int(cfg, PB_CFG_PBX_READBACK_SECONDS),
      .drift_enforce =
          strcmp(pb_config_str(cfg, PB_CFG_DRIFT_POLICY), "enforce") == 0,
      .del_token_on_exit = pb_config_bool(cfg, PB_CFG_PBX_DEL_TOKEN_ON_EXIT),
      .feed_on =
          strcmp(pb_config_str(cfg, PB_CFG_PBX_EVENT_FEED), "websocket") == 0,
      .call_stale_s = pb_config_int(cfg, PB_CFG_CALL_STALE_SECONDS),
  };
  gw_io_use_bus(&gw);
  if (!*gw.user_agent) {
    pb_error(
        "YEASTAR_USER_AGENT is empty: the PBX refuses requests without one");
    exit_code = 2;
    goto out;
  }
  if (pb_secretbox_open(data_dir, &gw.box) ||
      pb_keypair_open(data_dir, PB_SERVICE_GATEWAY, &request_keys) ||
      gw_store_open(data_dir, &gw.store) ||
      pb_http_new(svc.loop, HTTP_MAX_PARALLEL, &gw.http) ||
      pb_service_connect(&svc)) {
    exit_code = 1;
    goto out;
  }
  gw.bus = svc.bus;
  pb_bus_serve_sealed(svc.bus, request_keys, secret_fields);
  pb_info("drift policy: %s; read-back every %llds",
          gw.drift_enforce ? "enforce" : "respect",
          (long long)gw.readback_every_s);
  if (gw_retained_load(&gw)) {
    exit_code = 1;
    goto out;
  }
  site_from_config(&gw);
  gw_store_sites_each(&gw, start_stored, &gw);
  if (!gw.sites)
    pb_warn("no PBX site (YEASTAR_PBX_URL is empty and none was added with "
            "site/add): nothing will be applied");
  if (gw_desired_register(&gw) || gw_pbx_event_register(&gw) ||
      gw_requests_register(&gw) || gw_retained_register(&gw)) {
    exit_code = 1;
    goto out;
  }
  pb_bus_on_connect(svc.bus, on_connect, &gw);
  exit_code = pb_service_run(&svc);
  if (gw.del_token_on_exit)
    revoke_tokens(&gw, svc.loop);
out:
  gw_tests_free(&gw);
  gw_sites_stop(&gw);
  gw_calls_stop(&gw);
  pb_bus_free(svc.bus);
  svc.bus = NULL;
  gw.bus = NULL;
  pb_http_free(gw.http);
  gw_sites_free(&gw);
  gw_retained_free(&gw);
  pb_store_close(gw.store);
  pb_secretbox_free(gw.box);
  pb_keypair_free(request_keys);
  pb_service_cleanup(&svc);
  return exit_code;
}
