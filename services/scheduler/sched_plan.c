/* An extension's schedule kept compactly (R/ext/<site>/<ext>/schedule of
 * docs/topics.md): one allocation holding the slots and, after them, their
 * strings, so 10,000 extensions with two weeks of slots fit in a few tens of
 * megabytes. Empty summaries and repeated sources share their bytes. */
#include <stdlib.h>
#include <string.h>

#include "pb/error.h"
#include "sched.h"

/* FNV-1a, 64 bits: enough to tell an identical re-publication from a
 * change (a collision would only skip one database write). */
uint64_t sched_hash(const void *data, size_t len, uint64_t seed) {
  const unsigned char *p = data;
  uint64_t h = seed ? seed : 1469598103934665603ull;
  for (size_t i = 0; i < len; i++) {
    h ^= p[i];
    h *= 1099511628211ull;
  }
  return h;
}

static uint64_t hash_str(const char *s, uint64_t h) {
  return sched_hash(s, strlen(s) + 1, h);
}

int sched_plan_from_schedule(const struct pb_schedule *sc,
                             struct sched_plan **out) {
  *out = NULL;
  /* Bytes of text: offset 0 is the shared empty string. */
  size_t text = 1;
  for (size_t i = 0; i < sc->count; i++) {
    text += strlen(sc->slots[i].uid) + 1;
    if (sc->slots[i].summary[0])
      text += strlen(sc->slots[i].summary) + 1;
    if (i == 0 || strcmp(sc->slots[i].source, sc->slots[i - 1].source) != 0)
      text += strlen(sc->slots[i].source) + 1;
  }
  size_t head =
      sizeof(struct sched_plan) + sc->count * sizeof(struct sched_slot);
  struct sched_plan *p =
      calloc(1, head + text); /* padding zeroed: stored as is */
  if (!p)
    return PB_ENOMEM;
  char *t = (char *)p + head;
  size_t used = 1;
  t[0] = '\0';
  p->horizon_start = sc->horizon_start;
  p->horizon_end = sc->horizon_end;
  p->count = sc->count;
  p->text = t;
  p->text_len = text;
  uint64_t h = 0;
  uint32_t last_source = 0;
  for (size_t i = 0; i < sc->count; i++) {
    const struct pb_slot *in = &sc->slots[i];
    struct sched_slot *o = &p->slots[i];
    o->start = in->start;
    o->end = in->end;
    o->priority = in->priority;
    o->status = (int8_t)in->status;
    size_t n = strlen(in->uid) + 1;
    o->uid = (uint32_t)used;
    memcpy(t + used, in->uid, n);
    used += n;
    o->summary = 0;
    if (in->summary[0]) {
      n = strlen(in->summary) + 1;
      o->summary = (uint32_t)used;
      memcpy(t + used, in->summary, n);
      used += n;
    }
    if (i == 0 || strcmp(in->source, sc->slots[i - 1].source) != 0) {
      n = strlen(in->source) + 1;
      last_source = (uint32_t)used;
      memcpy(t + used, in->source, n);
      used += n;
    }
    o->source = last_source;
    int64_t nums[4] = {in->start, in->end, in->priority, in->status};
    h = sched_hash(nums, sizeof nums, h);
    h = hash_str(in->uid, h);
    h = hash_str(in->summary, h);
    h = hash_str(in->source, h);
  }
  int64_t horizon[2] = {sc->horizon_start, sc->horizon_end};
  p->hash = sched_hash(horizon, sizeof horizon, h);
  *out = p;
  return 0;
}

void sched_plan_free(struct sched_plan *p) {
  free(p);
}

/* "PBP1", then count, text_len (uint32), horizon start and end, hash
 * (64 bits each), the slots as in memory, the text. Native byte order: the
 * database stays on the machine that wrote it, and a blob that does not
 * check out is simply dropped (ical-ingest re-publishes schedules). */
struct blob_head {
  char magic[4];
  uint32_t count, text_len;
  int64_t horizon_start, horizon_end;
  uint64_t hash;
};

int sched_plan_encode(const struct sched_plan *p, void **out, size_t *len) {
  size_t slots = p->count * sizeof(struct sched_slot);
  size_t n = sizeof(struct blob_head) + slots + p->text_len;
  char *b = malloc(n);
  if (!b)
    return PB_ENOMEM;
  struct blob_head h = {{'P', 'B', 'P', '1'},  (uint32_t)p->count,
                        (uint32_t)p->text_len, p->horizon_start,
                        p->horizon_end,        p->hash};
  memcpy(b, &h, sizeof h);
  if (slots)
    memcpy(b + sizeof h, p->slots, slots);
  memcpy(b + sizeof h + slots, p->text, p->text_len);
  *out = b;
  *len = n;
  return 0;
}

int sched_plan_decode(const void *data, size_t len, struct sched_plan **out) {
  struct blob_head h;
  *out = NULL;
  if (len < sizeof h)
    return PB_EPARSE;
  memcpy(&h, data, sizeof h);
  if (memcmp(h.magic, "PBP1", 4) != 0 || h.text_len == 0 || h.count > 1000000 ||
      len !=
          sizeof h + (size_t)h.count * sizeof(struct sched_slot) + h.text_len)
    return PB_EPARSE;
  size_t head = sizeof(struct sched_plan) + h.count * sizeof(struct sched_slot);
  struct sched_plan *p = malloc(head + h.text_len);
  if (!p)
    return PB_ENOMEM;
  memcpy(p->slots, (const char *)data + sizeof h,
         h.count * sizeof(struct sched_slot));
  char *t = (char *)p + head;
  memcpy(t, (const char *)data + sizeof h + h.count * sizeof(struct sched_slot),
         h.text_len);
  p->count = h.count;
  p->text_len = h.text_len;
  p->text = t;
  p->horizon_start = h.horizon_start;
  p->horizon_end = h.horizon_end;
  p->hash = h.hash;
  /* Every offset inside the text, every string terminated, every slot
   * sane: a damaged blob must not be read past its end. */
  bool ok = t[h.text_len - 1] == '\0';
  for (size_t i = 0; ok && i < p->count; i++) {
    const struct sched_slot *s = &p->slots[i];
    ok = s->uid < h.text_len && s->summary < h.text_len &&
         s->source < h.text_len && s->start < s->end && s->status >= 0 &&
         s->status < PB_PRESENCE_COUNT &&
         (i == 0 || p->slots[i - 1].start <= s->start);
  }
  if (!ok) {
    free(p);
    return PB_EPARSE;
  }
  *out = p;
  return 0;
}

void sched_plan_slot(const struct sched_plan *p, size_t i,
                     struct pb_slot *out) {
  const struct sched_slot *s = &p->slots[i];
  memset(out, 0, sizeof *out);
  out->start = s->start;
  out->end = s->end;
  out->priority = s->priority;
  out->status = (enum pb_presence)s->status;
  pb_strlcpy(out->uid, p->text + s->uid, sizeof out->uid);
  pb_strlcpy(out->summary, p->text + s->summary, sizeof out->summary);
  pb_strlcpy(out->source, p->text + s->source, sizeof out->source);
}
