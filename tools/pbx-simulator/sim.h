/* The one internal header of pbx-simulator: a fake Yeastar P-Series PBX that
 * serves the documented Open API subset (/openapi/v1.0/...) strictly, plus a
 * control API (/sim/...) for tests. See README.md and docs/gateway.md. */
#ifndef PBX_SIM_H
#define PBX_SIM_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIM_OPENAPI_PREFIX "/openapi/v1.0/"
#define SIM_CONTROL_PREFIX "/sim/"
#define SIM_DOWNLOAD_PREFIX "/api/download/" /* recording download links */
#define SIM_BODY_MAX (64 * 1024)             /* request body cap */
#define SIM_LOG_MAX 100000                   /* request-log entries kept */
#define SIM_LOG_BODY_MAX (2 * 1024)          /* body bytes kept per log entry */
#define SIM_EXTENSIONS_MAX 100000            /* directory size cap */
#define SIM_MAX_TOKENS_LIMIT 1024            /* upper bound for --max-tokens */
#define SIM_TOKEN_LEN 32
#define SIM_LATENCY_MAX_MS 600000L /* bound for latency_ms */
#define SIM_LIFETIME_MAX 31536000L /* bound for token lifetimes (1 y) */
#define SIM_PAGE_SIZE_MAX 100000L  /* bound for --max-page-size */
#define SIM_ALLOWED_IPS_MAX 16     /* API IP allow-list entries */
#define SIM_IP_TEXT 48             /* an IPv4 or IPv6 address as text */
#define SIM_TLS_FILE_MAX (64 * 1024)
#define SIM_CALLS_MAX 10000         /* calls in progress at once */
#define SIM_CDR_MAX 200000          /* CDRs kept; the oldest go first */
#define SIM_CDR_PAGE_SIZE 10000L    /* documented default and maximum */
#define SIM_TRUNK_NAME "SIP-Trunk1" /* the one trunk external calls use */

/* Event ids ("API Events Overview"). */
#define SIM_EV_REGISTRATION 30007 /* Extension Registration Status Changed */
#define SIM_EV_EXT_CALL 30008     /* Extension Call Status Changed */
#define SIM_EV_PRESENCE 30009     /* Extension Presence Status Changed */
#define SIM_EV_CALL 30011         /* Call State Changed */
#define SIM_EV_CDR 30012          /* New CDR */

/* Documented and assumed Open API error codes (README "Assumptions"). */
#define SIM_ERR_FAILURE (-1)
#define SIM_ERR_INVALID_TOKEN 10002 /* assumed: missing/unknown/revoked */
#define SIM_ERR_TOKEN_EXPIRED 10004 /* seen in client code */
#define SIM_ERR_TOKEN_LIMIT 10005   /* assumed: --max-tokens reached */
#define SIM_ERR_PARAMETER 40002     /* documented */
#define SIM_ERR_DUPLICATE 40003     /* documented */
#define SIM_ERR_IP_FORBIDDEN 70087  /* seen in client code: IP not allowed */

/* ---- sim_util.c: the one clock, randomness, strict number parsing ---- */

/* Monotonic milliseconds: token expiry and latency use only this. */
int64_t sim_clock_ms(void);
/* Wall-clock time as RFC 3339 UTC with milliseconds into buf. */
void sim_clock_wall(char *buf, size_t size);
/* Fills buf with n bytes from getrandom(); returns 0 or -1. */
int sim_random_bytes(void *buf, size_t n);
/* Uniform double in [0, 1). */
double sim_random_unit(void);
/* Strict decimal integer: digits only (optional leading '-'), no spaces,
 * within [min, max]. Returns 0 on success, -1 otherwise. */
int sim_parse_long(const char *s, long min, long max, long *out);
/* Strict finite double within [min, max]. */
int sim_parse_double(const char *s, double min, double max, double *out);

/* ---- sim_state.c: live settings and counters ---- */

struct sim_state;

