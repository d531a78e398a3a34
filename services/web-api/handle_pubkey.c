/* R/svc/<service>/pubkey (retained): the key web-api seals requests to
 * that service with (service_keys.c); an empty payload clears it. */
#include <stdlib.h>
#include <string.h>

#include "pb/bus.h"
#include "pb/log.h"
#include "pb/map.h"
#include "pb/sealed.h"
#include "web.h"

void web_handle_pubkey(struct pb_bus *bus, const struct pb_bus_msg *msg,
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
