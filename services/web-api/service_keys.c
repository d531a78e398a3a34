/* The public keys services publish on R/svc/<service>/pubkey (retained,
 * docs/topics.md; read by handle_pubkey.c), so that web-api seals every
 * request to a service that has one (pb/sealed.h): a calendar password or
 * a PBX client secret then crosses the broker unreadable to any other
 * client. Which request fields hold a secret. */
#include <stdlib.h>
#include <string.h>

#include "pb/map.h"
#include "pb/sealed.h"
#include "pb/topics.h"
#include "web.h"

int web_keys_init(struct web *w) {
  w->service_keys = pb_map_new();
  return w->service_keys ? 0 : -1;
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
    {PB_SERVICE_ICAL_INGEST, "url"},
    {PB_SERVICE_ICAL_INGEST, "password"},
    {PB_SERVICE_GATEWAY, "client_secret"},
};

bool web_request_has_secret(const char *service, const json_t *request) {
  for (size_t i = 0; i < sizeof secret_fields / sizeof secret_fields[0]; i++) {
    const json_t *v = json_object_get(request, secret_fields[i].field);
    if (strcmp(secret_fields[i].service, service) == 0 && v && !json_is_null(v))
      return true;
  }
  return false;
}