struct sim_settings {
  long latency_ms;
  double error_rate;
  long error_status;     /* the HTTP status of those errors: 500-599 */
  long token_lifetime;   /* seconds */
  long refresh_lifetime; /* seconds */
  bool outage;
  long max_page_size;
  char latency_only[32]; /* "": latency on every endpoint, else only there */
  bool api_disabled;     /* the Open API switched off: its paths are 404 */
  size_t n_allowed_ips;  /* 0: every address may use the API */
  char allowed_ips[SIM_ALLOWED_IPS_MAX][SIM_IP_TEXT];
};

struct sim_stats {
  uint64_t logins;
  uint64_t refreshes;
  uint64_t failed_logins;
  uint64_t token_limit_refusals;
  uint64_t requests;
  uint64_t server_errors; /* injected by --error-rate */
  uint64_t dropped;       /* closed without a response (outage) */
  uint64_t token_deletes; /* successful del_token */
  uint64_t ip_refusals;   /* answered 70087 */
  uint64_t in_flight;
  uint64_t max_in_flight;
};

enum sim_counter {
  SIM_COUNT_LOGIN,
  SIM_COUNT_REFRESH,
  SIM_COUNT_FAILED_LOGIN,
  SIM_COUNT_TOKEN_LIMIT,
  SIM_COUNT_SERVER_ERROR,
  SIM_COUNT_DROPPED,
  SIM_COUNT_TOKEN_DELETE,
  SIM_COUNT_IP_REFUSAL,
};

struct sim_state *sim_state_new(const struct sim_settings *initial);
void sim_state_free(struct sim_state *st);
void sim_state_get(struct sim_state *st, struct sim_settings *out);
/* Copies the fields named by mask (SIM_SET_*) from in, atomically. */
enum {
  SIM_SET_LATENCY = 1u << 0,
  SIM_SET_ERROR_RATE = 1u << 1,
  SIM_SET_TOKEN_LIFETIME = 1u << 2,
  SIM_SET_REFRESH_LIFETIME = 1u << 3,
  SIM_SET_OUTAGE = 1u << 4,
  SIM_SET_MAX_PAGE_SIZE = 1u << 5,
  SIM_SET_API_DISABLED = 1u << 6,
  SIM_SET_ALLOWED_IPS = 1u << 7,
  SIM_SET_LATENCY_ONLY = 1u << 8,
  SIM_SET_ERROR_STATUS = 1u << 9,
};
void sim_state_update(struct sim_state *st, const struct sim_settings *in,
                      unsigned mask);
void sim_state_count(struct sim_state *st, enum sim_counter c);
/* An OpenAPI request starts / ends: requests, in_flight, max_in_flight. */
void sim_state_enter(struct sim_state *st);
void sim_state_leave(struct sim_state *st);
void sim_state_stats(struct sim_state *st, struct sim_stats *out);

/* ---- sim_tokens.c: access/refresh token store ---- */

struct sim_tokens;

enum sim_token_status {
  SIM_TOKEN_OK,
  SIM_TOKEN_INVALID, /* unknown, revoked or refreshed away */
  SIM_TOKEN_EXPIRED,
  SIM_TOKEN_LIMIT, /* too many valid access tokens */
};

struct sim_token_pair {
  char access[SIM_TOKEN_LEN + 1];
  char refresh[SIM_TOKEN_LEN + 1];
};

struct sim_tokens *sim_tokens_new(unsigned max_tokens);
void sim_tokens_free(struct sim_tokens *t);
enum sim_token_status sim_tokens_issue(struct sim_tokens *t, long access_life_s,
                                       long refresh_life_s,
                                       struct sim_token_pair *out);
enum sim_token_status sim_tokens_refresh(struct sim_tokens *t,
                                         const char *refresh,
                                         long access_life_s,
                                         long refresh_life_s,
                                         struct sim_token_pair *out);
