/* Mapping rules (mapping.h): parsing and checking a rule list, matching an
 * event against it. Keywords match at the start of a word, ignoring case
 * and French/Latin-1 accents ("reunion" finds "Réunions"); regexes are
 * POSIX extended, case-insensitive for ASCII, without back-references. */
#include "mapping.h"

#include <ctype.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "calendar.h"
#include "pb/config.h"
#include "pb/error.h"
#include "pb/json.h"

#define MAX_WORDS 32         /* keywords or values in one rule */
#define REGEX_TEXT_MAX 65536 /* bytes of a field a regex looks at */
#define FOLD_STACK 1024

enum {
  F_SUMMARY = 1,
  F_CATEGORIES = 2,
  F_LOCATION = 4,
  F_DESCRIPTION = 8,
  F_BUSYSTATUS = 16,
  F_ANY = F_SUMMARY | F_CATEGORIES | F_LOCATION | F_DESCRIPTION,
};

static const struct {
  const char *name;
  unsigned mask;
} fields[] = {
    {"summary", F_SUMMARY},   {"categories", F_CATEGORIES},
    {"location", F_LOCATION}, {"description", F_DESCRIPTION},
    {"any", F_ANY},           {"busystatus", F_BUSYSTATUS},
};

static const char *const busy_values[] = {"FREE", "TENTATIVE", "BUSY", "OOF",
                                          "WORKINGELSEWHERE"};

enum how { H_KEYWORD, H_REGEX, H_VALUE };

struct rule {
  unsigned fields;
  enum how how;
  char *words[MAX_WORDS];  /* as given: keywords, busy values, or the regex */
  char *folded[MAX_WORDS]; /* keywords folded for matching */
  size_t nwords;
  bool word_list; /* given as an array (kept when printed) */
  regex_t re;
  bool compiled;
  bool ignore;
  enum pb_presence status;
};

struct ingest_rules {
  struct rule *rules;
  size_t count;
  bool has_default; /* a default was given, not assumed */
  bool default_ignore;
  enum pb_presence default_status;
};

/* ---- text folding ---- */

/* The ASCII letter a Latin-1 Supplement letter (U+00C0..U+00FF, the second
 * byte of its UTF-8 form after 0xC3) folds to, or 0 to keep it. */
static char fold_latin1(unsigned char b2) {
  static const char map[65] = "aaaaaaaceeeeiiiidnooooo/ouuuuyts"
                              "aaaaaaaceeeeiiiidnooooo/ouuuuyty";
  unsigned idx = (unsigned)b2 - 0x80u;
  if (idx >= 64 || map[idx] == '/')
    return 0;
  return map[idx];
}

/* Lower-case ASCII, accents removed from Latin-1 letters, "œ" as "oe".
 * Other bytes are copied. `out` holds at least 2 * len + 1 bytes. */
static size_t fold(const char *in, size_t len, char *out) {
  size_t o = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)in[i];
    if (c == 0xC3 && i + 1 < len) {
      char f = fold_latin1((unsigned char)in[i + 1]);
      if (f) {
        out[o++] = f;
        i++;
        continue;
      }
    } else if (c == 0xC5 && i + 1 < len &&
               ((unsigned char)in[i + 1] == 0x92 ||
                (unsigned char)in[i + 1] == 0x93)) {
      out[o++] = 'o';
      out[o++] = 'e';
      i++;
      continue;
    }
    out[o++] = (char)tolower(c);
  }
  out[o] = '\0';
  return o;
}

static bool word_char(unsigned char c) {
  return isalnum(c) || c >= 0x80;
}

/* True when `word` (folded) starts a word of `text` (folded). */
static bool starts_word(const char *text, const char *word) {
  size_t wl = strlen(word);
  for (const char *p = strstr(text, word); p; p = strstr(p + 1, word)) {
    if (p == text || !word_char((unsigned char)p[-1]) ||
        !word_char((unsigned char)word[0]))
      return true;
    if (wl == 0)
      break;
  }
  return false;
}

