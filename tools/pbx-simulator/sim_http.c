/* The HTTP side of the simulator, the only file that includes
 * <microhttpd.h>: one route table for the Open API and the control API, the
 * checks every P-Series request goes through (User-Agent, method, token),
 * latency / error / outage injection, envelopes, and the request log. */
#include "sim.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "pb/buf.h"

#define CONNECTION_LIMIT 512
#define CONNECTION_TIMEOUT_S 60

enum area { AREA_OTHER, AREA_OPENAPI, AREA_CONTROL };

struct route {
  const char *method;
  const char *path;
  enum area area;
  bool needs_token; /* access_token query parameter checked first */
  sim_handler_fn fn;
  bool prefix; /* path is a prefix: /api/download/<name> */
};

#define API(m, p, tok, fn)                                                     \
  { m, SIM_OPENAPI_PREFIX p, AREA_OPENAPI, tok, fn, false }
#define CTL(m, p, fn)                                                          \
  { m, SIM_CONTROL_PREFIX p, AREA_CONTROL, false, fn, false }

static const struct route routes[] = {
    API("POST", "get_token", false, sim_api_get_token),
    API("POST", "refresh_token", false, sim_api_refresh_token),
    API("GET", "del_token", true, sim_api_del_token),
    API("GET", "extension/list", true, sim_api_extension_list),
    API("GET", "extension/search", true, sim_api_extension_search),
    API("GET", "extension/get", true, sim_api_extension_get),
    API("POST", "extension/update", true, sim_api_extension_update),
    API("GET", "cdr/list", true, sim_api_cdr_list),
    API("GET", "cdr/search", true, sim_api_cdr_search),
    API("GET", "subscribe", true, sim_api_subscribe),
    API("GET", "recording/download", true, sim_api_recording_download),
    API("POST", "call/dial", true, sim_api_call_dial),
    {"GET", SIM_DOWNLOAD_PREFIX, AREA_OPENAPI, true, sim_api_download_file,
     true},
    CTL("GET", "requests", sim_ctl_requests),
    CTL("POST", "requests/clear", sim_ctl_requests_clear),
    CTL("GET", "stats", sim_ctl_stats),
    CTL("GET", "extensions", sim_ctl_extensions),
    CTL("POST", "extensions", sim_ctl_extension_add),
    CTL("POST", "extensions/remove", sim_ctl_extension_remove),
    CTL("POST", "presence", sim_ctl_presence),
    CTL("POST", "outage", sim_ctl_outage),
    CTL("GET", "config", sim_ctl_config_get),
    CTL("POST", "config", sim_ctl_config_set),
    CTL("POST", "expire_tokens", sim_ctl_expire_tokens),
    CTL("GET", "calls", sim_ctl_calls),
    CTL("POST", "calls", sim_ctl_call_ring),
    CTL("POST", "calls/answer", sim_ctl_call_answer),
    CTL("POST", "calls/hold", sim_ctl_call_hold),
    CTL("POST", "calls/unhold", sim_ctl_call_unhold),
    CTL("POST", "calls/hangup", sim_ctl_call_hangup),
    CTL("POST", "calls/transfer", sim_ctl_call_transfer),
    CTL("POST", "register", sim_ctl_register),
    CTL("GET", "monitor", sim_ctl_monitor_get),
    CTL("POST", "monitor", sim_ctl_monitor_set),
    CTL("GET", "webhooks", sim_ctl_webhooks_get),
    CTL("POST", "webhooks", sim_ctl_webhooks_add),
    CTL("POST", "webhooks/clear", sim_ctl_webhooks_clear),
    CTL("POST", "cdrs", sim_ctl_cdrs_add),
    CTL("GET", "ws", sim_ctl_ws),
    CTL("POST", "ws/drop", sim_ctl_ws_drop),
    CTL("POST", "ws/refuse", sim_ctl_ws_refuse),
};
#define N_ROUTES (sizeof routes / sizeof routes[0])

static const char not_found_page[] =
    "<html>\r\n<head><title>404 Not Found</title></head>\r\n"
    "<body>\r\n<center><h1>404 Not Found</h1></center>\r\n"
    "</body>\r\n</html>\r\n";

