/* yeastar-gateway's internal header. The gateway owns PBX sites: it keeps
 * one valid Open API token per site (pbx_token.c), mirrors the extension
 * directory (pbx_directory.c), applies desired statuses through an outbox
 * kept in the database (apply_outbox.c), and publishes what the PBX shows
 * (state_publish.c). Yeastar P-Series Open API v1.0. */
#ifndef GATEWAY_H
#define GATEWAY_H

#include <stdbool.h>
#include <stdint.h>

#include "pb/payload.h"

struct pb_bus;
struct pb_config;
struct pb_http;
struct pb_loop;
struct pb_map;
struct pb_secretbox;
struct pb_store;
struct pb_timer;
struct pb_tz;
struct gw;

/* One extension as the PBX lists it, plus what we want it to show. */
struct gw_ext {
  char number[PB_ID_MAX];
  int64_t id;                    /* the PBX's internal id */
  char name[PB_TEXT_MAX];
  enum pb_presence pbx_status;   /* last read or set on the PBX */
  unsigned online;               /* device bits, see pb_device_names */
  enum pb_presence desired;      /* PB_PRESENCE_NONE: nothing imposed */
  bool in_flight;                /* an extension/update is on its way */
  int attempts;                  /* failed applies since the last success */
  int64_t next_attempt_ms;
  int64_t updated_at;
  bool listed;                   /* seen in the last directory read */
};

enum gw_token_state { TOKEN_NONE, TOKEN_REQUESTING, TOKEN_VALID };

struct gw_call;

struct gw_site {
  struct gw *gw;
  char name[PB_ID_MAX];
  char base_url[512];            /* https://pbx:8088/openapi/v1.0/ */
  char client_id[256];
  char *secret;                  /* wiped on free */
  char ca_file[512];
  bool insecure;
  /* token */
  enum gw_token_state token_state;
  char access_token[128], refresh_token[128];
  int64_t access_expires, refresh_expires; /* unix seconds */
  struct pb_timer *token_timer;
  struct gw_call *waiting;       /* calls held until a token is valid */
  int64_t logins, refreshes;
  char last_error[256];
  /* directory */
  struct pb_map *exts;           /* number -> struct gw_ext */
  struct pb_timer *directory_timer;
  bool directory_loaded;
  bool directory_running;
  /* applies */
  struct pb_map *pending;        /* number -> gw_ext with work to do */
  struct pb_timer *apply_timer;
};

struct gw {
  struct pb_loop *loop;
  struct pb_bus *bus;
  struct pb_store *store;
  struct pb_http *http;
  struct pb_secretbox *box;
  struct pb_tz *tz;
  const struct pb_config *cfg;
  struct gw_site *site;          /* the YEASTAR_* site */
  const char *user_agent;
  long timeout_ms;
  int64_t retry_max_s;
  int64_t directory_every_s;
};

/* ---- PBX calls (pbx_client.c) ---- */
/* err: 0, PB_EHTTP (no answer: DNS, TCP, TLS, timeout), PB_EPBX (errcode
 * != 0, resp holds the envelope), PB_EAUTH (credentials refused). */
typedef void gw_pbx_cb(struct gw_site *site, int err, const char *errmsg,
                       json_t *resp, void *ud);
/* `query` without the token ("page=1&page_size=100"), `body` taken. */
int gw_pbx_call(struct gw_site *site, const char *method, const char *endpoint,
                const char *query, json_t *body, gw_pbx_cb *cb, void *ud);
/* Sends the calls held for a token (after login or refresh). */
void gw_pbx_release_waiting(struct gw_site *site, int err, const char *errmsg);
/* A call without a token (get_token, refresh_token). */
int gw_pbx_call_raw(struct gw_site *site, const char *endpoint, json_t *body,
                    gw_pbx_cb *cb, void *ud);

/* ---- token (pbx_token.c) ---- */
void gw_token_load(struct gw_site *site);
/* Make sure a login or refresh is under way or done. */
void gw_token_ensure(struct gw_site *site);
/* The PBX said the token expired: forget it and get another. */
void gw_token_expired(struct gw_site *site);

/* ---- directory (pbx_directory.c) ---- */
void gw_directory_refresh(struct gw_site *site);
/* After a reconnect: the directory and every state, retained again. */
void gw_directory_republish(struct gw_site *site);
struct gw_ext *gw_ext_get(struct gw_site *site, const char *number);

/* ---- applies (apply_outbox.c, handle_desired.c) ---- */
int gw_desired_register(struct gw *gw);
void gw_outbox_load(struct gw_site *site);
void gw_apply_set_desired(struct gw_site *site, const char *number,
                          enum pb_presence status);
void gw_apply_kick(struct gw_site *site);

/* ---- state (state_publish.c) ---- */
void gw_state_publish(struct gw_site *site, const struct gw_ext *e);
void gw_event_apply(struct gw_site *site, const struct gw_ext *e,
                    enum pb_presence status, int err, const char *errmsg);

/* ---- storage (gw_store.c) ---- */
int gw_store_open(const char *data_dir, struct pb_store **out);
int gw_store_save_token(struct gw_site *site);
int gw_store_load_token(struct gw_site *site, char **sealed_access,
                        char **sealed_refresh);
int gw_store_outbox_put(struct gw_site *site, const char *number,
                        enum pb_presence status);
int gw_store_outbox_done(struct gw_site *site, const char *number);
typedef void gw_outbox_cb(const char *number, enum pb_presence status, void *ud);
int gw_store_outbox_each(struct gw_site *site, gw_outbox_cb *cb, void *ud);

#endif