enum sim_token_status sim_tokens_check(struct sim_tokens *t,
                                       const char *access);
/* Revokes the access token and the refresh token issued with it. */
enum sim_token_status sim_tokens_revoke(struct sim_tokens *t,
                                        const char *access);
/* Every token expires now; access_only: refresh tokens stay valid. */
void sim_tokens_expire_all(struct sim_tokens *t, bool access_only);
size_t sim_tokens_live(struct sim_tokens *t);

/* ---- sim_extensions.c: the extension directory ---- */

struct sim_dir;

enum sim_dir_status {
  SIM_DIR_OK,
  SIM_DIR_NOT_FOUND,
  SIM_DIR_DUPLICATE,
  SIM_DIR_FULL,
  SIM_DIR_INVALID,
};

struct sim_dir_query {
  const char *search; /* NULL: all extensions */
  int sort_field;     /* index from sim_dir_sort_field() */
  bool descending;
  long page;      /* from 1 */
  long page_size; /* from 1 */
};

struct sim_dir *sim_dir_new(unsigned demo_count);
void sim_dir_free(struct sim_dir *d);
bool sim_presence_valid(const char *presence);
/* Index of a sort_by name, or -1. */
int sim_dir_sort_field(const char *name);
/* One page of extensions in Open API shape; *total gets the match count. */
json_t *sim_dir_list(struct sim_dir *d, const struct sim_dir_query *q,
                     size_t *total);
/* One extension in Open API shape, or NULL if the id is unknown. */
json_t *sim_dir_get(struct sim_dir *d, long id);
enum sim_dir_status sim_dir_set_presence_id(struct sim_dir *d, long id,
                                            const char *presence,
                                            const char *source);
enum sim_dir_status sim_dir_set_presence_number(struct sim_dir *d,
                                                const char *number,
                                                const char *presence,
                                                const char *source);
/* Adds an extension; fields beyond number and name may be NULL. */
enum sim_dir_status sim_dir_add(struct sim_dir *d, const char *number,
                                const char *name, const char *email,
                                const char *mobile, const char *presence,
                                json_t **created);
enum sim_dir_status sim_dir_remove(struct sim_dir *d, const char *number);
/* Every extension with simulator-only fields (presence_changed_by ...). */
json_t *sim_dir_dump(struct sim_dir *d);

bool sim_dir_has_number(struct sim_dir *d, const char *number);

/* Told, outside the directory's lock, of a presence change (what
 * "presence", value the new status). */
typedef void (*sim_dir_hook_fn)(void *ctx, const char *number, const char *what,
                                const char *value);
void sim_dir_set_hook(struct sim_dir *d, sim_dir_hook_fn fn, void *ctx);
/* Index of an online_status device name (sip_phone ...), or -1. */
int sim_device_index(const char *name);
enum sim_dir_status sim_dir_set_device(struct sim_dir *d, const char *number,
                                       int device, bool online, bool *changed);

/* ---- sim_calls.c: calls in progress and their CDRs ---- */

struct sim_calls;

enum sim_call_type { SIM_CALL_INBOUND, SIM_CALL_OUTBOUND, SIM_CALL_INTERNAL };
enum sim_cdr_status {
  SIM_CDR_ANSWERED,
  SIM_CDR_NO_ANSWER,
  SIM_CDR_BUSY,
  SIM_CDR_FAILED,
  SIM_CDR_VOICEMAIL,
};
enum sim_call_step {
  SIM_STEP_ANSWER,
  SIM_STEP_HOLD,
  SIM_STEP_UNHOLD,
  SIM_STEP_HANGUP,
};
enum sim_call_result {
  SIM_CALL_OK,
  SIM_CALL_NOT_FOUND,
  SIM_CALL_BAD_STATE, /* e.g. hold while ringing */
  SIM_CALL_BAD_TIME,  /* earlier than the call's last event */
  SIM_CALL_FULL,
  SIM_CALL_BAD_PARTY, /* a transfer nobody can make */
};
enum sim_cdr_sort {
  SIM_CDR_SORT_ID,
  SIM_CDR_SORT_UID,
  SIM_CDR_SORT_TIME,
  SIM_CDR_SORT_DURATION,
  SIM_CDR_SORT_RING,
  SIM_CDR_SORT_TALK,
  SIM_CDR_SORT_DISPOSITION,
  SIM_CDR_SORT_CALL_TYPE,
};

