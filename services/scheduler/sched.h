/* scheduler's internal header. The scheduler owns per-extension settings
 * (planning on/off, default status, time zone) and overrides, decides each
 * extension's desired status (decide.c) and re-decides exactly at the next
 * boundary: one timer per extension in the loop's min-heap, never a polling
 * loop (docs/scheduling.md). */
#ifndef SCHED_H
#define SCHED_H

#include <stdbool.h>
#include <stdint.h>

#include "pb/error.h"
#include "pb/payload.h"

struct pb_config;
struct pb_loop;
struct pb_map;
struct pb_store;
struct pb_timer;
struct pb_tz;

/* ---- slots, compactly (sched_plan.c) ----
 * A schedule is kept as one block: the slots, then their strings. At 10,000
 * extensions with two weeks of slots this is what keeps the scheduler small;
 * a full struct pb_slot is rebuilt only for the slot a payload shows. */
struct sched_slot {
  int64_t start, end; /* UTC seconds, start < end */
  int32_t priority;
  uint32_t uid, summary, source; /* offsets into the plan's text */
  int8_t status;                 /* enum pb_presence */
};

struct sched_plan {
  int64_t horizon_start, horizon_end; /* -1 when the schedule gave none */
  uint64_t hash; /* of the slots, to skip identical updates */
  size_t count;
  size_t text_len;
  const char *text;          /* the strings, inside the same block */
  struct sched_slot slots[]; /* sorted by start */
};

int sched_plan_from_schedule(const struct pb_schedule *sc,
                             struct sched_plan **out);
void sched_plan_free(struct sched_plan *p);
/* The database form (a BLOB): versioned, checked whole when read back; a
 * blob that does not check out is PB_EPARSE, never a half plan. */
int sched_plan_encode(const struct sched_plan *p, void **out, size_t *len);
int sched_plan_decode(const void *data, size_t len, struct sched_plan **out);
/* The full slot i, as payloads show it. */
void sched_plan_slot(const struct sched_plan *p, size_t i, struct pb_slot *out);
uint64_t sched_hash(const void *data, size_t len, uint64_t seed);

/* ---- the decision (decide.c) ---- */

/* Everything the decision depends on, for one extension. */
struct sched_inputs {
  const struct sched_plan *plan;      /* NULL: no schedule */
  const struct pb_override *override; /* NULL when none */
  bool planning_off;
  enum pb_presence default_status; /* the extension's, or DEFAULT_STATUS */
};

/* The decision at `now`: status, cause and what is behind it, and
 * next_change. `next_boundary` is the first instant after now where anything
 * the decision reads changes, or where the known schedule ends (its
 * horizon): the timer is armed there; -1 if none. */
void sched_decide(const struct sched_inputs *in, int64_t now,
                  struct pb_desired *out, int64_t *next_boundary);
/* The last instant <= now where an input changed (slot start or end,
 * override set or end), or -1. */
int64_t sched_last_boundary(const struct sched_inputs *in, int64_t now);
/* The slot in force at t (overlaps: higher priority, then later start, then
 * shorter), or -1. */
long sched_slot_at(const struct sched_plan *plan, int64_t t);

/* ---- the running scheduler (sched_state.c) ---- */

/* What the last published decision was, to keep `since` (docs). */
struct sched_last {
  int64_t since;
  int64_t slot_start, slot_end;
  uint64_t slot_uid; /* hash of the slot's uid */
  int64_t ov_set_at, ov_until;
  int8_t status, cause;
};

struct sched_ext {
  char site[PB_ID_MAX], ext[PB_ID_MAX];
  struct sched_plan *plan;         /* NULL until a schedule arrives */
  uint64_t schedule_hash;          /* of the last schedule payload's bytes */
  struct pb_override *override;    /* NULL when none */
  char *name;                      /* from the PBX directory, or NULL */
  char *tz_name;                   /* own time zone, or NULL: TIMEZONE */
  const struct pb_tz *tz;          /* resolved: own or the service's */
  enum pb_presence default_status; /* PB_PRESENCE_NONE: DEFAULT_STATUS */
  bool planning_off;
  bool in_directory;
  bool stale_logged; /* horizon passed with no newer schedule */
  bool has_last;
  struct sched_last last;
  uint64_t last_hash;       /* of the last desired text published */
  int64_t input_changed_at; /* last command that changed an input */
  struct pb_timer *timer;
  struct sched *sched;
};

