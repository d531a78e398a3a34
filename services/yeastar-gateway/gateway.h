/* yeastar-gateway's internal header. The gateway serves PBX sites: for each
 * it keeps a valid Open API token (pbx_token.c), sends every request through
 * a per-site queue bounded in concurrency and rate (pbx_client.c), mirrors
 * the extension directory and reads back what the PBX shows
 * (pbx_directory.c), applies desired statuses through an outbox kept in the
 * database (apply_outbox.c), notices drift (drift.c), and publishes state,
 * events and the site's status (state_publish.c, site_status.c).
 * Yeastar P-Series Open API v1.0 (the vendor's developer guide). */
#ifndef GATEWAY_H
#define GATEWAY_H

#include <stdbool.h>
#include <stdint.h>

#include "pb/payload.h"
#include "pb/payload_call.h"

#include "pb/error.h"
#include "pb/http.h"

struct pb_bus;
struct pb_bus_reply;
struct pb_config;
struct pb_http;
struct pb_loop;
struct pb_map;
struct pb_secretbox;
struct pb_store;
struct pb_timer;
struct pb_tz;
struct gw;
struct gw_call;
struct gw_recordings;
struct gw_test;

#define GW_MAX_SITES 64
#define GW_MAX_EXTS 100000 /* per site, as the directory payload */
#define GW_URL_MAX 512
#define GW_SECRET_MAX 256
#define GW_PIN_MAX 1024

/* One extension of a site: what the PBX lists, what we want it to show,
 * and where its apply stands. */
struct gw_ext {
  char number[PB_ID_MAX];
  int64_t id;                  /* the PBX's internal id; 0 until listed */
  char *name;                  /* caller id name, owned; NULL until listed */
  enum pb_presence pbx_status; /* last read or set; NONE: not seen yet */
  unsigned online;             /* device bits, see pb_device_names */
  bool listed;                 /* in the PBX directory */
  bool seen;                   /* seen by the read under way */
  /* the desired status (R/ext/<site>/<ext>/desired) */
  enum pb_presence desired; /* PB_PRESENCE_NONE: nothing imposed */
  enum pb_cause cause;
  int64_t since;
  int64_t next_at; /* -1: no boundary ahead */
  enum pb_presence next_status;
  bool in_outbox;
  int64_t desired_ms; /* when the gateway learnt this status */
  /* applying */
  bool in_flight; /* an extension/update is queued or sent */
  bool in_retry;
  int attempts; /* failed applies since the last success */
  int64_t next_attempt_ms;
  enum pb_presence sending; /* the status of the update on its way */
  int64_t applied_ms;       /* when our last update was confirmed */
  int64_t updated_at;       /* when the PBX status last changed */
  /* drift kept under DRIFT_POLICY=respect */
  int64_t drift_since; /* 0: none */
  int64_t drift_until; /* -1: until the desired status changes */
};

/* The gateway's I/O, behind one small interface (the scheduler's sched_io
 * pattern): the logic (the gateway_core library: every file but main.c,
 * gw_io.c and handle_*.c) never calls the bus or libcurl itself, so unit
 * tests run it against a fake (tests/unit/test_gw_fake.h) at a frozen
 * clock (pb/clock.h) on a real loop and database. main.c fills it from
 * gw_io.c. */
struct gw_io {
  /* A topic relative to the root; an empty retained payload clears. */
  int (*publish)(void *ud, const char *topic, const char *payload, size_t len,
                 bool retain);
  /* R/events/<kind>; takes `event`. */
  int (*event)(void *ud, const char *kind, json_t *event);
  /* Answers a deferred bus request: `error` NULL for ok with `data`
   * (taken, may be NULL), else the error with `data` as details. */
  void (*reply)(void *ud, struct pb_bus_reply *reply, const char *error,
                json_t *data);
  /* Starts a request to a PBX; `done` is called once, later, on the loop. */
  int (*http_send)(void *ud, const struct pb_http_request *req,
                   pb_http_done *done, void *done_ud);
  bool (*connected)(void *ud);
  void *ud;
};

enum gw_token_state { TOKEN_NONE, TOKEN_REQUESTING, TOKEN_VALID };

/* How the PBX writes dates (System > Date and Time > Display Format):
 * Month/Day/Year or Day/Month/Year; Year/Month/Day is always read. */
enum gw_date_order { GW_DATE_MDY, GW_DATE_DMY };

