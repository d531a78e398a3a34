/* Mapping calendar events to presence: an ordered rule list, first match
 * wins, matching SUMMARY, CATEGORIES, LOCATION, DESCRIPTION (RFC 5545
 * 3.8.1) by keyword or POSIX regex, or X-MICROSOFT-CDO-BUSYSTATUS
 * ([MS-OXCICAL] 2.1.3.1.1.20.2) by value, each giving a status or "ignore". */
#ifndef MAPPING_H
#define MAPPING_H

#include <stdbool.h>
#include <stddef.h>

#include "pb/presence.h"

struct cal_event_info;
struct json_t;
struct pb_config;

/* An ordered rule list and the status of events no rule matches (which may
 * be "ignore"). Opaque; built by the functions below, freed with
 * ingest_rules_free. Read-only once built, so one list may be shared. */
struct ingest_rules;

/* Longest rule list and longest pattern accepted, so that a configuration
 * cannot make every event cost unbounded work. */
#define INGEST_RULES_MAX 64
#define INGEST_RULE_PATTERN_MAX 256

/* The built-in list, suited to a French school planning and to Outlook:
 *   busystatus FREE -> ignore; summary/categories "cours", "formation"
 *   -> business_trip; "réunion" -> do_not_disturb; busystatus OOF -> away,
 *   BUSY -> do_not_disturb, WORKINGELSEWHERE -> business_trip;
 *   anything else -> do_not_disturb.
 * Caller frees; NULL when out of memory. */
struct ingest_rules *ingest_rules_new_default(void);

/* Parses a JSON array of rules, each an object:
 *   {"match": "summary"|"categories"|"location"|"description"|"any",
 *    "keyword": "cours" | "regex": "^TD[0-9]+",
 *    "status": "business_trip" | "ignore"}
 *   {"match": "busystatus", "value": "OOF", "status": "away"}
 * `default_status` (a presence value, alias or "ignore"; NULL or "" keeps
 * do_not_disturb) applies when no rule matches. An invalid rule is refused
 * with PB_EPARSE/PB_EINVAL and a reason naming it in err ("rule 3: regex
 * ... : unmatched parenthesis"); nothing is returned then. */
int ingest_rules_from_json(const struct json_t *rules,
                           const char *default_status,
                           struct ingest_rules **out, char *err, size_t errlen);
/* The same from JSON text (a configuration value). */
int ingest_rules_parse(const char *json, size_t len, const char *default_status,
                       struct ingest_rules **out, char *err, size_t errlen);
/* The global list from MAPPING_RULES / MAPPING_DEFAULT_STATUS (the built-in
 * list when MAPPING_RULES is empty). Errors name the key. */
int ingest_rules_from_config(const struct pb_config *cfg,
                             struct ingest_rules **out, char *err,
                             size_t errlen);
/* A source's own rules tried first, then the global ones; the source's
 * default status, when it has one, wins over the global default. Either
 * argument may be NULL. The result copies what it needs (caller frees). */
int ingest_rules_chain(const struct ingest_rules *first,
                       const struct ingest_rules *then,
                       struct ingest_rules **out);
void ingest_rules_free(struct ingest_rules *rules);

/* The status `ev` maps to. When the matching rule (or the default) says
 * "ignore", *ignore is set, PB_PRESENCE_NONE is returned, and the event
 * gives no slot. `ignore` may be NULL. */
enum pb_presence ingest_map_status(const struct ingest_rules *rules,
                                   const struct cal_event_info *ev,
                                   bool *ignore);
/* Index of the rule that decides `ev` (0-based), or -1 for the default. */
int ingest_map_rule_index(const struct ingest_rules *rules,
                          const struct cal_event_info *ev);

/* The rules back as a JSON array (for source/list responses) and the
 * default status ("ignore" or a presence value). New reference. */
struct json_t *ingest_rules_to_json(const struct ingest_rules *rules);
const char *ingest_rules_default_name(const struct ingest_rules *rules);
size_t ingest_rules_count(const struct ingest_rules *rules);

#endif
