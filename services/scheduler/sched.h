/* scheduler's internal header. The scheduler owns per-extension settings
 * (planning on/off) and overrides, decides each extension's desired status
 * (decide.c) and re-decides exactly at the next boundary: one timer per
 * extension in the loop's min-heap, never a polling loop. */
#ifndef SCHED_H
#define SCHED_H

#include <stdbool.h>
#include <stdint.h>

#include "pb/payload.h"

struct pb_bus;
struct pb_config;
struct pb_loop;
struct pb_map;
struct pb_store;
struct pb_timer;
struct pb_tz;

/* Everything the decision depends on, for one extension. */
struct sched_inputs {
  const struct pb_slot *slots;   /* sorted by start */
  size_t nslots;
  const struct pb_override *override; /* NULL when none */
  bool planning_off;
  enum pb_presence default_status;
};

/* The decision at `now`: status, cause and what is behind it (decide.c).
 * `next_boundary` is the first instant after now where anything the
 * decision reads changes (-1 if none): the timer is armed there. */
void sched_decide(const struct sched_inputs *in, int64_t now,
                  struct pb_desired *out, int64_t *next_boundary);
/* The last instant <= now where an input changed (slot start or end,
 * override set or end), or -1. */
int64_t sched_last_boundary(const struct sched_inputs *in, int64_t now);
/* The slot in force at t (overlaps: higher priority, then later start, then
 * shorter), or -1. */
long sched_slot_at(const struct pb_slot *slots, size_t n, int64_t t);

/* One extension as the running scheduler keeps it. */
struct sched_ext {
  char site[PB_ID_MAX], ext[PB_ID_MAX];
  struct pb_schedule schedule;
  bool has_override;
  struct pb_override override;
  bool planning_off;
  bool in_directory;
  struct pb_desired last;        /* last decision published */
  bool has_last;
  char *last_json;               /* what was last published, for dedup */
  int64_t input_changed_at;      /* last command that changed an input */
  struct pb_timer *timer;
  struct sched *sched;
};

struct sched {
  struct pb_loop *loop;
  struct pb_bus *bus;
  struct pb_store *store;
  struct pb_tz *tz;
  const struct pb_config *cfg;
  struct pb_map *exts;           /* "site/ext" -> struct sched_ext */
  enum pb_presence default_status;
};

struct sched_ext *sched_ext_get(struct sched *s, const char *site,
                                const char *ext, bool create);
void sched_ext_free(struct sched_ext *e);
/* Decide, publish when it changed (or when forced), persist, re-arm. */
void sched_evaluate(struct sched_ext *e, bool force);
void sched_evaluate_all(struct sched *s, bool force);

/* Bus handlers (handle_*.c). */
int sched_handlers_register(struct sched *s);
int sched_override_register(struct sched *s);
int sched_planning_register(struct sched *s);
bool sched_topic_ext(const char *topic, char *site, char *ext);
void sched_override_republish(struct sched *s, struct sched_ext *e);
void sched_planning_publish(struct sched *s, const struct sched_ext *e);

/* Storage (sched_store.c). */
int sched_store_open(const char *data_dir, struct pb_store **out);
int sched_store_load(struct sched *s);
int sched_store_save_schedule(struct sched *s, const struct sched_ext *e,
                              const char *json);
int sched_store_save_override(struct sched *s, const struct sched_ext *e);
int sched_store_save_planning(struct sched *s, const struct sched_ext *e);
int sched_store_save_desired(struct sched *s, const struct sched_ext *e);

#endif