/* ---- matching ---- */

static const char *field_text(const struct cal_event_info *ev, unsigned f) {
  switch (f) {
  case F_SUMMARY:
    return ev->summary;
  case F_CATEGORIES:
    return ev->categories;
  case F_LOCATION:
    return ev->location;
  case F_DESCRIPTION:
    return ev->description;
  default:
    return ev->busystatus;
  }
}

static bool match_keywords(const struct rule *r, const char *text) {
  size_t len = strlen(text);
  char stack[FOLD_STACK];
  char *buf = 2 * len + 1 <= sizeof stack ? stack : malloc(2 * len + 1);
  if (!buf)
    return false;
  fold(text, len, buf);
  bool hit = false;
  for (size_t i = 0; i < r->nwords && !hit; i++)
    hit = starts_word(buf, r->folded[i]);
  if (buf != stack)
    free(buf);
  return hit;
}

static bool match_regex(const struct rule *r, const char *text) {
#ifdef REG_STARTEND
  size_t len = strlen(text);
  regmatch_t m[1] = {
      {.rm_so = 0,
       .rm_eo = (regoff_t)(len > REGEX_TEXT_MAX ? REGEX_TEXT_MAX : len)}};
  return regexec(&r->re, text, 1, m, REG_STARTEND) == 0;
#else
  return regexec(&r->re, text, 0, NULL, 0) == 0;
#endif
}

static bool match_value(const struct rule *r, const char *text) {
  while (*text == ' ' || *text == '\t')
    text++;
  size_t len = strlen(text);
  while (len && (text[len - 1] == ' ' || text[len - 1] == '\t'))
    len--;
  for (size_t i = 0; i < r->nwords; i++)
    if (strlen(r->words[i]) == len && strncasecmp(text, r->words[i], len) == 0)
      return true;
  return false;
}

static bool rule_matches(const struct rule *r,
                         const struct cal_event_info *ev) {
  for (unsigned f = 1; f <= F_BUSYSTATUS; f <<= 1) {
    if (!(r->fields & f))
      continue;
    const char *text = field_text(ev, f);
    if (!text || !*text)
      continue;
    bool hit = r->how == H_KEYWORD ? match_keywords(r, text)
               : r->how == H_REGEX ? match_regex(r, text)
                                   : match_value(r, text);
    if (hit)
      return true;
  }
  return false;
}

int ingest_map_rule_index(const struct ingest_rules *rules,
                          const struct cal_event_info *ev) {
  for (size_t i = 0; rules && ev && i < rules->count; i++)
    if (rule_matches(&rules->rules[i], ev))
      return (int)i;
  return -1;
}

enum pb_presence ingest_map_status(const struct ingest_rules *rules,
                                   const struct cal_event_info *ev,
                                   bool *ignore) {
  int i = ingest_map_rule_index(rules, ev);
  bool ign;
  enum pb_presence p;
  if (i >= 0) {
    ign = rules->rules[i].ignore;
    p = rules->rules[i].status;
  } else if (rules) {
    ign = rules->default_ignore;
    p = rules->default_status;
  } else {
    ign = false;
    p = PB_PRESENCE_DO_NOT_DISTURB;
  }
  if (ignore)
    *ignore = ign;
  return ign ? PB_PRESENCE_NONE : p;
}

/* ---- building ---- */

static void rule_cleanup(struct rule *r) {
  for (size_t i = 0; i < r->nwords; i++) {
    free(r->words[i]);
    free(r->folded[i]);
  }
  if (r->compiled)
    regfree(&r->re);
  memset(r, 0, sizeof *r);
}

void ingest_rules_free(struct ingest_rules *rules) {
  if (!rules)
    return;
  for (size_t i = 0; i < rules->count; i++)
    rule_cleanup(&rules->rules[i]);
  free(rules->rules);
  free(rules);
}