/* How the scheduler reaches the bus. main.c wires it to shared/bus.c; unit
 * tests capture what would be published. Topics are relative to the root
 * unless `absolute`. `event` takes the JSON object. */
struct sched_io {
  int (*publish)(void *ud, const char *topic, const char *payload, size_t len,
                 bool retain, bool absolute);
  int (*event)(void *ud, const char *kind, json_t *event);
  size_t (*unacked)(void *ud);
  void *ud;
};

struct sched_ha;

struct sched {
  struct pb_loop *loop;
  struct pb_store *store;
  const struct pb_tz *tz; /* TIMEZONE (or the system's) */
  struct sched_io io;
  struct pb_map *exts;             /* "site/ext" -> struct sched_ext */
  struct pb_map *zones;            /* zone name -> struct pb_tz, loaded once */
  struct pb_map *sites;            /* sites whose PBX directory is known */
  bool allow_unlisted;             /* ALLOW_UNLISTED_EXTENSIONS */
  enum pb_presence default_status; /* DEFAULT_STATUS */
  const char *root;                /* MQTT_TOPIC_ROOT, for Home Assistant */
  const char *default_site;        /* SITE: a request without "site" */
  struct sched_ha *ha;             /* NULL when HA_DISCOVERY is off */
  struct pb_timer *flush;          /* commits the batched decisions */
  bool in_batch;
};

int sched_init(struct sched *s, struct pb_loop *loop, const struct pb_tz *tz,
               enum pb_presence default_status, const struct sched_io *io);
void sched_cleanup(struct sched *s);
struct sched_ext *sched_ext_get(struct sched *s, const char *site,
                                const char *ext, bool create);
/* Expire a due override, decide, publish when the payload changed (or when
 * forced), persist, re-arm the extension's timer. */
void sched_evaluate(struct sched_ext *e, bool force);
void sched_evaluate_all(struct sched *s, bool force);
/* The wall clock was stepped: every extension decides again from the new
 * "now" and its timer is re-armed. */
void sched_clock_jumped(struct sched *s);
/* After a (re)connection: decisions, overrides and settings published again. */
void sched_republish_all(struct sched *s);
/* A directory was seen for `site` (or an extension of it is stored as
 * listed): from then on its directory decides which commands pass. */
void sched_site_known(struct sched *s, const char *site);
/* Commands (override/set and clear, planning/set, settings/set, the settings
 * request) may only touch extensions the site's PBX directory lists, unless
 * ALLOW_UNLISTED_EXTENSIONS: otherwise a made-up extension would create
 * retained state for ever. NULL when the command may go on; else the
 * reason (docs/scheduling.md), written into buf. */
const char *sched_command_refused(struct sched *s, const char *site,
                                  const char *ext, char *buf, size_t len);
/* The extension's effective default status. */
enum pb_presence sched_default_of(const struct sched_ext *e);
int sched_publish(struct sched *s, const char *topic, const char *text,
                  bool retain);
/* "ext/<site>/<ext>/<leaf>" into buf (pb_topic_ext): 0 or PB_ETOOBIG. */
PB_MUST_CHECK int sched_topic(const struct sched_ext *e, const char *leaf,
                              char *buf, size_t len);

/* ---- overrides (sched_override.c) ---- */
/* Takes effect at once: stored, published, announced, decided. */
int sched_override_set(struct sched_ext *e, const struct pb_override *o);
/* Ends the override now; `by` and `reason` go into the event. No override:
 * nothing happens (returns PB_ENOTFOUND). */
int sched_override_clear(struct sched_ext *e, const char *by,
                         const char *reason);
/* Due at `now`: removed, announced as expired. */
void sched_override_expire(struct sched_ext *e, int64_t now);
void sched_override_republish(struct sched_ext *e);

/* ---- settings (sched_settings.c) ---- */
struct sched_settings_change {
  bool set_planning, planning_on;
  bool set_default, set_tz;
  enum pb_presence
      default_status; /* PB_PRESENCE_NONE: back to DEFAULT_STATUS */
  char tz_name[128];  /* "": back to TIMEZONE */
  char by[PB_TEXT_MAX];
};
/* "on"/"off" (true/false, 1/0, any case, optional quotes). */
int sched_parse_on_off(const char *p, size_t len, bool *on);
/* A settings/set payload or request: JSON {default_status, timezone,
 * planning, by}. Nothing is applied; every problem is named. `allow_empty`
 * accepts an object with none of the three (a read). `j` is only read
 * (jansson's iteration takes a non-const object). */