/* What defines a site; the secret is owned and wiped on free. */
struct gw_site_settings {
  char name[PB_ID_MAX];
  char url[GW_URL_MAX]; /* as given: https://pbx.example.org:8088 */
  char client_id[256];
  char *secret;
  char ca_file[GW_URL_MAX];
  char pinned_key[GW_PIN_MAX];
  bool insecure;
  int max_concurrency; /* 0: PBX_MAX_CONCURRENCY */
  int rate_per_second; /* 0: PBX_RATE_PER_SECOND */
};

struct gw_site {
  struct gw *gw;
  struct gw_site *next;
  bool from_config; /* the YEASTAR_* site (not changed on the bus) */
  bool removed;     /* freed once its last request returns */
  char name[PB_ID_MAX];
  struct gw_site_settings set;
  char base_url[GW_URL_MAX + 32]; /* .../openapi/v1.0/ */
  /* request queue (pbx_client.c) */
  struct gw_call *queue_head, *queue_tail;
  size_t queued;
  struct gw_call *sent; /* requests on the wire */
  int inflight;
  double bucket; /* token bucket of the request rate */
  int64_t bucket_ms;
  bool pumping;
  struct pb_timer *pump_timer;
  bool down;  /* no answer: only probes go out */
  int probes; /* probes on the wire */
  int down_failures;
  int server_errors; /* HTTP 5xx answers in a row */
  int64_t probe_at_ms;
  bool last_reached_api; /* the last failed request may have been
                            processed by the Open API (a lost answer) */
  /* token (pbx_token.c) */
  enum gw_token_state token_state;
  char access_token[128], refresh_token[128];
  int64_t access_expires, refresh_expires, access_lifetime;
  struct pb_timer *token_timer;
  bool token_busy; /* a get_token or refresh_token is out */
  bool token_wait; /* a failed login waits for token_timer */
  int token_failures;
  int64_t logins, refreshes;
  /* status (site_status.c) */
  char state[24];
  char error[PB_TEXT_MAX];
  int64_t state_since;
  char failed[24]; /* first failing state since the last "ok" */
  int64_t failed_since;
  /* directory and read-back (pbx_directory.c) */
  struct pb_map *exts; /* number -> struct gw_ext */
  struct pb_timer *directory_timer, *readback_timer;
  bool directory_loaded;
  bool reading, read_publish;
  int read_page, page_size;
  int64_t read_sent_ms; /* when the page being read was asked for */
  size_t read_seen;
  int64_t read_total;
  bool read_changed;
  bool read_failed;                /* the last read ended in an error */
  struct pb_map *unchecked;        /* retained states seen before the first
                                      complete read: number -> site */
  struct pb_bus_reply *waiters[8]; /* directory/refresh requests to answer */
  int nwaiters;
  /* applies (apply_outbox.c) and drift (drift.c) */
  struct pb_map *retry; /* number -> gw_ext waiting for a retry */
  struct pb_timer *apply_timer;
  struct pb_timer *drift_timer;
  /* calls (call_state.c, pbx_feed.c, call_publish.c) */
  struct gw_callstate *callstate;
  struct pb_timer *call_timer; /* the stale limit */
  bool calls_pending;          /* every extension's call topic is to be
                                  published once the directory is read */
  struct gw_feed *feed;        /* the WebSocket event feed; NULL: off */
};

struct gw {
  struct pb_loop *loop;
  struct gw_io io;
  /* Lent to the glue (gw_io.c, handle_*.c); the core goes through io. */
  struct pb_bus *bus;
  struct pb_http *http;
  struct pb_store *store;
  struct pb_secretbox *box;
  struct pb_tz *tz;
  const struct pb_config *cfg;
  struct gw_site *sites;
  struct gw_site *removed; /* removed sites still waiting for answers */
  struct gw_test *tests;   /* site/test runs under way */
  const char *user_agent;
  long timeout_ms;
  int max_concurrency, rate_per_second, rate_burst, max_tokens;
  int64_t retry_max_s, directory_every_s, readback_every_s;
  bool drift_enforce;
  bool del_token_on_exit;
  int deleting;             /* del_token answers still due */
  struct pb_map *published; /* sites whose topics this gateway has
                               published (from the database) */
  bool feed_on;             /* PBX_EVENT_FEED=websocket */
  int64_t call_stale_s;     /* CALL_STALE_SECONDS */
  /* calls (pbx_cdr.c, pbx_recording.c): PBX_DATE_ORDER, PBX_TIMEZONE
   * (NULL: tz), the recordings */
  enum gw_date_order date_order;
  struct pb_tz *pbx_tz;
  struct gw_recordings *recordings;
};