static struct ingest_rules *rules_new(size_t cap) {
  struct ingest_rules *r = calloc(1, sizeof *r);
  if (!r)
    return NULL;
  r->rules = calloc(cap ? cap : 1, sizeof *r->rules);
  if (!r->rules) {
    free(r);
    return NULL;
  }
  r->default_status = PB_PRESENCE_DO_NOT_DISTURB;
  return r;
}

/* Adds one word to a rule (checked and, for keywords, folded). */
static int add_word(struct rule *r, const char *w, char *err, size_t errlen) {
  size_t len = strlen(w);
  if (r->nwords >= MAX_WORDS) {
    snprintf(err, errlen, "more than %d keywords or values", MAX_WORDS);
    return PB_EINVAL;
  }
  if (len == 0) {
    snprintf(err, errlen, "a keyword, value or regex must not be empty");
    return PB_EINVAL;
  }
  if (len > INGEST_RULE_PATTERN_MAX) {
    snprintf(err, errlen, "'%.40s...' is longer than %d bytes", w,
             INGEST_RULE_PATTERN_MAX);
    return PB_EINVAL;
  }
  if (!pb_utf8_valid(w, len)) {
    snprintf(err, errlen, "a keyword, value or regex must be valid UTF-8");
    return PB_EINVAL;
  }
  if (r->how == H_VALUE) {
    bool known = false;
    for (size_t i = 0; i < sizeof busy_values / sizeof busy_values[0]; i++)
      known = known || strcasecmp(w, busy_values[i]) == 0;
    if (!known) {
      snprintf(err, errlen,
               "busystatus value '%.40s' is not one of FREE, "
               "TENTATIVE, BUSY, OOF, WORKINGELSEWHERE",
               w);
      return PB_EINVAL;
    }
  }
  if (r->how == H_REGEX) {
    /* glibc runs back-references by backtracking, which can take
     * exponential time on a long DESCRIPTION: refuse them. */
    for (const char *p = w; *p; p++) {
      if (*p == '\\' && p[1] >= '1' && p[1] <= '9') {
        snprintf(err, errlen,
                 "regex '%.60s': back-references (\\%c) are not "
                 "allowed",
                 w, p[1]);
        return PB_EINVAL;
      }
      if (*p == '\\' && p[1])
        p++;
    }
    int rc = regcomp(&r->re, w, REG_EXTENDED | REG_ICASE | REG_NOSUB);
    if (rc) {
      char why[128];
      regerror(rc, &r->re, why, sizeof why);
      snprintf(err, errlen, "regex '%.60s': %s", w, why);
      return PB_EINVAL;
    }
    r->compiled = true;
  }
  char *copy = strdup(w);
  char *folded = r->how == H_KEYWORD ? malloc(2 * len + 1) : NULL;
  if (!copy || (r->how == H_KEYWORD && !folded)) {
    free(copy);
    free(folded);
    snprintf(err, errlen, "out of memory");
    return PB_ENOMEM;
  }
  if (folded)
    fold(w, len, folded);
  r->words[r->nwords] = copy;
  r->folded[r->nwords] = folded;
  r->nwords++;
  return 0;
}

static int parse_status(const char *text, bool *ignore, enum pb_presence *p,
                        char *err, size_t errlen) {
  if (strcasecmp(text, "ignore") == 0) {
    *ignore = true;
    *p = PB_PRESENCE_NONE;
    return 0;
  }
  *ignore = false;
  if (pb_presence_parse(text, p) == 0)
    return 0;
  snprintf(err, errlen, "unknown status '%.40s' (valid: %s, or ignore)", text,
           pb_presence_valid_list());
  return PB_EINVAL;
}

