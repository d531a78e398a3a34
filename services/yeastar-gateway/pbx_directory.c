/* The PBX's extension directory, read page by page with extension/list
 * (P-Series "Query Extension List"): at start, every
 * DIRECTORY_REFRESH_MINUTES, on request, and as the read-back of what the
 * PBX shows every PBX_READBACK_SECONDS. It gives the number -> internal id
 * map extension/update needs, the presence the PBX shows (for drift), and
 * R/site/<site>/directory (retained). The page size starts at 100 and is
 * halved when the PBX refuses it (the maximum is not documented). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "pb/buf.h"
#include "pb/bus.h"
#include "pb/clock.h"
#include "pb/error.h"
#include "pb/log.h"
#include "pb/loop.h"
#include "pb/map.h"
#include "pb/topics.h"

#define PAGE_SIZE_START 100
#define FAILED_READ_RETRY_MS 30000
#define MAX_WAITERS 8

struct gw_ext *gw_ext_get(struct gw_site *s, const char *number) {
  return pb_map_get(s->exts, number);
}

struct gw_ext *gw_ext_touch(struct gw_site *s, const char *number) {
  struct gw_ext *e = gw_ext_get(s, number);
  if (e)
    return e;
  if (pb_map_count(s->exts) >= GW_MAX_EXTS || !pb_topic_id_valid(number))
    return NULL;
  e = calloc(1, sizeof *e);
  if (!e || pb_map_put(s->exts, number, e)) {
    free(e);
    return NULL;
  }
  pb_strlcpy(e->number, number, sizeof e->number);
  e->pbx_status = PB_PRESENCE_NONE;
  e->desired = PB_PRESENCE_NONE;
  e->next_status = PB_PRESENCE_NONE;
  e->next_at = -1;
  return e;
}

void gw_ext_release(struct gw_site *s, struct gw_ext *e) {
  if (e->listed || e->in_flight || e->desired != PB_PRESENCE_NONE ||
      e->drift_since || e->in_outbox)
    return;
  if (e->in_retry)
    pb_map_remove(s->retry, e->number);
  pb_map_remove(s->exts, e->number);
  free(e->name);
  free(e);
}

struct walk {
  struct gw_site *site;
  size_t pos;
};

static bool next_listed(void *ud, struct pb_dir_entry *out) {
  struct walk *w = ud;
  struct gw_ext *e;
  while ((e = pb_map_next(w->site->exts, &w->pos, NULL))) {
    if (!e->listed)
      continue;
    pb_strlcpy(out->number, e->number, sizeof out->number);
    out->id = e->id;
    pb_strlcpy(out->name, e->name ? e->name : "", sizeof out->name);
    return true;
  }
  return false;
}

/* Written entry by entry: 10,000 extensions never become a JSON tree. */
void gw_directory_publish(struct gw_site *s) {
  struct walk w = {.site = s};
  size_t len = 0;
  char *text = pb_directory_dump_stream(s->name, pb_clock_now(), s->gw->tz,
                                        next_listed, &w, &len);
  if (!text) {
    pb_error("site %s: the directory payload could not be built", s->name);
    return;
  }
  char topic[128];
  if (pb_topic_site(topic, sizeof topic, s->name, PB_SITE_DIRECTORY) == 0)
    gw_publish(s->gw, topic, text, len, true);
  free(text);
}

void gw_directory_republish(struct gw_site *s) {
  gw_directory_publish(s);
  size_t pos = 0;
  struct gw_ext *e;
  while ((e = pb_map_next(s->exts, &pos, NULL)))
    if (e->listed)
      gw_state_publish(s, e);
  gw_site_publish_status(s);
}

static void answer_waiters(struct gw_site *s, const char *error) {
  for (int i = 0; i < s->nwaiters; i++) {
    if (error)
      gw_reply_error(s->gw, s->waiters[i], error, NULL);
    else
      gw_reply_ok(s->gw, s->waiters[i],
                  json_pack("{s:s,s:I}", "site", s->name, "extensions",
                            (json_int_t)s->read_seen));
  }
  s->nwaiters = 0;
}

