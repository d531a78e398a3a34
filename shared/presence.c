/* The presence vocabulary of the Yeastar P-Series Open API (presence_status
 * of extension/update) with the aliases people type and the labels shown. */
#include "pb/presence.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "pb/error.h"

static const char *const names[PB_PRESENCE_COUNT] = {
    "available", "away", "business_trip", "do_not_disturb", "lunch", "off_work",
};

static const char *const default_labels[PB_PRESENCE_COUNT] = {
    "Available",      "Away",        "Business Trip",
    "Do Not Disturb", "Lunch Break", "Off Work",
};

static char custom_labels[PB_PRESENCE_COUNT][128];

/* Aliases after normalisation (lower case, blanks and dashes as '_'). */
static const struct {
  const char *alias;
  enum pb_presence value;
} aliases[] = {
    {"disponible", PB_PRESENCE_AVAILABLE},
    {"online", PB_PRESENCE_AVAILABLE},
    {"absent", PB_PRESENCE_AWAY},
    {"absente", PB_PRESENCE_AWAY},
    {"business", PB_PRESENCE_BUSINESS_TRIP},
    {"trip", PB_PRESENCE_BUSINESS_TRIP},
    {"en_déplacement", PB_PRESENCE_BUSINESS_TRIP},
    {"en_deplacement", PB_PRESENCE_BUSINESS_TRIP},
    {"déplacement", PB_PRESENCE_BUSINESS_TRIP},
    {"deplacement", PB_PRESENCE_BUSINESS_TRIP},
    {"dnd", PB_PRESENCE_DO_NOT_DISTURB},
    {"busy", PB_PRESENCE_DO_NOT_DISTURB},
    {"ne_pas_déranger", PB_PRESENCE_DO_NOT_DISTURB},
    {"ne_pas_deranger", PB_PRESENCE_DO_NOT_DISTURB},
    {"lunch_break", PB_PRESENCE_LUNCH},
    {"déjeuner", PB_PRESENCE_LUNCH},
    {"dejeuner", PB_PRESENCE_LUNCH},
    {"pause_déjeuner", PB_PRESENCE_LUNCH},
    {"pause_dejeuner", PB_PRESENCE_LUNCH},
    {"off", PB_PRESENCE_OFF_WORK},
    {"offwork", PB_PRESENCE_OFF_WORK},
    {"hors_service", PB_PRESENCE_OFF_WORK},
    {"fin_de_service", PB_PRESENCE_OFF_WORK},
};

const char *pb_presence_name(enum pb_presence p) {
  return (p >= 0 && p < PB_PRESENCE_COUNT) ? names[p] : NULL;
}

const char *pb_presence_label(enum pb_presence p) {
  if (p < 0 || p >= PB_PRESENCE_COUNT)
    return NULL;
  return custom_labels[p][0] ? custom_labels[p] : default_labels[p];
}

const char *pb_presence_valid_list(void) {
  return "available, away, business_trip, do_not_disturb, lunch, off_work";
}

/* Lower-case ASCII, turn blanks and dashes into '_', trim. UTF-8 bytes pass
 * through, so accented aliases are listed in lower case as they are. */
static int normalise(const char *text, char *buf, size_t len) {
  while (*text && isspace((unsigned char)*text))
    text++;
  size_t n = strlen(text);
  while (n && isspace((unsigned char)text[n - 1]))
    n--;
  if (n == 0 || n >= len)
    return PB_EINVAL;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)text[i];
    if (c == ' ' || c == '-' || c == '\t')
      c = '_';
    buf[i] = (char)tolower(c);
  }
  buf[n] = '\0';
  return 0;
}

int pb_presence_parse(const char *text, enum pb_presence *out) {
  char buf[64];
  if (!text || normalise(text, buf, sizeof buf) != 0)
    return PB_EINVAL;
  for (int i = 0; i < PB_PRESENCE_COUNT; i++) {
    if (strcmp(buf, names[i]) == 0) {
      *out = (enum pb_presence)i;
      return 0;
    }
  }
  for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++) {
    if (strcmp(buf, aliases[i].alias) == 0) {
      *out = aliases[i].value;
      return 0;
    }
  }
  return PB_EINVAL;
}

int pb_presence_set_labels(const char *spec, char *err, size_t errlen) {
  char parsed[PB_PRESENCE_COUNT][128];
  memset(parsed, 0, sizeof parsed);
  const char *p = spec ? spec : "";
  while (*p) {
    const char *end = strchr(p, ';');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    if (n > 0) {
      const char *eq = memchr(p, '=', n);
      if (!eq) {
        snprintf(err, errlen, "label '%.*s' has no '=' (expected value=Label)",
                 (int)(n > 60 ? 60 : n), p);
        return PB_EPARSE;
      }
      char key[64];
      size_t klen = (size_t)(eq - p);
      if (klen >= sizeof key)
        klen = sizeof key - 1;
      memcpy(key, p, klen);
      key[klen] = '\0';
      enum pb_presence v;
      if (pb_presence_parse(key, &v) != 0) {
        snprintf(err, errlen, "unknown status '%s' in labels (valid: %s)", key,
                 pb_presence_valid_list());
        return PB_EPARSE;
      }
      size_t llen = n - klen - 1;
      if (llen == 0 || llen >= sizeof parsed[0]) {
        snprintf(err, errlen,
                 "label for '%s' is empty or longer than 127 bytes", key);
        return PB_EPARSE;
      }
      memcpy(parsed[v], eq + 1, llen);
      parsed[v][llen] = '\0';
    }
    p += n + (end ? 1 : 0);
  }
  memcpy(custom_labels, parsed, sizeof custom_labels);
  return 0;
}
