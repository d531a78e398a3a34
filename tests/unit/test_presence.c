/* The presence vocabulary: values, aliases, labels. */
#include "check.h"
#include "pb/error.h"
#include "pb/presence.h"

static void values_and_aliases(void) {
  enum pb_presence p;
  CHECK(pb_presence_parse("available", &p) == 0 && p == PB_PRESENCE_AVAILABLE);
  CHECK(pb_presence_parse("Lunch Break", &p) == 0 && p == PB_PRESENCE_LUNCH);
  CHECK(pb_presence_parse("lunch-break", &p) == 0 && p == PB_PRESENCE_LUNCH);
  CHECK(pb_presence_parse("DND", &p) == 0 && p == PB_PRESENCE_DO_NOT_DISTURB);
  CHECK(pb_presence_parse("ne pas déranger", &p) == 0 &&
        p == PB_PRESENCE_DO_NOT_DISTURB);
  CHECK(pb_presence_parse("en déplacement", &p) == 0 &&
        p == PB_PRESENCE_BUSINESS_TRIP);
  CHECK(pb_presence_parse("off_work", &p) == 0 && p == PB_PRESENCE_OFF_WORK);
  CHECK(pb_presence_parse("holiday", &p) == PB_EINVAL);
  CHECK(pb_presence_parse("", &p) == PB_EINVAL);
  CHECK(pb_presence_parse(NULL, &p) == PB_EINVAL);
  for (int i = 0; i < PB_PRESENCE_COUNT; i++) {
    CHECK(pb_presence_parse(pb_presence_name((enum pb_presence)i), &p) == 0);
    CHECK_INT(p, i);
  }
  CHECK(pb_presence_name(PB_PRESENCE_NONE) == NULL);
}

static void labels(void) {
  char err[256];
  CHECK_STR(pb_presence_label(PB_PRESENCE_LUNCH), "Lunch Break");
  CHECK_INT(pb_presence_set_labels("lunch=Face à face pédagogique;away=Absent",
                                   err, sizeof err),
            0);
  CHECK_STR(pb_presence_label(PB_PRESENCE_LUNCH), "Face à face pédagogique");
  CHECK_STR(pb_presence_label(PB_PRESENCE_AWAY), "Absent");
  CHECK(pb_presence_set_labels("vacation=Holidays", err, sizeof err) != 0);
  CHECK(strstr(err, "vacation") != NULL);
  /* a refused spec changes nothing */
  CHECK_STR(pb_presence_label(PB_PRESENCE_LUNCH), "Face à face pédagogique");
  CHECK(pb_presence_set_labels("lunch", err, sizeof err) != 0);
  CHECK_INT(pb_presence_set_labels("", err, sizeof err), 0);
  CHECK_STR(pb_presence_label(PB_PRESENCE_LUNCH), "Lunch Break");
}

int main(void) {
  RUN(values_and_aliases);
  RUN(labels);
  return CHECK_DONE();
}
