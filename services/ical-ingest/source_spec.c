/* What a source is, checked field by field: the source/add and source/update
 * request bodies (docs/topics.md), their stored form (with secrets, sealed
 * by the store) and their public form (secrets masked). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ingest.h"
#include "mapping.h"
#include "pb/bus.h"
#include "pb/error.h"
#include "pb/json.h"
#include "pb/secretbox.h"
#include "pb/url.h"

#define MANUAL_MAX_SECONDS (366 * 86400)

/* Copies text into a bounded field as valid UTF-8: bad bytes become '?',
 * and a character cut by the bound is dropped whole. `dst` may be `src`. */
void ingest_copy_text(char *dst, size_t size, const char *src) {
  size_t n = 0;
  if (!src)
    src = "";
  size_t len = strlen(src);
  for (size_t i = 0; i < len && n + 1 < size;) {
    unsigned char c = (unsigned char)src[i];
    size_t w = c < 0x80         ? 1
               : (c >> 5) == 6  ? 2
               : (c >> 4) == 14 ? 3
               : (c >> 3) == 30 ? 4
                                : 0;
    if (w == 0 || i + w > len || !pb_utf8_valid(src + i, w)) {
      dst[n++] = '?';
      i++;
      continue;
    }
    if (n + w >= size)
      break;
    memmove(dst + n, src + i, w);
    n += w;
    i += w;
  }
  dst[n] = '\0';
}

static const char *const kind_names[] = {"weekly", "url", "ics", "manual"};

const char *ingest_source_kind_name(enum source_kind kind) {
  return kind >= SOURCE_WEEKLY && kind <= SOURCE_MANUAL ? kind_names[kind]
                                                        : "?";
}

static int parse_kind(const char *text, enum source_kind *out) {
  for (int k = SOURCE_WEEKLY; k <= SOURCE_MANUAL; k++) {
    if (strcasecmp(text, kind_names[k]) == 0) {
      *out = (enum source_kind)k;
      return 0;
    }
  }
  return PB_EINVAL;
}

void ingest_source_cleanup(struct source_def *d) {
  if (!d)
    return;
  free(d->exts);
  ingest_url_cleanup(&d->url);
  pb_secret_free(d->password);
  free(d->rules);
  free(d->manual);
  memset(d, 0, sizeof *d);
}

bool ingest_source_targets(const struct source_def *d, const char *site,
                           const char *ext) {
  if (strcmp(d->site, site) != 0)
    return false;
  for (size_t i = 0; i < d->nexts; i++)
    if (strcmp(d->exts[i], ext) == 0)
      return true;
  return false;
}

/* Fields each kind accepts, beyond the common ones. */
static const struct {
  const char *name;
  unsigned kinds; /* bit per enum source_kind; 0: every kind */
} known_fields[] = {
    {"transaction", 0},
    {"id", 0},
    {"kind", 0},
    {"name", 0},
    {"site", 0},
    {"priority", 0},
    {"extension", 1u << SOURCE_URL | 1u << SOURCE_ICS | 1u << SOURCE_MANUAL},
    {"extensions", 1u << SOURCE_URL | 1u << SOURCE_ICS | 1u << SOURCE_MANUAL},
    {"url", 1u << SOURCE_URL},
    {"username", 1u << SOURCE_URL},
    {"password", 1u << SOURCE_URL},
    {"refresh_minutes", 1u << SOURCE_URL},
    {"rules", 1u << SOURCE_URL | 1u << SOURCE_ICS},
    {"default_status", 1u << SOURCE_URL | 1u << SOURCE_ICS},
    {"content", 1u << SOURCE_ICS | 1u << SOURCE_WEEKLY},
    {"format", 1u << SOURCE_WEEKLY},
    {"slots", 1u << SOURCE_MANUAL},
};

