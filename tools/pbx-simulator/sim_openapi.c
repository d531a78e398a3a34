/* The seven P-Series Open API endpoints the simulator serves (get_token,
 * refresh_token, del_token, extension/list|search|get|update), validating
 * parameters as strictly as the developer guide describes them. The
 * User-Agent, method and access token are already checked by sim_http.c. */
#include "sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_PAGE_SIZE 20
#define PAGE_MAX 2147483647L
#define ID_MAX 2147483647L
#define SEARCH_MAX 128

/* Text of a JSON value for invalid_param_list: strings as they are, other
 * values as JSON. */
static void value_text(json_t *v, char *buf, size_t size) {
  char *dumped;

  if (v == NULL) {
    snprintf(buf, size, "%s", "");
    return;
  }
  if (json_is_string(v)) {
    snprintf(buf, size, "%s", json_string_value(v));
    return;
  }
  dumped = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
  snprintf(buf, size, "%s", dumped ? dumped : "");
  free(dumped);
}

/* The body must be one JSON object (no duplicate keys, nothing after it). */
static json_t *body_object(struct sim_request *req, struct sim_reply *out) {
  json_error_t err;
  size_t len;
  const char *text = sim_request_body(req, &len);
  json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);

  if (j == NULL) {
    sim_reply_param_error(out, "body", len ? "malformed JSON" : "empty");
    return NULL;
  }
  if (!json_is_object(j)) {
    json_decref(j);
    sim_reply_param_error(out, "body", "not a JSON object");
    return NULL;
  }
  return j;
}

/* A required, non-empty string member; on failure the reply names it. */
static const char *body_string(json_t *body, const char *key,
                               struct sim_reply *out) {
  json_t *v = json_object_get(body, key);
  char buf[128];

  if (json_is_string(v) && json_string_length(v) > 0)
    return json_string_value(v);
  value_text(v, buf, sizeof buf);
  sim_reply_param_error(out, key, buf);
  return NULL;
}

static void reply_token_pair(struct sim *sim, const struct sim_token_pair *p,
                             struct sim_reply *out) {
  struct sim_settings set;

  sim_state_get(sim->state, &set);
  sim_reply_success(out,
                    json_pack("{s:I,s:s,s:I,s:s}", "access_token_expire_time",
                              (json_int_t)set.token_lifetime, "access_token",
                              p->access, "refresh_token_expire_time",
                              (json_int_t)set.refresh_lifetime, "refresh_token",
                              p->refresh));
}

static void reply_token_status(enum sim_token_status st,
                               struct sim_reply *out) {
  switch (st) {
  case SIM_TOKEN_EXPIRED:
    sim_reply_error(out, SIM_ERR_TOKEN_EXPIRED, "TOKEN EXPIRED");
    break;
  case SIM_TOKEN_LIMIT:
    sim_reply_error(out, SIM_ERR_TOKEN_LIMIT, "ACCESS TOKEN LIMIT REACHED");
    break;
  default:
    sim_reply_error(out, SIM_ERR_INVALID_TOKEN, "INVALID TOKEN");
    break;
  }
}

void sim_api_get_token(struct sim *sim, struct sim_request *req,
                       struct sim_reply *out) {
  struct sim_token_pair pair;
  struct sim_settings set;
  enum sim_token_status st;
  const char *user, *pass;
  json_t *body = body_object(req, out);

  if (body == NULL)
    return;
  user = body_string(body, "username", out);
  pass = user ? body_string(body, "password", out) : NULL;
  if (user == NULL || pass == NULL)
    goto out;
  if (strcmp(user, sim->client_id) != 0 ||
      strcmp(pass, sim->client_secret) != 0) {
    sim_state_count(sim->state, SIM_COUNT_FAILED_LOGIN);
    sim_reply_error(out, SIM_ERR_FAILURE, "FAILURE");
    json_object_set_new(out->json, "invalid_param_list",
                        json_pack("[{s:s,s:s}]", "field",
                                  "username or password", "value", "error"));
    goto out;
  }
  sim_state_get(sim->state, &set);
  st = sim_tokens_issue(sim->tokens, set.token_lifetime, set.refresh_lifetime,
                        &pair);
  if (st == SIM_TOKEN_OK) {
    sim_state_count(sim->state, SIM_COUNT_LOGIN);
    reply_token_pair(sim, &pair, out);
  } else {
    if (st == SIM_TOKEN_LIMIT)
      sim_state_count(sim->state, SIM_COUNT_TOKEN_LIMIT);
    reply_token_status(st, out);
  }
out:
  json_decref(body);
}

void sim_api_refresh_token(struct sim *sim, struct sim_request *req,
                           struct sim_reply *out) {
  struct sim_token_pair pair;
  struct sim_settings set;
  enum sim_token_status st;
  const char *refresh;
  json_t *body = body_object(req, out);

  if (body == NULL)
    return;
  refresh = body_string(body, "refresh_token", out);
  if (refresh == NULL)
    goto out;
  sim_state_get(sim->state, &set);
  st = sim_tokens_refresh(sim->tokens, refresh, set.token_lifetime,
                          set.refresh_lifetime, &pair);
  if (st == SIM_TOKEN_OK) {
    sim_state_count(sim->state, SIM_COUNT_REFRESH);
    reply_token_pair(sim, &pair, out);
  } else {
    if (st == SIM_TOKEN_LIMIT)
      sim_state_count(sim->state, SIM_COUNT_TOKEN_LIMIT);
    reply_token_status(st, out);
  }
out:
  json_decref(body);
}

