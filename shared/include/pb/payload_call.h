/* The call payloads of the bus contract (docs/topics.md): what an
 * extension's phone is doing (R/ext/<site>/<ext>/call), the calls in
 * progress on a site (R/site/<site>/calls) and one finished call, the CDR
 * (R/events/cdr, and the records of the call-log's and the gateway's
 * requests). Decoders refuse what the contract does not allow and name the
 * field. */
#ifndef PB_PAYLOAD_CALL_H
#define PB_PAYLOAD_CALL_H

#include <stdint.h>

#include <jansson.h>

#include "pb/error.h"
#include "pb/payload.h"

#define PB_NUMBER_MAX 65  /* a phone number or extension, with NUL */
#define PB_CALL_ID_MAX 97 /* a PBX call id, with NUL */
#define PB_SITE_CALLS_MAX 1000

/* ---- what a phone (or a call) is doing ---- */
enum pb_call_state {
  PB_CALL_IDLE,
  PB_CALL_RINGING, /* incoming: this phone rings */
  PB_CALL_DIALING, /* it called out and hears ringback */
  PB_CALL_TALKING,
  PB_CALL_HOLD,
};
const char *pb_call_state_name(enum pb_call_state s);
int pb_call_state_parse(const char *text, enum pb_call_state *out);

enum pb_call_direction {
  PB_DIR_NONE, /* unknown, or no call */
  PB_DIR_INBOUND,
  PB_DIR_OUTBOUND,
  PB_DIR_INTERNAL,
};
/* NULL for PB_DIR_NONE */
const char *pb_call_direction_name(enum pb_call_direction d);
int pb_call_direction_parse(const char *text, enum pb_call_direction *out);

/* ---- R/ext/<site>/<ext>/call ---- */
struct pb_call_state_msg {
  enum pb_call_state state;
  int64_t since;                /* when this state began; -1 unknown */
  char call_id[PB_CALL_ID_MAX]; /* "" when idle */
  enum pb_call_direction direction;
  char peer[PB_NUMBER_MAX]; /* the other party; "" unknown */
  char trunk[PB_TEXT_MAX];  /* "" none or unknown */
  unsigned registered;      /* device bits, see pb_device_names */
  int64_t updated_at;       /* -1 unknown */
};
json_t *pb_call_state_to_json(const struct pb_call_state_msg *c,
                              const struct pb_tz *tz);
int pb_call_state_from_json(const json_t *j, struct pb_call_state_msg *out,
                            char *err, size_t errlen);

/* ---- R/site/<site>/calls ---- */
enum pb_member_kind {
  PB_MEMBER_EXTENSION,
  PB_MEMBER_INBOUND,
  PB_MEMBER_OUTBOUND
};
struct pb_call_member {
  char number[PB_NUMBER_MAX];
  enum pb_member_kind kind;
  enum pb_call_state state; /* ringing, dialing, talking or hold */
};
#define PB_CALL_MEMBERS_MAX 16
struct pb_call {
  char call_id[PB_CALL_ID_MAX];
  enum pb_call_state state; /* ringing (nobody answered), talking, hold */
  enum pb_call_direction direction;
  char from[PB_NUMBER_MAX], to[PB_NUMBER_MAX];
  char trunk[PB_TEXT_MAX];
  int64_t started;  /* -1 unknown */
  int64_t answered; /* -1 not answered */
  size_t n_members;
  struct pb_call_member members[PB_CALL_MEMBERS_MAX];
};
struct pb_site_calls {
  char site[PB_ID_MAX];
  int64_t updated_at;
  size_t count;
  struct pb_call *calls; /* owned; at most PB_SITE_CALLS_MAX */
};
const char *pb_member_kind_name(enum pb_member_kind k);
json_t *pb_call_to_json(const struct pb_call *c, const struct pb_tz *tz);
int pb_call_from_json(const json_t *j, struct pb_call *out, char *err,
                      size_t errlen);
json_t *pb_site_calls_to_json(const struct pb_site_calls *s,
                              const struct pb_tz *tz);
int pb_site_calls_from_json(const json_t *j, struct pb_site_calls *out,
                            char *err, size_t errlen);
void pb_site_calls_cleanup(struct pb_site_calls *s);

/* ---- a finished call: R/events/cdr and the call log's records ---- */
enum pb_cdr_status {
  PB_CDR_ANSWERED,
  PB_CDR_NO_ANSWER,
  PB_CDR_BUSY,
  PB_CDR_FAILED,
  PB_CDR_VOICEMAIL,
};
const char *pb_cdr_status_name(enum pb_cdr_status s);
int pb_cdr_status_parse(const char *text, enum pb_cdr_status *out);

struct pb_cdr {
  char site[PB_ID_MAX];
  char call_id[PB_CALL_ID_MAX];
  int64_t start;  /* when it rang */
  int64_t answer; /* -1: never answered */
  int64_t end;
  char from[PB_NUMBER_MAX], to[PB_NUMBER_MAX];
  enum pb_call_direction direction; /* never PB_DIR_NONE */
  enum pb_cdr_status status;
  int64_t talk_seconds, ring_seconds;
  char trunk[PB_TEXT_MAX];       /* "" none */
  char recording[PB_TEXT_MAX];   /* the PBX's file name; "" none */
  char extension[PB_NUMBER_MAX]; /* this site's extension; "" none */
};
/* The record's fields, without an event's kind/at/service. */
json_t *pb_cdr_to_json(const struct pb_cdr *c, const struct pb_tz *tz);
/* Reads a record or an R/events/cdr event (kind/at/service are ignored). */
int pb_cdr_from_json(const json_t *j, struct pb_cdr *out, char *err,
                     size_t errlen);

/* A phone number as the contract accepts it for dialling: after removing
 * spaces, dots, dashes and parentheses, `+` then 1-32 of [0-9*#], or 1-32 of
 * [0-9*#]. Writes the cleaned number; false when it is not one. */
bool pb_phone_number_clean(const char *in, char *out, size_t outlen);

#endif