int sched_settings_parse(struct sched *s, json_t *j, bool allow_empty,
                         struct sched_settings_change *out, char *err,
                         size_t errlen);
/* Applies a validated change: stored, published, announced, decided. */
int sched_settings_apply(struct sched_ext *e,
                         const struct sched_settings_change *c);
json_t *sched_settings_json(const struct sched_ext *e);
void sched_settings_publish(struct sched_ext *e);
bool sched_settings_custom(const struct sched_ext *e);
/* Loads (once) and returns a zone, NULL when unknown. */
const struct pb_tz *sched_zone(struct sched *s, const char *name);

/* ---- Home Assistant MQTT discovery (ha_discovery.c) ---- */
int sched_ha_new(struct sched *s, const char *prefix, struct sched_ha **out);
void sched_ha_free(struct sched_ha *ha);
const char *sched_ha_status_topic(const struct sched_ha *ha);
/* "<prefix>/device/+/config": where this scheduler's devices live. */
const char *sched_ha_config_pattern(const struct sched_ha *ha);
/* A retained device config found on the broker after a (re)connection:
 * replaced when it is not what this scheduler would publish now, cleared
 * when its extension is not (or no longer) in the directory. Devices of
 * other programs, or of a PresenceBus on another root, are left alone. */
void sched_ha_check_retained(struct sched_ha *ha, const char *topic,
                             const char *payload, size_t len);
/* The device discovery topic and payload of one extension (pure). */
void sched_ha_topic(const struct sched_ha *ha, const struct sched_ext *e,
                    char *buf, size_t len);
json_t *sched_ha_config(const struct sched_ha *ha, const struct sched_ext *e);
/* Publish every directory extension's config, paced by the broker's acks. */
void sched_ha_publish_all(struct sched_ha *ha);
void sched_ha_publish(struct sched_ha *ha, struct sched_ext *e);
/* Empty retained config: Home Assistant removes the device. */
void sched_ha_remove(struct sched_ha *ha, struct sched_ext *e);

/* ---- the bus side (handle_*.c) ---- */
struct pb_bus;
/* "ext/<site>/<ext>/..." -> site and ext; false when malformed. */
bool sched_topic_ext(const char *topic, char *site, char *ext);
/* Schedules and the PBX directory (handle_schedule.c). */
int sched_inputs_register(struct pb_bus *bus, struct sched *s);
/* override/set and override/clear (handle_override.c). */
int sched_overrides_register(struct pb_bus *bus, struct sched *s);
/* settings/set, planning/set, the settings request and Home Assistant's
 * birth message (handle_settings.c). */
int sched_settings_register(struct pb_bus *bus, struct sched *s);
/* The scheduler's own retained topics, read back after every (re)connection
 * and made to match the database (handle_retained.c). */
int sched_retained_register(struct pb_bus *bus, struct sched *s);

/* ---- the database (sched_store.c) ---- */
int sched_store_open(const char *data_dir, struct pb_store **out);
int sched_store_load(struct sched *s);
/* The writers: 0, or PB_EDB / PB_ENOMEM, the store having logged SQLite's
 * reason; the caller says what was not saved. */
PB_MUST_CHECK int sched_store_save_plan(struct sched *s,
                                        const struct sched_ext *e);
PB_MUST_CHECK int sched_store_save_override(struct sched *s,
                                            const struct sched_ext *e);
PB_MUST_CHECK int sched_store_save_settings(struct sched *s,
                                            const struct sched_ext *e);
PB_MUST_CHECK int sched_store_save_directory(struct sched *s,
                                             const struct sched_ext *e);
/* Decisions are batched: written in one transaction committed at the end
 * of the loop turn (a whole 08:00 switch is one commit). */
PB_MUST_CHECK int sched_store_save_desired(struct sched *s,
                                           const struct sched_ext *e,
                                           const char *text);
/* Commit the batch now (before an answer that promises durability). */
void sched_store_flush(struct sched *s);

#endif
