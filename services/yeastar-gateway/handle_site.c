/* The gateway's requests on the bus (docs/topics.md, zigbee2mqtt's bridge
 * pattern): R/svc/yeastar-gateway/request/site/add|update|remove|list|test
 * and directory/refresh. The client secret is write-only: it is taken from
 * add/update/test, sealed at rest, and never returned, logged or published.
 * A refused request changes nothing. */
#include <stdio.h>
#include <string.h>

#include "gateway.h"
#include "pb/bus.h"
#include "pb/config.h"
#include "pb/log.h"
#include "pb/topics.h"
#include "pb/url.h"

static const char *site_name(const json_t *req, char *err, size_t errlen) {
  const char *name = NULL;
  if (pb_json_get_str(req, "name", true, &name, err, errlen))
    return NULL;
  return name;
}

/* The site a request names, if it may be changed over the bus; otherwise
 * the request is refused (no name, unknown site, or a site that comes from
 * the YEASTAR_* settings, where `how` says how to change it) and NULL. */
static struct gw_site *editable_site(struct gw *gw, const json_t *req,
                                     struct pb_bus_reply *reply,
                                     const char *how) {
  char err[300];
  const char *name = site_name(req, err, sizeof err);
  struct gw_site *s = name ? gw_site_find(gw, name) : NULL;
  if (!name) {
    pb_bus_reply_error(reply, err, NULL);
    return NULL;
  }
  if (!s) {
    snprintf(err, sizeof err, "no site '%.64s'", name);
    pb_bus_reply_error(reply, err, NULL);
    return NULL;
  }
  if (s->from_config) {
    snprintf(err, sizeof err, "site '%s' comes from the YEASTAR_* settings: %s",
             s->name, how);
    pb_bus_reply_error(reply, err, NULL);
    return NULL;
  }
  return s;
}

/* The stored client secret goes only to the PBX it was given for: a 'url'
 * on another server needs 'client_secret' in the same request, or whoever
 * may change sites could collect the secret at a host of theirs at the next
 * login (or with site/test). Refuses the request and returns true then. */
static bool secret_would_move(const struct gw_site *s, const json_t *req,
                              struct pb_bus_reply *reply) {
  const char *url = pb_json_str(req, "url");
  const char *secret = pb_json_str(req, "client_secret");
  if (!url || !s->set.secret || !s->set.secret[0] || (secret && *secret) ||
      pb_url_same_origin(s->set.url, url))
    return false;
  pb_bus_reply_error(reply,
                     "field 'url': the new URL is on another server (its "
                     "scheme, host or port changed): give 'client_secret' "
                     "again in the same request",
                     NULL);
  return true;
}

static void on_add(struct pb_bus *bus, const char *action, json_t *req,
                   struct pb_bus_reply *reply, void *ud) {
  (void)bus;
  (void)action;
  struct gw *gw = ud;
  struct gw_site_settings set;
  struct gw_site *s = NULL;
  char err[300];
  if (gw_settings_from_json(req, NULL, &set, err, sizeof err)) {
    pb_bus_reply_error(reply, err, NULL);
    return;
  }
  if (gw_settings_check(&set, err, sizeof err)) {
    pb_bus_reply_error(reply, err, NULL);
  } else if (gw_site_find(gw, set.name)) {
    snprintf(err, sizeof err, "site '%s' exists already (use site/update)",
             set.name);
    pb_bus_reply_error(reply, err, NULL);
  } else if (gw_store_site_put(gw, &set)) {
    pb_bus_reply_error(reply, "the site could not be stored", NULL);
  } else if (gw_site_start(gw, &set, false, &s)) {
    if (gw_store_site_delete(gw, set.name))
      gw_store_warn(set.name, "the removal of a site not started");
    pb_bus_reply_error(reply, "too many sites (at most 64)", NULL);
  } else {
    pb_bus_reply_ok(reply, gw_site_view(s));
  }
  gw_settings_cleanup(&set);
}

static void on_update(struct pb_bus *bus, const char *action, json_t *req,
                      struct pb_bus_reply *reply, void *ud) {
  (void)bus;
  (void)action;
  struct gw *gw = ud;
  struct gw_site_settings set;
  char err[300];
  struct gw_site *s = editable_site(gw, req, reply, "change them there");
  if (!s || secret_would_move(s, req, reply))
    return;
  if (gw_settings_from_json(req, &s->set, &set, err, sizeof err)) {
    pb_bus_reply_error(reply, err, NULL);
    return;
  }
  if (gw_settings_check(&set, err, sizeof err))
    pb_bus_reply_error(reply, err, NULL);
  else if (gw_store_site_put(gw, &set))
    pb_bus_reply_error(reply, "the site could not be stored", NULL);
  else {
    pb_info("site %s: settings changed", s->name);
    gw_site_reconfigure(s, &set);
    pb_bus_reply_ok(reply, gw_site_view(s));
  }
  gw_settings_cleanup(&set);
}