static const char server_error_page[] =
    "<html>\r\n<head><title>500 Internal Server Error</title></head>\r\n"
    "<body>\r\n<center><h1>500 Internal Server Error</h1></center>\r\n"
    "</body>\r\n</html>\r\n";

static const char unavailable_page[] =
    "<html>\r\n<head><title>503 Service Unavailable</title></head>\r\n"
    "<body>\r\n<center><h1>503 Service Unavailable</h1></center>\r\n"
    "</body>\r\n</html>\r\n";

struct sim_request {
  struct MHD_Connection *conn;
  const char *path; /* libmicrohttpd's, valid for the request */
  char *uri;        /* raw request target, from the URI log callback */
  enum area area;
  bool started;
  bool entered;       /* counted as in flight */
  struct pb_buf body; /* capped at SIM_BODY_MAX */
  bool body_too_large;
  char allow[64];
};

struct sim_server {
  struct MHD_Daemon *daemon;
};

/* ---- accessors and envelopes ---- */

const char *sim_request_arg(struct sim_request *req, const char *name) {
  return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *sim_request_header(struct sim_request *req, const char *name) {
  return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *sim_request_path(struct sim_request *req) {
  return req->path ? req->path : "";
}

const char *sim_request_body(struct sim_request *req, size_t *len) {
  *len = pb_buf_len(&req->body);
  return pb_buf_str(&req->body);
}

void sim_reply_success(struct sim_reply *out, json_t *extra) {
  json_t *j = json_pack("{s:i,s:s}", "errcode", 0, "errmsg", "SUCCESS");

  if (extra != NULL) {
    json_object_update(j, extra);
    json_decref(extra);
  }
  out->http_status = MHD_HTTP_OK;
  out->json = j;
}

void sim_reply_error(struct sim_reply *out, long errcode, const char *errmsg) {
  out->http_status = MHD_HTTP_OK; /* API errors: HTTP 200 (README) */
  out->json =
      json_pack("{s:I,s:s}", "errcode", (json_int_t)errcode, "errmsg", errmsg);
}

void sim_reply_param_error(struct sim_reply *out, const char *field,
                           const char *value) {
  json_t *item = json_pack("{s:s}", "field", field);

  /* value may be client bytes that are not UTF-8: then it is left out. */
  json_t *v = json_string(value ? value : "");
  json_object_set_new(item, "value", v ? v : json_string(""));
  sim_reply_error(out, SIM_ERR_PARAMETER, "PARAMETER ERROR");
  json_object_set_new(out->json, "invalid_param_list", json_pack("[o]", item));
}

void sim_reply_json(struct sim_reply *out, unsigned http_status, json_t *json) {
  out->http_status = http_status;
  out->json = json;
}

void sim_reply_control_error(struct sim_reply *out, unsigned http_status,
                             const char *message) {
  json_t *j = json_pack("{s:s}", "error", message);

  /* A message quoting client bytes may not be UTF-8. */
  sim_reply_json(out, http_status,
                 j ? j : json_pack("{s:s}", "error", "invalid request"));
}

/* ---- routing ---- */

/* Finds the route for path and method; when only the path matches, fills
 * req->allow and sets *path_known. */
static const struct route *find_route(struct sim_request *req, const char *path,
                                      const char *method, bool *path_known) {
  size_t used = 0;

  *path_known = false;
  req->allow[0] = '\0';
  for (size_t i = 0; i < N_ROUTES; i++) {
    if (routes[i].prefix
            ? strncmp(routes[i].path, path, strlen(routes[i].path)) != 0 ||
                  path[strlen(routes[i].path)] == '\0'
            : strcmp(routes[i].path, path) != 0)
      continue;
    if (strcmp(routes[i].method, method) == 0)
      return &routes[i];
    *path_known = true;
    int n = snprintf(req->allow + used, sizeof req->allow - used, "%s%s",
                     used ? ", " : "", routes[i].method);
    if (n > 0 && (size_t)n < sizeof req->allow - used)
      used += (size_t)n;
  }
  return NULL;
}

static const char *header(struct sim_request *req, const char *name) {
  return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

/* The API IP allow-list: empty lets everyone in. */
static bool client_allowed(struct sim_request *req,
                           const struct sim_settings *set) {
  const union MHD_ConnectionInfo *ci;
  char ip[SIM_IP_TEXT] = "";

  if (set->n_allowed_ips == 0)
    return true;
  ci = MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  if (ci != NULL && ci->client_addr != NULL) {
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
      inet_ntop(AF_INET,
                &((const struct sockaddr_in *)(const void *)sa)->sin_addr, ip,
                sizeof ip);
    else if (sa->sa_family == AF_INET6)
      inet_ntop(AF_INET6,
                &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, ip,
                sizeof ip);
  }
  for (size_t i = 0; i < set->n_allowed_ips; i++)
    if (strcmp(set->allowed_ips[i], ip) == 0)
      return true;
  return false;
}

/* The checks a P-Series PBX makes before an endpoint runs, in order:
 * User-Agent, endpoint, method, body size, access token. */
static void dispatch_openapi(struct sim *sim, struct sim_request *req,
                             const char *path, const char *method,
                             const struct sim_settings *set,
                             struct sim_reply *out) {
  const char *ua = header(req, MHD_HTTP_HEADER_USER_AGENT);
  const struct route *route;
  bool path_known;

  if (set->api_disabled) {
    /* The web server is there, the Open API is not (README assumption 13). */
    out->http_status = MHD_HTTP_NOT_FOUND;
    out->text = not_found_page;
    return;
  }
  if (ua == NULL || *ua == '\0') {
    sim_reply_error(out, SIM_ERR_FAILURE, "FAILURE");
    json_object_set_new(
        out->json, "invalid_param_list",
        json_pack("[{s:s,s:s}]", "field", "User-Agent", "value", ""));
    out->http_status = MHD_HTTP_FORBIDDEN;
    return;
  }
  route = find_route(req, path, method, &path_known);
  if (route == NULL && !path_known) {
    sim_reply_error(out, SIM_ERR_FAILURE, "NOT FOUND");
    out->http_status = MHD_HTTP_NOT_FOUND;
    return;
  }
  if (route == NULL) {
    sim_reply_error(out, SIM_ERR_FAILURE, "METHOD NOT ALLOWED");
    out->http_status = MHD_HTTP_METHOD_NOT_ALLOWED;
    out->allow = req->allow;
    return;
  }
  if (req->body_too_large) {
    sim_reply_param_error(out, "body", "too large");
    out->http_status = MHD_HTTP_CONTENT_TOO_LARGE;
    return;
  }
  if (!client_allowed(req, set)) {
    sim_state_count(sim->state, SIM_COUNT_IP_REFUSAL);
    sim_reply_error(out, SIM_ERR_IP_FORBIDDEN, "IP NOT ALLOWED");
    return;
  }
  if (route->needs_token) {
    /* Only the query parameter counts: a token in a header, a cookie or the
     * body is as good as none, as on the PBX. */
    const char *token = sim_request_arg(req, "access_token");
    enum sim_token_status st = SIM_TOKEN_INVALID;

    if (token != NULL && *token != '\0')
      st = sim_tokens_check(sim->tokens, token);
    if (st == SIM_TOKEN_EXPIRED) {
      sim_reply_error(out, SIM_ERR_TOKEN_EXPIRED, "TOKEN EXPIRED");
      return;
    }
    if (st != SIM_TOKEN_OK) {
      sim_reply_error(out, SIM_ERR_INVALID_TOKEN, "INVALID TOKEN");
      return;
    }
  }
  route->fn(sim, req, out);
}

static void dispatch_control(struct sim *sim, struct sim_request *req,
                             const char *path, const char *method,
                             struct sim_reply *out) {
  const struct route *route;
  bool path_known;

  route = find_route(req, path, method, &path_known);
  if (route == NULL && !path_known) {
    sim_reply_control_error(out, MHD_HTTP_NOT_FOUND, "no such control path");
    return;
  }
  if (route == NULL) {
    sim_reply_control_error(out, MHD_HTTP_METHOD_NOT_ALLOWED,
                            "method not allowed");
    out->allow = req->allow;
    return;
  }
  if (req->body_too_large) {
    sim_reply_control_error(out, MHD_HTTP_CONTENT_TOO_LARGE, "body too large");
    return;
  }
  route->fn(sim, req, out);
}

/* ---- request lifecycle ---- */

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

  while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
    ;
}

static const char *query_of(const struct sim_request *req) {
  const char *q = req->uri ? strchr(req->uri, '?') : NULL;
  return q ? q + 1 : "";
}

static void log_request(struct sim *sim, struct sim_request *req,
                        const char *path, const char *method,
                        const struct sim_reply *reply) {
  struct sim_log_record rec = {0};
  json_t *errcode =
      reply && reply->json ? json_object_get(reply->json, "errcode") : NULL;

  rec.method = method;
  rec.path = path;
  rec.query = query_of(req);
  rec.user_agent = header(req, MHD_HTTP_HEADER_USER_AGENT);
  rec.body = pb_buf_str(&req->body);
  rec.body_len = pb_buf_len(&req->body);
  rec.http_status = reply ? reply->http_status : 0;
  rec.has_errcode = json_is_integer(errcode);
  rec.errcode = rec.has_errcode ? (long)json_integer_value(errcode) : 0;
  sim_log_add(sim->log, &rec);
  if (!sim->quiet)
    fprintf(stderr, "pbx-simulator: %s %s -> %u%s%ld\n", method, path,
            rec.http_status, rec.has_errcode ? " errcode " : "",
            rec.has_errcode ? rec.errcode : 0L);
}

/* ---- WebSocket upgrades: sim_ws.c speaks the protocol on the socket ---- */

static void ws_release(void *ctx) {
  MHD_upgrade_action(ctx, MHD_UPGRADE_ACTION_CLOSE);
}

static void on_upgraded(void *cls, struct MHD_Connection *conn, void *req_cls,
                        const char *extra, size_t extra_len, MHD_socket sock,
                        struct MHD_UpgradeResponseHandle *urh) {
  struct sim *sim = cls;
  const char *token =
      MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "access_token");

  (void)req_cls;
  if (sim_ws_serve(sim->ws, sock, extra, extra_len, token ? token : "",
                   ws_release, urh) != 0)
    MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
}

static enum MHD_Result send_upgrade(struct sim *sim, struct sim_request *req,
                                    const struct sim_reply *reply) {
  struct MHD_Response *resp = MHD_create_response_for_upgrade(on_upgraded, sim);
  enum MHD_Result rc;

  if (resp == NULL)
    return MHD_NO;
  MHD_add_response_header(resp, MHD_HTTP_HEADER_UPGRADE, "websocket");
  MHD_add_response_header(resp, "Sec-WebSocket-Accept", reply->ws_accept);
  rc = MHD_queue_response(req->conn, MHD_HTTP_SWITCHING_PROTOCOLS, resp);
  MHD_destroy_response(resp);
  return rc;
}

static enum MHD_Result send_reply(struct sim_request *req,
                                  struct sim_reply *reply) {
  struct MHD_Response *resp;
  enum MHD_Result rc;

  if (reply->data != NULL) {
    resp = MHD_create_response_from_buffer(reply->data_len, reply->data,
                                           MHD_RESPMEM_MUST_FREE);
    if (resp == NULL)
      return MHD_NO;
    reply->data = NULL; /* libmicrohttpd frees it */
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            reply->content_type ? reply->content_type
                                                : "application/octet-stream");
    if (reply->disposition[0])
      MHD_add_response_header(resp, "Content-Disposition", reply->disposition);
  } else if (reply->json != NULL) {
    char *text = json_dumps(reply->json, JSON_COMPACT);
    if (text == NULL)
      return MHD_NO;
    resp = MHD_create_response_from_buffer(strlen(text), text,
                                           MHD_RESPMEM_MUST_FREE);
    if (resp == NULL) {
      free(text);
      return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            "application/json; charset=utf-8");
  } else {
    const char *text = reply->text ? reply->text : "";
    /* PERSISTENT: libmicrohttpd only reads the (static) text */
    resp = MHD_create_response_from_buffer(
        strlen(text), (void *)(uintptr_t)text, MHD_RESPMEM_PERSISTENT);
    if (resp == NULL)
      return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/html");
  }
  if (reply->allow != NULL)
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, reply->allow);
  if (reply->ws_version != NULL)
    MHD_add_response_header(resp, "Sec-WebSocket-Version", reply->ws_version);
  /* The PBX closes the TCP connection after each Open API response. */
  if (req->area == AREA_OPENAPI)
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
  rc = MHD_queue_response(req->conn, reply->http_status, resp);
  MHD_destroy_response(resp);
  return rc;
}

