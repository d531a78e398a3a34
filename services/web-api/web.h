/* web-api's internal header. web-api is the single HTTP entry point: it keeps
 * read models of what the other services publish (read_model.c), an audit
 * log (audit.c), accounts and sessions (auth.c), a live event stream
 * (sse.c), and serves the REST API (routes*.c, docs/api.md) and the
 * dashboard (static/) on libmicrohttpd driven by the service's loop
 * (http_server.c). It changes the system only by sending commands on the
 * bus (command.c). */
#ifndef WEB_H
#define WEB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pb/buf.h"
#include "pb/bus.h"
#include "pb/error.h"
#include "pb/json.h"
#include "pb/payload.h"
#include "pb/secretbox.h"

struct pb_bus;
struct pb_config;
struct pb_loop;
struct pb_map;
struct pb_store;
struct pb_timer;
struct pb_tz;
struct web;
struct web_conn;

/* A limit that triggers logs a line the first time, then at most one a
 * minute saying how many more times it did (note.c). */
struct web_note {
  int64_t last_ms;
  uint64_t more;
};
void web_note(struct web_note *n, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* One extension as the dashboard shows it. */
struct web_ext {
  char site[PB_ID_MAX], number[PB_ID_MAX];
  char name[PB_TEXT_MAX];
  int64_t pbx_id;
  bool in_directory;
  bool planning_off; /* last R/.../planning was "off" */
  json_t *desired;   /* last payloads, owned; NULL when none */
  json_t *state;
  json_t *override;
  char *schedule;           /* the raw schedule payload (compact), owned */
  char prev_pbx_status[32]; /* the PBX status before the last change */
  json_t *call;             /* last R/.../call (checked), owned; NULL none */
};

/* ---- read model (read_model.c) ---- */
int web_model_init(struct web *w);
void web_model_cleanup(struct web *w);
struct web_ext *web_model_get(struct web *w, const char *site,
                              const char *number);
/* NULL when site or number is not a valid id (or memory is gone). */
struct web_ext *web_model_get_or_create(struct web *w, const char *site,
                                        const char *number);
/* Extensions sorted by site then number; caller frees the array. */
struct web_ext **web_model_list(struct web *w, const char *site, size_t *count);
json_t *web_ext_json(const struct web_ext *e);
const char *web_service_availability(struct web *w, const char *service);
/* {"<site>": <last R/site/<site>/status>, ...}; new reference. */
json_t *web_sites_json(struct web *w);

/* ---- inbound bus handlers (handle_*.c), subscribed by main.c ---- */
struct pb_bus_msg;
/* R/ext/+/+/<leaf>: desired, state, override, planning, schedule */
void web_handle_ext(struct pb_bus *bus, const struct pb_bus_msg *msg, void *ud);
/* R/site/+/directory, R/site/+/status */
void web_handle_directory(struct pb_bus *bus, const struct pb_bus_msg *msg,
                          void *ud);
void web_handle_site_status(struct pb_bus *bus, const struct pb_bus_msg *msg,
                            void *ud);
/* R/svc/+/availability, R/svc/+/pubkey */
void web_handle_availability(struct pb_bus *bus, const struct pb_bus_msg *msg,
                             void *ud);
void web_handle_pubkey(struct pb_bus *bus, const struct pb_bus_msg *msg,
                       void *ud);
/* R/ext/+/+/call, R/site/+/calls (handle_call.c) */
void web_handle_call(struct pb_bus *bus, const struct pb_bus_msg *msg,
                     void *ud);
void web_handle_site_calls(struct pb_bus *bus, const struct pb_bus_msg *msg,
                           void *ud);
/* R/events/+ */
void web_handle_event(struct pb_bus *bus, const struct pb_bus_msg *msg,
                      void *ud);

/* ---- accounts, sessions, API tokens (auth.c) ---- */
enum web_role { WEB_ROLE_NONE = 0, WEB_ROLE_READONLY = 1, WEB_ROLE_ADMIN = 2 };
const char *web_role_name(enum web_role r);
int web_role_parse(const char *text, enum web_role *out);

struct web_auth {
  enum web_role role; /* NONE: anonymous */
  char user[PB_ID_MAX];
  bool by_cookie; /* a session cookie: CSRF applies */
  char csrf[64];  /* the session's CSRF token */
  char session_hash[65];
};

#define WEB_COOKIE "pb_session"

struct web_session {
  char user[PB_ID_MAX];
  enum web_role role;
  char csrf[64];
  int64_t expires_at;
};
struct web_token {
  int64_t id;
  char user[PB_ID_MAX];
  enum web_role role; /* the token's, capped by its user's */
  int64_t last_used_at;
  int64_t expires_at; /* 0: never */
};
struct web_failures {
  int64_t window_start;
  int64_t count;
};
struct web_auth_state {
  struct pb_map *sessions; /* SHA-256 hex of the cookie -> web_session */
  struct pb_map *tokens;   /* SHA-256 hex of the token -> web_token */
  /* login_limit.c: "p|ip|user", "a|ip", "u|user" -> web_failures */
  struct pb_map *failures;
  int64_t failures_sweep_at; /* no window in `failures` ends before */
  struct web_note failures_note;
  int64_t data_version; /* of web-api.db when sessions/tokens were read */
};

PB_MUST_CHECK int web_store_open(const struct pb_config *cfg,
                                 struct pb_store **out);
struct pb_stmt;
/* Steps a statement to its end (ends its read transaction). */
void web_stmt_finish(struct pb_stmt *st);
int web_auth_init(struct web *w);
void web_auth_cleanup(struct web *w);
/* Who sends the request: `authorization` (the Authorization header,
 * "Bearer <token>"), else `cookie` (the value of the WEB_COOKIE cookie);
 * either may be NULL. */
void web_auth_identify(struct web *w, const char *authorization,
                       const char *cookie, struct web_auth *out);
/* A new random password for `user` (created as admin when missing), printed
 * once on stderr: `web-api --reset-admin`. Returns main's exit code. */
int web_auth_reset_cli(const struct pb_config *cfg, const char *user);
PB_MUST_CHECK int web_user_role(struct web *w, const char *user,
                                enum web_role *role);
/* Hashes on the calling thread (start-up, --reset-admin): request handlers
 * hash on the worker (password_check.c) and store with web_user_store_hash. */
/* Writers of web-api.db: their result must be looked at. */
PB_MUST_CHECK int web_user_set_password(struct web *w, const char *user,
                                        const char *password,
                                        enum web_role role, bool create);
PB_MUST_CHECK int web_user_store_hash(struct web *w, const char *user,
                                      const char *hash, enum web_role role,
                                      bool create);

/* ---- password policy (password_policy.c) ---- */
#define WEB_PASSWORD_MIN 8
#define WEB_PASSWORD_MAX 256
/* 0 when `password` is acceptable for the account `user`, else PB_EINVAL
 * and, in `why`, the rule it breaks as the end of a sentence ("must be at
 * least 8 characters"). */
int web_password_policy(const char *user, const char *password, char *why,
                        size_t len);

/* ---- password checks off the loop (password_check.c) ----
 * An Argon2id check or hash costs tens of milliseconds: a route hands it to
 * the worker thread and answers from `finish`, back on the loop, once it is
 * done. The request waits suspended meanwhile; everything else goes on. */
struct web_pw_job;
struct web_response;
struct web_request;
typedef void web_pw_finish_fn(struct web_pw_job *job,
                              struct web_response *resp);
struct web_pw_job {
  struct web *w;
  struct web_conn *wc; /* NULL once the request went away */
  web_pw_finish_fn *finish;
  char *check; /* a password to verify against `name`'s, or NULL */
  char check_hash[PB_PASSWORD_HASH_MAX]; /* "": no such user (a dummy hash
                                            is checked, for the same time) */
  char *set;     /* a new password to hash (when the check, if any, passed) */
  bool check_ok; /* out: `check` matches `check_hash` */
  int hash_rc;   /* out: 0 when `new_hash` holds the hash of `set` */
  char new_hash[PB_PASSWORD_HASH_MAX];
  /* What `finish` needs of the request, copied. */
  char actor[PB_ID_MAX]; /* who asks (req->auth.user) */
  char name[PB_ID_MAX];  /* the account it is about */
  char client_ip[64];
  char keep_session[65]; /* the caller's session survives its password change */
  enum web_role role;
};
/* A job for `req` about the account `name`: with `check`, that account's
 * stored hash is read to check it against. The passwords are copied (and
 * wiped when the job ends). */
struct web_pw_job *web_pw_job_new(struct web *w, const struct web_request *req,
                                  web_pw_finish_fn *finish, const char *name,
                                  const char *check, const char *set);
/* Queues the job and defers `resp`; on a full queue answers 503 itself. */
void web_pw_job_submit(struct web_pw_job *job, struct web_response *resp);
void web_pw_job_detach(struct web_conn *wc);
int web_pw_init(struct web *w);
/* Finishes the queued checks (their requests get their answers). */
void web_pw_stop(struct web *w);
/* Ends the sessions of `user` but `keep_hash` (may be NULL) and, with
 * `tokens_too`, deletes its API tokens: in memory and in the database.
 * Returns how many tokens went. */
int64_t web_auth_revoke_user(struct web *w, const char *user,
                             const char *keep_hash, bool tokens_too);
/* Seconds to wait before another login attempt, 0 when allowed. */
int64_t web_login_blocked(struct web *w, const char *ip, const char *user);
void web_login_result(struct web *w, const char *ip, const char *user, bool ok);
/* An attempt counted by web_login_result(false) was refused before its
 * check ran (503): it does not count. */
void web_login_refused(struct web *w, const char *ip, const char *user);
PB_MUST_CHECK int web_session_create(struct web *w, const char *user,
                                     enum web_role role, char *cookie,
                                     size_t cookie_len, char *csrf,
                                     size_t csrf_len, int64_t *expires_at);
void web_session_delete(struct web *w, const char *hash);
/* `expires_at` 0: the token never expires. */
PB_MUST_CHECK int web_token_create(struct web *w, const char *name,
                                   const char *user, enum web_role role,
                                   int64_t expires_at, char *token,
                                   size_t token_len, int64_t *id);
/* Only `owner`'s token unless owner is NULL (an admin). */
PB_MUST_CHECK int web_token_delete(struct web *w, int64_t id,
                                   const char *owner);

/* ---- HTTP requests and answers (request.c) ---- */
/* One HTTP request in progress (the server's per-request closure). */
struct web_conn {
  struct web *w;
  void *conn;         /* the server's connection: only http_server.c reads it */
  struct pb_buf body; /* the request body, capped at WEB_MAX_BODY_BYTES */
  bool too_big;
  struct web_auth auth;            /* who sends it, read from the head */
  struct web_response *refusal;    /* decided from the head, sent after the
                                      body (thrown away); owned */
  bool suspended;                  /* waiting for a deferred answer */
  bool ready;                      /* the deferred answer is in resp */
  struct web_response *resp;       /* the deferred answer, owned */
  struct web_wait *wait;           /* the command it waits for (command.c) */
  struct web_pw_job *pw_job;       /* the password check it waits for */
  struct web_calls_job *calls_job; /* a chain of requests (calls_job.c) */
  struct web_conn *next, *prev;    /* the list of suspended requests */
};

struct web_request {
  const char *method;
  const char *path;    /* without the query string */
  const char *segs[8]; /* path split at '/' ("api", "extensions") */
  int nsegs;
  struct web_conn *wc;
  const char *body;
  size_t body_len;
  struct web_auth auth;
  char client_ip[64];
  bool check_only; /* web_route: authorize from the head, run nothing */
};

struct web_shared;

struct web_response {
  unsigned status;
  json_t *body;             /* taken; JSON answers */
  char *raw;                /* owned; other answers (metrics, files) */
  const char *raw_static;   /* without raw: embedded data (files, ""), lent */
  size_t raw_len;           /* of raw or raw_static */
  const char *content_type; /* for raw */
  char allow[64];           /* for 405 */
  char set_cookie[512];
  char retry_after[24];
  bool cacheable; /* static files: allow revalidation */
  char etag[24];
  const char *csp;           /* Content-Security-Policy of a page */
  bool gzip;                 /* raw is gzip: Content-Encoding */
  bool vary_encoding;        /* Vary: Accept-Encoding */
  bool deferred;             /* answered later (web_conn_finish) */
  bool sse;                  /* hand the connection to the event stream */
  bool accept_ranges;        /* Accept-Ranges: bytes (recordings) */
  char content_range[80];    /* Content-Range of a 206 */
  char disposition[160];     /* Content-Disposition (downloads) */
  struct web_shared *shared; /* a prebuilt answer, lent by its cache */
};

void web_reply_json(struct web_response *r, unsigned status, json_t *body);
/* {"error": message, "status": status} */
void web_reply_error(struct web_response *r, unsigned status, const char *fmt,
                     ...) __attribute__((format(printf, 3, 4)));
/* Parses the body as a JSON object, or answers 400/415 and returns NULL. */
json_t *web_body_json(const struct web_request *req, struct web_response *resp);
/* Frees what a response holds (an answer that will not be sent). */
void web_response_cleanup(struct web_response *r);
/* Splits `path` (changed in place) at '/' into at most `max` segments;
 * -1 when there are more. */
int web_split_path(char *path, const char **segs, int max);

/* ---- the HTTP server (http_server.c): libmicrohttpd, and nothing else
 * ---- includes it. The unit tests link a fake of these instead
 * (tests/unit/test_web_fake.h). */
const char *web_query(const struct web_request *req, const char *key);
const char *web_header(const struct web_request *req, const char *name);
const char *web_cookie(const struct web_request *req, const char *name);
/* A deferred answer is ready: send it (resumes the connection). */
void web_conn_finish(struct web_conn *wc, struct web_response *resp);
bool web_conn_alive(const struct web_conn *wc);
/* Let the server look at its connections on the next loop turn (resumed
 * ones, sockets shut down by a limit). */
void web_http_kick(struct web *w);
/* A prebuilt answer (body and headers) that a route keeps to answer many
 * requests (resp->shared); empties `r`. NULL when out of memory. */
struct web_shared *web_response_share(struct web_response *r);
void web_shared_free(struct web_shared *s);

/* A streamed answer (the event stream): 200, `content_type`, no-store,
 * nosniff, unbuffered by proxies. `read` puts up to `max` bytes into buf
 * when the socket can take more; 0 parks the connection until
 * web_stream_resume, WEB_STREAM_END and WEB_STREAM_ERROR end it. `done`
 * runs once, when the stream is over. A client that takes nothing for
 * `idle_timeout_s` is closed. */
#define WEB_STREAM_END (-1)
#define WEB_STREAM_ERROR (-2)
struct web_stream;
typedef long web_stream_read_fn(void *ud, char *buf, size_t max);
typedef void web_stream_done_fn(void *ud);
struct web_stream *web_stream_new(struct web_conn *wc, const char *content_type,
                                  unsigned idle_timeout_s,
                                  web_stream_read_fn *read,
                                  web_stream_done_fn *done, void *ud);
void web_stream_resume(struct web_stream *s);
/* A parked stream's client closed its end (a peek at the socket). */
bool web_stream_peer_left(const struct web_stream *s);

int web_http_start(struct web *w);
void web_http_stop(struct web *w);

/* ---- client addresses (client_addr.c) ---- */
struct sockaddr;
struct web_addr {
  int family; /* AF_INET or AF_INET6; 0: unknown */
  unsigned char b[16];
};
int web_addr_from_sockaddr(const struct sockaddr *sa, struct web_addr *out);
int web_addr_parse(const char *text, struct web_addr *out);
void web_addr_text(const struct web_addr *a, char *buf, size_t len);
/* What limits count by: the address, or an IPv6 address's /64. */
void web_addr_key(const struct web_addr *a, char *buf, size_t len);
void web_addr_key_text(const char *ip, char *buf, size_t len);
/* WEB_TRUSTED_PROXIES (the check is --check-config's and start-up's) */
int web_proxies_check(const struct pb_config *cfg, char *err, size_t errlen);
int web_proxies_init(struct web *w);
void web_proxies_cleanup(struct web *w);
bool web_proxy_trusted(const struct web *w, const struct web_addr *a);
/* Whether WEB_TRUSTED_PROXIES names any: if not, X-Forwarded-For is never
 * read. */
bool web_proxies_any(const struct web *w);
/* The client: the peer, or what a trusted peer (proxy) says in `xff`, the
 * last X-Forwarded-For line (may be NULL). */
void web_client_address(const struct web *w, const struct sockaddr *peer,
                        const char *xff, struct web_addr *out);

/* ---- connection limits and deadlines (conn_limits.c) ---- */
struct web_sock; /* one TCP connection */
int web_limits_init(struct web *w, unsigned max_connections);
void web_limits_cleanup(struct web *w);
/* Whether a new connection from `peer` may be accepted (one still only
 * sending may be closed to make room). */
bool web_limits_accept(struct web *w, const struct sockaddr *peer);
/* A connection on socket `fd` opened (its head is due within
 * WEB_HEADER_TIMEOUT_SECONDS) / closed. NULL: not limited (no memory). */
struct web_sock *web_limits_opened(struct web *w, int fd,
                                   const struct sockaddr *peer);
void web_limits_closed(struct web *w, struct web_sock *s);
/* A request head is in (its body, if any, is due within
 * WEB_BODY_TIMEOUT_SECONDS); `authenticated`: the connection is no longer
 * anonymous. */
void web_limits_head_in(struct web *w, struct web_sock *s, bool authenticated);
/* The request is being answered: no deadline until its end. */
void web_limits_busy(struct web *w, struct web_sock *s);
/* The request ended: the next head is due within WEB_HEADER_TIMEOUT_SECONDS. */
void web_limits_idle(struct web *w, struct web_sock *s);

/* ---- routes (routes.c and the routes_*.c files) ---- */
typedef void web_route_fn(struct web *w, const struct web_request *req,
                          struct web_response *resp);
/* One route: ":name" in the pattern matches one segment. */
struct web_route_def {
  const char *method;
  const char *pattern;
  enum web_role role; /* NONE: public */
  web_route_fn *fn;
};
extern const struct web_route_def web_routes[];
extern const size_t web_route_count;
/* Not GET, HEAD or OPTIONS: CSRF applies, and a relayed request is audited. */
bool web_method_changes_state(const char *method);
void web_route(struct web *w, struct web_request *req,
               struct web_response *resp);
/* routes_ext.c */
web_route_fn web_get_extensions, web_get_extension, web_put_override,
    web_delete_override, web_put_planning, web_get_week;
/* routes_auth.c */
web_route_fn web_post_login, web_post_logout, web_get_session, web_get_users,
    web_post_users, web_delete_user, web_put_password, web_get_tokens,
    web_post_tokens, web_delete_token;
/* routes_proxy.c: requests relayed to ical-ingest and yeastar-gateway */
web_route_fn web_get_sources, web_post_sources, web_patch_source,
    web_delete_source, web_post_source_refresh, web_post_import, web_get_sites,
    web_get_settings, web_put_settings, web_post_sites, web_patch_site,
    web_delete_site, web_post_site_test;
/* routes_calls.c, calls_export.c, calls_recording.c, user_exts.c: calls
 * (call-log and yeastar-gateway) */
web_route_fn web_get_calls, web_get_calls_stats, web_get_extension_calls,
    web_post_calls, web_get_site_calls, web_get_recording,
    web_get_site_recording, web_put_user_extensions;
/* ?format=csv or Accept: text/csv */
bool web_calls_wants_csv(const struct web_request *req);
/* The CSV export of call-log's search `query` (taken): every page, up to
 * WEB_CSV_MAX_ROWS rows (calls_export.c). */
#define WEB_CSV_MAX_ROWS 100000
void web_calls_export(struct web *w, const struct web_request *req,
                      struct web_response *resp, json_t *query);
/* A Range header's one "bytes=a-b" or "bytes=a-" (last -1); false for
 * anything else (calls_recording.c). */
bool web_parse_range(const char *h, int64_t *first, int64_t *last);
/* One CSV cell (RFC 4180 quoting; a formula-looking cell prefixed with '). */
PB_MUST_CHECK int web_csv_cell(struct pb_buf *b, const char *s);
/* audit.c, metrics.c, sse.c, webhook.c, static_files.c */
web_route_fn web_get_logs, web_get_stats, web_get_metrics, web_get_healthz,
    web_get_events, web_post_webhook, web_get_static;

/* ---- the bus as the core sends on it: main.c fills this with pb_bus_*
 * (the unit tests with a fake); what comes in reaches handle_*.c. ---- */
struct web_bus_io {
  bool (*connected)(void *ud);
  /* Not retained. */
  int (*publish)(void *ud, const char *topic, const void *payload, size_t len);
  /* pb_bus_command: `done` gets the answer, or NULL after timeout_ms. */
  int (*command)(void *ud, const char *service, const char *topic,
                 const void *payload, size_t len, int timeout_ms,
                 pb_bus_response_cb *done, void *done_ud);
  /* pb_bus_request: `request` is taken. */
  int (*request)(void *ud, const char *service, const char *action,
                 json_t *request, int timeout_ms, pb_bus_response_cb *done,
                 void *done_ud);
  void *ud;
};

/* ---- the extensions a user account owns (user_exts.c) ----
 * An admin sees and dials every call; a readonly user only its own
 * extensions' (call log, statistics, recordings, click-to-call). */
/* [{"site":..,"ext":..}, ...] of `user`; new reference (empty on error). */
json_t *web_user_extensions(struct web *w, const char *user);
/* Whether the request's user may see or dial the calls of site/ext. */
bool web_may_use_ext(struct web *w, const struct web_auth *auth,
                     const char *site, const char *ext);
/* The user's extensions go with the account (DELETE /api/users). */
PB_MUST_CHECK int web_user_extensions_clear(struct web *w, const char *user);

/* ---- chains of requests to another service (calls_job.c): a CSV export
 * pages through call-log's search, a recording is fetched chunk by chunk.
 * Each step is one request; the HTTP request stays suspended meanwhile. */
struct web_calls_job;
/* `answer` is the service's response (NULL: silence after the timeout). */
typedef void web_calls_step_fn(struct web_calls_job *job, const json_t *answer);
struct web_calls_job {
  struct web_calls_job *next, *prev;
  struct web *w;
  struct web_conn *wc; /* NULL once the HTTP request went away */
  web_calls_step_fn *step;
  void (*free_state)(void *state);
  void *state; /* the route's own, freed with the job */
  char service[64], action[64];
  char actor[PB_ID_MAX];
  enum web_role role; /* the actor's */
  int timeout_ms;
  bool heavy; /* gathers up to 64 MiB: counted against WEB_CALLS_HEAVY_MAX */
};
/* CSV exports and whole recordings being gathered at once (each may hold
 * up to 64 MiB): one more is a 503 with Retry-After. */
#define WEB_CALLS_HEAVY_MAX 4
/* Marks `job` heavy, or answers 503 in resp and returns false when
 * WEB_CALLS_HEAVY_MAX are already running. */
bool web_calls_job_heavy(struct web_calls_job *job, struct web_response *resp);
/* A job for `req` with a zeroed state of `state_size` bytes (job->state),
 * freed with `free_state`: NULL (and a 503 in resp) when memory is gone. */
struct web_calls_job *web_calls_job_new(struct web *w,
                                        const struct web_request *req,
                                        struct web_response *resp,
                                        size_t state_size,
                                        void (*free_state)(void *state));
/* Sends `request` (taken) to service/action; `step` gets the answer.
 * 0, or an error code (the job is left as it was). */
PB_MUST_CHECK int web_calls_job_send(struct web_calls_job *job,
                                     const char *service, const char *action,
                                     json_t *request, web_calls_step_fn *step);
/* Ends the job with `resp` as the HTTP answer (dropped when the request
 * went away) and frees it. */
void web_calls_job_finish(struct web_calls_job *job, struct web_response *resp);
/* Answers for a step that failed: 504 (silence), or the service's refusal
 * with its message (404 for what is not found, else 400). */
void web_calls_job_fail(struct web_calls_job *job, const json_t *answer);
/* Sends the job's first request (web_calls_job_send) and leaves the HTTP
 * request waiting for it; when it cannot be sent, frees the job and answers
 * 503 in resp. */
void web_calls_job_start(struct web_calls_job *job, struct web_response *resp,
                         const char *service, const char *action,
                         json_t *request, web_calls_step_fn *step);
void web_calls_job_free(struct web_calls_job *job);
void web_calls_detach(struct web_conn *wc);
void web_calls_cleanup(struct web *w);
/* 504 when `service` is offline or the broker unreachable: true when it
 * answered. */
bool web_service_down(struct web *w, const char *service,
                      struct web_response *resp);

/* ---- commands on the bus (command.c) ---- */
/* Sends `payload` to `topic` (an ext/... command) and answers the deferred
 * request with the owning service's answer, or 504 after
 * WEB_COMMAND_TIMEOUT_MS. `ok` (taken, may be NULL) is the 200 body. */
void web_command(struct web *w, const struct web_request *req,
                 struct web_response *resp, const char *service,
                 const char *topic, const char *payload, json_t *ok);
/* Sends a request to R/svc/<service>/request/<action> (request taken) and
 * answers with the service's response. */
void web_service_request(struct web *w, const struct web_request *req,
                         struct web_response *resp, const char *service,
                         const char *action, json_t *request);
/* The request went away (its connection closed): its answer will be
 * dropped. */
void web_command_detach(struct web_conn *wc);

/* ---- services' public keys (service_keys.c) ---- */
struct pb_sealed_key;
/* The keys of R/svc/+/pubkey (handle_pubkey.c keeps them). */
int web_keys_init(struct web *w);
void web_keys_cleanup(struct web *w);
/* The key requests to `service` are sealed to; NULL while none is known. */
const struct pb_sealed_key *web_service_key(const struct web *w,
                                            const char *service);
/* Whether `request` carries a field that holds a secret for `service`. */
bool web_request_has_secret(const char *service, const json_t *request);
void web_command_cleanup(struct web *w);

/* ---- audit log (audit.c) ---- */
int web_audit_init(struct web *w);
void web_audit_cleanup(struct web *w);
/* An entry written by web-api itself (logins, commands sent). */
void web_audit_add(struct web *w, const char *kind, const char *site,
                   const char *ext, const char *actor, const char *message,
                   json_t *data);

/* ---- live events (sse.c) ---- */
int web_sse_init(struct web *w);
void web_sse_cleanup(struct web *w);
/* Appends an event to the ring and wakes the clients; `data` is taken. */
void web_sse_publish(struct web *w, const char *type, json_t *data);
/* The same, for admins and the users who own site/ext only (a finished
 * call); `ext` NULL or "": admins only. */
void web_sse_publish_ext(struct web *w, const char *type, json_t *data,
                         const char *site, const char *ext);
/* Hands a connection over to the stream (from http_server.c); NULL with
 * the refusal (429 per user, 503 in all) in `refusal`. */
struct web_stream *web_sse_response(struct web *w, struct web_conn *wc,
                                    const char *user, const char *last_event_id,
                                    struct web_response *refusal);
size_t web_sse_client_count(const struct web *w);
void web_sse_close_all(struct web *w);

/* ---- metrics (metrics.c) ---- */
struct web_metrics {
  uint64_t status_changes; /* desired status changes seen */
  uint64_t pbx_changes;    /* PBX status changes seen */
  uint64_t applies, apply_failures;
  uint64_t overrides_set, overrides_cleared, overrides_expired;
  uint64_t source_fetches, source_failures;
  uint64_t webhooks_accepted, webhooks_refused;
  uint64_t logins_ok, logins_failed, logins_limited;
  uint64_t http_requests[6]; /* by class: 1xx..5xx, [0] unused */
  uint64_t commands_timeout;
  uint64_t sse_dropped;
  uint64_t conns_refused, conns_evicted, conns_timed_out; /* conn_limits.c */
  uint64_t pbx_latency_count; /* apply latencies (latency_ms of events) */
  double pbx_latency_sum;
  uint64_t pbx_latency_buckets[10];
};
void web_metrics_event(struct web *w, const char *kind, const json_t *ev);

/* ---- webhooks (webhook.c) ---- */
int web_webhook_init(struct web *w);
void web_webhook_cleanup(struct web *w);

/* ---- gzip (compress.c) ---- */
bool web_gzip_available(void);
/* gzip of `len` bytes; *out is malloc'd. PB_EUNAVAIL without zlib. */
int web_gzip(const char *in, size_t len, char **out, size_t *outlen);
/* Whether an Accept-Encoding header asks for gzip (and it is built in). */
bool web_accepts_gzip(const char *accept_encoding);

/* ---- embedded dashboard (static_files.c + the generated table) ---- */
struct web_static_file {
  const char *path; /* "index.html", "app.js" */
  const unsigned char *data;
  size_t len;
};
extern const struct web_static_file web_static_files[];
extern const size_t web_static_count;

struct web {
  struct pb_loop *loop;
  struct pb_bus *bus;   /* subscriptions only (main.c) */
  struct web_bus_io io; /* what the core sends */
  struct pb_tz *tz;
  const struct pb_config *cfg;
  struct pb_store *store;    /* DATA_DIR/web-api.db */
  struct pb_map *exts;       /* "site/number" -> web_ext */
  struct pb_map *services;   /* service -> "online"/"offline" (strdup) */
  struct pb_map *sites;      /* site -> last R/site/<site>/status (json_t) */
  struct pb_map *site_calls; /* site -> last R/site/<site>/calls (json_t) */
  struct web_calls_job *calls_jobs; /* chains of requests in progress */
  struct pb_map *service_keys;      /* service -> struct pb_sealed_key */
  void *httpd; /* the server: only http_server.c reads it */
  struct pb_timer *http_timer;
  size_t max_body;
  int64_t started_at;
  struct web_auth_state *auth;
  struct web_sse *sse;
  struct web_audit *audit;
  struct web_hooks *hooks;
  struct web_wait *waits;      /* commands waiting for an answer */
  struct pb_worker *pw_worker; /* Argon2id checks and hashes */
  struct web_conn *suspended;  /* requests waiting for a deferred answer */
  struct web_metrics metrics;
  struct web_limits *limits;        /* connection limits (conn_limits.c) */
  struct web_proxies *proxies;      /* WEB_TRUSTED_PROXIES (client_addr.c) */
  uint64_t model_gen;               /* bumped by every read-model change */
  struct web_shared *list_cache;    /* GET /api/extensions, unfiltered */
  struct web_shared *list_cache_gz; /* the same, gzip */
  uint64_t list_cache_gen;
};

#endif