struct sim_cdr_query {
  bool has_start, has_end;
  int64_t start, end;              /* Unix seconds, inclusive */
  const char *call_from, *call_to; /* NULL: any */
  int status;                      /* enum sim_cdr_status, -1: any */
  enum sim_cdr_sort sort;
  bool descending;
  long page, page_size;
};

struct sim_calls *sim_calls_new(void);
void sim_calls_free(struct sim_calls *c);
/* Index of a documented status (ANSWERED ...), or -1. */
int sim_cdr_status_parse(const char *s);
/* An external number: 3 to 32 digits, optional leading '+'. */
bool sim_external_number_valid(const char *s);
/* The PBX's display format the simulator uses: MM/DD/YYYY HH:mm:ss, UTC. */
void sim_display_time(int64_t t, char *buf, size_t size);
/* Calls append the events they cause to `events` (an array of
 * {"type":30011,"msg":{...}}, NULL: none) for sim_events_emit_list.
 * dial: a click-to-call, the caller's phone rings first. */
enum sim_call_result sim_calls_ring(struct sim_calls *c, const char *from,
                                    const char *to, enum sim_call_type type,
                                    bool recording, bool dial, int64_t at,
                                    json_t **created, json_t *events);
/* hangup_status: -1 or an enum sim_cdr_status; *result: the call, or the
 * CDR after a hang-up. */
enum sim_call_result sim_calls_step(struct sim_calls *c, const char *uid,
                                    enum sim_call_step step, int64_t at,
                                    int hangup_status, json_t **result,
                                    json_t *events);
/* Blind transfer of an answered call to target; by_to_side: -1 default
 * transferor, 0 the caller, 1 the callee. *result: {"cdr","call"}. */
enum sim_call_result sim_calls_transfer(struct sim_calls *c, const char *uid,
                                        int by_to_side, const char *target,
                                        bool target_ext, int64_t at,
                                        json_t **result, json_t *events);
/* The recording file of a stored CDR, by CDR id or file name: 0 and the
 * name into out, -1 when there is none. */
int sim_calls_recording(struct sim_calls *c, long id, const char *file,
                        char *out, size_t size);
json_t *sim_calls_active(struct sim_calls *c);
/* Stores count generated CDRs; returns how many were stored. */
size_t sim_calls_add_cdrs(struct sim_calls *c, size_t count, int64_t start,
                          long interval, const char *ext_base);
/* One page of CDRs in Open API shape; *total gets the match count. */
json_t *sim_calls_query(struct sim_calls *c, const struct sim_cdr_query *q,
                        size_t *total);
json_t *sim_cdr_json_at(struct sim_calls *c, size_t i);
size_t sim_calls_cdr_count(struct sim_calls *c);

/* ---- sim_log.c: the request log ---- */

struct sim_log;

struct sim_log_record {
  const char *method;
  const char *path;
  const char *query; /* raw, without '?'; may be NULL */
  const char *user_agent;
  const char *body;
  size_t body_len;
  unsigned http_status; /* 0: connection closed without a response */
  bool has_errcode;
  long errcode;
};

struct sim_log *sim_log_new(size_t max_entries);
void sim_log_free(struct sim_log *log);
void sim_log_add(struct sim_log *log, const struct sim_log_record *rec);
/* Entries with seq > since, oldest first. */
json_t *sim_log_json(struct sim_log *log, uint64_t since);
void sim_log_clear(struct sim_log *log);

/* ---- the simulator: startup configuration plus module handles ---- */