void sim_api_del_token(struct sim *sim, struct sim_request *req,
                       struct sim_reply *out) {
  enum sim_token_status st =
      sim_tokens_revoke(sim->tokens, sim_request_arg(req, "access_token"));

  if (st == SIM_TOKEN_OK) {
    sim_state_count(sim->state, SIM_COUNT_TOKEN_DELETE);
    sim_reply_success(out, NULL);
  } else {
    reply_token_status(st, out);
  }
}

/* page, page_size, sort_by, order_by: absent means the default; present
 * but invalid is a 40002 naming the parameter. */
static bool paging(struct sim *sim, struct sim_request *req,
                   struct sim_reply *out, struct sim_dir_query *q) {
  const char *page = sim_request_arg(req, "page");
  const char *size = sim_request_arg(req, "page_size");
  const char *sort = sim_request_arg(req, "sort_by");
  const char *order = sim_request_arg(req, "order_by");
  struct sim_settings set;

  sim_state_get(sim->state, &set);
  q->page = 1;
  q->page_size = DEFAULT_PAGE_SIZE < set.max_page_size ? DEFAULT_PAGE_SIZE
                                                       : set.max_page_size;
  q->sort_field = sim_dir_sort_field("id");
  q->descending = false;
  if (page != NULL && sim_parse_long(page, 1, PAGE_MAX, &q->page) != 0) {
    sim_reply_param_error(out, "page", page);
    return false;
  }
  if (size != NULL &&
      sim_parse_long(size, 1, set.max_page_size, &q->page_size) != 0) {
    sim_reply_param_error(out, "page_size", size);
    return false;
  }
  if (sort != NULL && (q->sort_field = sim_dir_sort_field(sort)) < 0) {
    sim_reply_param_error(out, "sort_by", sort);
    return false;
  }
  if (order != NULL) {
    if (strcmp(order, "desc") == 0) {
      q->descending = true;
    } else if (strcmp(order, "asc") != 0) {
      sim_reply_param_error(out, "order_by", order);
      return false;
    }
  }
  return true;
}

static void reply_list(struct sim *sim, const struct sim_dir_query *q,
                       struct sim_reply *out) {
  size_t total;
  json_t *data = sim_dir_list(sim->dir, q, &total);

  sim_reply_success(out, json_pack("{s:I,s:o}", "total_number",
                                   (json_int_t)total, "data", data));
}

void sim_api_extension_list(struct sim *sim, struct sim_request *req,
                            struct sim_reply *out) {
  struct sim_dir_query q = {0};

  if (paging(sim, req, out, &q))
    reply_list(sim, &q, out);
}

void sim_api_extension_search(struct sim *sim, struct sim_request *req,
                              struct sim_reply *out) {
  struct sim_dir_query q = {0};
  const char *value = sim_request_arg(req, "search_value");

  if (value == NULL || *value == '\0' || strlen(value) > SEARCH_MAX) {
    sim_reply_param_error(out, "search_value", value);
    return;
  }
  if (!paging(sim, req, out, &q))
    return;
  q.search = value;
  reply_list(sim, &q, out);
}

void sim_api_extension_get(struct sim *sim, struct sim_request *req,
                           struct sim_reply *out) {
  const char *text = sim_request_arg(req, "id");
  json_t *ext = NULL;
  long id;

  if (sim_parse_long(text, 1, ID_MAX, &id) == 0)
    ext = sim_dir_get(sim->dir, id);
  if (ext == NULL) {
    sim_reply_param_error(out, "id", text);
    return;
  }
  sim_reply_success(out, json_pack("{s:o}", "data", ext));
}

/* Only id and presence_status are simulated; any other field the real PBX
 * would accept is refused, so a client never believes it changed one. */
void sim_api_extension_update(struct sim *sim, struct sim_request *req,
                              struct sim_reply *out) {
  json_t *body = body_object(req, out);
  json_t *id, *presence, *v;
  const char *key;
  char buf[128];

  if (body == NULL)
    return;
  id = json_object_get(body, "id");
  presence = json_object_get(body, "presence_status");
  if (!json_is_integer(id) || json_integer_value(id) < 1 ||
      json_integer_value(id) > ID_MAX) {
    value_text(id, buf, sizeof buf);
    sim_reply_param_error(out, "id", buf);
    goto out;
  }
  if (!json_is_string(presence) ||
      !sim_presence_valid(json_string_value(presence))) {
    value_text(presence, buf, sizeof buf);
    sim_reply_param_error(out, "presence_status", buf);
    goto out;
  }
  json_object_foreach(body, key, v) {
    if (strcmp(key, "id") != 0 && strcmp(key, "presence_status") != 0) {
      value_text(v, buf, sizeof buf);
      sim_reply_param_error(out, key, buf);
      goto out;
    }
  }
  if (sim_dir_set_presence_id(sim->dir, (long)json_integer_value(id),
                              json_string_value(presence),
                              "api") != SIM_DIR_OK) {
    value_text(id, buf, sizeof buf);
    sim_reply_param_error(out, "id", buf);
    goto out;
  }
  sim_reply_success(out, NULL);
out:
  json_decref(body);
}
