/* Home Assistant MQTT discovery (home-assistant.io/integrations/mqtt,
 * "Device discovery payload"; select.mqtt, sensor.mqtt, binary_sensor.mqtt,
 * button.mqtt for the keys): one device per PBX extension, published
 * retained on <prefix>/device/<object_id>/config, with a select that sets
 * an override, a sensor for the status the PBX shows, a sensor for the
 * cause, a binary sensor "on a call" and a sensor for the call state (both
 * from yeastar-gateway's call topic), and a button that clears the
 * override. An empty retained config removes the device when the extension
 * leaves the PBX directory. docs/topics.md shows a full payload. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb/bus.h"
#include "pb/clock.h"
#include "pb/error.h"
#include "pb/log.h"
#include "pb/loop.h"
#include "pb/map.h"
#include "pb/payload_call.h"
#include "pb/topics.h"
#include "sched.h"

/* Publishing every device at once would queue megabytes in libmosquitto:
 * send a chunk, then wait until the broker has acknowledged most of it. */
#define CHUNK 200
#define MAX_UNACKED 400
#define PACE_MS 20

struct sched_ha {
  struct sched *s;
  char prefix[160];
  char status_topic[192];
  char config_pattern[192]; /* <prefix>/device/+/config */
  char root_id[64];         /* the root as a discovery id segment */
  char *to_label_tpl;       /* status value -> label */
  char *command_tpl;        /* label -> override/set payload */
  json_t *labels;           /* the select's options */
  struct pb_timer *pace;
  struct sched_ext **todo; /* snapshot being published */
  size_t ntodo, next;
};

static void on_pace(struct pb_loop *loop, struct pb_timer *t, void *ud);

static const char *const causes[] = {"override", "schedule", "default",
                                     "planning_off"};

/* ON (binary_sensor's default payload_on) for a phone that rings, dials,
 * talks or holds. */
#define ON_CALL_TEMPLATE                                                       \
  "{{ 'ON' if value_json.state in ['ringing', 'dialing', 'talking', "          \
  "'hold'] else 'OFF' }}"

/* A Jinja dictionary literal; JSON strings are valid Jinja strings. */
static void append_map(char *buf, size_t len, bool value_to_label) {
  size_t used = strlen(buf);
  used += (size_t)snprintf(buf + used, len - used, "{%% set m = {");
  for (int i = 0; i < PB_PRESENCE_COUNT && used < len; i++) {
    json_t *v = json_string(pb_presence_name((enum pb_presence)i));
    json_t *l = json_string(pb_presence_label((enum pb_presence)i));
    char *vs = json_dumps(v, JSON_ENCODE_ANY);
    char *ls = json_dumps(l, JSON_ENCODE_ANY);
    if (vs && ls)
      used +=
          (size_t)snprintf(buf + used, len - used, "%s%s: %s", i ? ", " : "",
                           value_to_label ? vs : ls, value_to_label ? ls : vs);
    free(vs);
    free(ls);
    json_decref(v);
    json_decref(l);
  }
  if (used < len)
    snprintf(buf + used, len - used, "} %%}");
}

int sched_ha_new(struct sched *s, const char *prefix, struct sched_ha **out) {
  struct sched_ha *ha = calloc(1, sizeof *ha);
  if (!ha)
    return PB_ENOMEM;
  ha->s = s;
  pb_strlcpy(ha->prefix, prefix, sizeof ha->prefix);
  if (pb_topic_ha_status(ha->status_topic, sizeof ha->status_topic, prefix) ||
      pb_topic_ha_config(ha->config_pattern, sizeof ha->config_pattern, prefix,
                         "+")) {
    pb_error("HA_DISCOVERY_PREFIX: '%s' is too long", prefix);
    free(ha);
    return PB_ECONFIG;
  }
  pb_strlcpy(ha->root_id, s->root, sizeof ha->root_id);
  for (char *c = ha->root_id; *c; c++) {
    if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
          (*c >= '0' && *c <= '9') || *c == '_' || *c == '-'))
      *c = '_';
  }
  char buf[2048] = "";
  append_map(buf, sizeof buf, true);
  size_t used = strlen(buf);
  snprintf(buf + used, sizeof buf - used,
           "{{ m.get(value_json.status, \"None\") }}");
  ha->to_label_tpl = strdup(buf);
  buf[0] = '\0';
  append_map(buf, sizeof buf, false);
  used = strlen(buf);
  snprintf(buf + used, sizeof buf - used,
           "{{ {\"status\": m.get(value, value), \"by\": \"home-assistant\"} | "
           "tojson }}");
  ha->command_tpl = strdup(buf);
  ha->labels = json_array();
  for (int i = 0; i < PB_PRESENCE_COUNT; i++)
    json_array_append_new(ha->labels,
                          json_string(pb_presence_label((enum pb_presence)i)));
  ha->pace = pb_timer_new(s->loop, on_pace, ha);
  if (!ha->pace || !ha->to_label_tpl || !ha->command_tpl || !ha->labels) {
    sched_ha_free(ha);
    return PB_ENOMEM;
  }
  *out = ha;
  return 0;
}

