/* The extensions a user account owns (web-api.db, table user_extensions):
 * a readonly user sees and places only the calls of its own extensions (the
 * call log, statistics, recordings, click-to-call); an admin all of them.
 * `PUT /api/users/<name>/extensions` (admin) sets the list (docs/api.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb/config.h"
#include "pb/store.h"
#include "pb/topics.h"
#include "web.h"

#define USER_EXTS_MAX 64 /* extensions one account may own */

json_t *web_user_extensions(struct web *w, const char *user) {
  json_t *arr = json_array();
  if (!w->store) /* a core without its database (unit tests of routing) */
    return arr;
  struct pb_stmt *st = pb_store_stmt(
      w->store, "SELECT site, ext FROM user_extensions "
                "WHERE user = ?1 ORDER BY site, length(ext), ext");
  if (!st || pb_stmt_bind_text(st, 1, user))
    return arr;
  while (pb_stmt_step(st) == PB_STMT_ROW)
    json_array_append_new(arr,
                          json_pack("{s:s,s:s}", "site", pb_stmt_text(st, 0),
                                    "ext", pb_stmt_text(st, 1)));
  web_stmt_finish(st);
  return arr;
}

bool web_may_use_ext(struct web *w, const struct web_auth *auth,
                     const char *site, const char *ext) {
  if (auth->role == WEB_ROLE_ADMIN)
    return true;
  if (auth->role == WEB_ROLE_NONE || !site || !ext || !*site || !*ext ||
      !w->store)
    return false;
  struct pb_stmt *st = pb_store_stmt(
      w->store, "SELECT 1 FROM user_extensions WHERE user = ?1 AND site = ?2 "
                "AND ext = ?3");
  if (!st || pb_stmt_bind_text(st, 1, auth->user) ||
      pb_stmt_bind_text(st, 2, site) || pb_stmt_bind_text(st, 3, ext))
    return false;
  bool found = pb_stmt_step(st) == PB_STMT_ROW;
  web_stmt_finish(st);
  return found;
}

int web_user_extensions_clear(struct web *w, const char *user) {
  struct pb_stmt *st =
      pb_store_stmt(w->store, "DELETE FROM user_extensions WHERE user = ?1");
  if (!st || pb_stmt_bind_text(st, 1, user))
    return PB_EIO;
  return pb_stmt_run(st);
}

/* One entry: "2000" (the default SITE), "main/2000" or {"site","ext"}. */
static bool parse_entry(struct web *w, const json_t *v, char *site, char *ext) {
  const char *s = NULL, *e = NULL;
  char buf[2 * PB_ID_MAX];
  if (json_is_string(v)) {
    pb_strlcpy(buf, json_string_value(v), sizeof buf);
    char *slash = strchr(buf, '/');
    if (slash) {
      *slash = '\0';
      s = buf;
      e = slash + 1;
    } else {
      e = buf;
    }
  } else if (json_is_object(v)) {
    s = pb_json_str(v, "site");
    e = pb_json_str(v, "ext");
  }
  if (!s)
    s = pb_config_str(w->cfg, PB_CFG_SITE);
  if (!e || !pb_topic_id_valid(s) || !pb_topic_id_valid(e))
    return false;
  pb_strlcpy(site, s, PB_ID_MAX);
  pb_strlcpy(ext, e, PB_ID_MAX);
  return true;
}

void web_put_user_extensions(struct web *w, const struct web_request *req,
                             struct web_response *resp) {
  const char *name = req->segs[2];
  enum web_role role;
  if (!pb_topic_id_valid(name) || web_user_role(w, name, &role)) {
    web_reply_error(resp, 404, "unknown user '%.64s'", name);
    return;
  }
  json_t *body = web_body_json(req, resp);
  if (!body)
    return;
  json_t *list = json_object_get(body, "extensions");
  if (!json_is_array(list) || json_array_size(list) > USER_EXTS_MAX) {
    web_reply_error(resp, 400,
                    "field 'extensions' must be an array of at most %d "
                    "extensions (\"2000\", \"site/2000\" or "
                    "{\"site\":..,\"ext\":..})",
                    USER_EXTS_MAX);
    json_decref(body);
    return;
  }
  size_t i;
  json_t *v;
  char site[PB_ID_MAX], ext[PB_ID_MAX];
  json_array_foreach(list, i, v) {
    if (!parse_entry(w, v, site, ext)) {
      web_reply_error(resp, 400,
                      "extensions[%zu] is not an extension: \"2000\", "
                      "\"site/2000\" or {\"site\":..,\"ext\":..} with "
                      "1-64 characters of [A-Za-z0-9_-]",
                      i);
      json_decref(body);
      return;
    }
  }
  bool ok = pb_store_begin(w->store) == 0;
  ok = ok && web_user_extensions_clear(w, name) == 0;
  json_array_foreach(list, i, v) {
    if (!ok || !parse_entry(w, v, site, ext))
      break;
    struct pb_stmt *st =
        pb_store_stmt(w->store, "INSERT OR IGNORE INTO user_extensions "
                                "(user, site, ext) VALUES (?1, ?2, ?3)");
    ok = st && !pb_stmt_bind_text(st, 1, name) &&
         !pb_stmt_bind_text(st, 2, site) && !pb_stmt_bind_text(st, 3, ext) &&
         pb_stmt_run(st) == 0;
  }
  json_decref(body);
  if (!ok || pb_store_commit(w->store)) {
    pb_store_rollback(w->store);
    web_reply_error(resp, 503, "cannot store the user's extensions");
    return;
  }
  json_t *now = web_user_extensions(w, name);
  web_audit_add(w, "user", "", "", req->auth.user,
                "set the extensions of a user",
                json_pack("{s:s,s:O}", "name", name, "extensions", now));
  web_reply_json(resp, 200,
                 json_pack("{s:s,s:o}", "name", name, "extensions", now));
}
