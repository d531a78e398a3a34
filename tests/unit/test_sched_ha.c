/* Home Assistant MQTT discovery (ha_discovery.c): the device payload key for
 * key against the keys home-assistant.io documents for device discovery,
 * select, sensor, binary_sensor and button; the labels and templates; removal;
 * and the paced publication of every device. */
#include <stdio.h>

#include "pb/presence.h"
#include "test_sched_fake.h"

/* From home-assistant.io: integrations/mqtt (device discovery payload,
 * origin, availability) and select.mqtt, sensor.mqtt, binary_sensor.mqtt,
 * button.mqtt. */
static const char *const top_keys[] = {
    "device",     "origin",      "availability",  "availability_mode", "qos",
    "components", "state_topic", "command_topic", "encoding",          NULL};
static const char *const device_keys[] = {"configuration_url",
                                          "connections",
                                          "hw_version",
                                          "identifiers",
                                          "manufacturer",
                                          "model",
                                          "model_id",
                                          "name",
                                          "serial_number",
                                          "suggested_area",
                                          "sw_version",
                                          "via_device",
                                          NULL};
static const char *const origin_keys[] = {"name", "sw_version", "support_url",
                                          NULL};
static const char *const avail_keys[] = {"topic", "payload_available",
                                         "payload_not_available",
                                         "value_template", NULL};
static const char *const common_keys[] = {"availability",
                                          "availability_mode",
                                          "availability_template",
                                          "availability_topic",
                                          "device",
                                          "enabled_by_default",
                                          "encoding",
                                          "entity_category",
                                          "entity_picture",
                                          "icon",
                                          "json_attributes_template",
                                          "json_attributes_topic",
                                          "name",
                                          "object_id",
                                          "platform",
                                          "qos",
                                          "unique_id",
                                          NULL};
static const char *const select_keys[] = {
    "command_template", "command_topic", "optimistic",     "options",
    "retain",           "state_topic",   "value_template", NULL};
static const char *const sensor_keys[] = {"device_class",
                                          "expire_after",
                                          "force_update",
                                          "last_reset_value_template",
                                          "options",
                                          "payload_available",
                                          "payload_not_available",
                                          "suggested_display_precision",
                                          "state_class",
                                          "state_topic",
                                          "unit_of_measurement",
                                          "value_template",
                                          NULL};
static const char *const binary_sensor_keys[] = {"device_class",
                                                 "expire_after",
                                                 "force_update",
                                                 "off_delay",
                                                 "payload_available",
                                                 "payload_not_available",
                                                 "payload_off",
                                                 "payload_on",
                                                 "state_topic",
                                                 "value_template",
                                                 NULL};
static const char *const button_keys[] = {"command_template",
                                          "command_topic",
                                          "device_class",
                                          "payload_available",
                                          "payload_not_available",
                                          "payload_press",
                                          "retain",
                                          NULL};

static bool in_list(const char *const *list, const char *key) {
  for (; list && *list; list++)
    if (strcmp(*list, key) == 0)
      return true;
  return false;
}

/* Every key of obj is documented in one of the lists. */
static void keys_documented(json_t *obj, const char *const *a,
                            const char *const *b, const char *what) {
  const char *key;
  json_t *v;
  CHECK(json_is_object(obj));
  json_object_foreach(obj, key, v) {
    bool ok = in_list(a, key) || in_list(b, key);
    if (!ok)
      fprintf(stderr,
              "%s: key '%s' is not in the Home Assistant documentation\n", what,
              key);
    CHECK(ok);
  }
}

static const char *str(json_t *j, const char *key) {
  return json_string_value(json_object_get(j, key));
}

struct env {
  struct pb_loop *loop;
  struct pb_tz *tz;
  struct sched s;
};

static void start(struct env *v) {
  memset(v, 0, sizeof *v);
  fake_reset();
  CHECK_INT(pb_loop_new(&v->loop), 0);
  CHECK_INT(pb_tz_load("Europe/Paris", &v->tz), 0);
  CHECK_INT(sched_init(&v->s, v->loop, v->tz, PB_PRESENCE_AVAILABLE, &fake_io),
            0);
  v->s.root = "presence";
  CHECK_INT(sched_ha_new(&v->s, "homeassistant", &v->s.ha), 0);
}