struct sim {
  char client_id[256];
  char client_secret[256];
  bool quiet;
  struct sim_state *state;
  struct sim_tokens *tokens;
  struct sim_dir *dir;
  struct sim_log *log;
  struct sim_calls *calls;
  struct sim_ws *ws;
  struct sim_webhooks *webhooks;
  struct sim_events *events;
  struct sim_recordings *recordings;
};

/* ---- sim_http.c: daemon, routing table, request lifecycle ---- */

struct sim_request; /* one HTTP request, owned by sim_http.c */

/* What a handler answers; sim_http.c sends it and logs it. */
struct sim_reply {
  unsigned http_status;
  json_t *json;     /* owned; sent as application/json */
  const char *text; /* static text/html body when json is NULL */
  const char *allow;
  bool upgrade;           /* 101: the connection becomes a WebSocket */
  char ws_accept[32];     /* Sec-WebSocket-Accept of an upgrade */
  const char *ws_version; /* Sec-WebSocket-Version of a 426 */
  unsigned char *data;    /* owned binary body (a recording) when set */
  size_t data_len;
  const char *content_type;
  char disposition[192]; /* Content-Disposition of a download, or "" */
};

typedef void (*sim_handler_fn)(struct sim *sim, struct sim_request *req,
                               struct sim_reply *out);

struct sim_server;

/* tls_cert / tls_key: PEM text (both or neither): HTTPS, as the PBX's 8088. */
struct sim_server *sim_http_start(struct sim *sim, const char *host,
                                  uint16_t port, const char *tls_cert,
                                  const char *tls_key, uint16_t *bound_port);
void sim_http_stop(struct sim_server *srv);

/* Accessors handlers use; strings lent until the request completes. */
const char *sim_request_arg(struct sim_request *req, const char *name);
const char *sim_request_body(struct sim_request *req, size_t *len);
const char *sim_request_header(struct sim_request *req, const char *name);
/* The request's path, without the query. */
const char *sim_request_path(struct sim_request *req);

/* Open API envelopes. */
void sim_reply_success(struct sim_reply *out, json_t *extra);
void sim_reply_error(struct sim_reply *out, long errcode, const char *errmsg);
void sim_reply_param_error(struct sim_reply *out, const char *field,
                           const char *value);
/* Control API answers. */
void sim_reply_json(struct sim_reply *out, unsigned http_status, json_t *json);
void sim_reply_control_error(struct sim_reply *out, unsigned http_status,
                             const char *message);
/* A control request's body as a JSON object (no duplicate keys), or NULL
 * after a 400 reply (sim_control.c). */
json_t *sim_control_body(struct sim_request *req, struct sim_reply *out);

/* ---- sim_openapi.c: the seven Open API endpoints ---- */

void sim_api_get_token(struct sim *sim, struct sim_request *req,
                       struct sim_reply *out);
void sim_api_refresh_token(struct sim *sim, struct sim_request *req,
                           struct sim_reply *out);
void sim_api_del_token(struct sim *sim, struct sim_request *req,
                       struct sim_reply *out);
void sim_api_extension_list(struct sim *sim, struct sim_request *req,
                            struct sim_reply *out);
void sim_api_extension_search(struct sim *sim, struct sim_request *req,
                              struct sim_reply *out);
void sim_api_extension_get(struct sim *sim, struct sim_request *req,
                           struct sim_reply *out);
void sim_api_extension_update(struct sim *sim, struct sim_request *req,
                              struct sim_reply *out);
void sim_api_cdr_list(struct sim *sim, struct sim_request *req,
                      struct sim_reply *out);
void sim_api_cdr_search(struct sim *sim, struct sim_request *req,
                        struct sim_reply *out);

/* ---- sim_ws.c: the WebSocket event feed (GET subscribe) ---- */

struct sim_ws;

/* Releases an upgraded connection (sim_http.c closes it through MHD). */
typedef void (*sim_ws_close_fn)(void *ctx);