/* A request stops counting as in flight as soon as its answer is decided,
 * before a byte of it is sent: the client may start its next request the
 * moment it reads this one, and must not be seen as one too many. */
static void leave(struct sim *sim, struct sim_request *req) {
  if (req->entered) {
    req->entered = false;
    sim_state_leave(sim->state);
  }
}

static enum MHD_Result drop(struct sim *sim, struct sim_request *req,
                            const char *path, const char *method) {
  leave(sim, req);
  sim_state_count(sim->state, SIM_COUNT_DROPPED);
  log_request(sim, req, path, method, NULL);
  return MHD_NO; /* MHD closes the connection without a response */
}

/* The endpoint of an Open API path ("extension/list"), else the path. */
static const char *endpoint_of(const char *path) {
  size_t n = strlen(SIM_OPENAPI_PREFIX);
  return strncmp(path, SIM_OPENAPI_PREFIX, n) == 0 ? path + n : path;
}

static enum MHD_Result serve_openapi(struct sim *sim, struct sim_request *req,
                                     const char *path, const char *method) {
  struct sim_settings set;
  struct sim_reply reply = {0};
  enum MHD_Result rc;

  sim_state_get(sim->state, &set);
  if (set.latency_ms > 0 &&
      (!set.latency_only[0] ||
       strcmp(endpoint_of(path), set.latency_only) == 0)) {
    sleep_ms(set.latency_ms);
    sim_state_get(sim->state, &set); /* an outage may have begun meanwhile */
  }
  if (set.outage)
    return drop(sim, req, path, method);
  if (set.error_rate > 0 && sim_random_unit() < set.error_rate) {
    sim_state_count(sim->state, SIM_COUNT_SERVER_ERROR);
    reply.http_status = (unsigned)set.error_status;
    reply.text = set.error_status == MHD_HTTP_SERVICE_UNAVAILABLE
                     ? unavailable_page
                     : server_error_page;
  } else {
    dispatch_openapi(sim, req, path, method, &set, &reply);
  }
  log_request(sim, req, path, method, &reply);
  leave(sim, req);
  rc = reply.upgrade ? send_upgrade(sim, req, &reply) : send_reply(req, &reply);
  json_decref(reply.json);
  free(reply.data);
  return rc;
}