static void stop(struct env *v) {
  sched_cleanup(&v->s);
  pb_tz_free(v->tz);
  pb_loop_free(v->loop);
}

static void payload_key_for_key(void) {
  struct env v;
  start(&v);
  struct sched_ext *e = sched_ext_get(&v.s, "main", "2000", true);
  e->name = strdup("Alice Martin");
  e->in_directory = true;
  char topic[256];
  sched_ha_topic(v.s.ha, e, topic, sizeof topic);
  CHECK_STR(topic,
            "homeassistant/device/presencebus_presence_main_2000/config");
  CHECK_STR(sched_ha_status_topic(v.s.ha), "homeassistant/status");
  json_t *j = sched_ha_config(v.s.ha, e);
  keys_documented(j, top_keys, NULL, "device discovery");
  json_t *dev = json_object_get(j, "device");
  keys_documented(dev, device_keys, NULL, "device");
  CHECK_STR(str(dev, "name"), "Alice Martin (2000)");
  CHECK_STR(
      json_string_value(json_array_get(json_object_get(dev, "identifiers"), 0)),
      "presencebus_presence_main_2000");
  keys_documented(json_object_get(j, "origin"), origin_keys, NULL, "origin");
  CHECK(str(json_object_get(j, "origin"), "name") != NULL); /* required */
  json_t *av = json_array_get(json_object_get(j, "availability"), 0);
  keys_documented(av, avail_keys, NULL, "availability");
  CHECK_STR(str(av, "topic"), "presence/svc/scheduler/availability");
  json_t *cmps = json_object_get(j, "components");
  CHECK_INT(json_object_size(cmps), 6);
  const char *key;
  json_t *c;
  json_object_foreach(cmps, key, c) {
    const char *p = str(c, "platform");
    CHECK(p != NULL);
    CHECK(str(c, "unique_id") != NULL); /* required with device discovery */
    const char *const *own = !p                         ? NULL
                             : strcmp(p, "select") == 0 ? select_keys
                             : strcmp(p, "sensor") == 0 ? sensor_keys
                             : strcmp(p, "button") == 0 ? button_keys
                             : strcmp(p, "binary_sensor") == 0
                                 ? binary_sensor_keys
                                 : NULL;
    CHECK(own != NULL);
    keys_documented(c, common_keys, own, key);
  }
  json_t *sel = json_object_get(cmps, "presence");
  CHECK_STR(str(sel, "platform"), "select");
  CHECK_STR(str(sel, "command_topic"), "presence/ext/main/2000/override/set");
  CHECK_STR(str(sel, "state_topic"), "presence/ext/main/2000/desired");
  CHECK_INT(json_array_size(json_object_get(sel, "options")),
            PB_PRESENCE_COUNT);
  CHECK_STR(
      json_string_value(json_array_get(json_object_get(sel, "options"), 4)),
      "Lunch Break");
  CHECK(strstr(str(sel, "command_template"), "\"Lunch Break\": \"lunch\"") !=
        NULL);
  CHECK(strstr(str(sel, "value_template"), "\"lunch\": \"Lunch Break\"") !=
        NULL);
  json_t *pbx = json_object_get(cmps, "pbx_status");
  CHECK_STR(str(pbx, "platform"), "sensor");
  CHECK_STR(str(pbx, "state_topic"), "presence/ext/main/2000/state");
  CHECK_STR(
      str(json_array_get(json_object_get(pbx, "availability"), 0), "topic"),
      "presence/svc/yeastar-gateway/availability");
  json_t *cause = json_object_get(cmps, "cause");
  CHECK_STR(str(cause, "state_topic"), "presence/ext/main/2000/desired");
  CHECK_STR(str(cause, "device_class"), "enum");
  CHECK_INT(json_array_size(json_object_get(cause, "options")), 4);
  /* The phone's call (yeastar-gateway): on a call, and which state. */
  json_t *on = json_object_get(cmps, "on_call");
  CHECK_STR(str(on, "platform"), "binary_sensor");
  CHECK_STR(str(on, "state_topic"), "presence/ext/main/2000/call");
  CHECK_STR(str(on, "value_template"),
            "{{ 'ON' if value_json.state in ['ringing', 'dialing', 'talking', "
            "'hold'] else 'OFF' }}");
  CHECK(json_object_get(on, "payload_on") == NULL); /* ON, the default */
  CHECK_STR(
      str(json_array_get(json_object_get(on, "availability"), 0), "topic"),
      "presence/svc/yeastar-gateway/availability");
  json_t *cs = json_object_get(cmps, "call_state");
  CHECK_STR(str(cs, "platform"), "sensor");
  CHECK_STR(str(cs, "state_topic"), "presence/ext/main/2000/call");
  CHECK_STR(str(cs, "json_attributes_topic"), "presence/ext/main/2000/call");
  CHECK_STR(str(cs, "value_template"), "{{ value_json.state }}");
  CHECK_STR(str(cs, "device_class"), "enum");
  json_t *states = json_object_get(cs, "options");
  CHECK_INT(json_array_size(states), 5);
  const char *const want[] = {"idle", "ringing", "dialing", "talking", "hold"};
  for (size_t i = 0; i < 5; i++)
    CHECK_STR(json_string_value(json_array_get(states, i)), want[i]);
  CHECK_STR(
      str(json_array_get(json_object_get(cs, "availability"), 0), "topic"),
      "presence/svc/yeastar-gateway/availability");
  json_t *btn = json_object_get(cmps, "clear_override");
  CHECK_STR(str(btn, "platform"), "button");
  CHECK_STR(str(btn, "command_topic"), "presence/ext/main/2000/override/clear");
  CHECK_STR(str(btn, "payload_press"), "{\"by\":\"home-assistant\"}");
  json_decref(j);
  /* Without a name from the PBX. */
  struct sched_ext *f = sched_ext_get(&v.s, "main", "2001", true);
  j = sched_ha_config(v.s.ha, f);
  CHECK_STR(str(json_object_get(j, "device"), "name"), "Extension 2001");
  json_decref(j);
  /* Removal: an empty retained config on the same topic. */
  size_t m = fake_mark();
  sched_ha_remove(v.s.ha, e);
  CHECK_INT(fake_n(m, topic), 1);
  CHECK_STR(fake_last_text(m, topic), "");
  CHECK(fake_msgs[fake_count - 1].retain && fake_msgs[fake_count - 1].absolute);
  stop(&v);
}

