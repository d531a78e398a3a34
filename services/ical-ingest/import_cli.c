/* The --import command line: sends a weekly planning file to the running
 * service over R/svc/ical-ingest/request/import (handle_import.c) and prints
 * its answer; --dry-run only checks the file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ingest.h"
#include "pb/bus.h"
#include "pb/config.h"
#include "pb/error.h"
#include "pb/loop.h"
#include "pb/topics.h"

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