static struct sim_request *request_new(void) {
  struct sim_request *req = calloc(1, sizeof *req);

  if (req != NULL)
    pb_buf_init(&req->body, SIM_BODY_MAX);
  return req;
}

static void take_body(struct sim_request *req, const char *data, size_t size) {
  /* Past the cap, keep reading so the client gets an answer, but store
   * nothing more. */
  if (req->body_too_large || pb_buf_add(&req->body, data, size))
    req->body_too_large = true;
}

static enum area area_of(const char *url) {
  if (strncmp(url, "/openapi/", 9) == 0 ||
      strncmp(url, SIM_DOWNLOAD_PREFIX, strlen(SIM_DOWNLOAD_PREFIX)) == 0)
    return AREA_OPENAPI;
  if (strncmp(url, SIM_CONTROL_PREFIX, strlen(SIM_CONTROL_PREFIX)) == 0)
    return AREA_CONTROL;
  return AREA_OTHER;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **req_cls) {
  struct sim *sim = cls;
  struct sim_request *req = *req_cls;
  struct sim_reply reply = {0};
  enum MHD_Result rc;

  (void)version;
  if (req == NULL) { /* the URI log callback normally made it */
    req = request_new();
    if (req == NULL)
      return MHD_NO;
    *req_cls = req;
  }
  if (!req->started) {
    struct sim_settings set;

    req->started = true;
    req->conn = conn;
    req->path = url;
    req->area = area_of(url);
    if (req->area != AREA_OPENAPI)
      return MHD_YES;
    sim_state_enter(sim->state);
    req->entered = true;
    sim_state_get(sim->state, &set);
    if (set.outage)
      return drop(sim, req, url, method);
    return MHD_YES;
  }
  if (*upload_data_size > 0) {
    take_body(req, upload_data, *upload_data_size);
    *upload_data_size = 0;
    return MHD_YES;
  }

  if (req->area == AREA_OPENAPI)
    return serve_openapi(sim, req, url, method);
  if (req->area == AREA_CONTROL)
    dispatch_control(sim, req, url, method, &reply);
  else
    sim_reply_control_error(&reply, MHD_HTTP_NOT_FOUND, "not found");
  rc = send_reply(req, &reply);
  json_decref(reply.json);
  free(reply.data);
  return rc;
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn) {
  struct sim_request *req = request_new();

  (void)cls;
  (void)conn;
  if (req != NULL && (req->uri = strdup(uri ? uri : "")) == NULL) {
    free(req); /* on_request makes one without the raw target */
    req = NULL;
  }
  return req;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode why) {
  struct sim *sim = cls;
  struct sim_request *req = *req_cls;

  (void)conn;
  (void)why;
  if (req == NULL)
    return;
  leave(sim, req);
  free(req->uri);
  pb_buf_free(&req->body);
  free(req);
  *req_cls = NULL;
}

