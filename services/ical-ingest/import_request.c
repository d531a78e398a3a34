/* Imports of weekly plannings: the R/svc/ical-ingest/request/import handler
 * and the --import command line, which sends a file to the running service
 * over the same request topic and prints its answer. A file with any bad
 * line is refused whole and the previous planning stays. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ingest.h"
#include "pb/bus.h"
#include "pb/config.h"
#include "pb/error.h"
#include "pb/log.h"
#include "pb/loop.h"
#include "pb/store.h"
#include "pb/topics.h"

int ingest_import(struct ingest *in, const char *format, const char *content,
                  size_t len, const char *site, const char *source, int priority,
                  struct import_errors *errs, size_t *nslots, size_t *nexts) {
  struct weekly_plan plan = {0};
  int rc;
  const struct source *other = ingest_source_find(in, source);
  if (other && other->def.kind != SOURCE_WEEKLY) {
    ingest_error_add(errs, 0, "", "source '%s' is a %s source, not a weekly "
                     "planning: choose another source id", source,
                     ingest_source_kind_name(other->def.kind));
    return PB_EEXISTS;
  }
  if (len > in->import_max) {
    ingest_error_add(errs, 0, "", "the planning is %zu bytes, more than the "
                     "%zu allowed (IMPORT_MAX_BYTES)", len, in->import_max);
    return PB_ETOOBIG;
  }
  if (strcasecmp(format, "csv") == 0)
    rc = ingest_parse_csv(content, len, &plan, errs);
  else if (strcasecmp(format, "json") == 0)
    rc = ingest_parse_json(content, len, &plan, errs);
  else {
    ingest_error_add(errs, 0, "", "unknown format '%.32s' (csv or json)", format);
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
    struct source_fetch f = {.last_attempt = -1, .last_success = -1,
                             .last_change = -1};
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
      ((rc = pb_json_get_int(req, "priority", false, &priority, err, sizeof err)) &&
       rc != PB_ENOTFOUND)) {
    pb_bus_reply_error(reply, err, NULL);
    return;
  }
  if (!pb_topic_id_valid(site) || !pb_topic_id_valid(source)) {
    pb_bus_reply_error(reply, "fields 'site' and 'source' must be 1-64 "
                       "characters of [A-Za-z0-9_-]", NULL);
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
  rc = ingest_import(in, format, content, json_string_length(json_object_get(req, "content")),
                     site, source, (int)priority, errs, &nslots, &nexts);
  if (rc) {
    char msg[300];
    snprintf(msg, sizeof msg, "planning refused: %zu error%s, nothing was "
             "changed", errs->total, errs->total == 1 ? "" : "s");
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

/* ---- command line ---- */

static char *read_file(const char *path, size_t max, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "ical-ingest: cannot open %s: %s\n", path, strerror(errno));
    return NULL;
  }
  char *buf = malloc(max + 1);
  size_t n = buf ? fread(buf, 1, max + 1, f) : 0;
  fclose(f);
  if (!buf)
    return NULL;
  if (n > max) {
    fprintf(stderr, "ical-ingest: %s is larger than IMPORT_MAX_BYTES (%zu)\n",
            path, max);
    free(buf);
    return NULL;
  }
  buf[n] = '\0';
  *len = n;
  return buf;
}

static void print_errors(const struct import_errors *errs, const char *file) {
  for (size_t i = 0; i < errs->count; i++) {
    const struct import_error *e = &errs->items[i];
    if (e->line)
      fprintf(stderr, "%s:%d: %s\n", file, e->line, e->message);
    else
      fprintf(stderr, "%s: %s%s%s\n", file, e->where, e->where[0] ? ": " : "",
              e->message);
  }
  if (errs->total > errs->count)
    fprintf(stderr, "%s: ... and %zu more errors\n", file,
            errs->total - errs->count);
}

struct cli_wait {
  struct pb_loop *loop;
  const char *file;
  int exit_code;
  bool sent;
  json_t *request;
};