void sched_ha_free(struct sched_ha *ha) {
  if (!ha)
    return;
  pb_timer_free(ha->pace);
  free(ha->todo);
  free(ha->to_label_tpl);
  free(ha->command_tpl);
  json_decref(ha->labels);
  free(ha);
}

const char *sched_ha_status_topic(const struct sched_ha *ha) {
  return ha->status_topic;
}

const char *sched_ha_config_pattern(const struct sched_ha *ha) {
  return ha->config_pattern;
}

static void object_id(const struct sched_ha *ha, const struct sched_ext *e,
                      char *buf, size_t len) {
  snprintf(buf, len, "presencebus_%s_%s_%s", ha->root_id, e->site, e->ext);
}

void sched_ha_topic(const struct sched_ha *ha, const struct sched_ext *e,
                    char *buf, size_t len) {
  char id[256];
  object_id(ha, e, id, sizeof id);
  if (pb_topic_ha_config(buf, len, ha->prefix, id))
    pb_warn("the Home Assistant topic of device %s does not fit", id);
}

/* An absolute topic under the PresenceBus root: "" when it does not fit. */
static json_t *root_topic(const struct sched_ha *ha, const char *rel) {
  char buf[512];
  if (pb_topic_full(buf, sizeof buf, ha->s->root, rel))
    pb_warn("the topic %s/%s does not fit", ha->s->root, rel);
  return json_string(buf);
}

/* The absolute topic R/ext/<site>/<ext>/<leaf>. */
static json_t *ext_topic(const struct sched_ha *ha, const struct sched_ext *e,
                         const char *leaf) {
  char rel[256];
  if (sched_topic(e, leaf, rel, sizeof rel))
    pb_warn("the topic of %s/%s/%s does not fit", e->site, e->ext, leaf);
  return root_topic(ha, rel);
}

static json_t *availability(const struct sched_ha *ha, const char *service) {
  char leaf[96];
  if (pb_topic_svc(leaf, sizeof leaf, service, PB_SVC_AVAILABILITY))
    pb_warn("the availability topic of %s does not fit", service);
  json_t *a = json_object();
  json_object_set_new(a, "topic", root_topic(ha, leaf));
  json_object_set_new(a, "payload_available", json_string("online"));
  json_object_set_new(a, "payload_not_available", json_string("offline"));
  json_t *list = json_array();
  json_array_append_new(list, a);
  return list;
}

static json_t *component(const char *platform, const char *id, const char *key,
                         const char *name, const char *icon) {
  char uid[320];
  snprintf(uid, sizeof uid, "%s_%s", id, key);
  json_t *c = json_object();
  json_object_set_new(c, "platform", json_string(platform));
  json_object_set_new(c, "unique_id", json_string(uid));
  json_object_set_new(c, "name", json_string(name));
  json_object_set_new(c, "icon", json_string(icon));
  return c;
}

