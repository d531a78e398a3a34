/* Events out of the simulated PBX ("API Events Overview"): one envelope,
 * {"type":<event id>,"sn":"<serial>","msg":"<JSON text>"} (msg is a string
 * holding JSON, as the guide's report examples show), sent to the
 * WebSocket subscribers of its type and to the webhooks that take it; the
 * extension events only for extensions whose monitoring is on. */
#include "sim.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct monitor_entry {
  char number[32];
  unsigned mask;
};

struct sim_events {
  struct sim_ws *ws;
  struct sim_webhooks *hooks;
  char sn[64];
  pthread_mutex_t mu;
  unsigned default_mask; /* extensions without an entry */
  struct monitor_entry *entries;
  size_t n_entries, cap;
  uint64_t emitted, suppressed;
};

struct sim_events *sim_events_new(struct sim_ws *ws, struct sim_webhooks *hooks,
                                  const char *sn) {
  struct sim_events *ev = calloc(1, sizeof *ev);

  if (ev == NULL)
    return NULL;
  ev->ws = ws;
  ev->hooks = hooks;
  snprintf(ev->sn, sizeof ev->sn, "%s", sn);
  ev->default_mask = SIM_MON_ALL;
  pthread_mutex_init(&ev->mu, NULL);
  return ev;
}

void sim_events_free(struct sim_events *ev) {
  if (ev == NULL)
    return;
  pthread_mutex_destroy(&ev->mu);
  free(ev->entries);
  free(ev);
}

static struct monitor_entry *find_entry(struct sim_events *ev,
                                        const char *number) {
  for (size_t i = 0; i < ev->n_entries; i++)
    if (strcmp(ev->entries[i].number, number) == 0)
      return &ev->entries[i];
  return NULL;
}

static unsigned mask_of(struct sim_events *ev, const char *number) {
  struct monitor_entry *e = find_entry(ev, number);

  return e ? e->mask : ev->default_mask;
}

void sim_events_monitor(struct sim_events *ev, const char *number,
                        unsigned mask, bool on) {
  struct monitor_entry *e;

  pthread_mutex_lock(&ev->mu);
  if (number == NULL) {
    ev->default_mask = on ? ev->default_mask | mask : ev->default_mask & ~mask;
    for (size_t i = 0; i < ev->n_entries; i++)
      ev->entries[i].mask =
          on ? ev->entries[i].mask | mask : ev->entries[i].mask & ~mask;
    goto out;
  }
  e = find_entry(ev, number);
  if (e == NULL) {
    if (ev->n_entries == ev->cap) {
      size_t cap = ev->cap ? ev->cap * 2 : 16;
      struct monitor_entry *v = realloc(ev->entries, cap * sizeof *v);
      if (v == NULL)
        goto out;
      ev->entries = v;
      ev->cap = cap;
    }
    e = &ev->entries[ev->n_entries++];
    snprintf(e->number, sizeof e->number, "%s", number);
    e->mask = ev->default_mask;
  }
  e->mask = on ? e->mask | mask : e->mask & ~mask;
out:
  pthread_mutex_unlock(&ev->mu);
}

static json_t *mask_json(unsigned mask) {
  return json_pack("{s:b,s:b,s:b}", "registration",
                   (mask & SIM_MON_REGISTRATION) != 0, "call",
                   (mask & SIM_MON_CALL) != 0, "presence",
                   (mask & SIM_MON_PRESENCE) != 0);
}

json_t *sim_events_monitor_json(struct sim_events *ev) {
  json_t *ext = json_object(), *j;

  pthread_mutex_lock(&ev->mu);
  for (size_t i = 0; i < ev->n_entries; i++)
    json_object_set_new(ext, ev->entries[i].number,
                        mask_json(ev->entries[i].mask));
  j = json_pack("{s:o,s:o,s:I,s:I}", "default", mask_json(ev->default_mask),
                "extensions", ext, "emitted", (json_int_t)ev->emitted,
                "suppressed", (json_int_t)ev->suppressed);
  pthread_mutex_unlock(&ev->mu);
  return j;
}

/* The monitoring an event needs: 30011 and 30012 are not per extension
 * (the guide ties only 30007, 30008 and 30009 to an extension's
 * monitoring). */
static unsigned needed(int type) {
  switch (type) {
  case SIM_EV_REGISTRATION:
    return SIM_MON_REGISTRATION;
  case SIM_EV_EXT_CALL:
    return SIM_MON_CALL;
  case SIM_EV_PRESENCE:
    return SIM_MON_PRESENCE;
  default:
    return 0;
  }
}

void sim_events_emit(struct sim_events *ev, int type, json_t *msg) {
  unsigned need = needed(type);
  char *msg_text, *text;
  json_t *env;
  bool send = true;

  if (ev == NULL || msg == NULL) {
    json_decref(msg);
    return;
  }
  pthread_mutex_lock(&ev->mu);
  if (need != 0) {
    const char *number = json_string_value(json_object_get(msg, "extension"));
    send = number != NULL && (mask_of(ev, number) & need) != 0;
  }
  if (send)
    ev->emitted++;
  else
    ev->suppressed++;
  pthread_mutex_unlock(&ev->mu);
  if (!send) {
    json_decref(msg);
    return;
  }
  msg_text = json_dumps(msg, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref(msg);
  if (msg_text == NULL)
    return;
  env = json_pack("{s:i,s:s,s:s}", "type", type, "sn", ev->sn, "msg", msg_text);
  free(msg_text);
  text = env ? json_dumps(env, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
  json_decref(env);
  if (text == NULL)
    return;
  sim_ws_broadcast(ev->ws, type, text);
  sim_webhooks_post(ev->hooks, type, text);
  free(text);
}

void sim_events_emit_list(struct sim_events *ev, json_t *list) {
  size_t i;
  json_t *item;

  json_array_foreach(list, i, item) {
    json_t *msg = json_object_get(item, "msg");
    sim_events_emit(ev, (int)json_integer_value(json_object_get(item, "type")),
                    json_incref(msg));
  }
  json_decref(list);
}

void sim_events_dir_hook(void *ctx, const char *number, const char *what,
                         const char *value) {
  struct sim_events *ev = ctx;

  if (strcmp(what, "presence") == 0)
    sim_events_emit(
        ev, SIM_EV_PRESENCE,
        json_pack("{s:s,s:s}", "extension", number, "status", value));
}
