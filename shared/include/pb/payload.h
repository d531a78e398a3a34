/* The JSON payloads that cross the bus (docs/topics.md), each with one
 * encoder and one decoder shared by the service that writes it and the ones
 * that read it. Times are RFC 3339 with the offset of `tz` at that instant
 * (UTC when tz is NULL). Decoders check types and name the bad field. */
#ifndef PB_PAYLOAD_H
#define PB_PAYLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pb/json.h"
#include "pb/presence.h"

struct pb_tz;

#define PB_ID_MAX 65      /* site / extension / source ids, with NUL */
#define PB_TEXT_MAX 256   /* summaries, reasons, names */

/* ---- R/ext/<site>/<ext>/schedule ---- */
struct pb_slot {
  int64_t start, end;        /* UTC seconds, start < end */
  enum pb_presence status;
  int priority;              /* higher wins on overlap */
  char source[PB_ID_MAX];
  char uid[PB_TEXT_MAX];
  char summary[PB_TEXT_MAX];
};

struct pb_schedule {
  char site[PB_ID_MAX], ext[PB_ID_MAX];
  int64_t generated_at;
  int64_t horizon_start, horizon_end;
  size_t count;
  struct pb_slot *slots;     /* sorted by start, owned */
};

json_t *pb_schedule_to_json(const struct pb_schedule *s, const struct pb_tz *tz);
int pb_schedule_from_json(const json_t *j, struct pb_schedule *out, char *err,
                          size_t errlen);
void pb_schedule_cleanup(struct pb_schedule *s);
json_t *pb_slot_to_json(const struct pb_slot *slot, const struct pb_tz *tz);
int pb_slot_from_json(const json_t *j, struct pb_slot *out, char *err,
                      size_t errlen);

/* ---- R/ext/<site>/<ext>/override and override/set ---- */
struct pb_override {
  enum pb_presence status;
  int64_t until;             /* UTC seconds, -1: until cleared */
  int64_t set_at;
  char reason[PB_TEXT_MAX];
  char by[PB_TEXT_MAX];
};

/* An override/set payload: a bare status word, or JSON {status, minutes |
 * until, reason, by}. Refuses an unknown status, both minutes and until,
 * minutes outside 1..525600, an until not after `now`. */
int pb_override_parse_set(const char *payload, size_t len, int64_t now,
                          struct pb_override *out, char *err, size_t errlen);
json_t *pb_override_to_json(const struct pb_override *o, const struct pb_tz *tz);
int pb_override_from_json(const json_t *j, struct pb_override *out, char *err,
                          size_t errlen);

/* ---- R/ext/<site>/<ext>/desired ---- */
enum pb_cause {
  PB_CAUSE_OVERRIDE,
  PB_CAUSE_SCHEDULE,
  PB_CAUSE_DEFAULT,
  PB_CAUSE_PLANNING_OFF,
};
const char *pb_cause_name(enum pb_cause c);
int pb_cause_parse(const char *text, enum pb_cause *out);

struct pb_desired {
  enum pb_presence status;   /* PB_PRESENCE_NONE when planning is off */
  enum pb_cause cause;
  int64_t since;
  int64_t next_at;           /* -1: no change ahead within the horizon */
  enum pb_presence next_status;
  bool has_slot;
  struct pb_slot slot;
  bool has_override;
  struct pb_override override;
};

json_t *pb_desired_to_json(const struct pb_desired *d, const struct pb_tz *tz);
int pb_desired_from_json(const json_t *j, struct pb_desired *out, char *err,
                         size_t errlen);

/* ---- R/ext/<site>/<ext>/state ---- */
struct pb_ext_state {
  enum pb_presence status;   /* what the PBX reports */
  bool in_sync;              /* equals the desired status */
  int64_t updated_at;
  char name[PB_TEXT_MAX];
  int64_t pbx_id;
  unsigned online;           /* bit per device kind, see pb_device_names */
};
extern const char *const pb_device_names[5]; /* sip_phone, linkus_desktop... */
json_t *pb_ext_state_to_json(const struct pb_ext_state *s, const struct pb_tz *tz);
int pb_ext_state_from_json(const json_t *j, struct pb_ext_state *out, char *err,
                           size_t errlen);

/* ---- R/site/<site>/directory ---- */
struct pb_dir_entry {
  char number[PB_ID_MAX];
  int64_t id;
  char name[PB_TEXT_MAX];
};
struct pb_directory {
  char site[PB_ID_MAX];
  int64_t updated_at;
  size_t count;
  struct pb_dir_entry *entries; /* owned */
};
json_t *pb_directory_to_json(const struct pb_directory *d, const struct pb_tz *tz);
int pb_directory_from_json(const json_t *j, struct pb_directory *out, char *err,
                           size_t errlen);
void pb_directory_cleanup(struct pb_directory *d);

/* Copy at most size-1 bytes and terminate; true when nothing was cut. */
bool pb_strlcpy(char *dst, const char *src, size_t size);

#endif