static int parse_fields(const json_t *m, unsigned *mask, char *err,
                        size_t errlen) {
  *mask = 0;
  size_t n = json_is_array(m) ? json_array_size(m) : 1;
  if (!json_is_string(m) && !(json_is_array(m) && n > 0)) {
    snprintf(err, errlen,
             "'match' must be a field name or a non-empty array "
             "of them");
    return PB_EINVAL;
  }
  for (size_t i = 0; i < n; i++) {
    const json_t *item = json_is_array(m) ? json_array_get(m, i) : m;
    const char *name = json_string_value(item);
    unsigned f = 0;
    for (size_t k = 0; name && k < sizeof fields / sizeof fields[0]; k++)
      if (strcasecmp(name, fields[k].name) == 0)
        f = fields[k].mask;
    if (!f) {
      snprintf(err, errlen,
               "'match': unknown field '%.40s' (summary, "
               "categories, location, description, any or busystatus)",
               name ? name : "(not a string)");
      return PB_EINVAL;
    }
    *mask |= f;
  }
  if ((*mask & F_BUSYSTATUS) && *mask != F_BUSYSTATUS) {
    snprintf(err, errlen,
             "'match': busystatus cannot be combined with text "
             "fields (make it a rule of its own)");
    return PB_EINVAL;
  }
  return 0;
}

static int parse_rule(json_t *o, struct rule *r, char *err, size_t errlen) {
  if (!json_is_object(o)) {
    snprintf(err, errlen, "must be an object");
    return PB_EINVAL;
  }
  const char *key;
  json_t *v;
  json_object_foreach(o, key, v) {
    if (strcmp(key, "match") && strcmp(key, "keyword") &&
        strcmp(key, "regex") && strcmp(key, "value") && strcmp(key, "status")) {
      snprintf(err, errlen,
               "unknown field '%.40s' (match, keyword, regex, "
               "value, status)",
               key);
      return PB_EINVAL;
    }
  }
  int rc = parse_fields(json_object_get(o, "match"), &r->fields, err, errlen);
  if (rc)
    return rc;
  const json_t *kw = json_object_get(o, "keyword");
  const json_t *re = json_object_get(o, "regex");
  const json_t *val = json_object_get(o, "value");
  const json_t *words;
  if (r->fields == F_BUSYSTATUS) {
    if (kw || re || !val) {
      snprintf(err, errlen,
               "a busystatus rule takes 'value' (FREE, TENTATIVE, "
               "BUSY, OOF or WORKINGELSEWHERE), not 'keyword' or 'regex'");
      return PB_EINVAL;
    }
    r->how = H_VALUE;
    words = val;
  } else if (val || (kw && re) || (!kw && !re)) {
    snprintf(err, errlen,
             "give either 'keyword' or 'regex' ('value' is for "
             "busystatus rules)");
    return PB_EINVAL;
  } else {
    r->how = kw ? H_KEYWORD : H_REGEX;
    words = kw ? kw : re;
  }
  if (r->how == H_REGEX && !json_is_string(words)) {
    snprintf(err, errlen, "'regex' must be a string");
    return PB_EINVAL;
  }
  r->word_list = json_is_array(words);
  size_t n = r->word_list ? json_array_size(words) : 1;
  if (!json_is_string(words) && !(r->word_list && n > 0)) {
    snprintf(err, errlen,
             "'%s' must be a string or a non-empty array of "
             "strings",
             r->how == H_KEYWORD ? "keyword" : "value");
    return PB_EINVAL;
  }
  for (size_t i = 0; i < n; i++) {
    const json_t *w = r->word_list ? json_array_get(words, i) : words;
    if (!json_is_string(w)) {
      snprintf(err, errlen, "'%s' must hold strings only",
               r->how == H_KEYWORD ? "keyword" : "value");
      return PB_EINVAL;
    }
    if ((rc = add_word(r, json_string_value(w), err, errlen)))
      return rc;
  }
  const char *status = json_string_value(json_object_get(o, "status"));
  if (!status) {
    snprintf(err, errlen, "'status' is required: a status or \"ignore\"");
    return PB_EINVAL;
  }
  return parse_status(status, &r->ignore, &r->status, err, errlen);
}