void gw_directory_add_waiter(struct gw_site *s, struct pb_bus_reply *reply) {
  if (s->nwaiters >= MAX_WAITERS) {
    gw_reply_error(s->gw, reply, "too many directory refreshes waiting", NULL);
    return;
  }
  s->waiters[s->nwaiters++] = reply;
}

static unsigned read_online(const json_t *item) {
  const json_t *os = json_object_get(item, "online_status");
  unsigned bits = 0;
  for (unsigned k = 0; k < 5; k++) {
    const json_t *dev = json_object_get(os, pb_device_names[k]);
    if (json_integer_value(json_object_get(dev, "status")) == 1)
      bits |= 1u << k;
  }
  return bits;
}

/* End of a complete read: extensions not seen left the PBX, unless the
 * read looks inconsistent (the list changed under our pages), in which case
 * nobody is removed this time. */
static void finish_read(struct gw_site *s) {
  bool consistent = (int64_t)s->read_seen == s->read_total;
  size_t pos = 0;
  struct gw_ext *e;
  struct gw_ext **gone = NULL;
  size_t ngone = 0, cap = 0;
  while ((e = pb_map_next(s->exts, &pos, NULL))) {
    if (!e->listed || e->seen || !consistent)
      continue;
    if (pb_array_grow(&gone, &cap, ngone + 1, sizeof *gone, GW_MAX_EXTS))
      break;
    gone[ngone++] = e;
  }
  for (size_t i = 0; i < ngone; i++) {
    e = gone[i];
    pb_info("site %s: extension %s left the PBX directory", s->name, e->number);
    e->listed = false;
    e->id = 0;
    gw_state_clear(s, e->number);
    gw_ext_release(s, e);
  }
  free(gone);
  if (!consistent)
    pb_info("site %s: the directory changed while it was read (%zu seen, %lld "
            "announced): nothing removed this time",
            s->name, s->read_seen, (long long)s->read_total);
  else
    gw_retained_check_states(s);
  bool first = !s->directory_loaded;
  s->directory_loaded = true;
  s->reading = false;
  if (first || s->read_changed || ngone || s->read_publish)
    gw_directory_publish(s);
  s->read_publish = false;
  if (first && !strcmp(s->state, "starting"))
    gw_site_set_state(s, "ok", "");
  gw_site_publish_status(s);
  answer_waiters(s, NULL);
  if (first)
    gw_apply_check_all(s);
}

static void read_page(struct gw_site *s);

static void on_page(struct gw_site *s, int err, const char *errmsg,
                    json_t *resp, void *ud) {
  (void)ud;
  if (err == PB_ESTATE) {
    s->reading = false;
    answer_waiters(s, "the site stopped");
    return;
  }
  if (err) {
    const json_t *bad =
        json_array_get(json_object_get(resp, "invalid_param_list"), 0);
    const char *field = pb_json_str(bad, "field");
    if (err == PB_EPBX && field && !strcmp(field, "page_size") &&
        s->page_size > 1) {
      s->page_size /= 2;
      pb_info("site %s: the PBX refuses pages of that size: reading %d at a "
              "time",
              s->name, s->page_size);
      s->reading = false;
      gw_directory_read(s, s->read_publish);
      return;
    }
    pb_warn("site %s: reading the extension directory failed: %s", s->name,
            errmsg);
    s->reading = false;
    s->read_failed = true;
    answer_waiters(s, errmsg);
    pb_timer_arm_in(s->readback_timer, FAILED_READ_RETRY_MS);
    return;
  }
  const json_t *data = json_object_get(resp, "data");
  s->read_total =
      (int64_t)json_integer_value(json_object_get(resp, "total_number"));
  size_t i;
  const json_t *item;
  json_array_foreach(data, i, item) {
    const char *number = pb_json_str(item, "number");
    const json_t *id = json_object_get(item, "id");
    if (!number || !pb_topic_id_valid(number) || !json_is_integer(id))
      continue;
    struct gw_ext *e = gw_ext_touch(s, number);
    if (!e || e->seen)
      continue;
    e->seen = true;
    s->read_seen++;
    enum pb_presence p = PB_PRESENCE_NONE;
    const char *ps = pb_json_str(item, "presence_status");
    if (ps)
      pb_presence_parse(ps, &p);
    const char *name = pb_json_str(item, "caller_id_name");
    if (!name)
      name = "";
    unsigned online = read_online(item);
    bool fresh = !e->listed;
    bool renamed = !e->name || strcmp(e->name, name) != 0;
    bool changed = fresh || online != e->online || renamed ||
                   e->id != (int64_t)json_integer_value(id);
    if (fresh || renamed || e->id != (int64_t)json_integer_value(id))
      s->read_changed = true;
    e->id = (int64_t)json_integer_value(id);
    if (renamed) {
      /* Names are kept whole (a cut could split a UTF-8 sequence), and on
       * the heap: most are far shorter than PB_TEXT_MAX. */
      char *copy = strndup(name, 1024);
      if (copy) {
        free(e->name);
        e->name = copy;
      }
    }
    e->online = online;
    e->listed = true;
    /* a PBX without registration events (30007) still shows who is online */
    if (s->callstate && gw_callstate_registered(s->callstate, e->number, online,
                                                pb_clock_now_ms()))
      gw_call_publish_changes(s);
    enum pb_presence before = e->pbx_status;
    gw_drift_observe(s, e, p, s->read_sent_ms, "readback");
    if (changed && e->pbx_status == before)
      gw_state_publish(s, e); /* gw_drift_observe published it otherwise */
    if (fresh && s->directory_loaded)
      gw_apply_check(s, e);
  }
  size_t got = json_array_size(data);
  if (got == (size_t)s->page_size &&
      (int64_t)s->read_page * s->page_size < s->read_total &&
      s->read_page < GW_MAX_EXTS) {
    s->read_page++;
    read_page(s);
  } else {
    finish_read(s);
  }
}