/* ---- I/O: the interface's real side (gw_io.c), and the core's calls ---- */
/* gw->io over gw->bus and gw->http (either may still be NULL: nothing is
 * sent then). */
void gw_io_use_bus(struct gw *gw);
static inline int gw_publish(struct gw *gw, const char *topic,
                             const char *payload, size_t len, bool retain) {
  return gw->io.publish(gw->io.ud, topic, payload, len, retain);
}
/* Dumped as pb_bus_publish_json does (compact); `j` is not taken. */
int gw_publish_json(struct gw *gw, const char *topic, const json_t *j,
                    bool retain);
static inline int gw_clear(struct gw *gw, const char *topic) {
  return gw->io.publish(gw->io.ud, topic, "", 0, true);
}
static inline int gw_event(struct gw *gw, const char *kind, json_t *event) {
  return gw->io.event(gw->io.ud, kind, event);
}
static inline void gw_reply_ok(struct gw *gw, struct pb_bus_reply *reply,
                               json_t *data) {
  gw->io.reply(gw->io.ud, reply, NULL, data);
}
static inline void gw_reply_error(struct gw *gw, struct pb_bus_reply *reply,
                                  const char *error, json_t *details) {
  gw->io.reply(gw->io.ud, reply, error, details);
}

/* ---- sites (site.c) ---- */
struct gw_site *gw_site_find(struct gw *gw, const char *name);
/* Takes the settings' secret. Starts the token, the outbox and, when the
 * bus is up, the first directory read. */
int gw_site_start(struct gw *gw, struct gw_site_settings *set, bool from_config,
                  struct gw_site **out);
/* New URL, credentials or TLS settings for a running site. */
void gw_site_reconfigure(struct gw_site *s, struct gw_site_settings *set);
/* Stops a site and forgets its data (tokens, outbox, retained topics). */
void gw_site_remove(struct gw_site *s);
/* At exit: stops every site (while the bus is still there), then frees
 * them (after pb_http_free). */
void gw_sites_stop(struct gw *gw);
void gw_sites_free(struct gw *gw);
/* The site as site/list shows it: never the secret. */
json_t *gw_site_view(const struct gw_site *s);
void gw_settings_cleanup(struct gw_site_settings *set);
/* From a site/add|update|test request; `base` (may be NULL) gives the
 * values of absent fields. The error names the field. `j` is only read
 * (jansson iterates over a non-const object). */
int gw_settings_from_json(json_t *j, const struct gw_site_settings *base,
                          struct gw_site_settings *out, char *err,
                          size_t errlen);
int gw_settings_check(const struct gw_site_settings *set, char *err,
                      size_t errlen);
/* The Open API base URL of a site's URL ("" and an error when there is
 * none). */
int gw_base_url(const char *url, char *out, size_t len);

/* ---- bus requests (handle_site.c) and site/test (site_test.c) ---- */
int gw_requests_register(struct gw *gw);
/* Tests `set` (taken); `site` (may be NULL) is the site it belongs to. */
void gw_test_start(struct gw *gw, struct gw_site *site,
                   struct gw_site_settings *set, struct pb_bus_reply *reply);
void gw_tests_free(struct gw *gw);

/* ---- the request queue (pbx_client.c) ---- */
/* err: 0; PB_EPBX: errcode != 0 or an HTTP error status with an envelope
 * (resp holds it); PB_EHTTP: no Open API answer; PB_ESTATE: dropped (the
 * site stops, or body_cb had nothing to send). */
typedef void gw_pbx_cb(struct gw_site *site, int err, const char *errmsg,
                       json_t *resp, void *ud);
/* Builds a POST body at send time (so a queued apply sends the latest
 * status); NULL: nothing to send any more. */