json_t *sched_ha_config(const struct sched_ha *ha, const struct sched_ext *e) {
  char id[256], name[PB_TEXT_MAX + PB_ID_MAX + 4];
  object_id(ha, e, id, sizeof id);
  if (e->name && *e->name)
    snprintf(name, sizeof name, "%s (%s)", e->name, e->ext);
  else
    snprintf(name, sizeof name, "Extension %s", e->ext);
  json_t *dev = json_object();
  json_t *ids = json_array();
  json_array_append_new(ids, json_string(id));
  json_object_set_new(dev, "identifiers", ids);
  json_object_set_new(dev, "name", json_string(name));
  json_object_set_new(dev, "manufacturer", json_string("PresenceBus"));
  json_object_set_new(dev, "model", json_string("PBX extension"));
  json_object_set_new(dev, "serial_number", json_string(e->ext));
  json_object_set_new(dev, "sw_version", json_string(PB_VERSION));
  json_t *origin = json_object();
  json_object_set_new(origin, "name", json_string("PresenceBus scheduler"));
  json_object_set_new(origin, "sw_version", json_string(PB_VERSION));

  json_t *cmps = json_object();
  json_t *c =
      component("select", id, "presence", "Presence", "mdi:account-clock");
  json_object_set_new(c, "command_topic",
                      ext_topic(ha, e, PB_EXT_OVERRIDE_SET));
  json_object_set_new(c, "command_template", json_string(ha->command_tpl));
  json_object_set_new(c, "state_topic", ext_topic(ha, e, PB_EXT_DESIRED));
  json_object_set_new(c, "value_template", json_string(ha->to_label_tpl));
  json_object_set_new(c, "options", json_deep_copy(ha->labels));
  json_object_set_new(cmps, "presence", c);

  c = component("sensor", id, "pbx_status", "PBX status", "mdi:phone-check");
  json_object_set_new(c, "state_topic", ext_topic(ha, e, PB_EXT_STATE));
  json_object_set_new(c, "value_template", json_string(ha->to_label_tpl));
  json_object_set_new(c, "device_class", json_string("enum"));
  json_object_set_new(c, "options", json_deep_copy(ha->labels));
  json_object_set_new(c, "json_attributes_topic",
                      ext_topic(ha, e, PB_EXT_STATE));
  /* What the PBX shows is only known while the gateway is up. */
  json_object_set_new(c, "availability", availability(ha, PB_SERVICE_GATEWAY));
  json_object_set_new(cmps, "pbx_status", c);

  c = component("sensor", id, "cause", "Cause", "mdi:calendar-question");
  json_object_set_new(c, "state_topic", ext_topic(ha, e, PB_EXT_DESIRED));
  json_object_set_new(c, "value_template",
                      json_string("{{ value_json.cause }}"));
  json_object_set_new(c, "device_class", json_string("enum"));
  json_t *opts = json_array();
  for (size_t i = 0; i < sizeof causes / sizeof causes[0]; i++)
    json_array_append_new(opts, json_string(causes[i]));
  json_object_set_new(c, "options", opts);
  /* since, next_change, the slot or override: why, and until when. */
  json_object_set_new(c, "json_attributes_topic",
                      ext_topic(ha, e, PB_EXT_DESIRED));
  json_object_set_new(cmps, "cause", c);

  /* What the phone is doing (yeastar-gateway's R/ext/<site>/<ext>/call):
   * "on a call" while it rings, dials, talks or holds; the state itself. */
  c = component("binary_sensor", id, "on_call", "On a call",
                "mdi:phone-in-talk");
  json_object_set_new(c, "state_topic", ext_topic(ha, e, PB_EXT_CALL));
  json_object_set_new(c, "value_template", json_string(ON_CALL_TEMPLATE));
  json_object_set_new(c, "availability", availability(ha, PB_SERVICE_GATEWAY));
  json_object_set_new(cmps, "on_call", c);

  c = component("sensor", id, "call_state", "Call state", "mdi:phone");
  json_object_set_new(c, "state_topic", ext_topic(ha, e, PB_EXT_CALL));
  json_object_set_new(c, "value_template",
                      json_string("{{ value_json.state }}"));
  json_object_set_new(c, "device_class", json_string("enum"));
  opts = json_array();
  for (int i = PB_CALL_IDLE; i <= PB_CALL_HOLD; i++)
    json_array_append_new(
        opts, json_string(pb_call_state_name((enum pb_call_state)i)));
  json_object_set_new(c, "options", opts);
  /* since, call_id, direction, peer, trunk, registered devices. */
  json_object_set_new(c, "json_attributes_topic",
                      ext_topic(ha, e, PB_EXT_CALL));
  json_object_set_new(c, "availability", availability(ha, PB_SERVICE_GATEWAY));
  json_object_set_new(cmps, "call_state", c);

  c = component("button", id, "clear_override", "Clear override",
                "mdi:account-cancel");
  json_object_set_new(c, "command_topic",
                      ext_topic(ha, e, PB_EXT_OVERRIDE_CLEAR));
  json_object_set_new(c, "payload_press",
                      json_string("{\"by\":\"home-assistant\"}"));
  json_object_set_new(cmps, "clear_override", c);

  json_t *j = json_object();
  json_object_set_new(j, "device", dev);
  json_object_set_new(j, "origin", origin);
  json_object_set_new(j, "availability",
                      availability(ha, PB_SERVICE_SCHEDULER));
  json_object_set_new(j, "qos", json_integer(1));
  json_object_set_new(j, "components", cmps);
  return j;
}