static int check_fields(json_t *req, enum source_kind kind, char *err,
                        size_t errlen) {
  const char *key;
  json_t *v;
  json_object_foreach(req, key, v) {
    size_t i = 0, n = sizeof known_fields / sizeof known_fields[0];
    while (i < n && strcmp(key, known_fields[i].name) != 0)
      i++;
    if (i == n) {
      snprintf(err, errlen, "unknown field '%.40s'", key);
      return PB_EINVAL;
    }
    if (known_fields[i].kinds && !(known_fields[i].kinds & (1u << kind)) &&
        !json_is_null(v)) {
      snprintf(err, errlen, "field '%s' does not apply to a source of kind %s",
               key, kind_names[kind]);
      return PB_EINVAL;
    }
  }
  return 0;
}

static int cmp_ext(const void *a, const void *b) {
  return strcmp(a, b);
}

static int parse_targets(const json_t *m, struct source_def *d, char *err,
                         size_t errlen) {
  const json_t *one = json_object_get(m, "extension");
  const json_t *list = json_object_get(m, "extensions");
  if (json_is_null(one))
    one = NULL;
  if (json_is_null(list))
    list = NULL;
  if (one && list) {
    snprintf(err, errlen, "give 'extension' or 'extensions', not both");
    return PB_EINVAL;
  }
  if (!one && !list) {
    snprintf(err, errlen,
             "field 'extension' (or 'extensions') is required: "
             "the extensions this source feeds");
    return PB_EINVAL;
  }
  if (one && !json_is_string(one)) {
    snprintf(err, errlen, "field 'extension' must be a string");
    return PB_EINVAL;
  }
  size_t n = one ? 1 : json_array_size(list);
  if (list && (!json_is_array(list) || n == 0 || n > SOURCE_MAX_TARGETS)) {
    snprintf(err, errlen,
             "field 'extensions' must be an array of 1-%d "
             "extension numbers",
             SOURCE_MAX_TARGETS);
    return PB_EINVAL;
  }
  d->exts = calloc(n, sizeof *d->exts);
  if (!d->exts) {
    snprintf(err, errlen, "out of memory");
    return PB_ENOMEM;
  }
  for (size_t i = 0; i < n; i++) {
    const char *e = json_string_value(one ? one : json_array_get(list, i));
    if (!e) {
      snprintf(err, errlen, "extensions[%zu] must be a string", i);
      return PB_EINVAL;
    }
    if (!pb_topic_id_valid(e)) {
      snprintf(err, errlen,
               "extension '%.40s' must be 1-64 characters of "
               "[A-Za-z0-9_-]",
               e);
      return PB_EINVAL;
    }
    pb_strlcpy(d->exts[i], e, sizeof d->exts[i]);
  }
  qsort(d->exts, n, sizeof *d->exts, cmp_ext);
  size_t w = 0;
  for (size_t i = 0; i < n; i++)
    if (w == 0 || strcmp(d->exts[w - 1], d->exts[i]) != 0)
      memmove(d->exts[w++], d->exts[i], sizeof d->exts[i]);
  d->nexts = w;
  return 0;
}