typedef json_t *gw_body_cb(struct gw_site *site, void *ud);
struct gw_request {
  const char *method;   /* "GET" or "POST" */
  const char *endpoint; /* a string literal: "extension/list" */
  const char *query;    /* without the token: "page=1&page_size=100" */
  json_t *body;         /* taken */
  gw_body_cb *body_cb;
  gw_pbx_cb *cb;
  void *ud;
  bool no_token; /* get_token, refresh_token */
  bool urgent;   /* to the front of the queue */
};
int gw_pbx_submit(struct gw_site *s, const struct gw_request *r);
void gw_pbx_pump(struct gw_site *s);
/* Drops queued requests (callbacks get PB_ESTATE). */
void gw_pbx_cancel_queue(struct gw_site *s);
/* Frees requests on the wire after pb_http_free (no callbacks). */
void gw_pbx_forget_sent(struct gw_site *s);
/* A pb_http_request for `set`; url is written into urlbuf. */
int gw_http_request(struct gw *gw, const struct gw_site_settings *set,
                    const char *base_url, const char *method,
                    const char *endpoint, const char *query, const char *token,
                    const char *body, char *urlbuf, size_t urllen,
                    struct pb_http_request *req);
/* errcode and errmsg of an Open API envelope; false when it is not one. */
bool gw_envelope(const json_t *j, int64_t *code, const char **errmsg);
#define GW_ERRCODE_INVALID_TOKEN 10002
#define GW_ERRCODE_TOKEN_EXPIRED 10004
#define GW_ERRCODE_TOKEN_LIMIT 10005
#define GW_ERRCODE_PARAMETER 40002
#define GW_ERRCODE_IP_FORBIDDEN 70087

/* ---- outage rules (pbx_outage.c: pure) ---- */
/* HTTP 5xx answers in a row after which a site counts as down (a PBX, or
 * the proxy in front of it, that says "unavailable" to everything). */
#define GW_DOWN_AFTER_SERVER_ERRORS 3
/* Probes of a down site: 1 s doubling to 5 s (+10 % jitter), so a PBX that
 * is back is noticed within about 5.5 s; while one probe hangs (a PBX that
 * does not answer) another may start, up to GW_PROBES_MAX at once. */
#define GW_PROBE_FIRST_MS 1000
#define GW_PROBE_MAX_MS 5000
#define GW_PROBES_MAX 3
enum gw_answer {
  GW_ANSWER_API,          /* an Open API envelope (any errcode) */
  GW_ANSWER_SERVER_ERROR, /* HTTP 5xx */
  GW_ANSWER_NONE,         /* no answer: refused, timeout, cut, TLS */
};
enum gw_outage_step { GW_OUTAGE_SAME, GW_OUTAGE_DOWN, GW_OUTAGE_BACK };
/* What one answer means for a site that is `down` or not: DOWN (it goes or
 * stays down: one more failure), BACK (it answers again), SAME.
 * *server_errors counts 5xx in a row. */
enum gw_outage_step gw_outage_note(bool down, int *server_errors,
                                   enum gw_answer answer);
/* Before the next probe after `failures` failures: the base (1 s doubling
 * to 5 s) and up to 10 % more, drawn by pb_jitter. */
int64_t gw_probe_base_ms(int failures);
int64_t gw_probe_delay_ms(int failures);
/* Before the next extension/update after `attempts` failed ones: the base
 * (1 s doubling to max_ms), +-25 % drawn by pb_jitter. */
int64_t gw_retry_base_ms(int attempts, int64_t max_ms);
int64_t gw_retry_delay_ms(int attempts, int64_t max_ms);

/* ---- token (pbx_token.c) ---- */
void gw_token_load(struct gw_site *s);
/* Make sure a login or refresh is under way or done. */
void gw_token_ensure(struct gw_site *s);
/* The PBX refused `token` (expired or invalid): forget it, get another. */
void gw_token_rejected(struct gw_site *s, const char *token, int64_t errcode);
/* Revokes the token (del_token), at exit; gw->deleting counts answers due. */
void gw_token_delete(struct gw_site *s);
/* Revokes the token of a site being removed; false when there is none (or
 * the request cannot be sent). The site lives until the answer is in. */
bool gw_token_revoke_removed(struct gw_site *s);
/* Frees a removed site once its last request is back (site.c). */
void gw_site_release(struct gw_site *s);
/* Forgets the token pair and its ledger (the site moved or is removed). */
void gw_token_forget(struct gw_site *s);
/* Tokens of this site that may still be live on the PBX. */
int gw_token_live(struct gw_site *s);

/* ---- site status (site_status.c) ---- */
/* "ok", "unreachable", "auth_failed"...: publishes R/site/<site>/status and
 * the pbx_error / pbx_recovered events when the state changes. */
