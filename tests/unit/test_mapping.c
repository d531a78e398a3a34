/* Unit tests of the event-to-presence rules (services/ical-ingest/
 * mapping_rules.c): the built-in French school / Outlook list, keyword and
 * regex matching, order, defaults, chaining, and every refusal. */
#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "check.h"
#include "mapping.h"
#include "pb/config.h"
#include "pb/error.h"
#include "pb/json.h"

static struct cal_event_info ev_summary(const char *summary) {
  struct cal_event_info ev = {.uid = "u1", .summary = summary};
  return ev;
}

static const char *map_name(const struct ingest_rules *r,
                            const struct cal_event_info *ev) {
  bool ignore = false;
  enum pb_presence p = ingest_map_status(r, ev, &ignore);
  if (ignore) {
    CHECK_INT(p, PB_PRESENCE_NONE);
    return "ignore";
  }
  return pb_presence_name(p);
}

static struct ingest_rules *parse(const char *json, const char *def, int *rc,
                                  char *err, size_t errlen) {
  struct ingest_rules *r = NULL;
  err[0] = '\0';
  *rc = ingest_rules_parse(json, strlen(json), def, &r, err, errlen);
  return r;
}

static void test_builtin_school_and_outlook(void) {
  struct ingest_rules *r = ingest_rules_new_default();
  CHECK(r != NULL);
  struct cal_event_info ev = ev_summary("Cours de mathématiques 4B");
  CHECK_STR(map_name(r, &ev), "business_trip");
  ev = ev_summary("FORMATION sécurité incendie");
  CHECK_STR(map_name(r, &ev), "business_trip");
  ev = ev_summary("Réunion parents-professeurs");
  CHECK_STR(map_name(r, &ev), "do_not_disturb");
  /* accents and case are ignored both ways, plurals are found */
  ev = ev_summary("REUNIONS d'équipe");
  CHECK_STR(map_name(r, &ev), "do_not_disturb");
  ev = ev_summary("réunion");
  CHECK_STR(map_name(r, &ev), "do_not_disturb");
  /* a keyword starts a word: "cours" is not found inside "concours" */
  ev = ev_summary("Concours blanc");
  CHECK_STR(map_name(r, &ev), "do_not_disturb"); /* the default */
  ev = (struct cal_event_info){.summary = "Salle 12",
                               .categories = "Examen,Cours"};
  CHECK_STR(map_name(r, &ev), "business_trip");
  /* Outlook */
  ev = (struct cal_event_info){.summary = "Vacation", .busystatus = "OOF"};
  CHECK_STR(map_name(r, &ev), "away");
  ev = (struct cal_event_info){.summary = "Call", .busystatus = "BUSY"};
  CHECK_STR(map_name(r, &ev), "do_not_disturb");
  ev = (struct cal_event_info){.summary = "Lunch?", .busystatus = " free "};
  CHECK_STR(map_name(r, &ev), "ignore");
  ev = (struct cal_event_info){.summary = "Site visit",
                               .busystatus = "WORKINGELSEWHERE"};
  CHECK_STR(map_name(r, &ev), "business_trip");
  /* TENTATIVE has no rule of its own: the default */
  ev = (struct cal_event_info){.summary = "Maybe", .busystatus = "TENTATIVE"};
  CHECK_STR(map_name(r, &ev), "do_not_disturb");
  CHECK_INT(ingest_map_rule_index(r, &ev), -1);
  /* FREE comes first: a free "Cours" is ignored */
  ev = (struct cal_event_info){.summary = "Cours annulé", .busystatus = "FREE"};
  CHECK_STR(map_name(r, &ev), "ignore");
  CHECK_INT(ingest_map_rule_index(r, &ev), 0);
  /* an event without any text maps to the default */
  ev = (struct cal_event_info){0};
  CHECK_STR(map_name(r, &ev), "do_not_disturb");
  CHECK_STR(ingest_rules_default_name(r), "do_not_disturb");
  CHECK_INT(ingest_rules_count(r), 6);
  ingest_rules_free(r);
  /* NULL rules: every event is do_not_disturb; NULL ignore is allowed */
  ev = ev_summary("x");
  CHECK_INT(ingest_map_status(NULL, &ev, NULL), PB_PRESENCE_DO_NOT_DISTURB);
}

