/* Imports of weekly plannings: the R/svc/ical-ingest/request/import handler
 * (import_cli.c sends it a file from the command line). A file with any bad
 * line is refused whole and the previous planning stays. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ingest.h"
#include "pb/bus.h"
#include "pb/config.h"
#include "pb/error.h"
#include "pb/log.h"
#include "pb/topics.h"

int ingest_import(struct ingest *in, const char *format, const char *content,
                  size_t len, const char *site, const char *source,
                  int priority, struct import_errors *errs, size_t *nslots,
                  size_t *nexts) {
  struct weekly_plan plan = {0};
  int rc;
  const struct source *other = ingest_source_find(in, source);
  if (other && other->def.kind != SOURCE_WEEKLY) {
    ingest_error_add(errs, 0, "",
                     "source '%s' is a %s source, not a weekly "
                     "planning: choose another source id",
                     source, ingest_source_kind_name(other->def.kind));
    return PB_EEXISTS;
  }
  if (len > in->import_max) {
    ingest_error_add(errs, 0, "",
                     "the planning is %zu bytes, more than the "
                     "%zu allowed (IMPORT_MAX_BYTES)",
                     len, in->import_max);
    return PB_ETOOBIG;
  }
  if (strcasecmp(format, "csv") == 0)
    rc = ingest_parse_csv(content, len, &plan, errs);
  else if (strcasecmp(format, "json") == 0)
    rc = ingest_parse_json(content, len, &plan, errs);
  else {
    ingest_error_add(errs, 0, "", "unknown format '%.32s' (csv or json)",
                     format);
    return PB_EINVAL;
  }
  if (rc) {
    ingest_plan_cleanup(&plan);
    return rc;
  }
  rc = ingest_store_save_weekly(in->store, source, site, priority, &plan);
  if (rc) {
    ingest_error_add(errs, 0, "", "the planning could not be stored");
    ingest_plan_cleanup(&plan);
    return rc;
  }
  *nslots = plan.count;
  *nexts = 0;
  for (size_t i = 0; i < plan.count; i++)
    if (i == 0 || strcmp(plan.slots[i].ext, plan.slots[i - 1].ext) != 0)
      (*nexts)++;
  ingest_plan_cleanup(&plan);
  /* The planning is a source like the others (source/list, remove). */
  struct source *src = ingest_source_find(in, source);
  if (src) {
    pb_strlcpy(src->def.site, site, sizeof src->def.site);
    src->def.priority = priority;
  } else if (in->sources) {
    struct source_def d = {.kind = SOURCE_WEEKLY, .priority = priority};
    struct source_fetch f = {
        .last_attempt = -1, .last_success = -1, .last_change = -1};
    pb_strlcpy(d.id, source, sizeof d.id);
    pb_strlcpy(d.site, site, sizeof d.site);
    if (ingest_source_insert(in, &d, &f, &src))
      src = NULL;
  }
  ingest_publish_all(in);
  if (src) {
    ingest_status_publish(in, src);
    ingest_source_event(in, &src->def, other ? "updated" : "added", NULL);
  }
  return 0;
}

json_t *ingest_errors_json(const struct import_errors *errs) {
  json_t *list = json_array();
  for (size_t i = 0; i < errs->count; i++) {
    json_t *e = json_object();
    if (errs->items[i].line)
      json_object_set_new(e, "line", json_integer(errs->items[i].line));
    if (errs->items[i].where[0])
      json_object_set_new(e, "where", json_string(errs->items[i].where));
    json_object_set_new(e, "error", json_string(errs->items[i].message));
    json_array_append_new(list, e);
  }
  return list;
}

static void on_import(struct pb_bus *bus, const char *action, json_t *req,
                      struct pb_bus_reply *reply, void *ud) {
  (void)bus;
  (void)action;
  struct ingest *in = ud;
  char err[256];
  const char *format, *content, *site = pb_config_str(in->cfg, PB_CFG_SITE);
  const char *source = "weekly";
  int64_t priority = 0;
  int rc;
  if ((rc = pb_json_get_str(req, "format", true, &format, err, sizeof err)) ||
      (rc = pb_json_get_str(req, "content", true, &content, err, sizeof err)) ||
      ((rc = pb_json_get_str(req, "site", false, &site, err, sizeof err)) &&
       rc != PB_ENOTFOUND) ||
      ((rc = pb_json_get_str(req, "source", false, &source, err, sizeof err)) &&
       rc != PB_ENOTFOUND) ||
      ((rc = pb_json_get_int(req, "priority", false, &priority, err,
                             sizeof err)) &&
       rc != PB_ENOTFOUND)) {
    pb_bus_reply_error(reply, err, NULL);
    return;
  }
  if (!pb_topic_id_valid(site) || !pb_topic_id_valid(source)) {
    pb_bus_reply_error(reply,
                       "fields 'site' and 'source' must be 1-64 "
                       "characters of [A-Za-z0-9_-]",
                       NULL);
    return;
  }
  if (priority < -1000 || priority > 1000) {
    pb_bus_reply_error(reply, "field 'priority' must be -1000..1000", NULL);
    return;
  }
  struct import_errors *errs = calloc(1, sizeof *errs);
  if (!errs) {
    pb_bus_reply_error(reply, "out of memory", NULL);
    return;
  }
  size_t nslots = 0, nexts = 0;
  rc = ingest_import(in, format, content,
                     json_string_length(json_object_get(req, "content")), site,
                     source, (int)priority, errs, &nslots, &nexts);
  if (rc) {
    char msg[300];
    snprintf(msg, sizeof msg,
             "planning refused: %zu error%s, nothing was "
             "changed",
             errs->total, errs->total == 1 ? "" : "s");
    pb_warn("import into %s/%s refused: %zu errors, first: %s", site, source,
            errs->total, errs->count ? errs->items[0].message : "");
    pb_bus_reply_error(reply, msg, ingest_errors_json(errs));
  } else {
    pb_info("imported %zu slots for %zu extensions into source %s (site %s)",
            nslots, nexts, source, site);
    pb_bus_reply_ok(reply, json_pack("{s:s,s:s,s:I,s:I}", "source", source,
                                     "site", site, "slots", (json_int_t)nslots,
                                     "extensions", (json_int_t)nexts));
  }
  free(errs);
}

int ingest_import_serve(struct ingest *in) {
  static const struct pb_bus_action actions[] = {
      {PB_ACTION_IMPORT, on_import},
  };
  return pb_bus_serve_table(in->bus, actions, PB_BUS_ACTIONS(actions), in);
}
