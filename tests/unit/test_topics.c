/* The topic table (pb/topics.h): each formatter gives the topic
 * docs/topics.md names, and a buffer too small gives PB_ETOOBIG and "". */
#include <string.h>

#include "check.h"
#include "pb/error.h"
#include "pb/topics.h"

static void ext_topics(void) {
  char t[64];
  CHECK_INT(pb_topic_ext(t, sizeof t, "main", "2000", PB_EXT_SCHEDULE), 0);
  CHECK_STR(t, "ext/main/2000/schedule");
  CHECK_INT(pb_topic_ext(t, sizeof t, "main", "2000", PB_EXT_OVERRIDE_SET), 0);
  CHECK_STR(t, "ext/main/2000/override/set");
  CHECK_INT(pb_topic_ext(t, sizeof t, "+", "+", PB_EXT_DESIRED), 0);
  CHECK_STR(t, PB_TOPIC_EXT_ALL(PB_EXT_DESIRED));
  CHECK_STR(PB_TOPIC_EXT_ALL(PB_EXT_SETTINGS_SET), "ext/+/+/settings/set");
  CHECK_STR(PB_TOPIC_EXT_ALL(PB_EXT_PLANNING_SET), "ext/+/+/planning/set");
  CHECK_STR(PB_TOPIC_EXT_ALL(PB_EXT_OVERRIDE_CLEAR), "ext/+/+/override/clear");
  CHECK_STR(PB_TOPIC_EXT_ALL(PB_EXT_STATE), "ext/+/+/state");
}

static void site_and_svc_topics(void) {
  char t[64];
  CHECK_INT(pb_topic_site(t, sizeof t, "main", PB_SITE_DIRECTORY), 0);
  CHECK_STR(t, "site/main/directory");
  CHECK_STR(PB_TOPIC_SITE_ALL(PB_SITE_PBX_EVENT), "site/+/pbx_event");
  CHECK_INT(pb_topic_svc(t, sizeof t, "scheduler", PB_SVC_AVAILABILITY), 0);
  CHECK_STR(t, "svc/scheduler/availability");
  CHECK_STR(PB_TOPIC_SVC_ALL(PB_SVC_PUBKEY), "svc/+/pubkey");
  CHECK_INT(pb_topic_request(t, sizeof t, "ical-ingest", "source/add"), 0);
  CHECK_STR(t, "svc/ical-ingest/request/source/add");
  CHECK_INT(pb_topic_response(t, sizeof t, "scheduler", PB_ACTION_COMMAND), 0);
  CHECK_STR(t, "svc/scheduler/response/command");
  CHECK_STR(PB_TOPIC_RESPONSES_ALL, "svc/+/response/#");
  CHECK_INT(pb_topic_source_status(t, sizeof t, "ical-ingest", "alice"), 0);
  CHECK_STR(t, "svc/ical-ingest/source/alice/status");
  CHECK_INT(pb_topic_event(t, sizeof t, PB_EVENT_APPLY_FAILED), 0);
  CHECK_STR(t, "events/apply_failed");
  CHECK_STR(PB_TOPIC_EVENTS_ALL, "events/+");
  CHECK_INT(pb_topic_full(t, sizeof t, "presence", "events/error"), 0);
  CHECK_STR(t, "presence/events/error");
}

static void home_assistant_topics(void) {
  char t[96];
  CHECK_INT(pb_topic_ha_config(t, sizeof t, "homeassistant",
                               "presencebus_presence_main_2000"),
            0);
  CHECK_STR(t, "homeassistant/device/presencebus_presence_main_2000/config");
  CHECK_INT(pb_topic_ha_config(t, sizeof t, "homeassistant", "+"), 0);
  CHECK_STR(t, "homeassistant/device/+/config");
  CHECK_INT(pb_topic_ha_status(t, sizeof t, "homeassistant"), 0);
  CHECK_STR(t, "homeassistant/status");
}

/* A topic that does not fit is refused whole: never a shortened topic,
 * which would be another, valid one ("ext/main/20" for "ext/main/2000"). */
static void truncation(void) {
  char t[32];
  const char *exact = "ext/main/2000/override/clear"; /* 28 bytes */
  CHECK_INT(pb_topic_ext(t, 29, "main", "2000", PB_EXT_OVERRIDE_CLEAR), 0);
  CHECK_STR(t, exact);
  memset(t, 'x', sizeof t);
  CHECK_INT(pb_topic_ext(t, 28, "main", "2000", PB_EXT_OVERRIDE_CLEAR),
            PB_ETOOBIG);
  CHECK_STR(t, "");
  CHECK_INT(pb_topic_event(t, 7, "error"), PB_ETOOBIG);
  CHECK_STR(t, "");
  CHECK_INT(pb_topic_full(t, 0, "presence", "x"), PB_ETOOBIG);
  CHECK_INT(pb_topic_svc(NULL, 10, "scheduler", PB_SVC_PUBKEY), PB_ETOOBIG);
  char big[200];
  memset(big, 'a', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  CHECK_INT(pb_topic_ha_status(t, sizeof t, big), PB_ETOOBIG);
  CHECK_STR(t, "");
}

int main(void) {
  RUN(ext_topics);
  RUN(site_and_svc_topics);
  RUN(home_assistant_topics);
  RUN(truncation);
  return CHECK_DONE();
}
