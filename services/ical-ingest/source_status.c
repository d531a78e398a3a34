/* What a source is doing, told on the bus: its retained status on
 * R/svc/ical-ingest/source/<id>/status (the last download's outcome, the
 * error that kept the last good schedule, the next attempt) and one
 * R/events/source event per change (docs/topics.md). Never a secret: URLs
 * are shown masked, error texts pass through ingest_redact. */
#include <stdio.h>
#include <string.h>

#include "ingest.h"
#include "pb/bus.h"
#include "pb/error.h"
#include "pb/json.h"
#include "pb/log.h"
#include "pb/topics.h"

static const char *state_name(const struct source *s) {
  if (s->def.kind != SOURCE_URL)
    return s->fetch.error[0] ? "error" : "ok";
  if (s->fetch.error[0])
    return "error";
  return s->fetch.last_success >= 0 || s->has_body ? "ok" : "pending";
}

static void add_state(const struct ingest *in, const struct source *s,
                      json_t *o) {
  json_object_set_new(o, "state", json_string(state_name(s)));
  json_object_set_new(o, "error",
                      s->fetch.error[0] ? json_string(s->fetch.error)
                                        : json_null());
  if (s->def.kind == SOURCE_URL) {
    json_object_set_new(o, "fetching", json_boolean(s->fetching));
    json_object_set_new(o, "http_status", json_integer(s->fetch.http_status));
    pb_json_set_time_tz(o, "last_attempt", s->fetch.last_attempt, in->tz);
    pb_json_set_time_tz(o, "last_success", s->fetch.last_success, in->tz);
    pb_json_set_time_tz(o, "last_change", s->fetch.last_change, in->tz);
    pb_json_set_time_tz(o, "next_attempt", s->next_attempt, in->tz);
    json_object_set_new(o, "failures", json_integer(s->fetch.failures));
  }
  if (s->def.kind == SOURCE_URL || s->def.kind == SOURCE_ICS) {
    json_object_set_new(o, "bytes", json_integer((json_int_t)s->body_len));
    json_object_set_new(o, "horizon_slots",
                        json_integer((json_int_t)s->slots.count));
    json_object_set_new(o, "ignored",
                        json_integer((json_int_t)s->stats.ignored));
    json_object_set_new(o, "warnings",
                        json_integer((json_int_t)s->stats.warnings));
    char w[sizeof s->stats.first_warning];
    pb_strlcpy(w, s->stats.first_warning, sizeof w);
    ingest_redact(w, sizeof w, &s->def.url, s->def.password);
    json_object_set_new(o, "first_warning",
                        s->stats.warnings ? json_string(w) : json_null());
  }
}

json_t *ingest_source_status(const struct ingest *in, const struct source *s) {
  json_t *o = ingest_source_public(&s->def, in->tz);
  if (!o)
    return NULL;
  if (s->def.kind == SOURCE_WEEKLY) {
    json_t *exts = json_array();
    ingest_store_weekly_exts(in->store, s->def.id, exts);
    json_object_set_new(o, "extensions", exts);
  }
  add_state(in, s, o);
  return o;
}

static int status_topic(const struct ingest *in, const char *id, char *buf,
                        size_t len) {
  return pb_topic_source_status(buf, len, pb_bus_service(in->bus), id);
}

void ingest_status_publish(struct ingest *in, const struct source *s) {
  if (!in->bus)
    return;
  json_t *o = ingest_source_status(in, s);
  if (!o)
    return;
  /* The status is about the source, not its content: hand-typed slots are
   * in source/list. */
  if (s->def.kind == SOURCE_MANUAL) {
    json_object_set_new(o, "slot_count",
                        json_integer((json_int_t)s->def.nmanual));
    json_object_del(o, "slots");
  }
  char topic[256];
  if (status_topic(in, s->def.id, topic, sizeof topic) == 0)
    pb_bus_publish_json(in->bus, topic, o, true);
  json_decref(o);
}

void ingest_status_publish_all(struct ingest *in) {
  for (size_t i = 0; i < ingest_sources_count(in); i++) {
    struct source *s = ingest_source_at(in, i);
    ingest_source_expand(in, s, false, NULL);
    ingest_status_publish(in, s);
  }
}

void ingest_status_clear(struct ingest *in, const char *id) {
  char topic[256];
  if (status_topic(in, id, topic, sizeof topic) == 0)
    pb_bus_clear(in->bus, topic);
}

/* Every retained status comes back at each (re)connection: one of a source
 * that is gone (removed just before a kill -9 kept the clear from leaving)
 * is cleared; the others are published again by ingest_status_publish_all.
 * Deliveries without the retained flag are this service's own publishes. */
static void on_own_status(struct pb_bus *bus, const struct pb_bus_msg *msg,
                          void *ud) {
  struct ingest *in = ud;
  char buf[256];
  const char *seg[6];
  if (!msg->retained || msg->len == 0 ||
      pb_topic_split(msg->topic, buf, sizeof buf, seg, 6) != 5 ||
      ingest_source_find(in, seg[3]))
    return;
  pb_info("clearing the status of source %s left on the broker: no such "
          "source any more",
          seg[3]);
  pb_bus_clear(bus, msg->topic);
}

int ingest_status_watch(struct ingest *in) {
  char pattern[128];
  int rc = status_topic(in, "+", pattern, sizeof pattern);
  if (rc)
    return rc;
  return pb_bus_subscribe_own(in->bus, pattern, false, on_own_status, in);
}

void ingest_source_event(struct ingest *in, const struct source_def *d,
                         const char *action, json_t *fields) {
  json_t *ev = fields ? fields : json_object();
  if (!ev)
    return;
  json_object_set_new(ev, "id", json_string(d->id));
  json_object_set_new(ev, "action", json_string(action));
  json_object_set_new(ev, "source_kind",
                      json_string(ingest_source_kind_name(d->kind)));
  json_object_set_new(ev, "site", json_string(d->site));
  pb_bus_event(in->bus, PB_EVENT_SOURCE, ev);
}