void sched_ha_publish(struct sched_ha *ha, struct sched_ext *e) {
  char topic[512];
  sched_ha_topic(ha, e, topic, sizeof topic);
  if (!*topic)
    return;
  json_t *j = sched_ha_config(ha, e);
  char *text = pb_json_dump(j);
  if (text)
    ha->s->io.publish(ha->s->io.ud, topic, text, strlen(text), true, true);
  free(text);
  json_decref(j);
}

void sched_ha_remove(struct sched_ha *ha, struct sched_ext *e) {
  char topic[512];
  sched_ha_topic(ha, e, topic, sizeof topic);
  if (!*topic)
    return;
  pb_info("%s/%s left the PBX directory: removing its Home Assistant device",
          e->site, e->ext);
  ha->s->io.publish(ha->s->io.ud, topic, "", 0, true, true);
}

/* The extension a device id "presencebus_<root>_<site>_<ext>" names: site
 * and extension may hold '_' themselves, so each split is tried. */
static struct sched_ext *ext_of_id(const struct sched_ha *ha, const char *id) {
  char own[96], rest[2 * PB_ID_MAX + 2];
  int n = snprintf(own, sizeof own, "presencebus_%s_", ha->root_id);
  if (n < 0 || (size_t)n >= sizeof own || strncmp(id, own, (size_t)n) != 0 ||
      strlen(id + n) >= sizeof rest)
    return NULL;
  pb_strlcpy(rest, id + n, sizeof rest);
  for (char *u = strchr(rest, '_'); u; u = strchr(u + 1, '_')) {
    *u = '\0';
    struct sched_ext *e = sched_ext_get(ha->s, rest, u + 1, false);
    *u = '_';
    if (e)
      return e;
  }
  return NULL;
}

void sched_ha_check_retained(struct sched_ha *ha, const char *topic,
                             const char *payload, size_t len) {
  char buf[512];
  const char *seg[8];
  int n = pb_topic_split(topic, buf, sizeof buf, seg, 8);
  /* <prefix>/device/<id>/config, the prefix having one or more levels. */
  if (n < 4 || strncmp(seg[n - 2], "presencebus_", 12) != 0)
    return; /* another program's device */
  char own[96];
  snprintf(own, sizeof own, "presencebus_%s_", ha->root_id);
  if (strncmp(seg[n - 2], own, strlen(own)) != 0)
    return; /* a PresenceBus of another root */
  struct sched_ext *e = ext_of_id(ha, seg[n - 2]);
  if (!e || !e->in_directory) {
    pb_info("removing a Home Assistant device left on the broker (%s): no "
            "such extension in the directory",
            topic);
    ha->s->io.publish(ha->s->io.ud, topic, "", 0, true, true);
    return;
  }
  json_t *j = sched_ha_config(ha, e);
  char *text = pb_json_dump(j);
  json_decref(j);
  if (text && (strlen(text) != len || memcmp(text, payload, len) != 0))
    sched_ha_publish(ha, e);
  free(text);
}

static void on_pace(struct pb_loop *loop, struct pb_timer *t, void *ud) {
  (void)loop;
  struct sched_ha *ha = ud;
  struct sched *s = ha->s;
  size_t sent = 0;
  while (ha->next < ha->ntodo && sent < CHUNK) {
    if (s->io.unacked && s->io.unacked(s->io.ud) > MAX_UNACKED)
      break;
    struct sched_ext *e = ha->todo[ha->next++];
    if (e->in_directory) {
      sched_ha_publish(ha, e);
      sent++;
    }
  }
  if (ha->next < ha->ntodo) {
    pb_timer_arm_in(t, sent ? 0 : PACE_MS);
    return;
  }
  pb_debug("Home Assistant discovery published for %zu extensions", ha->ntodo);
  free(ha->todo);
  ha->todo = NULL;
  ha->ntodo = ha->next = 0;
}

void sched_ha_publish_all(struct sched_ha *ha) {
  struct sched *s = ha->s;
  size_t n = pb_map_count(s->exts), pos = 0, k = 0;
  struct sched_ext **todo = n ? malloc(n * sizeof *todo) : NULL;
  if (n && !todo)
    return;
  struct sched_ext *e;
  while ((e = pb_map_next(s->exts, &pos, NULL)) && k < n) {
    if (e->in_directory)
      todo[k++] = e;
  }
  free(ha->todo);
  ha->todo = todo;
  ha->ntodo = k;
  ha->next = 0;
  if (k)
    pb_timer_arm_in(ha->pace, 0);
}