static int parse_slot(json_t *o, size_t i, const char *source,
                      struct pb_slot *s, char *err, size_t errlen) {
  char why[256];
  const char *status, *summary = "", *uid = NULL;
  int rc;
  if (!json_is_object(o)) {
    snprintf(err, errlen, "slots[%zu] must be an object", i);
    return PB_EINVAL;
  }
  const char *key;
  json_t *v;
  json_object_foreach(o, key, v) {
    if (strcmp(key, "start") && strcmp(key, "end") && strcmp(key, "status") &&
        strcmp(key, "summary") && strcmp(key, "uid")) {
      snprintf(err, errlen,
               "slots[%zu]: unknown field '%.40s' (start, end, "
               "status, summary, uid)",
               i, key);
      return PB_EINVAL;
    }
  }
  memset(s, 0, sizeof *s);
  if ((rc = pb_json_get_time(o, "start", true, &s->start, why, sizeof why)) ||
      (rc = pb_json_get_time(o, "end", true, &s->end, why, sizeof why)) ||
      (rc = pb_json_get_str(o, "status", true, &status, why, sizeof why)) ||
      ((rc = pb_json_get_str(o, "summary", false, &summary, why, sizeof why)) &&
       rc != PB_ENOTFOUND) ||
      ((rc = pb_json_get_str(o, "uid", false, &uid, why, sizeof why)) &&
       rc != PB_ENOTFOUND)) {
    snprintf(err, errlen, "slots[%zu]: %s", i, why);
    return PB_EINVAL;
  }
  if (s->end <= s->start) {
    snprintf(err, errlen, "slots[%zu]: 'end' must be after 'start'", i);
    return PB_EINVAL;
  }
  if (s->end - s->start > MANUAL_MAX_SECONDS) {
    snprintf(err, errlen, "slots[%zu]: a slot lasts at most 366 days", i);
    return PB_EINVAL;
  }
  if (pb_presence_parse(status, &s->status)) {
    snprintf(err, errlen, "slots[%zu]: unknown status '%.40s' (valid: %s)", i,
             status, pb_presence_valid_list());
    return PB_EINVAL;
  }
  if (!summary)
    summary = "";
  if (strlen(summary) >= sizeof s->summary ||
      (uid && strlen(uid) >= sizeof s->uid)) {
    snprintf(err, errlen,
             "slots[%zu]: 'summary' and 'uid' are at most %d bytes", i,
             PB_TEXT_MAX - 1);
    return PB_EINVAL;
  }
  pb_strlcpy(s->summary, summary, sizeof s->summary);
  if (uid && *uid)
    pb_strlcpy(s->uid, uid, sizeof s->uid);
  else
    snprintf(s->uid, sizeof s->uid, "%s:%lld", source, (long long)s->start);
  return 0;
}

static int cmp_slot_start(const void *a, const void *b) {
  const struct pb_slot *x = a, *y = b;
  if (x->start != y->start)
    return x->start < y->start ? -1 : 1;
  return x->end < y->end ? -1 : x->end > y->end;
}

static int parse_slots(const json_t *list, struct source_def *d, char *err,
                       size_t errlen) {
  size_t n = json_array_size(list);
  if (!json_is_array(list) || n > SOURCE_MAX_MANUAL) {
    snprintf(err, errlen, "field 'slots' must be an array of at most %d slots",
             SOURCE_MAX_MANUAL);
    return PB_EINVAL;
  }
  d->manual = calloc(n ? n : 1, sizeof *d->manual);
  if (!d->manual) {
    snprintf(err, errlen, "out of memory");
    return PB_ENOMEM;
  }
  for (size_t i = 0; i < n; i++) {
    int rc = parse_slot(json_array_get(list, i), i, d->id, &d->manual[i], err,
                        errlen);
    if (rc)
      return rc;
    d->manual[i].priority = d->priority;
    pb_strlcpy(d->manual[i].source, d->id, sizeof d->manual[i].source);
  }
  d->nmanual = n;
  if (n > 1)
    qsort(d->manual, n, sizeof *d->manual, cmp_slot_start);
  return 0;
}

/* Optional string: 0 with *out set, 0 with *out NULL when absent or null,
 * or an error naming the field. */
static int opt_str(const json_t *m, const char *key, size_t max,
                   const char **out, char *err, size_t errlen) {
  int rc = pb_json_get_str(m, key, false, out, err, errlen);
  if (rc == PB_ENOTFOUND) {
    *out = NULL;
    return 0;
  }
  if (rc)
    return rc;
  if (max && strlen(*out) > max) {
    snprintf(err, errlen, "field '%s' is longer than %zu bytes", key, max);
    return PB_EINVAL;
  }
  return 0;
}