struct sim_ws *sim_ws_new(struct sim_tokens *tokens, long idle_timeout_s);
/* Ends every session and waits for them; before the HTTP daemon stops. */
void sim_ws_shutdown(struct sim_ws *ws);
void sim_ws_free(struct sim_ws *ws);
/* Sec-WebSocket-Accept of a client key; -1 when the key is not the Base64
 * of 16 bytes. out >= 29. */
int sim_ws_accept_key(const char *key, char *out, size_t size);
/* Serves an upgraded socket on a thread of its own: extra holds bytes read
 * past the request; token is the access token the connection lives on. */
int sim_ws_serve(struct sim_ws *ws, int fd, const char *extra, size_t extra_len,
                 const char *token, sim_ws_close_fn done, void *done_ctx);
/* Sends text to every session subscribed to event type. */
void sim_ws_broadcast(struct sim_ws *ws, int type, const char *text);
/* Closes every connection at once, without a close frame; how many. */
size_t sim_ws_drop_all(struct sim_ws *ws);
void sim_ws_set_refuse(struct sim_ws *ws, bool refuse, unsigned status);
bool sim_ws_refusing(struct sim_ws *ws, unsigned *status);
void sim_ws_set_idle_timeout(struct sim_ws *ws, long seconds);
json_t *sim_ws_status(struct sim_ws *ws);
void sim_api_subscribe(struct sim *sim, struct sim_request *req,
                       struct sim_reply *out);

/* ---- sim_events.c: events to the WebSocket feed and webhooks ---- */

struct sim_events;

enum {
  SIM_MON_REGISTRATION = 1u << 0,
  SIM_MON_CALL = 1u << 1,
  SIM_MON_PRESENCE = 1u << 2,
  SIM_MON_ALL = 7u,
};

struct sim_events *sim_events_new(struct sim_ws *ws, struct sim_webhooks *hooks,
                                  const char *sn);
void sim_events_free(struct sim_events *ev);
/* Sends one event: {"type":T,"sn":SN,"msg":"<msg as JSON text>"}, unless
 * it concerns an extension whose monitoring for it is off. Steals msg. */
void sim_events_emit(struct sim_events *ev, int type, json_t *msg);
/* Emits an array of {"type","msg"} in order; steals it; accepts NULL. */
void sim_events_emit_list(struct sim_events *ev, json_t *list);
/* The directory hook: 30009 on presence changes. */
void sim_events_dir_hook(void *ctx, const char *number, const char *what,
                         const char *value);
/* Monitoring ("Registration/Call/Presence Status Monitor" on the PBX):
 * number NULL: every extension. */
void sim_events_monitor(struct sim_events *ev, const char *number,
                        unsigned mask, bool on);
json_t *sim_events_monitor_json(struct sim_events *ev);

/* ---- sim_webhook.c: signed webhooks ("Monitor Events via Webhook") ---- */

struct sim_webhooks;

#define SIM_WEBHOOKS_MAX 5 /* URLs, as on the PBX */
#define SIM_WEBHOOK_QUEUE 10000

struct sim_webhooks *sim_webhooks_new(const char *user_agent);
/* Stops the sender thread; events still queued are dropped. */
void sim_webhooks_free(struct sim_webhooks *w);
/* url: http://host[:port]/path (plain HTTP only). 0, or -1 when full or
 * the URL is not one. */
int sim_webhooks_add(struct sim_webhooks *w, const char *url,
                     const char *secret, const int *types, size_t n_types);
void sim_webhooks_clear(struct sim_webhooks *w);
json_t *sim_webhooks_json(struct sim_webhooks *w);
/* Queues body for every webhook that takes event type. */
void sim_webhooks_post(struct sim_webhooks *w, int type, const char *body);

/* ---- sim_recordings.c: recording downloads ---- */

struct sim_recordings;