static void read_page(struct gw_site *s) {
  char query[96];
  snprintf(query, sizeof query, "page=%d&page_size=%d&sort_by=id&order_by=asc",
           s->read_page, s->page_size);
  s->read_sent_ms = pb_clock_now_ms();
  struct gw_request r = {.method = "GET",
                         .endpoint = "extension/list",
                         .query = query,
                         .cb = on_page};
  if (gw_pbx_submit(s, &r)) {
    s->reading = false;
    answer_waiters(s, "the directory read could not be queued");
  }
}

void gw_directory_read(struct gw_site *s, bool publish) {
  if (publish)
    s->read_publish = true;
  if (s->reading)
    return; /* the read under way answers for this one too */
  s->reading = true;
  s->read_failed = false;
  s->read_page = 1;
  s->read_seen = 0;
  s->read_total = 0;
  s->read_changed = false;
  if (s->page_size <= 0)
    s->page_size = PAGE_SIZE_START;
  size_t pos = 0;
  struct gw_ext *e;
  while ((e = pb_map_next(s->exts, &pos, NULL)))
    e->seen = false;
  read_page(s);
}

static void on_directory_timer(struct pb_loop *loop, struct pb_timer *t,
                               void *ud) {
  (void)loop;
  struct gw_site *s = ud;
  pb_timer_arm_in(t, s->gw->directory_every_s * 1000);
  gw_directory_read(s, true);
}

static void on_readback_timer(struct pb_loop *loop, struct pb_timer *t,
                              void *ud) {
  (void)loop;
  struct gw_site *s = ud;
  if (s->gw->readback_every_s > 0)
    pb_timer_arm_in(t, s->gw->readback_every_s * 1000);
  gw_directory_read(s, !s->directory_loaded);
}

void gw_directory_start(struct gw_site *s) {
  if (!s->directory_timer) {
    s->directory_timer = pb_timer_new(s->gw->loop, on_directory_timer, s);
    s->readback_timer = pb_timer_new(s->gw->loop, on_readback_timer, s);
  }
  pb_timer_arm_in(s->directory_timer, s->gw->directory_every_s * 1000);
  if (s->gw->readback_every_s > 0)
    pb_timer_arm_in(s->readback_timer, s->gw->readback_every_s * 1000);
  gw_directory_read(s, true);
}

void gw_directory_resume(struct gw_site *s) {
  if (s->read_failed && !s->reading)
    gw_directory_read(s, s->read_publish || !s->directory_loaded);
}