static void on_cli_response(struct pb_bus *bus, json_t *resp, void *ud) {
  (void)bus;
  struct cli_wait *w = ud;
  const char *status = pb_json_str(resp, "status");
  if (!resp) {
    fprintf(stderr, "ical-ingest: no answer from the ical-ingest service "
            "(is it running and connected to the same MQTT_URL?)\n");
    w->exit_code = 3;
  } else if (status && strcmp(status, "ok") == 0) {
    json_t *d = json_object_get(resp, "data");
    printf("imported %lld slots for %lld extensions into source %s\n",
           (long long)json_integer_value(json_object_get(d, "slots")),
           (long long)json_integer_value(json_object_get(d, "extensions")),
           pb_json_str(d, "source"));
    w->exit_code = 0;
  } else {
    fprintf(stderr, "ical-ingest: %s\n", pb_json_str(resp, "error"));
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(resp, "details"), i, e) {
      json_int_t line = json_integer_value(json_object_get(e, "line"));
      const char *where = pb_json_str(e, "where");
      if (line)
        fprintf(stderr, "%s:%lld: %s\n", w->file, (long long)line,
                pb_json_str(e, "error"));
      else
        fprintf(stderr, "%s: %s%s%s\n", w->file, where ? where : "",
                where ? ": " : "", pb_json_str(e, "error"));
    }
    w->exit_code = 1;
  }
  pb_loop_stop(w->loop);
}

static void on_cli_connect(struct pb_bus *bus, void *ud) {
  struct cli_wait *w = ud;
  if (w->sent)
    return;
  w->sent = true;
  if (pb_bus_request(bus, PB_SERVICE_ICAL_INGEST, PB_ACTION_IMPORT, w->request,
                     10000, on_cli_response, w)) {
    w->exit_code = 3;
    pb_loop_stop(w->loop);
  }
  w->request = NULL;
}

static void on_cli_timeout(struct pb_loop *loop, struct pb_timer *t, void *ud) {
  (void)t;
  struct cli_wait *w = ud;
  if (!w->sent) {
    fprintf(stderr, "ical-ingest: cannot connect to the broker at %s\n",
            "MQTT_URL");
    w->exit_code = 3;
    pb_loop_stop(loop);
  }
}

int ingest_import_cli(const struct pb_config *cfg, const char *file,
                      const char *format, const char *site, const char *source,
                      bool dry_run) {
  size_t max = (size_t)pb_config_int(cfg, PB_CFG_IMPORT_MAX_BYTES), len = 0;
  char *content = read_file(file, max, &len);
  if (!content)
    return 2;
  if (!format) {
    const char *dot = strrchr(file, '.');
    format = dot && strcasecmp(dot, ".json") == 0 ? "json" : "csv";
  }
  if (dry_run) {
    struct weekly_plan plan = {0};
    struct import_errors *errs = calloc(1, sizeof *errs);
    int rc = errs ? (strcasecmp(format, "json") == 0
                         ? ingest_parse_json(content, len, &plan, errs)
                         : ingest_parse_csv(content, len, &plan, errs))
                  : PB_ENOMEM;
    if (rc && errs)
      print_errors(errs, file);
    else if (!rc)
      printf("%s: %zu slots, valid\n", file, plan.count);
    ingest_plan_cleanup(&plan);
    free(errs);
    free(content);
    return rc ? 1 : 0;
  }
  struct cli_wait w = {.file = file, .exit_code = 3};
  w.request = json_pack("{s:s,s:s%,s:s,s:s}", "format", format, "content",
                        content, len, "site", site, "source", source);
  free(content);
  struct pb_bus *bus = NULL;
  struct pb_timer *timer = NULL;
  if (pb_loop_new(&w.loop))
    return 3;
  /* The command line speaks as the service it drives (its broker user may
   * write ical-ingest's requests), on a one-off clean session. */
  if (pb_bus_new_from_config(w.loop, cfg, "ical-ingest-cli",
                             PB_SERVICE_ICAL_INGEST, true, &bus) == 0) {
    pb_bus_on_connect(bus, on_cli_connect, &w);
    timer = pb_timer_new(w.loop, on_cli_timeout, &w);
    pb_timer_arm_in(timer, 10000);
    if (pb_bus_start(bus) == 0)
      pb_loop_run(w.loop);
  }
  json_decref(w.request);
  pb_timer_free(timer);
  pb_bus_free(bus);
  pb_loop_free(w.loop);
  return w.exit_code;
}