static void on_remove(struct pb_bus *bus, const char *action, json_t *req,
                      struct pb_bus_reply *reply, void *ud) {
  (void)bus;
  (void)action;
  struct gw *gw = ud;
  struct gw_site *s =
      editable_site(gw, req, reply, "unset YEASTAR_PBX_URL to remove it");
  if (!s)
    return;
  json_t *data = json_pack("{s:s}", "name", s->name);
  gw_site_remove(s);
  pb_bus_reply_ok(reply, data);
}

static void on_list(struct pb_bus *bus, const char *action, json_t *req,
                    struct pb_bus_reply *reply, void *ud) {
  (void)bus;
  (void)action;
  (void)req;
  struct gw *gw = ud;
  json_t *list = json_array();
  for (struct gw_site *s = gw->sites; s; s = s->next)
    json_array_append_new(list, gw_site_view(s));
  pb_bus_reply_ok(reply, json_pack("{s:o}", "sites", list));
}

/* {name} tests a site as configured; a full set of settings (name
 * optional) tests a site before it is added. */
static void on_test(struct pb_bus *bus, const char *action, json_t *req,
                    struct pb_bus_reply *reply, void *ud) {
  (void)bus;
  (void)action;
  struct gw *gw = ud;
  struct gw_site_settings set;
  char err[300];
  const char *name = pb_json_str(req, "name");
  struct gw_site *s = name ? gw_site_find(gw, name) : NULL;
  if (s && secret_would_move(s, req, reply))
    return;
  json_t *copy = json_deep_copy(req);
  if (!name)
    json_object_set_new(copy, "name", json_string("test"));
  int rc =
      gw_settings_from_json(copy, s ? &s->set : NULL, &set, err, sizeof err);
  json_decref(copy);
  if (rc) {
    pb_bus_reply_error(reply, err, NULL);
    return;
  }
  if (!s && name && !json_object_get(req, "url")) {
    snprintf(err, sizeof err,
             "no site '%.64s' (give url, client_id and "
             "client_secret to test a new one)",
             name);
    pb_bus_reply_error(reply, err, NULL);
  } else if (gw_settings_check(&set, err, sizeof err)) {
    pb_bus_reply_error(reply, err, NULL);
  } else {
    struct pb_bus_reply *later = pb_bus_reply_defer(reply);
    if (later)
      gw_test_start(gw, s, &set, later);
  }
  gw_settings_cleanup(&set);
}

static void on_directory_refresh(struct pb_bus *bus, const char *action,
                                 json_t *req, struct pb_bus_reply *reply,
                                 void *ud) {
  (void)bus;
  (void)action;
  struct gw *gw = ud;
  char err[300];
  const char *name = pb_json_str(req, "site");
  struct gw_site *s = name ? gw_site_find(gw, name) : gw->sites;
  if (!s || (!name && s->next)) {
    if (name)
      snprintf(err, sizeof err, "no site '%.64s'", name);
    else if (!gw->sites)
      snprintf(err, sizeof err, "this gateway serves no PBX site");
    else
      snprintf(err, sizeof err,
               "field 'site' is required (this gateway "
               "serves several sites)");
    pb_bus_reply_error(reply, err, NULL);
    return;
  }
  struct pb_bus_reply *later = pb_bus_reply_defer(reply);
  if (!later)
    return;
  gw_directory_add_waiter(s, later);
  gw_directory_read(s, true);
}

int gw_requests_register(struct gw *gw) {
  static const struct pb_bus_action table[] = {
      {PB_ACTION_SITE_ADD, on_add},
      {PB_ACTION_SITE_UPDATE, on_update},
      {PB_ACTION_SITE_REMOVE, on_remove},
      {PB_ACTION_SITE_LIST, on_list},
      {PB_ACTION_SITE_TEST, on_test},
      {PB_ACTION_DIRECTORY_REFRESH, on_directory_refresh},
      {PB_ACTION_CDR_SEARCH, gw_on_cdr_search},
      {PB_ACTION_CALL_DIAL, gw_on_call_dial},
      {PB_ACTION_RECORDING_GET, gw_on_recording_get},
  };
  if (gw_calls_start(gw))
    return PB_ECONFIG;
  return pb_bus_serve_table(gw->bus, table, PB_BUS_ACTIONS(table), gw);
}