/* ---- daemon ---- */

static int parse_host(const char *host, uint16_t port,
                      struct sockaddr_storage *ss, bool *ipv6) {
  struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;

  memset(ss, 0, sizeof *ss);
  *ipv6 = false;
  if (strcmp(host, "localhost") == 0)
    host = "127.0.0.1";
  if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    return 0;
  }
  if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    *ipv6 = true;
    return 0;
  }
  return -1;
}

struct sim_server *sim_http_start(struct sim *sim, const char *host,
                                  uint16_t port, const char *tls_cert,
                                  const char *tls_key, uint16_t *bound_port) {
  struct sockaddr_storage ss;
  const union MHD_DaemonInfo *info;
  struct sim_server *srv;
  unsigned int flags;
  bool ipv6;

  if (parse_host(host, port, &ss, &ipv6) != 0) {
    fprintf(stderr, "pbx-simulator: cannot parse listen address '%s'\n", host);
    return NULL;
  }
  srv = calloc(1, sizeof *srv);
  if (srv == NULL)
    return NULL;
  /* A thread per connection: --latency-ms sleeps in the handler and must
   * not hold up other requests. */
  flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
          MHD_USE_AUTO | MHD_USE_ERROR_LOG | MHD_ALLOW_UPGRADE;
  if (ipv6)
    flags |= MHD_USE_IPv6;
  if (tls_cert != NULL) {
    if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
      fprintf(stderr, "pbx-simulator: this libmicrohttpd has no TLS\n");
      free(srv);
      return NULL;
    }
    flags |= MHD_USE_TLS;
  }
  /* Options after MHD_OPTION_END are ignored, so the TLS pair can sit last
   * and be left out by ending the list early. */
  srv->daemon = MHD_start_daemon(
      flags, port, NULL, NULL, on_request, sim, MHD_OPTION_SOCK_ADDR,
      (struct sockaddr *)&ss, MHD_OPTION_URI_LOG_CALLBACK, on_uri, sim,
      MHD_OPTION_NOTIFY_COMPLETED, on_completed, sim,
      MHD_OPTION_CONNECTION_LIMIT, (unsigned int)CONNECTION_LIMIT,
      MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)CONNECTION_TIMEOUT_S,
      tls_cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, tls_cert,
      MHD_OPTION_HTTPS_MEM_KEY, tls_key, MHD_OPTION_END);
  if (srv->daemon == NULL) {
    fprintf(stderr, "pbx-simulator: cannot listen on %s:%u\n", host,
            (unsigned)port);
    free(srv);
    return NULL;
  }
  info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
  *bound_port = info ? info->port : port;
  return srv;
}

void sim_http_stop(struct sim_server *srv) {
  if (srv == NULL)
    return;
  MHD_stop_daemon(srv->daemon);
  free(srv);
}