static void configured_labels(void) {
  char err[128];
  CHECK_INT(pb_presence_set_labels("lunch=Face à face \"pédagogique\"", err,
                                   sizeof err),
            0);
  struct env v;
  start(&v);
  struct sched_ext *e = sched_ext_get(&v.s, "main", "2000", true);
  json_t *j = sched_ha_config(v.s.ha, e);
  json_t *sel = json_object_get(json_object_get(j, "components"), "presence");
  CHECK_STR(
      json_string_value(json_array_get(json_object_get(sel, "options"), 4)),
      "Face à face \"pédagogique\"");
  /* Quotes are escaped the JSON way, which Jinja reads alike. */
  CHECK(strstr(str(sel, "command_template"),
               "\"Face à face \\\"pédagogique\\\"\": \"lunch\"") != NULL);
  json_decref(j);
  stop(&v);
  CHECK_INT(pb_presence_set_labels("", err, sizeof err), 0);
}

/* Publishing every device waits for the broker's acknowledgements. */
static void publish_all_is_paced(void) {
  struct env v;
  start(&v);
  set_now("2026-11-23T07:00:00+01:00");
  for (int i = 0; i < 500; i++) {
    char ext[16];
    snprintf(ext, sizeof ext, "%d", 3000 + i);
    struct sched_ext *e = sched_ext_get(&v.s, "main", ext, true);
    e->in_directory = i % 5 != 0; /* 400 in the directory */
  }
  fake_unacked = 10000;
  size_t m = fake_mark();
  sched_ha_publish_all(v.s.ha);
  turn(v.loop);
  CHECK_INT(fake_count - m, 0);
  fake_unacked = 0;
  for (int k = 0; k < 20; k++) {
    pb_clock_advance(50);
    turn(v.loop);
  }
  CHECK_INT(fake_count - m, 400);
  for (size_t i = m; i < fake_count; i++)
    CHECK(fake_msgs[i].absolute && fake_msgs[i].retain);
  stop(&v);
}

int main(void) {
  RUN(payload_key_for_key);
  RUN(configured_labels);
  RUN(publish_all_is_paced);
  fake_reset();
  return CHECK_DONE();
}
