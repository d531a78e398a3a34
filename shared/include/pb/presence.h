/* The presence vocabulary, in one place: the PBX's values are the internal
 * ones, inputs accept aliases (English and French), labels are for display
 * and can be overridden per deployment (PRESENCE_LABELS). */
#ifndef PB_PRESENCE_H
#define PB_PRESENCE_H

#include <stddef.h>

enum pb_presence {
  PB_PRESENCE_NONE = -1,
  PB_PRESENCE_AVAILABLE = 0,
  PB_PRESENCE_AWAY,
  PB_PRESENCE_BUSINESS_TRIP,
  PB_PRESENCE_DO_NOT_DISTURB,
  PB_PRESENCE_LUNCH,
  PB_PRESENCE_OFF_WORK,
  PB_PRESENCE_COUNT
};

/* The PBX value ("do_not_disturb"); NULL for an out-of-range value. */
const char *pb_presence_name(enum pb_presence p);
/* The display label ("Do Not Disturb"), or the configured one. */
const char *pb_presence_label(enum pb_presence p);
/* Value or alias, case-insensitive, surrounding blanks ignored. */
int pb_presence_parse(const char *text, enum pb_presence *out);
/* "available, away, business_trip, do_not_disturb, lunch, off_work" */
const char *pb_presence_valid_list(void);
/* "lunch=Face à face pédagogique;away=Absent": replaces those labels.
 * Returns 0 or PB_EPARSE with a message in err. */
int pb_presence_set_labels(const char *spec, char *err, size_t errlen);

#endif