void gw_site_set_state(struct gw_site *s, const char *state, const char *error);
void gw_site_publish_status(struct gw_site *s);
/* Whether a status payload says what gw_site_publish_status would (its
 * updated_at aside). */
bool gw_site_status_matches(const struct gw_site *s, const char *payload,
                            size_t len);
void gw_site_clear_topics(struct gw_site *s);

/* ---- directory and read-back (pbx_directory.c) ---- */
/* publish: the directory topic is published after this read. */
void gw_directory_read(struct gw_site *s, bool publish);
void gw_directory_start(struct gw_site *s);
/* After a reconnect: the directory, every state and the status again. */
void gw_directory_republish(struct gw_site *s);
struct gw_ext *gw_ext_get(struct gw_site *s, const char *number);
/* Finds or creates (unlisted) the record of an extension; NULL when the
 * site holds GW_MAX_EXTS already. */
struct gw_ext *gw_ext_touch(struct gw_site *s, const char *number);
/* Frees an extension nobody needs any more (unlisted, nothing desired). */
void gw_ext_release(struct gw_site *s, struct gw_ext *e);
void gw_directory_add_waiter(struct gw_site *s, struct pb_bus_reply *reply);
void gw_directory_publish(struct gw_site *s);
/* The PBX answers again: a read that failed meanwhile starts over now. */
void gw_directory_resume(struct gw_site *s);

/* ---- retained topics (retained.c; the read-back in handle_retained.c) ---- */
/* Subscribes to the retained topics the gateway owns; what the broker keeps
 * that the database and the PBX contradict is republished or cleared. */
int gw_retained_register(struct gw *gw);
/* At start: the sites whose topics were published before (to clear them
 * when no longer served). */
int gw_retained_load(struct gw *gw);
/* Whether this gateway published the topics of `site` (served now, or
 * within the last days). */
bool gw_retained_published(const struct gw *gw, const char *site);
/* A retained state of a site seen before its first complete directory
 * read: judged at the end of that read (gw_retained_check_states). */
void gw_retained_defer_state(struct gw_site *s, const char *number);
/* A retained state seen before the site's first complete directory read is
 * judged at its end (pbx_directory.c). */
void gw_retained_check_states(struct gw_site *s);
/* The site is served: its topics are this gateway's; or no longer (site.c). */
void gw_retained_serve(struct gw *gw, const char *site);
void gw_retained_unserve(struct gw *gw, const char *site);
void gw_retained_free(struct gw *gw);
/* Clears a retained topic, saying why in the log. */
void gw_retained_clear(struct gw *gw, const char *topic, const char *why);

/* ---- applies (apply_outbox.c, handle_desired.c) ---- */
int gw_desired_register(struct gw *gw);
void gw_outbox_load(struct gw_site *s);
void gw_apply_set_desired(struct gw_site *s, const char *number,
                          const struct pb_desired *d);
/* Sends, schedules or finishes whatever the extension needs. */
void gw_apply_check(struct gw_site *s, struct gw_ext *e);
void gw_apply_check_all(struct gw_site *s);
/* The PBX answers again: every extension waiting for its retry is tried
 * now, through the queue (its rate and concurrency). */
void gw_apply_retry_now(struct gw_site *s);
bool gw_apply_needed(const struct gw_ext *e);

/* ---- drift (drift.c, handle_pbx_event.c) ---- */
/* The PBX shows `seen` for e (read back, or a PBX event); `asked_ms` is when
 * that information was asked for (0 for events), to skip stale reads. */
void gw_drift_observe(struct gw_site *s, struct gw_ext *e,
                      enum pb_presence seen, int64_t asked_ms,
                      const char *source);
void gw_drift_end(struct gw_site *s, struct gw_ext *e, const char *why);
void gw_drift_load(struct gw_site *s);
void gw_drift_arm(struct gw_site *s);
int gw_pbx_event_register(struct gw *gw);
/* One PBX event, from the WebSocket feed or the webhook relay (the same
 * path, so an event that comes both ways is handled once): 30009 to
 * drift, 30007/30008/30011 to the call state, 30012 to R/events/cdr once
 * per call id. `source`: GW_SOURCE_RELAY or the feed connection's number.
 * 0, or an error
 * with the sentence in err (malformed: PB_EINVAL). */