static int parse_url_fields(const json_t *m, struct source_def *d, char *err,
                            size_t errlen) {
  const char *url, *user, *pass;
  int64_t refresh = 0;
  int rc;
  if ((rc = opt_str(m, "url", 0, &url, err, errlen)) ||
      (rc = opt_str(m, "username", PB_TEXT_MAX - 1, &user, err, errlen)) ||
      (rc = opt_str(m, "password", 1024, &pass, err, errlen)))
    return rc;
  if (!url) {
    snprintf(err, errlen, "field 'url' is required for a source of kind url");
    return PB_EINVAL;
  }
  char why[256];
  if ((rc = ingest_url_parse(url, &d->url, why, sizeof why))) {
    snprintf(err, errlen, "%s", why);
    return rc;
  }
  if (d->url.username && (user || pass)) {
    snprintf(err, errlen,
             "give the credentials in the URL or in 'username' "
             "and 'password', not both");
    return PB_EINVAL;
  }
  if (d->url.username) {
    user = d->url.username;
    pass = d->url.password;
  }
  if (pass && (!user || !*user)) {
    snprintf(err, errlen, "field 'password' needs a 'username'");
    return PB_EINVAL;
  }
  if (user && strlen(user) >= sizeof d->username) {
    snprintf(err, errlen, "the user name is longer than %d bytes",
             PB_TEXT_MAX - 1);
    return PB_EINVAL;
  }
  pb_strlcpy(d->username, user ? user : "", sizeof d->username);
  if (pass && !(d->password = strdup(pass))) {
    snprintf(err, errlen, "out of memory");
    return PB_ENOMEM;
  }
  rc = pb_json_get_int(m, "refresh_minutes", false, &refresh, err, errlen);
  if (rc && rc != PB_ENOTFOUND)
    return rc;
  if (rc == 0 && (refresh < 1 || refresh > 1440)) {
    snprintf(err, errlen, "field 'refresh_minutes' must be 1-1440");
    return PB_EINVAL;
  }
  d->refresh_minutes = (int)refresh;
  return 0;
}

static int parse_mapping(const json_t *m, struct source_def *d, char *err,
                         size_t errlen) {
  const char *def;
  int rc = opt_str(m, "default_status", sizeof d->default_status - 1, &def, err,
                   errlen);
  if (rc)
    return rc;
  const json_t *rules = json_object_get(m, "rules");
  if (json_is_null(rules))
    rules = NULL;
  struct ingest_rules *r = NULL;
  char why[512];
  if ((rc = ingest_rules_from_json(rules, def, &r, why, sizeof why))) {
    snprintf(err, errlen, "%s%s", rules ? "field 'rules': " : "", why);
    return rc;
  }
  ingest_rules_free(r);
  pb_strlcpy(d->default_status, def ? def : "", sizeof d->default_status);
  if (rules && !(d->rules = pb_json_dump(rules))) {
    snprintf(err, errlen, "out of memory");
    return PB_ENOMEM;
  }
  return 0;
}

