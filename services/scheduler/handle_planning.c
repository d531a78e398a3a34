/* Planning on/off per extension: R/ext/<site>/<ext>/planning/set with "on"
 * or "off"; the state is retained on R/ext/<site>/<ext>/planning. With
 * planning off the scheduler imposes nothing but overrides. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "pb/bus.h"
#include "pb/clock.h"
#include "pb/log.h"
#include "sched.h"

static int parse_on_off(const char *p, size_t len, bool *on) {
  char word[16];
  while (len && (p[len - 1] == ' ' || p[len - 1] == '\n' || p[len - 1] == '\r'))
    len--;
  while (len && *p == ' ') {
    p++;
    len--;
  }
  if (len >= 2 && p[0] == '"' && p[len - 1] == '"') {
    p++;
    len -= 2;
  }
  if (len == 0 || len >= sizeof word)
    return -1;
  memcpy(word, p, len);
  word[len] = '\0';
  if (!strcasecmp(word, "on") || !strcasecmp(word, "true") || !strcmp(word, "1")) {
    *on = true;
    return 0;
  }
  if (!strcasecmp(word, "off") || !strcasecmp(word, "false") || !strcmp(word, "0")) {
    *on = false;
    return 0;
  }
  return -1;
}

void sched_planning_publish(struct sched *s, const struct sched_ext *e) {
  char topic[256];
  snprintf(topic, sizeof topic, "ext/%s/%s/planning", e->site, e->ext);
  pb_bus_publish_str(s->bus, topic, e->planning_off ? "off" : "on", true);
}

static void on_planning_set(struct pb_bus *bus, const struct pb_bus_msg *msg,
                            void *ud) {
  (void)bus;
  struct sched *s = ud;
  char site[PB_ID_MAX], ext[PB_ID_MAX];
  bool on;
  if (!sched_topic_ext(msg->topic, site, ext)) {
    pb_bus_error_event(s->bus, msg, "site and extension must be [A-Za-z0-9_-]");
    return;
  }
  if (parse_on_off(msg->payload, msg->len, &on)) {
    pb_bus_error_event(s->bus, msg, "planning must be set to 'on' or 'off'");
    return;
  }
  struct sched_ext *e = sched_ext_get(s, site, ext, true);
  if (!e)
    return;
  e->planning_off = !on;
  e->input_changed_at = pb_clock_now();
  sched_store_save_planning(s, e);
  pb_info("planning of %s/%s switched %s", site, ext, on ? "on" : "off");
  pb_bus_command_result(s->bus, msg, NULL);
  sched_planning_publish(s, e);
  sched_evaluate(e, false);
}

int sched_planning_register(struct sched *s) {
  return pb_bus_subscribe(s->bus, "ext/+/+/planning/set", on_planning_set, s);
}