int gw_pbx_event_handle(struct gw_site *s, const struct pb_pbx_event *ev,
                        unsigned source, char *err, size_t errlen);

/* ---- call state (call_state.c: pure) ---- */
#define GW_EVENT_REGISTRATION 30007
#define GW_EVENT_EXT_CALL_STATUS 30008
#define GW_EVENT_CALL_STATUS 30011
#define GW_EVENT_NEW_CDR 30012
/* Where an event came from: the webhook relay, or connection n (1, 2...)
 * of the feed; each source delivers in order. */
#define GW_SOURCE_RELAY 0u
#define GW_CALLSTATE_MAX 10000      /* calls in progress per site */
#define GW_CALLSTATE_DONE_MAX 20000 /* ended call ids remembered */
#define GW_CALLSTATE_DUPLICATE 1    /* gw_callstate_event: nothing new */
struct gw_callstate;
/* Whether `number` is an extension of the directory; *online its devices. */
typedef bool gw_ext_known_cb(void *ud, const char *number, unsigned *online);
struct gw_callstate *gw_callstate_new(gw_ext_known_cb *known, void *ud);
void gw_callstate_free(struct gw_callstate *c);
size_t gw_callstate_count(const struct gw_callstate *c);
/* 30007, 30008 or 30011 arrived at now_ms: 0 (applied),
 * GW_CALLSTATE_DUPLICATE (nothing new: a copy, a late event, a call already
 * over), PB_EINVAL (malformed), PB_ENOTFOUND (an extension not in the
 * directory), PB_ETOOBIG, PB_ENOMEM; the sentence in err. */
int gw_callstate_event(struct gw_callstate *c, const struct pb_pbx_event *ev,
                       unsigned source, int64_t now_ms, char *err,
                       size_t errlen);
/* The directory read found `number`'s registered devices (`online`, device
 * bits): a change is kept and marked, as a 30007 would be. True when it
 * changed something. */
bool gw_callstate_registered(struct gw_callstate *c, const char *number,
                             unsigned online, int64_t now_ms);
/* The CDR of call_id arrived: the call is over. True the first time (the
 * CDR is to be published), false for a copy. */
bool gw_callstate_cdr(struct gw_callstate *c, const char *call_id,
                      int64_t now_ms);
/* Ends calls (and 30008 states) without news for stale_ms; how many. */
size_t gw_callstate_expire(struct gw_callstate *c, int64_t now_ms,
                           int64_t stale_ms);
/* When gw_callstate_expire would next end something; -1: nothing to end. */
int64_t gw_callstate_next_expiry(const struct gw_callstate *c,
                                 int64_t stale_ms);
/* The next extension whose call state changed (then no longer "changed");
 * false when none. */
bool gw_callstate_next_changed(struct gw_callstate *c, char *number, size_t len,
                               struct pb_call_state_msg *out);
/* An extension's current call state; false when it has none yet. */
bool gw_callstate_ext(const struct gw_callstate *c, const char *number,
                      struct pb_call_state_msg *out);
/* Whether the site's calls changed since the last time it was asked. */
bool gw_callstate_take_site_changed(struct gw_callstate *c);
/* The calls in progress, oldest first (at most PB_SITE_CALLS_MAX);
 * pb_site_calls_cleanup the result. */
int gw_callstate_site(const struct gw_callstate *c, const char *site,
                      int64_t now_ms, struct pb_site_calls *out);

/* ---- calls on the bus (call_publish.c) ---- */
/* Creates the site's call state (site start). */
int gw_call_site_init(struct gw_site *s);
void gw_call_site_free(struct gw_site *s);
/* Publishes what changed: R/ext/<site>/<ext>/call, R/site/<site>/calls;
 * re-arms the stale timer. */
void gw_call_publish_changes(struct gw_site *s);
/* After a (re)connect of the bus: every extension's call state (idle for
 * those without news) and the site's calls again; before the first
 * complete directory read, as soon as it is done. */
void gw_call_republish(struct gw_site *s);
/* Clears the site's call topics (site removed). */
void gw_call_clear_topics(struct gw_site *s);