struct sim_recordings *sim_recordings_new(void);
void sim_recordings_free(struct sim_recordings *r);
void sim_api_recording_download(struct sim *sim, struct sim_request *req,
                                struct sim_reply *out);
void sim_api_download_file(struct sim *sim, struct sim_request *req,
                           struct sim_reply *out);

/* ---- sim_dial.c: click-to-call and the demo calls ---- */

void sim_api_call_dial(struct sim *sim, struct sim_request *req,
                       struct sim_reply *out);
struct sim_demo;
/* A thread that starts, answers, holds and ends calls every few seconds
 * (and moves calls placed by call/dial along) until sim_demo_stop. */
struct sim_demo *sim_demo_start(struct sim *sim);
void sim_demo_stop(struct sim_demo *demo);

/* ---- sim_control.c: the /sim/ control API ---- */

void sim_ctl_requests(struct sim *sim, struct sim_request *req,
                      struct sim_reply *out);
void sim_ctl_requests_clear(struct sim *sim, struct sim_request *req,
                            struct sim_reply *out);
void sim_ctl_stats(struct sim *sim, struct sim_request *req,
                   struct sim_reply *out);
void sim_ctl_extensions(struct sim *sim, struct sim_request *req,
                        struct sim_reply *out);
void sim_ctl_extension_add(struct sim *sim, struct sim_request *req,
                           struct sim_reply *out);
void sim_ctl_extension_remove(struct sim *sim, struct sim_request *req,
                              struct sim_reply *out);
void sim_ctl_presence(struct sim *sim, struct sim_request *req,
                      struct sim_reply *out);
void sim_ctl_outage(struct sim *sim, struct sim_request *req,
                    struct sim_reply *out);
void sim_ctl_config_get(struct sim *sim, struct sim_request *req,
                        struct sim_reply *out);
void sim_ctl_config_set(struct sim *sim, struct sim_request *req,
                        struct sim_reply *out);
void sim_ctl_expire_tokens(struct sim *sim, struct sim_request *req,
                           struct sim_reply *out);
void sim_ctl_calls(struct sim *sim, struct sim_request *req,
                   struct sim_reply *out);
void sim_ctl_call_ring(struct sim *sim, struct sim_request *req,
                       struct sim_reply *out);
void sim_ctl_call_answer(struct sim *sim, struct sim_request *req,
                         struct sim_reply *out);
void sim_ctl_call_hold(struct sim *sim, struct sim_request *req,
                       struct sim_reply *out);
void sim_ctl_call_unhold(struct sim *sim, struct sim_request *req,
                         struct sim_reply *out);
void sim_ctl_call_hangup(struct sim *sim, struct sim_request *req,
                         struct sim_reply *out);
void sim_ctl_cdrs_add(struct sim *sim, struct sim_request *req,
                      struct sim_reply *out);
void sim_ctl_ws(struct sim *sim, struct sim_request *req,
                struct sim_reply *out);
void sim_ctl_call_transfer(struct sim *sim, struct sim_request *req,
                           struct sim_reply *out);
void sim_ctl_register(struct sim *sim, struct sim_request *req,
                      struct sim_reply *out);
void sim_ctl_monitor_get(struct sim *sim, struct sim_request *req,
                         struct sim_reply *out);
void sim_ctl_monitor_set(struct sim *sim, struct sim_request *req,
                         struct sim_reply *out);
void sim_ctl_webhooks_get(struct sim *sim, struct sim_request *req,
                          struct sim_reply *out);
void sim_ctl_webhooks_add(struct sim *sim, struct sim_request *req,
                          struct sim_reply *out);
void sim_ctl_webhooks_clear(struct sim *sim, struct sim_request *req,
                            struct sim_reply *out);
void sim_ctl_ws_drop(struct sim *sim, struct sim_request *req,
                     struct sim_reply *out);
void sim_ctl_ws_refuse(struct sim *sim, struct sim_request *req,
                       struct sim_reply *out);

#endif