static int set_default(struct ingest_rules *r, const char *default_status,
                       char *err, size_t errlen) {
  if (!default_status || !*default_status)
    return 0;
  char why[256];
  if (parse_status(default_status, &r->default_ignore, &r->default_status, why,
                   sizeof why)) {
    snprintf(err, errlen, "default status: %s", why);
    return PB_EINVAL;
  }
  if (r->default_ignore)
    r->default_status = PB_PRESENCE_NONE;
  r->has_default = true;
  return 0;
}

int ingest_rules_from_json(const struct json_t *rules,
                           const char *default_status,
                           struct ingest_rules **out, char *err,
                           size_t errlen) {
  *out = NULL;
  if (rules && !json_is_array(rules)) {
    snprintf(err, errlen, "the rules must be a JSON array of objects");
    return PB_EINVAL;
  }
  size_t n = rules ? json_array_size(rules) : 0;
  if (n > INGEST_RULES_MAX) {
    snprintf(err, errlen, "%zu rules, more than the %d allowed", n,
             INGEST_RULES_MAX);
    return PB_EINVAL;
  }
  struct ingest_rules *r = rules_new(n);
  if (!r) {
    snprintf(err, errlen, "out of memory");
    return PB_ENOMEM;
  }
  for (size_t i = 0; i < n; i++) {
    char why[400];
    int rc =
        parse_rule(json_array_get(rules, i), &r->rules[i], why, sizeof why);
    r->count = i + 1; /* a half-built rule is cleaned up with the others */
    if (rc) {
      snprintf(err, errlen, "rule %zu: %s", i + 1, why);
      ingest_rules_free(r);
      return rc;
    }
  }
  int rc = set_default(r, default_status, err, errlen);
  if (rc) {
    ingest_rules_free(r);
    return rc;
  }
  *out = r;
  return 0;
}

int ingest_rules_parse(const char *text, size_t len, const char *default_status,
                       struct ingest_rules **out, char *err, size_t errlen) {
  char why[256];
  json_t *j = pb_json_parse(text, len, why, sizeof why);
  if (!j) {
    *out = NULL;
    snprintf(err, errlen, "%s", why);
    return PB_EPARSE;
  }
  int rc = ingest_rules_from_json(j, default_status, out, err, errlen);
  json_decref(j);
  return rc;
}

/* The built-in list (mapping.h), as a rule list would be written. */
static const char default_rules[] =
    "["
    "{\"match\":\"busystatus\",\"value\":\"FREE\",\"status\":\"ignore\"},"
    "{\"match\":[\"summary\",\"categories\"],\"keyword\":[\"cours\","
    "\"formation\"],\"status\":\"business_trip\"},"
    "{\"match\":[\"summary\",\"categories\"],\"keyword\":\"r\xc3\xa9union\","
    "\"status\":\"do_not_disturb\"},"
    "{\"match\":\"busystatus\",\"value\":\"OOF\",\"status\":\"away\"},"
    "{\"match\":\"busystatus\",\"value\":\"BUSY\",\"status\":\"do_not_"
    "disturb\"},"
    "{\"match\":\"busystatus\",\"value\":\"WORKINGELSEWHERE\","
    "\"status\":\"business_trip\"}"
    "]";

struct ingest_rules *ingest_rules_new_default(void) {
  struct ingest_rules *r = NULL;
  char err[256];
  if (ingest_rules_parse(default_rules, sizeof default_rules - 1, NULL, &r, err,
                         sizeof err))
    return NULL;
  return r;
}