/* ---- the WebSocket event feed (pbx_feed.c) ---- */
#define GW_FEED_HEARTBEAT_MS 25000 /* the PBX drops 60 s without traffic */
#define GW_FEED_SILENT_MS 70000    /* no heartbeat answer: reconnect */
#define GW_FEED_SUBSCRIBE_MS 10000 /* the subscription must be answered */
#define GW_FEED_BACKOFF_FIRST_MS 1000
#define GW_FEED_BACKOFF_MAX_MS 60000
#define GW_FEED_MESSAGE_MAX (256 * 1024)
/* Starts (or restarts with the current token and settings) the feed of a
 * site when PBX_EVENT_FEED=websocket and the site has a token. */
void gw_feed_start(struct gw_site *s);
/* A new access token is noticed within a second: a second connection
 * opens with it and replaces the first once subscribed. */
void gw_feed_stop(struct gw_site *s);
/* The WebSocket URL of a site's base URL (http -> ws, https -> wss) with
 * the token; 0 or PB_EINVAL/PB_ETOOBIG. */
int gw_feed_url(const char *base_url, const char *token, char *out, size_t len);

/* ---- state and events (state_publish.c) ---- */
void gw_state_publish(struct gw_site *s, const struct gw_ext *e);
void gw_state_clear(struct gw_site *s, const char *number);
/* Whether `payload` is what gw_state_publish would publish for e now. */
bool gw_state_matches(struct gw_site *s, const struct gw_ext *e,
                      const char *payload, size_t len);
void gw_event_apply(struct gw_site *s, const struct gw_ext *e,
                    enum pb_presence status, int err, const char *errmsg,
                    int64_t latency_ms);

/* ---- storage (gw_store.c, site_store.c) ----
 * Writers are PB_MUST_CHECK: a write that failed (the store logged why)
 * is named by its caller, whose state in memory goes on. */
int gw_store_open(const char *data_dir, struct pb_store **out);
/* For a writer's caller: says in the log what was not stored. */
void gw_store_warn(const char *site, const char *what);
PB_MUST_CHECK int gw_store_save_token(struct gw_site *s);
PB_MUST_CHECK int gw_store_delete_token(struct gw_site *s);
int gw_store_load_token(struct gw_site *s, char **sealed_access,
                        char **sealed_refresh);
PB_MUST_CHECK int gw_store_ledger_add(struct gw_site *s, int64_t expires);
int gw_store_ledger_live(struct gw_site *s, int64_t now, int64_t *earliest);
PB_MUST_CHECK int gw_store_outbox_put(struct gw_site *s, const char *number,
                                      enum pb_presence status);
PB_MUST_CHECK int gw_store_outbox_done(struct gw_site *s, const char *number);
typedef void gw_outbox_cb(const char *number, enum pb_presence status,
                          void *ud);
int gw_store_outbox_each(struct gw_site *s, gw_outbox_cb *cb, void *ud);
PB_MUST_CHECK int gw_store_drift_put(struct gw_site *s, const struct gw_ext *e);
PB_MUST_CHECK int gw_store_drift_done(struct gw_site *s, const char *number);
/* Sites whose topics this gateway published (kept keep_s seconds after
 * they are no longer served, so that their retained topics are cleared
 * even after a kill -9). */
PB_MUST_CHECK int gw_store_published_add(struct gw *gw, const char *name);
PB_MUST_CHECK int gw_store_published_removed(struct gw *gw, const char *name);
typedef void gw_name_cb(const char *name, void *ud);
int gw_store_published_each(struct gw *gw, int64_t keep_s, gw_name_cb *cb,
                            void *ud);
/* One transaction around several writes; end with what begin returned. */
bool gw_store_begin(struct gw *gw);
void gw_store_end(struct gw *gw, bool began);
struct gw_drift_row {
  const char *number;
  int64_t since, until;
  enum pb_presence desired; /* the decision the change departs from */
  enum pb_cause cause;
  int64_t decided; /* that decision's `since` */
};
typedef void gw_drift_cb(const struct gw_drift_row *row, void *ud);
int gw_store_drift_each(struct gw_site *s, gw_drift_cb *cb, void *ud);
PB_MUST_CHECK int gw_store_forget_site(struct gw *gw, const char *name);
PB_MUST_CHECK int gw_store_site_put(struct gw *gw,
                                    const struct gw_site_settings *set);
PB_MUST_CHECK int gw_store_site_delete(struct gw *gw, const char *name);
typedef void gw_site_row_cb(struct gw_site_settings *set, void *ud);
int gw_store_sites_each(struct gw *gw, gw_site_row_cb *cb, void *ud);

