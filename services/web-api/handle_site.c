/* R/site/<site>/directory and R/site/<site>/status (yeastar-gateway) into
 * the read model (read_model.c); live changes go to the event stream. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pb/bus.h"
#include "pb/config.h"
#include "pb/log.h"
#include "pb/map.h"
#include "web.h"

/* R/site/<site>/directory (yeastar-gateway): which extensions the PBX has. */
void web_handle_directory(struct pb_bus *bus, const struct pb_bus_msg *msg,
                          void *ud) {
  (void)bus;
  struct web *w = ud;
  char err[256];
  w->model_gen++;
  json_t *j = pb_json_parse(msg->payload, msg->len, err, sizeof err);
  struct pb_directory d;
  if (!j || pb_directory_from_json(j, &d, err, sizeof err)) {
    json_decref(j);
    return;
  }
  json_decref(j);
  size_t pos = 0;
  struct web_ext *e;
  while ((e = pb_map_next(w->exts, &pos, NULL)))
    if (strcmp(e->site, d.site) == 0)
      e->in_directory = false;
  for (size_t i = 0; i < d.count; i++) {
    e = web_model_get_or_create(w, d.site, d.entries[i].number);
    if (!e)
      continue;
    e->in_directory = true;
    e->pbx_id = d.entries[i].id;
    pb_strlcpy(e->name, d.entries[i].name, sizeof e->name);
  }
  if (!msg->retained)
    web_sse_publish(
        w, "directory",
        json_pack("{s:s,s:I}", "site", d.site, "count", (json_int_t)d.count));
  pb_directory_cleanup(&d);
}

/* R/site/<site>/status (yeastar-gateway): kept as published, for
 * /api/stats and the event stream. */
void web_handle_site_status(struct pb_bus *bus, const struct pb_bus_msg *msg,
                            void *ud) {
  (void)bus;
  struct web *w = ud;
  char buf[256];
  const char *seg[4];
  if (pb_topic_split(msg->topic, buf, sizeof buf, seg, 4) != 3 ||
      !pb_topic_id_valid(seg[1]))
    return;
  size_t max = (size_t)pb_config_int(w->cfg, PB_CFG_WEB_EVENT_MAX_BYTES);
  if (msg->len > max) {
    pb_warn("ignoring %s of %zu bytes: larger than WEB_EVENT_MAX_BYTES (%zu)",
            msg->topic, msg->len, max);
    return;
  }
  json_t *j = msg->len ? pb_json_parse(msg->payload, msg->len, NULL, 0) : NULL;
  if (msg->len && !json_is_object(j)) {
    pb_warn("ignoring an unreadable %s", msg->topic);
    json_decref(j);
    return;
  }
  json_decref(pb_map_remove(w->sites, seg[1]));
  if (j && pb_map_put(w->sites, seg[1], j)) {
    json_decref(j);
    return;
  }
  if (!msg->retained)
    web_sse_publish(
        w, "site_status",
        json_pack("{s:s,s:O}", "site", seg[1], "status", j ? j : json_null()));
}
