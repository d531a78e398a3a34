/* The topic names of the bus contract (docs/topics.md), in one place: every
 * topic a service publishes or subscribes to is built here, so no topic
 * format string is written twice. Topics are relative to the root R unless
 * said otherwise. The formatters write into the caller's buffer and return 0,
 * or PB_ETOOBIG when it does not fit (the buffer then holds "", never a
 * shortened topic). Their arguments are written as given: "+" makes a
 * subscription pattern. */
#ifndef PB_TOPICS_H
#define PB_TOPICS_H

#include <stddef.h>

#include "pb/error.h"

/* ---- Leaves of R/ext/<site>/<ext>/<leaf> ---- */
#define PB_EXT_SCHEDULE "schedule"             /* ical-ingest, retained */
#define PB_EXT_DESIRED "desired"               /* scheduler, retained */
#define PB_EXT_STATE "state"                   /* yeastar-gateway, retained */
#define PB_EXT_OVERRIDE "override"             /* scheduler, retained */
#define PB_EXT_OVERRIDE_SET "override/set"     /* command */
#define PB_EXT_OVERRIDE_CLEAR "override/clear" /* command */
#define PB_EXT_PLANNING "planning"             /* scheduler, retained */
#define PB_EXT_PLANNING_SET "planning/set"     /* command */
#define PB_EXT_SETTINGS "settings"             /* scheduler, retained */
#define PB_EXT_SETTINGS_SET "settings/set"     /* command */
#define PB_EXT_CALL "call"                     /* yeastar-gateway, retained */

/* ---- Leaves of R/site/<site>/<leaf> ---- */
#define PB_SITE_DIRECTORY "directory" /* yeastar-gateway, retained */
#define PB_SITE_STATUS "status"       /* yeastar-gateway, retained */
#define PB_SITE_PBX_EVENT "pbx_event" /* web-api (webhook relay) */
#define PB_SITE_CALLS "calls"         /* yeastar-gateway, retained */

/* ---- Leaves of R/svc/<service>/<leaf> ---- */
#define PB_SVC_AVAILABILITY "availability" /* every service, last will */
#define PB_SVC_PUBKEY "pubkey"             /* sealed requests' key */

/* ---- Kinds of R/events/<kind> ---- */
#define PB_EVENT_OVERRIDE "override"
#define PB_EVENT_SOURCE "source"
#define PB_EVENT_SETTINGS "settings"
#define PB_EVENT_ERROR "error"
#define PB_EVENT_APPLY "apply"
#define PB_EVENT_APPLY_FAILED "apply_failed"
#define PB_EVENT_PBX_ERROR "pbx_error"
#define PB_EVENT_PBX_RECOVERED "pbx_recovered"
#define PB_EVENT_DRIFT "drift"
#define PB_EVENT_CDR "cdr" /* one finished call */

/* ---- The services: <service> of R/svc/<service>/... ---- */
#define PB_SERVICE_ICAL_INGEST "ical-ingest"
#define PB_SERVICE_SCHEDULER "scheduler"
#define PB_SERVICE_GATEWAY "yeastar-gateway"
#define PB_SERVICE_WEB_API "web-api"
#define PB_SERVICE_CALL_LOG "call-log"

/* ---- Actions of R/svc/<service>/request/<action> and response/<action> */
#define PB_ACTION_IMPORT "import"                       /* ical-ingest */
#define PB_ACTION_SOURCE_ADD "source/add"               /* ical-ingest */
#define PB_ACTION_SOURCE_UPDATE "source/update"         /* ical-ingest */
#define PB_ACTION_SOURCE_REMOVE "source/remove"         /* ical-ingest */
#define PB_ACTION_SOURCE_LIST "source/list"             /* ical-ingest */
#define PB_ACTION_SOURCE_REFRESH "source/refresh"       /* ical-ingest */
#define PB_ACTION_SETTINGS "settings"                   /* scheduler */
#define PB_ACTION_SITE_ADD "site/add"                   /* yeastar-gateway */
#define PB_ACTION_SITE_UPDATE "site/update"             /* yeastar-gateway */
#define PB_ACTION_SITE_REMOVE "site/remove"             /* yeastar-gateway */
#define PB_ACTION_SITE_LIST "site/list"                 /* yeastar-gateway */
#define PB_ACTION_SITE_TEST "site/test"                 /* yeastar-gateway */
#define PB_ACTION_DIRECTORY_REFRESH "directory/refresh" /* yeastar-gateway */
#define PB_ACTION_CDR_SEARCH "cdr/search"               /* yeastar-gateway */
#define PB_ACTION_CALL_DIAL "call/dial"                 /* yeastar-gateway */
#define PB_ACTION_RECORDING_GET "recording/get"         /* yeastar-gateway */
#define PB_ACTION_CALLS_SEARCH "search"                 /* call-log */
#define PB_ACTION_CALLS_STATS "stats"                   /* call-log */
#define PB_ACTION_CALLS_GET "get"                       /* call-log */
/* Only a response: where a service answers a command sent on an ext/...
 * topic with an MQTT 5 response topic. */
#define PB_ACTION_COMMAND "command"

/* ---- Subscription patterns over every site, extension or service ----
 * `leaf` must be one of the string literals above. */
#define PB_TOPIC_EXT_ALL(leaf) "ext/+/+/" leaf
#define PB_TOPIC_SITE_ALL(leaf) "site/+/" leaf
#define PB_TOPIC_SVC_ALL(leaf) "svc/+/" leaf
/* events/<kind>: what an events handler strips to read the kind */
#define PB_TOPIC_EVENTS_PREFIX "events/"
#define PB_TOPIC_EVENTS_ALL PB_TOPIC_EVENTS_PREFIX "+"
/* Every response of every service; actions may have several levels
 * (source/list, site/test). */
#define PB_TOPIC_RESPONSES_ALL "svc/+/response/#"

/* ext/<site>/<ext>/<leaf> */
PB_MUST_CHECK int pb_topic_ext(char *buf, size_t len, const char *site,
                               const char *ext, const char *leaf);
/* site/<site>/<leaf> */
PB_MUST_CHECK int pb_topic_site(char *buf, size_t len, const char *site,
                                const char *leaf);
/* svc/<service>/<leaf>: availability, pubkey */
PB_MUST_CHECK int pb_topic_svc(char *buf, size_t len, const char *service,
                               const char *leaf);
/* svc/<service>/request/<action> */
PB_MUST_CHECK int pb_topic_request(char *buf, size_t len, const char *service,
                                   const char *action);
/* svc/<service>/response/<action> */
PB_MUST_CHECK int pb_topic_response(char *buf, size_t len, const char *service,
                                    const char *action);
/* events/<kind> */
PB_MUST_CHECK int pb_topic_event(char *buf, size_t len, const char *kind);
/* svc/<service>/source/<id>/status: a planning source's state (ical-ingest) */
PB_MUST_CHECK int pb_topic_source_status(char *buf, size_t len,
                                         const char *service, const char *id);
/* <root>/<rel>: a topic as the broker sees it */
PB_MUST_CHECK int pb_topic_full(char *buf, size_t len, const char *root,
                                const char *rel);

/* ---- Home Assistant's topics, outside the root: <HA> is
 * HA_DISCOVERY_PREFIX ---- */
/* <HA>/device/<object_id>/config: a device's discovery config */
PB_MUST_CHECK int pb_topic_ha_config(char *buf, size_t len, const char *prefix,
                                     const char *object_id);
/* <HA>/status: Home Assistant's birth message */
PB_MUST_CHECK int pb_topic_ha_status(char *buf, size_t len, const char *prefix);

#endif