int ingest_rules_from_config(const struct pb_config *cfg,
                             struct ingest_rules **out, char *err,
                             size_t errlen) {
  const char *text = pb_config_str(cfg, PB_CFG_MAPPING_RULES);
  const char *def = pb_config_str(cfg, PB_CFG_MAPPING_DEFAULT_STATUS);
  char why[400];
  int rc;
  if (!text || !*text) {
    text = default_rules;
  }
  rc = ingest_rules_parse(text, strlen(text), NULL, out, why, sizeof why);
  if (rc) {
    snprintf(err, errlen, "MAPPING_RULES: %s", why);
    return rc;
  }
  if ((rc = set_default(*out, def, why, sizeof why))) {
    snprintf(err, errlen, "MAPPING_DEFAULT_STATUS: %s", why);
    ingest_rules_free(*out);
    *out = NULL;
    return rc;
  }
  return 0;
}

/* Copies `src` into `dst` by adding its words again (a compiled regex_t
 * cannot be copied). */
static int rule_copy(struct rule *dst, const struct rule *src) {
  char err[300];
  dst->fields = src->fields;
  dst->how = src->how;
  dst->word_list = src->word_list;
  dst->ignore = src->ignore;
  dst->status = src->status;
  for (size_t i = 0; i < src->nwords; i++) {
    int rc = add_word(dst, src->words[i], err, sizeof err);
    if (rc)
      return rc;
  }
  return 0;
}

int ingest_rules_chain(const struct ingest_rules *first,
                       const struct ingest_rules *then,
                       struct ingest_rules **out) {
  size_t n = (first ? first->count : 0) + (then ? then->count : 0);
  struct ingest_rules *r = rules_new(n);
  *out = NULL;
  if (!r)
    return PB_ENOMEM;
  const struct ingest_rules *parts[2] = {first, then};
  for (int p = 0; p < 2; p++) {
    for (size_t i = 0; parts[p] && i < parts[p]->count; i++) {
      int rc = rule_copy(&r->rules[r->count], &parts[p]->rules[i]);
      r->count++;
      if (rc) {
        ingest_rules_free(r);
        return rc;
      }
    }
  }
  const struct ingest_rules *d = first && first->has_default ? first : then;
  if (d) {
    r->has_default = d->has_default;
    r->default_ignore = d->default_ignore;
    r->default_status = d->default_status;
  }
  *out = r;
  return 0;
}

/* ---- printing ---- */

static json_t *words_json(const struct rule *r) {
  if (!r->word_list)
    return json_string(r->words[0]);
  json_t *a = json_array();
  for (size_t i = 0; i < r->nwords; i++)
    json_array_append_new(a, json_string(r->words[i]));
  return a;
}

struct json_t *ingest_rules_to_json(const struct ingest_rules *rules) {
  json_t *list = json_array();
  for (size_t i = 0; rules && i < rules->count; i++) {
    const struct rule *r = &rules->rules[i];
    json_t *o = json_object(), *m = json_array();
    if (r->fields == F_ANY) {
      json_array_append_new(m, json_string("any"));
    } else {
      for (size_t k = 0; k < sizeof fields / sizeof fields[0]; k++)
        if (fields[k].mask != F_ANY && (r->fields & fields[k].mask))
          json_array_append_new(m, json_string(fields[k].name));
    }
    if (json_array_size(m) == 1) {
      json_t *one = json_incref(json_array_get(m, 0));
      json_decref(m);
      m = one;
    }
    json_object_set_new(o, "match", m);
    json_object_set_new(o,
                        r->how == H_KEYWORD ? "keyword"
                        : r->how == H_REGEX ? "regex"
                                            : "value",
                        words_json(r));
    json_object_set_new(
        o, "status",
        json_string(r->ignore ? "ignore" : pb_presence_name(r->status)));
    json_array_append_new(list, o);
  }
  return list;
}

const char *ingest_rules_default_name(const struct ingest_rules *rules) {
  if (!rules)
    return pb_presence_name(PB_PRESENCE_DO_NOT_DISTURB);
  return rules->default_ignore ? "ignore"
                               : pb_presence_name(rules->default_status);
}

size_t ingest_rules_count(const struct ingest_rules *rules) {
  return rules ? rules->count : 0;
}