static void test_order_first_match_wins(void) {
  char err[512];
  int rc;
  struct ingest_rules *r = parse(
      "[{\"match\":\"summary\",\"keyword\":\"formation\",\"status\":\"lunch\"},"
      " {\"match\":\"any\",\"keyword\":[\"formation\",\"stage\"],\"status\":"
      "\"away\"},"
      " {\"match\":\"location\",\"regex\":\"^Salle "
      "[0-9]+$\",\"status\":\"ignore\"},"
      " {\"match\":[\"description\",\"categories\"],\"regex\":\"visio|zoom\","
      "  \"status\":\"dnd\"}]",
      "off_work", &rc, err, sizeof err);
  CHECK_INT(rc, 0);
  CHECK(r != NULL);
  if (!r)
    return;
  struct cal_event_info ev = ev_summary("Formation Excel");
  CHECK_STR(map_name(r, &ev), "lunch");
  ev = (struct cal_event_info){.summary = "Semaine",
                               .description = "Stage en entreprise"};
  CHECK_STR(map_name(r, &ev), "away");
  ev = (struct cal_event_info){.summary = "x", .location = "salle 204"};
  CHECK_STR(map_name(r, &ev), "ignore"); /* REG_ICASE */
  ev = (struct cal_event_info){.summary = "x", .location = "Salle 204 bis"};
  CHECK_STR(map_name(r, &ev), "off_work");
  ev = (struct cal_event_info){.summary = "x", .description = "Lien ZOOM: ..."};
  CHECK_STR(map_name(r, &ev), "do_not_disturb");
  CHECK_STR(ingest_rules_default_name(r), "off_work");
  /* printed back in canonical form */
  json_t *j = ingest_rules_to_json(r);
  char *s = pb_json_dump(j);
  CHECK_STR(
      s,
      "[{\"match\":\"summary\",\"keyword\":\"formation\",\"status\":\"lunch\"},"
      "{\"match\":\"any\",\"keyword\":[\"formation\",\"stage\"],\"status\":"
      "\"away\"},"
      "{\"match\":\"location\",\"regex\":\"^Salle "
      "[0-9]+$\",\"status\":\"ignore\"},"
      "{\"match\":[\"categories\",\"description\"],\"regex\":\"visio|zoom\","
      "\"status\":\"do_not_disturb\"}]");
  free(s);
  /* and what was printed parses to the same list */
  struct ingest_rules *again = NULL;
  CHECK_INT(ingest_rules_from_json(j, "off_work", &again, err, sizeof err), 0);
  CHECK_INT(ingest_rules_count(again), 4);
  ingest_rules_free(again);
  json_decref(j);
  ingest_rules_free(r);
}

static void test_default_ignore_and_empty_list(void) {
  char err[256];
  int rc;
  struct ingest_rules *r = parse("[]", "ignore", &rc, err, sizeof err);
  CHECK_INT(rc, 0);
  struct cal_event_info ev = ev_summary("anything");
  bool ignore = false;
  CHECK_INT(ingest_map_status(r, &ev, &ignore), PB_PRESENCE_NONE);
  CHECK(ignore);
  CHECK_STR(ingest_rules_default_name(r), "ignore");
  ingest_rules_free(r);
  /* no default given: do_not_disturb */
  r = parse("[]", NULL, &rc, err, sizeof err);
  CHECK_STR(map_name(r, &ev), "do_not_disturb");
  ingest_rules_free(r);
}

