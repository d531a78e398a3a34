/* The public keys services publish on R/svc/<service>/pubkey (retained,
 * docs/topics.md), so that web-api seals every request to a service that
 * has one (pb/sealed.h): a calendar password or a PBX client secret then
 * crosses the broker unreadable to any other client. */
#include <stdlib.h>
#include <string.h>

#include "pb/bus.h"
#include "pb/log.h"
#include "pb/map.h"
#include "pb/sealed.h"
#include "web.h"

static void on_pubkey(struct pb_bus *bus, const struct pb_bus_msg *msg,
                      void *ud) {
  (void)bus;
  struct web *w = ud;
  char service[PB_ID_MAX];
  if (!pb_topic_service(msg->topic, service, sizeof service))
    return;
  struct pb_sealed_key *key = NULL;
  if (msg->len) {
    char err[200];
    key = malloc(sizeof *key);
    if (!key)
      return;
    if (pb_sealed_key_parse(msg->payload, msg->len, key, err, sizeof err)) {
      pb_warn("ignoring the key on %s: %s", msg->topic, err);
      free(key);
      return;
    }
  }
  free(pb_map_remove(w->service_keys, service));
  if (key && pb_map_put(w->service_keys, service, key)) {
    free(key);
    return;
  }
  pb_info("%s: requests are %s", service,
          key ? "sealed to its public key" : "no longer sealed (key cleared)");
}

int web_keys_init(struct web *w) {
  w->service_keys = pb_map_new();
  if (!w->service_keys)
    return -1;
  return pb_bus_subscribe(w->bus, "svc/+/pubkey", on_pubkey, w);
}

void web_keys_cleanup(struct web *w) {
  size_t pos = 0;
  void *k;
  while (w->service_keys && (k = pb_map_next(w->service_keys, &pos, NULL)))
    free(k);
  pb_map_free(w->service_keys);
  w->service_keys = NULL;
}

const struct pb_sealed_key *web_service_key(const struct web *w,
                                            const char *service) {
  return w->service_keys ? pb_map_get(w->service_keys, service) : NULL;
}

/* Fields that hold a secret in a request to a service. A calendar URL is
 * one: feeds carry their token in it (?u=TOKEN, /private-HEX/). */
static const struct {
  const char *service;
  const char *field;
} secret_fields[] = {
    {"ical-ingest", "url"},
    {"ical-ingest", "password"},
    {"yeastar-gateway", "client_secret"},
};

bool web_request_has_secret(const char *service, const json_t *request) {
  for (size_t i = 0; i < sizeof secret_fields / sizeof secret_fields[0]; i++) {
    const json_t *v = json_object_get(request, secret_fields[i].field);
    if (strcmp(secret_fields[i].service, service) == 0 && v &&
        !json_is_null(v))
      return true;
  }
  return false;
}