static int parse_upload(const json_t *m, bool required,
                        const struct source_limits *lim, struct source_def *d,
                        char *err, size_t errlen) {
  const char *content, *format = NULL;
  int rc = opt_str(m, "content", 0, &content, err, errlen);
  if (rc)
    return rc;
  if (!content) {
    if (!required)
      return 0;
    snprintf(err, errlen,
             "field 'content' is required for a source of kind "
             "%s: the file's text",
             kind_names[d->kind]);
    return PB_EINVAL;
  }
  size_t len = json_string_length(json_object_get(m, "content"));
  size_t max = d->kind == SOURCE_ICS ? lim->max_bytes : lim->import_max;
  if (len > max) {
    snprintf(err, errlen,
             "field 'content' is %zu bytes, more than the %zu "
             "allowed (%s)",
             len, max,
             d->kind == SOURCE_ICS ? "SOURCE_MAX_BYTES" : "IMPORT_MAX_BYTES");
    return PB_ETOOBIG;
  }
  if (d->kind == SOURCE_WEEKLY) {
    if ((rc = opt_str(m, "format", 0, &format, err, errlen)))
      return rc;
    if (!format) { /* JSON plannings are an array (or an object) */
      size_t i = strncmp(content, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;
      i += strspn(content + i, " \t\r\n");
      format = content[i] == '[' || content[i] == '{' ? "json" : "csv";
    }
    if (strcasecmp(format, "csv") && strcasecmp(format, "json")) {
      snprintf(err, errlen, "field 'format' must be csv or json");
      return PB_EINVAL;
    }
    pb_strlcpy(d->format, format, sizeof d->format);
  }
  d->content = content;
  d->content_len = len;
  return 0;
}

static int parse_merged(const json_t *m, bool update,
                        const struct source_limits *lim, struct source_def *d,
                        char *err, size_t errlen) {
  const char *s;
  int64_t prio = 0;
  int rc;
  if ((rc = opt_str(m, "id", 0, &s, err, errlen)))
    return rc;
  if (s && !pb_topic_id_valid(s)) {
    snprintf(err, errlen,
             "field 'id' must be 1-64 characters of [A-Za-z0-9_-]");
    return PB_EINVAL;
  }
  pb_strlcpy(d->id, s ? s : "", sizeof d->id);
  if ((rc = opt_str(m, "name", PB_TEXT_MAX - 1, &s, err, errlen)))
    return rc;
  pb_strlcpy(d->name, s ? s : "", sizeof d->name);
  if ((rc = opt_str(m, "site", 0, &s, err, errlen)))
    return rc;
  if (!s)
    s = lim->default_site;
  if (!pb_topic_id_valid(s)) {
    snprintf(err, errlen,
             "field 'site' must be 1-64 characters of [A-Za-z0-9_-]");
    return PB_EINVAL;
  }
  pb_strlcpy(d->site, s, sizeof d->site);
  rc = pb_json_get_int(m, "priority", false, &prio, err, errlen);
  if (rc && rc != PB_ENOTFOUND)
    return rc;
  if (prio < -1000 || prio > 1000) {
    snprintf(err, errlen, "field 'priority' must be -1000..1000");
    return PB_EINVAL;
  }
  d->priority = (int)prio;
  if (d->kind != SOURCE_WEEKLY && (rc = parse_targets(m, d, err, errlen)))
    return rc;
  switch (d->kind) {
  case SOURCE_URL:
    if ((rc = parse_url_fields(m, d, err, errlen)))
      return rc;
    return parse_mapping(m, d, err, errlen);
  case SOURCE_ICS:
    if ((rc = parse_upload(m, !update && !lim->stored, lim, d, err, errlen)))
      return rc;
    return parse_mapping(m, d, err, errlen);
  case SOURCE_WEEKLY:
    return parse_upload(m, !update && !lim->stored, lim, d, err, errlen);
  case SOURCE_MANUAL: {
    const json_t *slots = json_object_get(m, "slots");
    if (!slots || json_is_null(slots)) {
      snprintf(err, errlen,
               "field 'slots' is required for a source of kind "
               "manual: [{start, end, status, summary}]");
      return PB_EINVAL;
    }
    return parse_slots(slots, d, err, errlen);
  }
  }
  return PB_EINVAL;
}

int ingest_source_parse(json_t *req, const struct source_def *base,
                        const struct source_limits *lim, struct source_def *out,
                        char *err, size_t errlen) {
  memset(out, 0, sizeof *out);
  if (!json_is_object(req)) {
    snprintf(err, errlen, "the request must be a JSON object");
    return PB_EINVAL;
  }
  const char *kind = NULL;
  int rc = opt_str(req, "kind", 0, &kind, err, errlen);
  if (rc)
    return rc;
  if (base) {
    out->kind = base->kind;
    if (kind && (parse_kind(kind, &out->kind) || out->kind != base->kind)) {
      snprintf(err, errlen,
               "the kind of a source cannot change (source '%s' "
               "is %s): remove it and add a new one",
               base->id, kind_names[base->kind]);
      return PB_EINVAL;
    }
  } else if (!kind) {
    snprintf(err, errlen,
             "field 'kind' is required: url, ics, manual or weekly");
    return PB_EINVAL;
  } else if (parse_kind(kind, &out->kind)) {
    snprintf(err, errlen, "unknown kind '%.40s' (url, ics, manual or weekly)",
             kind);
    return PB_EINVAL;
  }
  if ((rc = check_fields(req, out->kind, err, errlen)))
    return rc;
  json_t *m;
  if (base) {
    /* An update is the stored definition with the request laid over it. */
    m = ingest_source_to_request(base);
    if (!m) {
      snprintf(err, errlen, "out of memory");
      return PB_ENOMEM;
    }
    if (json_object_get(req, "extension"))
      json_object_del(m, "extensions");
    json_object_update(m, req);
    if (strcmp(pb_json_str(m, "id") ? pb_json_str(m, "id") : "", base->id) !=
        0) {
      json_decref(m);
      snprintf(err, errlen, "the id of a source cannot change");
      return PB_EINVAL;
    }
  } else {
    m = json_incref(req);
  }
  rc = parse_merged(m, base != NULL, lim, out, err, errlen);
  json_decref(m);
  /* The stored password goes only to the server it was given for: a new
   * URL elsewhere needs the password again (or null), in the same request,
   * or whoever may update sources could collect it on a host of theirs. */
  if (!rc && base && base->kind == SOURCE_URL && base->password &&
      !json_object_get(req, "password") && !out->url.username &&
      !pb_url_same_origin(base->url.full, out->url.full)) {
    snprintf(err, errlen,
             "field 'url': the new URL is on another server (its scheme, "
             "host or port changed) and the source has a password: give "
             "'password' again in the same request (null to drop it)");
    rc = PB_EINVAL;
  }
  if (rc)
    ingest_source_cleanup(out);
  return rc;
}

static json_t *exts_json(const struct source_def *d) {
  json_t *a = json_array();
  for (size_t i = 0; i < d->nexts; i++)
    json_array_append_new(a, json_string(d->exts[i]));
  return a;
}

static json_t *slots_json(const struct source_def *d, const struct pb_tz *tz) {
  json_t *a = json_array();
  for (size_t i = 0; i < d->nmanual; i++) {
    const struct pb_slot *s = &d->manual[i];
    json_t *o = json_object();
    pb_json_set_time_tz(o, "start", s->start, tz);
    pb_json_set_time_tz(o, "end", s->end, tz);
    json_object_set_new(o, "status", json_string(pb_presence_name(s->status)));
    json_object_set_new(o, "summary", json_string(s->summary));
    json_object_set_new(o, "uid", json_string(s->uid));
    json_array_append_new(a, o);
  }
  return a;
}

/* The fields both forms share. */
static json_t *common_json(const struct source_def *d, const struct pb_tz *tz) {
  json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:i}", "id", d->id, "kind",
                        kind_names[d->kind], "name", d->name, "site", d->site,
                        "priority", d->priority);
  if (!o)
    return NULL;
  if (d->kind != SOURCE_WEEKLY)
    json_object_set_new(o, "extensions", exts_json(d));
  if (d->kind == SOURCE_URL && d->refresh_minutes)
    json_object_set_new(o, "refresh_minutes", json_integer(d->refresh_minutes));
  if (d->kind == SOURCE_URL || d->kind == SOURCE_ICS) {
    json_t *rules =
        d->rules ? pb_json_parse(d->rules, strlen(d->rules), NULL, 0) : NULL;
    json_object_set_new(o, "rules", rules ? rules : json_null());
    json_object_set_new(o, "default_status",
                        d->default_status[0] ? json_string(d->default_status)
                                             : json_null());
  }
  if (d->kind == SOURCE_MANUAL)
    json_object_set_new(o, "slots", slots_json(d, tz));
  return o;
}

json_t *ingest_source_to_request(const struct source_def *d) {
  json_t *o = common_json(d, NULL);
  if (!o || d->kind != SOURCE_URL)
    return o;
  json_object_set_new(o, "url", json_string(d->url.full));
  if (d->username[0])
    json_object_set_new(o, "username", json_string(d->username));
  if (d->password)
    json_object_set_new(o, "password", json_string(d->password));
  return o;
}

json_t *ingest_source_public(const struct source_def *d,
                             const struct pb_tz *tz) {
  json_t *o = common_json(d, tz);
  if (!o || d->kind != SOURCE_URL)
    return o;
  json_object_set_new(o, "url", json_string(d->url.shown));
  json_object_set_new(o, "username", json_string(d->username));
  json_object_set_new(o, "password_set", json_boolean(d->password != NULL));
  return o;
}
