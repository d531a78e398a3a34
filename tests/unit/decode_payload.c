/* Decodes one bus payload of the kind named on the command line from stdin
 * with the project's own decoder; exit 0 when valid, 1 with the reason.
 * tests/docs/check_topics_doc.py feeds it every example of docs/topics.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb/clock.h"
#include "pb/payload.h"

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: decode_payload KIND < payload\n");
    return 2;
  }
  static char buf[1 << 20];
  size_t n = fread(buf, 1, sizeof buf - 1, stdin);
  buf[n] = '\0';
  const char *kind = argv[1];
  char err[256] = "";
  int rc = 0;
  if (strcmp(kind, "override_set") == 0) {
    struct pb_override o;
    /* examples are dated in 2026: judge them from the start of that year */
    rc = pb_override_parse_set(buf, n, 1767225600, &o, err, sizeof err);
  } else if (strcmp(kind, "text") == 0) {
    rc = 0;
  } else {
    json_t *j = pb_json_parse(buf, n, err, sizeof err);
    if (!j) {
      fprintf(stderr, "%s\n", err);
      return 1;
    }
    if (strcmp(kind, "schedule") == 0) {
      struct pb_schedule s;
      rc = pb_schedule_from_json(j, &s, err, sizeof err);
      if (!rc)
        pb_schedule_cleanup(&s);
    } else if (strcmp(kind, "desired") == 0) {
      struct pb_desired d;
      rc = pb_desired_from_json(j, &d, err, sizeof err);
    } else if (strcmp(kind, "override") == 0) {
      struct pb_override o;
      rc = pb_override_from_json(j, &o, err, sizeof err);
    } else if (strcmp(kind, "state") == 0) {
      struct pb_ext_state s;
      rc = pb_ext_state_from_json(j, &s, err, sizeof err);
    } else if (strcmp(kind, "directory") == 0) {
      struct pb_directory d;
      rc = pb_directory_from_json(j, &d, err, sizeof err);
      if (!rc)
        pb_directory_cleanup(&d);
    } else if (strcmp(kind, "event") == 0 || strcmp(kind, "request") == 0 ||
               strcmp(kind, "response") == 0) {
      /* Every event, request and response is a JSON object; events carry
       * their kind and time, responses their status. */
      if (!json_is_object(j)) {
        snprintf(err, sizeof err, "not a JSON object");
        rc = 1;
      } else if (strcmp(kind, "event") == 0 &&
                 (!pb_json_str(j, "kind") || !pb_json_str(j, "at"))) {
        snprintf(err, sizeof err, "an event needs 'kind' and 'at'");
        rc = 1;
      } else if (strcmp(kind, "response") == 0 && !pb_json_str(j, "status")) {
        snprintf(err, sizeof err, "a response needs 'status'");
        rc = 1;
      }
    } else {
      fprintf(stderr, "unknown payload kind '%s'\n", kind);
      json_decref(j);
      return 2;
    }
    json_decref(j);
  }
  if (rc) {
    fprintf(stderr, "%s\n", err);
    return 1;
  }
  return 0;
}
