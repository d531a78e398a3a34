/* What a service under unit test would have published, recorded in order
 * (mosquitto's *_stubs.c pattern): the one recorder behind the scheduler's
 * and the gateway's fake I/O (test_sched_fake.h, test_gw_fake.h). Tests
 * take a mark, act, then ask what was published on a topic since. */
#ifndef TEST_FAKE_BUS_H
#define TEST_FAKE_BUS_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb/error.h"
#include "pb/json.h"
#include "pb/topics.h"

/* Not every test uses every helper. */
#define FAKE_UNUSED __attribute__((unused))

struct fake_msg {
  char topic[256];
  char *payload;
  bool retain, absolute;
};

static struct fake_msg fake_msgs[20000];
static size_t fake_count;

/* Records one publish; PB_ETOOBIG once the record is full. */
FAKE_UNUSED static int fake_record(const char *topic, const char *payload,
                                   size_t len, bool retain, bool absolute) {
  if (fake_count == sizeof fake_msgs / sizeof fake_msgs[0])
    return PB_ETOOBIG;
  char *copy = strndup(payload, len);
  if (!copy)
    return PB_ENOMEM;
  struct fake_msg *m = &fake_msgs[fake_count++];
  snprintf(m->topic, sizeof m->topic, "%s", topic);
  m->payload = copy;
  m->retain = retain;
  m->absolute = absolute;
  return 0;
}

/* As pb_bus_event, without "at" and "service": events/<kind> with "kind"
 * added; takes `ev`. */
FAKE_UNUSED static int fake_record_event(const char *kind, json_t *ev) {
  char topic[64];
  int rc = pb_topic_event(topic, sizeof topic, kind);
  char *text = NULL;
  if (!rc) {
    json_object_set_new(ev, "kind", json_string(kind));
    text = json_dumps(ev, JSON_COMPACT);
    rc =
        text ? fake_record(topic, text, strlen(text), false, false) : PB_ENOMEM;
  }
  free(text);
  json_decref(ev);
  return rc;
}

/* Forgets every message recorded. */
FAKE_UNUSED static void fake_forget_msgs(void) {
  for (size_t i = 0; i < fake_count; i++)
    free(fake_msgs[i].payload);
  fake_count = 0;
}

FAKE_UNUSED static size_t fake_mark(void) {
  return fake_count;
}

/* The number of messages on `topic` since mark. */
FAKE_UNUSED static size_t fake_n(size_t mark, const char *topic) {
  size_t n = 0;
  for (size_t i = mark; i < fake_count; i++)
    n += strcmp(fake_msgs[i].topic, topic) == 0;
  return n;
}

/* The last message on `topic` since mark, as text ("" for a cleared
 * retained topic), or NULL when none. */
FAKE_UNUSED static const char *fake_last_text(size_t mark, const char *topic) {
  for (size_t i = fake_count; i > mark; i--)
    if (strcmp(fake_msgs[i - 1].topic, topic) == 0)
      return fake_msgs[i - 1].payload;
  return NULL;
}

/* The last message on `topic` since mark, parsed (NULL when none or
 * empty); the caller decrefs. */
FAKE_UNUSED static json_t *fake_last(size_t mark, const char *topic) {
  const char *text = fake_last_text(mark, topic);
  return text && *text ? json_loads(text, 0, NULL) : NULL;
}

#endif