/* ---- calls: CDRs, click-to-call, recordings (pbx_cdr.c, pbx_dial.c,
 * pbx_recording.c; the bus requests in handle_call.c) ---- */
/* A CDR as the PBX gives it -> the contract's record (pb/payload_call.h):
 * a cdr/search or cdr/list record, or the message of event 30012 (New CDR),
 * whose field names differ; both are read. Times without a Unix timestamp
 * are read in the PBX's display format (gw->date_order) and local time
 * (gw->pbx_tz, else gw->tz). PB_EINVAL with the reason in err (the call id when
 * known) for a record the contract cannot hold: an unknown status or call type,
 * a missing field, durations that do not add up. */
int gw_cdr_from_pbx(const struct gw *gw, const char *site, const json_t *pbx,
                    struct pb_cdr *out, char *err, size_t errlen);
/* The same with the date order and zone given (tz NULL: UTC). */
int gw_cdr_read(const char *site, const json_t *pbx, enum gw_date_order order,
                const struct pb_tz *tz, struct pb_cdr *out, char *err,
                size_t errlen);
/* A PBX time: Unix seconds, or Y/M/D, M/D/Y or D/M/Y (per `order`; '/' or
 * '-') then H:MM[:SS] with an optional AM/PM, in `tz` (NULL: UTC). */
int gw_pbx_time_parse(const char *text, enum gw_date_order order,
                      const struct pb_tz *tz, int64_t *out);
/* Whether a recording reference can be used as a file name. */
bool gw_recording_name_valid(const char *name);

/* The site a request names ("site"; may be left out when the gateway
 * serves one); NULL with the reason in err. */
struct gw_site *gw_request_site(struct gw *gw, const json_t *req, char *err,
                                size_t errlen);
/* The bus requests of docs/topics.md. Each answers `reply` (deferred)
 * exactly once, through gw->io.reply, now or when the PBX has answered. */
#define GW_CDR_PAGE_DEFAULT 500
#define GW_CDR_PAGE_MAX 1000
/* cdr/search {site, start, end, page, page_size} -> {site, page,
 * page_size, total, skipped, cdrs}: one page of the PBX's cdr/search,
 * records it cannot read skipped (logged, counted). */
void gw_cdr_search(struct gw *gw, const json_t *req,
                   struct pb_bus_reply *reply);
/* A dial not sent within this time (a PBX that does not answer) is
 * dropped: the call is not placed minutes later. */
#define GW_DIAL_WAIT_MS 15000
/* call/dial {site, ext, number, by} -> {site, ext, number, call_id}. */
void gw_dial(struct gw *gw, const json_t *req, struct pb_bus_reply *reply);
/* recording/get {site, recording, offset, max_bytes} -> {site, recording,
 * content_type, size, offset, data (base64)}. */
#define GW_RECORDING_CHUNK_MAX (4 * 1024 * 1024)
void gw_recording_get(struct gw *gw, const json_t *req,
                      struct pb_bus_reply *reply);
/* PBX_DATE_ORDER and PBX_TIMEZONE from gw->cfg (nothing when NULL); with
 * RECORDINGS_DIR set, the recordings and their retention sweep (without
 * it they are set up at the first recording/get, from RECORDINGS_*). */
int gw_calls_start(struct gw *gw);
/* The same with the values given (unit tests): dir "" keeps recordings in
 * memory only. */
int gw_recordings_init(struct gw *gw, const char *dir, int64_t retention_days,
                       int64_t cache_mb);
/* Removes recordings older than the retention (hourly, from a timer). */
void gw_recordings_sweep(struct gw *gw);
/* Drops downloads under way (their requests are answered with an error),
 * the cached recordings and PBX_TIMEZONE's zone. After gw_sites_stop (whose
 * cancelled requests answer first) and before pb_bus_free (the answers
 * still go out) and pb_loop_free. */
void gw_calls_stop(struct gw *gw);
/* handle_call.c: the rows of handle_site.c's action table. */
void gw_on_cdr_search(struct pb_bus *bus, const char *action, json_t *req,
                      struct pb_bus_reply *reply, void *ud);
void gw_on_call_dial(struct pb_bus *bus, const char *action, json_t *req,
                     struct pb_bus_reply *reply, void *ud);
void gw_on_recording_get(struct pb_bus *bus, const char *action, json_t *req,
                         struct pb_bus_reply *reply, void *ud);

#endif
