/* web-api's internal header. web-api is the single HTTP entry point: it keeps
 * read models of what the other services publish (read_model.c) and serves
 * the REST API from one route table (routes.c) on libmicrohttpd driven by
 * the service's loop (http_server.c). It changes the system only by sending
 * commands on the bus. */
#ifndef WEB_H
#define WEB_H

#include <stdbool.h>
#include <stddef.h>

#include "pb/json.h"
#include "pb/payload.h"

struct pb_bus;
struct pb_config;
struct pb_loop;
struct pb_map;
struct pb_tz;
struct web;

/* One extension as the dashboard shows it. */
struct web_ext {
  char site[PB_ID_MAX], number[PB_ID_MAX];
  char name[PB_TEXT_MAX];
  int64_t pbx_id;
  bool in_directory;
  json_t *desired;               /* last payloads, owned; NULL when none */
  json_t *state;
  json_t *override;
};

/* ---- read model (read_model.c) ---- */
int web_model_init(struct web *w);
void web_model_cleanup(struct web *w);
struct web_ext *web_model_get(struct web *w, const char *site, const char *number);
/* Extensions sorted by site then number; caller frees the array. */
struct web_ext **web_model_list(struct web *w, const char *site, size_t *count);
json_t *web_ext_json(const struct web_ext *e);
const char *web_service_availability(struct web *w, const char *service);

/* ---- HTTP (http_server.c, routes.c) ---- */
struct web_request {
  const char *method;
  const char *path;              /* without the query string */
  const char *segs[8];           /* path split at '/' ("api", "extensions") */
  int nsegs;
  struct MHD_Connection *conn;
  const char *body;
  size_t body_len;
};

struct web_response {
  unsigned status;
  json_t *body;                  /* taken */
  char allow[64];                /* for 405 */
};

void web_reply_json(struct web_response *r, unsigned status, json_t *body);
/* {"error": message, "status": status} */
void web_reply_error(struct web_response *r, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
const char *web_query(const struct web_request *req, const char *key);

/* Routes: one table, matched by method and path pattern. */
void web_route(struct web *w, const struct web_request *req,
               struct web_response *resp);

int web_http_start(struct web *w);
void web_http_stop(struct web *w);

struct web {
  struct pb_loop *loop;
  struct pb_bus *bus;
  struct pb_tz *tz;
  const struct pb_config *cfg;
  struct pb_map *exts;           /* "site/number" -> web_ext */
  struct pb_map *services;       /* service -> "online"/"offline" (strdup) */
  struct MHD_Daemon *httpd;
  struct pb_timer *http_timer;
  size_t max_body;
  int64_t started_at;
};

#endif
