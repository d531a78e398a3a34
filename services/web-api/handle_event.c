/* R/events/<kind>: every event goes to /metrics, the event stream and the
 * audit log (audit.c), with one sentence saying what happened. Anyone on
 * the bus may publish one, so its size is capped where it comes in
 * (WEB_EVENT_MAX_BYTES). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb/bus.h"
#include "pb/config.h"
#include "pb/log.h"
#include "pb/topics.h"
#include "web.h"

static const char *str_or(const json_t *j, const char *key, const char *def) {
  const char *s = pb_json_str(j, key);
  return s ? s : def;
}

/* One sentence per event kind; the whole event is kept in `data`. */
static void describe(struct web *w, const char *kind, json_t *ev, char *msg,
                     size_t len, const char **actor) {
  const char *site = str_or(ev, "site", ""), *ext = str_or(ev, "ext", "");
  *actor = str_or(ev, "service", "");
  if (strcmp(kind, "apply") == 0) {
    struct web_ext *e = web_model_get(w, site, ext);
    const char *now = str_or(ev, "status", "?");
    const char *old = "?";
    const char *cause = "?";
    if (e) {
      const char *pbx = pb_json_str(e->state, "status");
      /* The state may already show the new status when the event comes. */
      old = pbx && strcmp(pbx, now) != 0 ? pbx
            : e->prev_pbx_status[0]      ? e->prev_pbx_status
                                         : "?";
      cause = str_or(e->desired, "cause", "?");
    }
    json_object_set_new(ev, "old_status", json_string(old));
    json_object_set_new(ev, "cause", json_string(cause));
    snprintf(msg, len, "PBX status applied: %s -> %s (cause: %s)", old, now,
             cause);
  } else if (strcmp(kind, "apply_failed") == 0) {
    snprintf(msg, len, "applying %s failed: %s", str_or(ev, "status", "?"),
             str_or(ev, "error", "unknown error"));
  } else if (strcmp(kind, "override") == 0) {
    const char *action = str_or(ev, "action", "?");
    const char *by = str_or(ev, "by", "");
    if (*by)
      *actor = by;
    if (strcmp(action, "cleared") == 0)
      snprintf(msg, len, "override cleared");
    else
      snprintf(msg, len, "override %s: %s until %s%s%s", action,
               str_or(ev, "status", "?"), str_or(ev, "until", "cleared"),
               *str_or(ev, "reason", "") ? ", reason: " : "",
               str_or(ev, "reason", ""));
  } else if (strcmp(kind, "error") == 0) {
    snprintf(msg, len, "refused on %s: %s", str_or(ev, "topic", "?"),
             str_or(ev, "error", "?"));
  } else if (strcmp(kind, "pbx_error") == 0) {
    snprintf(msg, len, "PBX error: %s", str_or(ev, "error", "?"));
  } else if (strncmp(kind, "source", 6) == 0) {
    /* ical-ingest's R/events/source: action added, updated, removed,
     * fetched or failed, for the source `id`. */
    const char *err = pb_json_str(ev, "error");
    snprintf(msg, len, "source %s %s%s%s",
             str_or(ev, "id", str_or(ev, "source", "?")),
             str_or(ev, "action", kind), err ? ": " : "", err ? err : "");
  } else {
    const char *err = pb_json_str(ev, "error");
    snprintf(msg, len, "%s%s%s", kind, err ? ": " : "", err ? err : "");
  }
}

/* An event above WEB_EVENT_MAX_BYTES: its bytes are not parsed, kept or
 * streamed, only that it came (so a flood shows, without its cost). */
static void too_large(struct web *w, const char *kind,
                      const struct pb_bus_msg *msg, size_t max) {
  pb_warn("event on %s of %zu bytes ignored: larger than WEB_EVENT_MAX_BYTES "
          "(%zu)",
          msg->topic, msg->len, max);
  char text[256];
  snprintf(text, sizeof text,
           "event too large: %zu bytes (WEB_EVENT_MAX_BYTES %zu), not kept",
           msg->len, max);
  json_t *rec = json_pack("{s:s,s:b,s:I,s:s}", "kind", kind, "too_large", 1,
                          "size", (json_int_t)msg->len, "topic", msg->topic);
  web_sse_publish(w, kind, json_incref(rec));
  web_audit_add(w, kind, "", "", "", text, rec);
}

void web_handle_event(struct pb_bus *bus, const struct pb_bus_msg *msg,
                      void *ud) {
  (void)bus;
  struct web *w = ud;
  const char *kind = msg->topic + strlen(PB_TOPIC_EVENTS_PREFIX);
  if (!pb_topic_id_valid(kind))
    return;
  size_t max = (size_t)pb_config_int(w->cfg, PB_CFG_WEB_EVENT_MAX_BYTES);
  if (msg->len > max) {
    too_large(w, kind, msg, max);
    return;
  }
  json_t *ev = pb_json_parse(msg->payload, msg->len, NULL, 0);
  if (!json_is_object(ev)) {
    pb_warn("ignoring an event on %s that is not a JSON object", msg->topic);
    json_decref(ev);
    return;
  }
  web_metrics_event(w, kind, ev);
  char text[768];
  const char *actor = "";
  describe(w, kind, ev, text, sizeof text, &actor);
  char actor_copy[PB_TEXT_MAX];
  pb_strlcpy(actor_copy, actor, sizeof actor_copy);
  /* A finished call is kept by call-log (GET /api/calls), not twice here:
   * the audit log stays who changed what. Like the call log, it is shown
   * only to admins and to the users who own its extension. */
  if (strcmp(kind, "cdr") == 0) {
    web_sse_publish_ext(w, kind, json_incref(ev), str_or(ev, "site", ""),
                        str_or(ev, "extension", ""));
    json_decref(ev);
    return;
  }
  web_sse_publish(w, kind, json_incref(ev));
  web_audit_add(w, kind, str_or(ev, "site", ""), str_or(ev, "ext", ""),
                actor_copy, text, json_incref(ev));
  json_decref(ev);
}