static void test_chain_source_first_then_global(void) {
  char err[256];
  int rc;
  struct ingest_rules *global = ingest_rules_new_default();
  struct ingest_rules *own = parse(
      "[{\"match\":\"summary\",\"keyword\":\"cours\",\"status\":\"lunch\"}]",
      NULL, &rc, err, sizeof err);
  struct ingest_rules *both = NULL;
  CHECK_INT(ingest_rules_chain(own, global, &both), 0);
  CHECK_INT(ingest_rules_count(both), 7);
  struct cal_event_info ev = ev_summary("Cours");
  CHECK_STR(map_name(both, &ev), "lunch"); /* the source's own rule */
  ev = ev_summary("Réunion");
  CHECK_STR(map_name(both, &ev), "do_not_disturb"); /* then the global list */
  ev = (struct cal_event_info){.summary = "x", .busystatus = "OOF"};
  CHECK_STR(map_name(both, &ev), "away");
  CHECK_STR(ingest_rules_default_name(both), "do_not_disturb");
  ingest_rules_free(both);
  /* the source's default wins over the global one */
  struct ingest_rules *own_def = parse("[]", "available", &rc, err, sizeof err);
  CHECK_INT(ingest_rules_chain(own_def, global, &both), 0);
  ev = ev_summary("Entretien");
  CHECK_STR(map_name(both, &ev), "available");
  ingest_rules_free(both);
  /* either side may be missing */
  CHECK_INT(ingest_rules_chain(NULL, global, &both), 0);
  CHECK_INT(ingest_rules_count(both), 6);
  ingest_rules_free(both);
  ingest_rules_free(own_def);
  ingest_rules_free(own);
  ingest_rules_free(global);
}

static void refused(const char *json, const char *def, const char *want) {
  char err[512];
  int rc;
  struct ingest_rules *r = parse(json, def, &rc, err, sizeof err);
  CHECK(rc != 0);
  CHECK(r == NULL);
  if (!strstr(err, want)) {
    fprintf(stderr, "  for %s\n  got  '%s'\n  want '%s'\n", json, err, want);
    CHECK(strstr(err, want) != NULL);
  }
}

static void test_invalid_rules_refused_with_reason(void) {
  refused("{}", NULL, "must be a JSON array");
  refused("[1", NULL, "invalid JSON");
  refused("[42]", NULL, "rule 1: must be an object");
  refused("[{\"keyword\":\"x\",\"status\":\"away\"}]", NULL,
          "rule 1: 'match' must be a field name");
  refused("[{\"match\":\"title\",\"keyword\":\"x\",\"status\":\"away\"}]", NULL,
          "rule 1: 'match': unknown field 'title'");
  refused(
      "[{\"match\":\"summary\",\"keyword\":\"x\",\"status\":\"away\"},"
      "{\"match\":\"summary\",\"regex\":\"(unclosed\",\"status\":\"away\"}]",
      NULL, "rule 2: regex '(unclosed':");
  refused(
      "[{\"match\":\"summary\",\"regex\":\"(a)\\\\1\",\"status\":\"away\"}]",
      NULL, "back-references");
  refused("[{\"match\":\"summary\",\"keyword\":\"x\",\"status\":\"holiday\"}]",
          NULL, "rule 1: unknown status 'holiday' (valid: available");
  refused("[{\"match\":\"summary\",\"keyword\":\"x\"}]", NULL,
          "'status' is required");
  refused("[{\"match\":\"summary\",\"keyword\":\"x\",\"regex\":\"y\","
          "\"status\":\"away\"}]",
          NULL, "either 'keyword' or 'regex'");
  refused("[{\"match\":\"summary\",\"status\":\"away\"}]", NULL,
          "either 'keyword' or 'regex'");
  refused("[{\"match\":\"summary\",\"keyword\":\"\",\"status\":\"away\"}]",
          NULL, "must not be empty");
  refused("[{\"match\":\"summary\",\"keyword\":[],\"status\":\"away\"}]", NULL,
          "non-empty array");
  refused("[{\"match\":\"summary\",\"keyword\":[\"a\",3],\"status\":\"away\"}]",
          NULL, "strings only");
  refused(
      "[{\"match\":\"busystatus\",\"value\":\"MAYBE\",\"status\":\"away\"}]",
      NULL, "busystatus value 'MAYBE' is not one of FREE");
  refused(
      "[{\"match\":\"busystatus\",\"keyword\":\"OOF\",\"status\":\"away\"}]",
      NULL, "takes 'value'");
  refused("[{\"match\":[\"busystatus\",\"summary\"],\"value\":\"OOF\","
          "\"status\":\"away\"}]",
          NULL, "cannot be combined");
  refused("[{\"match\":\"summary\",\"keywords\":\"x\",\"status\":\"away\"}]",
          NULL, "unknown field 'keywords'");
  refused("[]", "holiday", "default status: unknown status 'holiday'");
  /* too many rules, too long a pattern */
  char big[8192];
  size_t o = 0;
  o += (size_t)snprintf(big + o, sizeof big - o, "[");
  for (int i = 0; i < INGEST_RULES_MAX + 1; i++)
    o += (size_t)snprintf(
        big + o, sizeof big - o,
        "%s{\"match\":\"summary\",\"keyword\":\"k\",\"status\":\"away\"}",
        i ? "," : "");
  snprintf(big + o, sizeof big - o, "]");
  refused(big, NULL, "more than the 64 allowed");
  char word[300], longpat[600];
  memset(word, 'a', sizeof word - 1);
  word[sizeof word - 1] = '\0';
  snprintf(longpat, sizeof longpat,
           "[{\"match\":\"summary\",\"keyword\":\"%s\",\"status\":\"away\"}]",
           word);
  refused(longpat, NULL, "longer than 256 bytes");
}

