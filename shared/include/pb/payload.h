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

#define PB_ID_MAX 65    /* site / extension / source ids, with NUL */
#define PB_TEXT_MAX 256 /* summaries, reasons, names */

/* ---- R/ext/<site>/<ext>/schedule ---- */
struct pb_slot {
  int64_t start, end; /* UTC seconds, start < end */
  enum pb_presence status;
  int priority; /* higher wins on overlap */
  char source[PB_ID_MAX];
  char uid[PB_TEXT_MAX];
  char summary[PB_TEXT_MAX];
};

struct pb_schedule {
  char site[PB_ID_MAX], ext[PB_ID_MAX];
  int64_t generated_at;
  int64_t horizon_start, horizon_end;
  size_t count;
  struct pb_slot *slots; /* sorted by start, owned */
};

json_t *pb_schedule_to_json(const struct pb_schedule *s,
                            const struct pb_tz *tz);
int pb_schedule_from_json(const json_t *j, struct pb_schedule *out, char *err,
                          size_t errlen);
void pb_schedule_cleanup(struct pb_schedule *s);
json_t *pb_slot_to_json(const struct pb_slot *slot, const struct pb_tz *tz);
int pb_slot_from_json(const json_t *j, struct pb_slot *out, char *err,
                      size_t errlen);

/* ---- R/ext/<site>/<ext>/override and override/set ---- */
struct pb_override {
  enum pb_presence status;
  int64_t until; /* UTC seconds, -1: until cleared */
  int64_t set_at;
  char reason[PB_TEXT_MAX];
  char by[PB_TEXT_MAX];
};

/* An override/set payload: a bare status word, or JSON {status, minutes |
 * until, reason, by}. Refuses an unknown status, both minutes and until,
 * minutes outside 1..525600, an until not after `now`. */
int pb_override_parse_set(const char *payload, size_t len, int64_t now,
                          struct pb_override *out, char *err, size_t errlen);
json_t *pb_override_to_json(const struct pb_override *o,
                            const struct pb_tz *tz);
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
  enum pb_presence status; /* PB_PRESENCE_NONE when planning is off */
  enum pb_cause cause;
  int64_t since;
  int64_t next_at; /* -1: no change ahead within the horizon */
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
  enum pb_presence status; /* what the PBX reports */
  bool in_sync;            /* equals the desired status */
  int64_t updated_at;
  char name[PB_TEXT_MAX];
  int64_t pbx_id;
  unsigned online; /* bit per device kind, see pb_device_names */
  /* A status someone changed on the PBX (phone, Linkus) that the gateway
   * keeps rather than overwrites (DRIFT_POLICY=respect). */
  int64_t drift_since; /* 0: no drift */
  int64_t
      drift_until; /* kept until then; -1: until the desired status changes */
};
extern const char *const pb_device_names[5]; /* sip_phone, linkus_desktop... */
json_t *pb_ext_state_to_json(const struct pb_ext_state *s,
                             const struct pb_tz *tz);
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
json_t *pb_directory_to_json(const struct pb_directory *d,
                             const struct pb_tz *tz);
int pb_directory_from_json(const json_t *j, struct pb_directory *out, char *err,
                           size_t errlen);
void pb_directory_cleanup(struct pb_directory *d);
/* The same payload as dumping pb_directory_to_json, written entry by entry
 * (`next` fills one entry at a time, false at the end) so that a large
 * directory is never held as a JSON tree. Caller frees; NULL on failure. */
typedef bool pb_dir_next_fn(void *ud, struct pb_dir_entry *out);
char *pb_directory_dump_stream(const char *site, int64_t updated_at,
                               const struct pb_tz *tz, pb_dir_next_fn *next,
                               void *ud, size_t *len);

/* ---- R/site/<site>/status: how the gateway gets on with a PBX site ---- */
struct pb_site_status {
  char site[PB_ID_MAX];
  char state[24];          /* starting, ok, unreachable, tls_failed,
                              auth_failed, forbidden, api_disabled,
                              token_limit, error */
  char error[PB_TEXT_MAX]; /* what failed; "" when ok */
  int64_t since;           /* when this state began */
  char url[512];           /* the PBX base URL (no credentials) */
  bool token_valid;
  int64_t token_expires; /* -1: no token */
  int64_t extensions;    /* in the directory */
  int64_t pending;       /* desired statuses not yet on the PBX */
  int64_t drifting;      /* changes made on the PBX that are kept */
  int64_t updated_at;
};
json_t *pb_site_status_to_json(const struct pb_site_status *s,
                               const struct pb_tz *tz);
int pb_site_status_from_json(const json_t *j, struct pb_site_status *out,
                             char *err, size_t errlen);

/* ---- R/site/<site>/pbx_event: a PBX event relayed as the PBX sent it ----
 * The webhook/WebSocket envelope {"type": 30009, "sn": "...", "msg": ...};
 * msg is usually a JSON-encoded string, sometimes an object: both are read. */
struct pb_pbx_event {
  int64_t type;       /* 30009 presence changed, 30007, 30008, ... */
  char sn[PB_ID_MAX]; /* the PBX serial number, "" when absent */
  json_t *msg;        /* the msg object, owned */
};
int pb_pbx_event_from_json(const json_t *j, struct pb_pbx_event *out, char *err,
                           size_t errlen);
void pb_pbx_event_cleanup(struct pb_pbx_event *ev);
/* Type 30009 (presence changed): the extension number and its status. */
int pb_pbx_event_presence(const struct pb_pbx_event *ev, char *ext,
                          size_t extlen, enum pb_presence *status, char *err,
                          size_t errlen);
#define PB_PBX_EVENT_PRESENCE 30009

/* Copy at most size-1 bytes and terminate; true when nothing was cut. */
bool pb_strlcpy(char *dst, const char *src, size_t size);

#endif