static void test_config_keys(void) {
  struct pb_config *cfg = pb_config_new();
  char err[512];
  struct ingest_rules *r = NULL;
  /* empty MAPPING_RULES: the built-in list, with the configured default */
  CHECK_INT(
      pb_config_set(cfg, "MAPPING_DEFAULT_STATUS", "away", err, sizeof err), 0);
  CHECK_INT(ingest_rules_from_config(cfg, &r, err, sizeof err), 0);
  CHECK_INT(ingest_rules_count(r), 6);
  CHECK_STR(ingest_rules_default_name(r), "away");
  ingest_rules_free(r);
  CHECK_INT(
      pb_config_set(
          cfg, "MAPPING_RULES",
          "[{\"match\":\"summary\",\"keyword\":\"TP\",\"status\":\"lunch\"}]",
          err, sizeof err),
      0);
  CHECK_INT(ingest_rules_from_config(cfg, &r, err, sizeof err), 0);
  CHECK_INT(ingest_rules_count(r), 1);
  ingest_rules_free(r);
  CHECK_INT(pb_config_set(cfg, "MAPPING_RULES", "[{\"match\":\"nope\"}]", err,
                          sizeof err),
            0);
  CHECK(ingest_rules_from_config(cfg, &r, err, sizeof err) != 0);
  CHECK(strstr(err, "MAPPING_RULES: rule 1:") == err);
  CHECK(r == NULL);
  CHECK_INT(pb_config_set(cfg, "MAPPING_RULES", "", err, sizeof err), 0);
  CHECK_INT(
      pb_config_set(cfg, "MAPPING_DEFAULT_STATUS", "nap", err, sizeof err), 0);
  CHECK(ingest_rules_from_config(cfg, &r, err, sizeof err) != 0);
  CHECK(strstr(err, "MAPPING_DEFAULT_STATUS:") == err);
  pb_config_free(cfg);
}

static void test_long_text_and_non_latin(void) {
  struct ingest_rules *r = ingest_rules_new_default();
  /* a keyword deep inside a long text is still found */
  size_t n = 100000;
  char *text = malloc(n + 16);
  memset(text, 'x', n);
  memcpy(text + n, " cours", 7);
  struct cal_event_info ev = ev_summary(text);
  CHECK_STR(map_name(r, &ev), "business_trip");
  free(text);
  /* other scripts are kept as they are: no false match, no crash */
  ev = ev_summary("\xe4\xbc\x9a\xe8\xae\xae cours\xc3");
  CHECK_STR(map_name(r, &ev), "business_trip");
  ev = ev_summary("\xc5\x92uvre"); /* Œuvre folds to "oeuvre" */
  CHECK_STR(map_name(r, &ev), "do_not_disturb");
  ingest_rules_free(r);
  char err[256];
  int rc;
  r = parse("[{\"match\":\"summary\",\"keyword\":\"\xc5\x93uvre\",\"status\":"
            "\"away\"}]",
            NULL, &rc, err, sizeof err);
  ev = ev_summary("OEUVRE");
  CHECK_STR(map_name(r, &ev), "away");
  ingest_rules_free(r);
}

int main(void) {
  RUN(test_builtin_school_and_outlook);
  RUN(test_order_first_match_wins);
  RUN(test_default_ignore_and_empty_list);
  RUN(test_chain_source_first_then_global);
  RUN(test_invalid_rules_refused_with_reason);
  RUN(test_config_keys);
  RUN(test_long_text_and_non_latin);
  return CHECK_DONE();
}
