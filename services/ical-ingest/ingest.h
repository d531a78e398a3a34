/* ical-ingest's internal header: plannings in, concrete slots out.
 * A weekly planning (CSV or JSON, the earlier tool's formats) is a source;
 * each source's slots are expanded over a moving horizon and published per
 * extension on R/ext/<site>/<ext>/schedule (retained). */
#ifndef INGEST_H
#define INGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pb/error.h"
#include "pb/payload.h"

struct pb_bus;
struct pb_config;
struct pb_loop;
struct pb_secretbox;
struct pb_store;
struct pb_timer;
struct pb_tz;

/* ---- weekly planning (planning_csv.c, planning_json.c, planning_rules.c) */
struct weekly_slot {
  char ext[PB_ID_MAX];
  int wday;               /* 0 = Sunday .. 6 = Saturday */
  int start_min, end_min; /* minutes from local midnight, end <= 1440 */
  enum pb_presence status;
  int line; /* CSV line, or JSON entry index + 1 */
};

struct weekly_plan {
  struct weekly_slot *slots;
  size_t count, cap;
};

#define IMPORT_MAX_ERRORS 100

struct import_error {
  int line;       /* 0 when the error is not about one line */
  char where[64]; /* JSON path, "" for CSV */
  char message[200];
};

struct import_errors {
  struct import_error items[IMPORT_MAX_ERRORS];
  size_t count; /* kept */
  size_t total; /* found, may exceed count */
};

void ingest_error_add(struct import_errors *errs, int line, const char *where,
                      const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

int ingest_parse_csv(const char *buf, size_t len, struct weekly_plan *plan,
                     struct import_errors *errs);
int ingest_parse_json(const char *buf, size_t len, struct weekly_plan *plan,
                      struct import_errors *errs);
void ingest_plan_cleanup(struct weekly_plan *plan);
int ingest_plan_add(struct weekly_plan *plan, const struct weekly_slot *slot);
/* Day names in French or English, full or abbreviated, or ISO 1-7. */
int ingest_parse_day(const char *text, int *wday);
/* "HH:MM" or "H:MM"; "24:00" only when allow_24 (an end time). */
int ingest_parse_hhmm(const char *text, bool allow_24, int *minutes);
/* Checks one slot's fields; reports into errs with its line. */
void ingest_check_slot(const struct weekly_slot *s, struct import_errors *errs,
                       const char *where);
/* The checks on a whole planning, after its lines: overlapping slots of
 * one extension on one day are refused, and so is a planning without any
 * slot. JSON errors name the slot ("slot 3") rather than a line. Returns 0
 * or PB_EPARSE. */
int ingest_plan_finish(struct weekly_plan *plan, struct import_errors *errs,
                       bool json);

/* ---- expansion (weekly_expand.c) ---- */
struct slot_vec {
  struct pb_slot *items;
  size_t count, cap;
};
int slot_vec_push(struct slot_vec *v, const struct pb_slot *s);
void slot_vec_cleanup(struct slot_vec *v);
/* Concrete slots of `ext` from the weekly template, overlapping [from, to),
 * local days in tz, the extension's zone (DST-aware: an 08:00 slot is 08:00
 * local every day). */
int ingest_expand_weekly(const struct weekly_slot *slots, size_t n,
                         const char *ext, const struct pb_tz *tz, int64_t from,
                         int64_t to, const char *source, int priority,
                         struct slot_vec *out);
/* Sort by start and drop exact duplicates (same start, end, status). */
void ingest_slots_normalise(struct slot_vec *v);

/* ---- storage (ingest_store.c) ---- */
int ingest_store_open(const char *data_dir, struct pb_store **out);
/* Replaces a weekly source's slots in one transaction. */
PB_MUST_CHECK int ingest_store_save_weekly(struct pb_store *st,
                                           const char *source, const char *site,
                                           int priority,
                                           const struct weekly_plan *plan);
/* Sites and extensions that have any slot, or had a published schedule. */
typedef void ingest_ext_cb(const char *site, const char *ext, void *ud);
int ingest_store_each_extension(struct pb_store *st, ingest_ext_cb *cb,
                                void *ud);
/* Every weekly slot of (site, ext) from every source, with source metadata. */
typedef void ingest_slot_cb(const struct weekly_slot *s, const char *source,
                            int priority, void *ud);
int ingest_store_each_weekly(struct pb_store *st, const char *site,
                             const char *ext, ingest_slot_cb *cb, void *ud);
PB_MUST_CHECK int ingest_store_mark_published(struct pb_store *st,
                                              const char *site, const char *ext,
                                              bool has_slots);
/* True when a source feeds (site, ext) or a schedule was published for it. */
bool ingest_store_extension_known(struct pb_store *st, const char *site,
                                  const char *ext);
/* Each extension's own time zone, as last read from its settings. */
PB_MUST_CHECK int ingest_store_save_zone(struct pb_store *st, const char *site,
                                         const char *ext, const char *zone);
typedef void ingest_zone_cb(const char *site, const char *ext, const char *zone,
                            void *ud);
int ingest_store_each_zone(struct pb_store *st, ingest_zone_cb *cb, void *ud);

/* ---- extensions' time zones (ext_zones.c) ---- */
struct ingest_zones;
/* `fallback` (TIMEZONE) is lent for the table's life. */
int ingest_zones_new(const struct pb_tz *fallback, struct ingest_zones **out);
void ingest_zones_free(struct ingest_zones *z);
/* The zone plannings of (site, ext) are read in: its own, else the
 * fallback. Lent until ingest_zones_free (zones once loaded stay). */
const struct pb_tz *ingest_zones_get(const struct ingest_zones *z,
                                     const char *site, const char *ext);
/* Gives (site, ext) the zone `name` (NULL or "": the fallback). *changed
 * tells whether its zone is another one now. PB_ENOTFOUND for a zone the
 * system does not know (nothing changes). */
int ingest_zones_set(struct ingest_zones *z, const char *site, const char *ext,
                     const char *name, bool *changed);
/* The `timezone` of an R/ext/<site>/<ext>/settings payload into `name`
 * ("" for null, absent, or an empty payload). PB_EPARSE with err. */
int ingest_settings_zone(const char *payload, size_t len, char *name,
                         size_t cap, char *err, size_t errlen);

/* ---- sources (source_url.c, source_spec.c): a calendar URL, an uploaded
 * .ics, a weekly planning or hand-typed slots, aimed at extensions ---- */
enum source_kind { SOURCE_WEEKLY, SOURCE_URL, SOURCE_ICS, SOURCE_MANUAL };
const char *ingest_source_kind_name(enum source_kind kind);

#define SOURCE_MAX_TARGETS 1000 /* extensions one source feeds */
#define SOURCE_MAX_MANUAL 10000 /* hand-typed slots in one source */
#define SOURCE_MAX_COUNT 10000  /* sources in one service */
#define SOURCE_URL_MAX 2048
#define SOURCE_URL_SECRETS 16

/* A calendar URL split into what is fetched and what may be shown. */
struct source_url {
  char *full;                /* fetched: without userinfo and fragment */
  char *shown;               /* query values, token-like path segments: *** */
  char *username, *password; /* from user:password@, else NULL */
  char *secrets[SOURCE_URL_SECRETS]; /* the hidden parts (4 bytes or more) */
  size_t nsecrets;
};
/* http://, https:// (webcal:// and webcals:// read as https://), split by
 * pb_url_split, at most SOURCE_URL_MAX. */
int ingest_url_parse(const char *text, struct source_url *out, char *err,
                     size_t errlen);
void ingest_url_cleanup(struct source_url *u); /* wipes the secrets */
/* Masks the full URL, each hidden part and `password` in `text` with
 * "***" (text only shrinks). For messages that leave the service. */
void ingest_redact(char *text, size_t cap, const struct source_url *u,
                   const char *password);
/* Whether a calendar found at `to` after permanent redirects (RFC 9110
 * §15.4.2, §15.4.9) from `from` may be fetched there directly from now on:
 * `to` resolved against `from` (pb_url_resolve), http(s) only, no
 * user:password@, never from https down to http, and with `credentials`
 * only on the same origin (pb_url_same_origin: scheme, host and port, the
 * scheme's default port written or not). Returns 0
 * with `out` parsed, else PB_EINVAL with the reason in `why`. */
int ingest_url_moved(const struct source_url *from, const char *to,
                     bool credentials, struct source_url *out, char *why,
                     size_t whylen);

/* ---- Retry-After (retry_after.c) ---- */
/* The instant a Retry-After value (seconds or HTTP-date) asks to wait
 * until, seen at `now`, within [now, now + max_wait]. PB_EPARSE when it is
 * neither form. */
int ingest_retry_after(const char *value, int64_t now, int64_t max_wait,
                       int64_t *at);

/* A source as configured (what source/add and source/update set). */
struct source_def {
  char id[PB_ID_MAX];
  enum source_kind kind;
  char name[PB_TEXT_MAX];
  char site[PB_ID_MAX];
  int priority;
  char (*exts)[PB_ID_MAX]; /* targets (not for weekly), sorted, unique */
  size_t nexts;
  struct source_url url; /* SOURCE_URL */
  char *password;        /* SOURCE_URL basic auth, wiped when freed */
  char username[PB_TEXT_MAX];
  int refresh_minutes;     /* SOURCE_URL; 0: SOURCE_REFRESH_MINUTES */
  char *rules;             /* the source's own rules, JSON; NULL: none */
  char default_status[32]; /* "": the global default */
  struct pb_slot *manual;  /* SOURCE_MANUAL, sorted by start */
  size_t nmanual;
  /* A new upload carried by the request (SOURCE_ICS, SOURCE_WEEKLY);
   * NULL when the stored content stays. Lent from the request. */
  const char *content;
  size_t content_len;
  char format[8]; /* SOURCE_WEEKLY: csv or json */
};

struct source_limits {
  const char *default_site;
  size_t max_bytes;  /* SOURCE_MAX_BYTES: ics uploads */
  size_t import_max; /* IMPORT_MAX_BYTES: weekly uploads */
  bool stored;       /* reading back the store: no upload needed */
};

/* Reads an add request (`base` NULL) or an update request (`base` is the
 * source as stored: the request's fields replace its own, null clears an
 * optional one). Every field is checked; errors name it. The result holds
 * pointers into `req` (content) and must not outlive it. `req` is only
 * read (jansson's iteration and json_object_update take it non-const). */
int ingest_source_parse(json_t *req, const struct source_def *base,
                        const struct source_limits *lim, struct source_def *out,
                        char *err, size_t errlen);
/* The definition with its secrets, for storing sealed and for updates. */
json_t *ingest_source_to_request(const struct source_def *d);
/* What may be shown: the URL masked, no password. New reference. */
json_t *ingest_source_public(const struct source_def *d,
                             const struct pb_tz *tz);
void ingest_source_cleanup(struct source_def *d);
/* Copies `src` into `dst` (size bytes) as valid UTF-8: bad bytes become
 * '?', a character cut by the bound is dropped. `dst` may be `src`. */
void ingest_copy_text(char *dst, size_t size, const char *src);
bool ingest_source_targets(const struct source_def *d, const char *site,
                           const char *ext);

/* ---- sources in the database (source_store.c) ---- */
/* A calendar as last read successfully. */
struct source_body {
  const char *data; /* NUL-terminated (may hold NULs before len) */
  size_t len;
  char *owned; /* `data` when ingest_store_load_body copied it */
  char sha256[65];
  char etag[256], last_modified[128];
};
struct source_fetch {
  int64_t last_attempt, last_success, last_change; /* -1: never */
  int failures;        /* attempts failed in a row */
  int64_t http_status; /* of the last answer, 0 without one */
  char error[512];     /* of the last attempt, "" when it worked */
  int64_t not_before;  /* Retry-After: no attempt before, 0: none */
};
/* Inserts or replaces a source (its targets, and `body` when not NULL) in
 * one transaction; the URL and password are sealed with `box`. */
PB_MUST_CHECK int ingest_store_save_source(struct pb_store *st,
                                           struct pb_secretbox *box,
                                           const struct source_def *d,
                                           const struct source_body *body);
PB_MUST_CHECK int ingest_store_save_body(struct pb_store *st, const char *id,
                                         const struct source_body *body);
/* The stored calendar, copied (free with ingest_body_cleanup). */
int ingest_store_load_body(struct pb_store *st, const char *id,
                           struct source_body *body);
void ingest_body_cleanup(struct source_body *body);
PB_MUST_CHECK int ingest_store_delete_source(struct pb_store *st,
                                             const char *id);
PB_MUST_CHECK int ingest_store_save_fetch(struct pb_store *st, const char *id,
                                          const struct source_fetch *f);
/* Every stored source, read back and checked; `cb` takes the definition.
 * A source that cannot be read is logged and skipped. */
typedef void ingest_source_cb(struct source_def *d,
                              const struct source_fetch *f, void *ud);
int ingest_store_each_source(struct pb_store *st, struct pb_secretbox *box,
                             const struct source_limits *lim,
                             ingest_source_cb *cb, void *ud);
/* Appends the extensions of a weekly source to the JSON array `out`. */
int ingest_store_weekly_exts(struct pb_store *st, const char *id, json_t *out);

/* ---- the running service (main.c, schedule_publish.c, handle_import.c) */
struct pb_http;
struct ingest_rules;
struct source_set;
struct fetch_ticket;

struct ingest {
  struct pb_loop *loop;
  struct pb_bus *bus;
  struct pb_store *store;
  struct pb_tz *tz;
  const struct pb_config *cfg;
  struct pb_timer *horizon_timer;
  int horizon_days;
  size_t import_max;
  struct pb_http *http;         /* calendar downloads */
  struct pb_secretbox *box;     /* seals URLs and passwords at rest */
  struct ingest_rules *rules;   /* MAPPING_RULES, MAPPING_DEFAULT_STATUS */
  struct ingest_zones *zones;   /* each extension's zone (ext_zones.c) */
  struct source_set *sources;   /* every source but weekly ones' slots */
  struct fetch_ticket *tickets; /* downloads under way (source_fetch.c) */
};

/* Publishes the schedule of every known extension (start, reconnect,
 * midnight) or of one extension (after an import or a source change): the
 * slots of every source that feeds it, merged, read in the extension's
 * zone. */
void ingest_publish_all(struct ingest *in);
void ingest_publish_one(struct ingest *in, const char *site, const char *ext);
/* Reads back the retained schedules after every (re)connection: one for an
 * extension the database no longer knows is cleared (schedule_publish.c). */
int ingest_schedule_watch(struct ingest *in);
/* Each extension a source feeds (its weekly slots' for a weekly one). */
void ingest_publish_source(struct ingest *in, const struct source_def *d);
void ingest_arm_horizon(struct ingest *in);
/* The horizon at `now`: [local midnight, + SCHEDULE_HORIZON_DAYS), in
 * TIMEZONE for every extension (it starts before now in any zone). */
void ingest_horizon(const struct ingest *in, int64_t now, int64_t *from,
                    int64_t *to);

/* ---- sources at run time (source_set.c) ---- */
struct cal_read_stats {
  size_t ignored;          /* occurrences the rules said to ignore */
  size_t warnings;         /* events the reader skipped or bent */
  char first_warning[200]; /* "line N: ..." */
  /* Values were read in the zone given (floating times, all-day days):
   * the slots differ from one extension's zone to another's. */
  bool local_zone;
};

/* A source's slots read in another zone than TIMEZONE, for the extensions
 * in that zone, while the calendar has floating times or all-day events. */
struct zone_slots {
  const struct pb_tz *tz; /* lent by ingest_zones */
  struct slot_vec slots;
  unsigned revision; /* of the source's slots they match */
};

struct source {
  struct ingest *in; /* the service it belongs to */
  struct source_def def;
  struct ingest_rules *rules; /* own rules, then the global ones */
  struct source_fetch fetch;
  struct pb_timer *timer; /* the next download (url) */
  int64_t next_attempt;   /* UTC seconds, -1: none planned */
  bool fetching;
  unsigned generation; /* bumped on update/remove: stale answers dropped */
  bool has_body;       /* a calendar was read successfully */
  size_t body_len;
  char sha256[65]; /* of that calendar */
  char etag[256], last_modified[128];
  /* The source's slots, statuses mapped, over the window they were
   * expanded for (the horizon then). */
  struct slot_vec slots;
  int64_t win_from, win_to;
  bool expanded;
  unsigned revision;        /* bumped each time `slots` are replaced */
  struct zone_slots *zoned; /* the same in other zones (source_expand.c) */
  size_t nzoned;
  struct cal_read_stats stats; /* of the last reading */
};

int ingest_sources_load(struct ingest *in);
void ingest_sources_free(struct ingest *in);
struct source *ingest_source_find(const struct ingest *in, const char *id);
size_t ingest_sources_count(const struct ingest *in);
struct source *ingest_source_at(const struct ingest *in, size_t i);
/* Takes `d` (cleared on return); the new source is returned in *out. */
int ingest_source_insert(struct ingest *in, struct source_def *d,
                         const struct source_fetch *f, struct source **out);
/* Replaces the definition (taken), keeping the fetch state and slots. */
int ingest_source_replace(struct ingest *in, struct source *s,
                          struct source_def *d);
void ingest_source_remove(struct ingest *in, struct source *s);
/* Takes `url` (cleared on return) as the source's URL, stored at once; the
 * new URL's secrets are masked in the log from now on. On failure the
 * source keeps its URL. */
int ingest_source_move(struct ingest *in, struct source *s,
                       struct source_url *url);
/* The source's own rules chained before the global ones. */
int ingest_source_rules(const struct ingest *in, const struct source_def *d,
                        struct ingest_rules **out, char *err, size_t errlen);

/* ---- calendars into slots (source_expand.c) ---- */
/* Reads `len` bytes of iCalendar over [from, to) and maps each occurrence
 * with `rules`, counting those ignored and the reader's warnings (events
 * skipped or read leniently). Floating times and all-day days are read in
 * `tz` (NULL: TIMEZONE). Fills err on failure. */
int ingest_calendar_slots(const struct ingest *in, const char *source_id,
                          int priority, const struct ingest_rules *rules,
                          const char *buf, size_t len, const struct pb_tz *tz,
                          int64_t from, int64_t to, struct slot_vec *out,
                          struct cal_read_stats *stats, char *err,
                          size_t errlen);
/* Re-expands the stored calendar when the horizon moved since the last
 * expansion (or `force`); *changed tells whether the slots differ. */
int ingest_source_expand(struct ingest *in, struct source *s, bool force,
                         bool *changed);
/* Appends the source's slots that overlap [from, to), for an extension
 * in zone `tz`. */
int ingest_source_append(struct ingest *in, struct source *s,
                         const struct pb_tz *tz, int64_t from, int64_t to,
                         struct slot_vec *out);
/* Frees the source's slots in other zones. */
void ingest_source_zoned_cleanup(struct source *s);
/* Checks and takes a new calendar for a source (a download or an upload):
 * reads it over the horizon, stores it, replaces the slots and republishes
 * the schedules when they changed. On failure nothing changes. */
int ingest_source_accept(struct ingest *in, struct source *s, const char *buf,
                         size_t len, const char *etag,
                         const char *last_modified, bool *changed, char *err,
                         size_t errlen);
/* Takes `v` (emptied) as the source's slots for [from, to). */
void ingest_source_take_slots(struct source *s, struct slot_vec *v,
                              int64_t from, int64_t to);
/* True when two slot lists are the same, slot by slot. */
bool ingest_slots_equal(const struct slot_vec *a, const struct slot_vec *b);

/* ---- downloads (source_fetch.c) ---- */
/* Plans the next download from the fetch state (interval, backoff). */
void ingest_fetch_plan(struct ingest *in, struct source *s);
/* Downloads now, unless a download runs already (returns PB_ESTATE). */
int ingest_fetch_now(struct ingest *in, struct source *s);
/* Forgets a running download and the planned one (update, remove). */
void ingest_fetch_cancel(struct ingest *in, struct source *s);
void ingest_fetch_shutdown(struct ingest *in);

/* ---- status and events (source_status.c) ---- */
/* R/svc/ical-ingest/source/<id>/status, retained. */
json_t *ingest_source_status(const struct ingest *in, const struct source *s);
void ingest_status_publish(struct ingest *in, const struct source *s);
void ingest_status_publish_all(struct ingest *in);
void ingest_status_clear(struct ingest *in, const char *id);
/* Reads back the retained statuses after every (re)connection: one of a
 * source that no longer exists is cleared. */
int ingest_status_watch(struct ingest *in);
/* R/events/source: `fields` (taken, may be NULL) plus id and action. */
void ingest_source_event(struct ingest *in, const struct source_def *d,
                         const char *action, json_t *fields);

/* ---- extensions' settings (handle_settings.c) ---- */
/* Loads the stored zones and follows R/ext/+/+/settings: a zone change
 * republishes that extension's schedule. */
int ingest_settings_watch(struct ingest *in);

/* ---- source requests (handle_source.c) ---- */
int ingest_source_serve(struct ingest *in);

/* ---- imports (handle_import.c, import_cli.c) ---- */
int ingest_import_serve(struct ingest *in);
/* Parses `content` in `format` and stores it; fills errs on failure. */
int ingest_import(struct ingest *in, const char *format, const char *content,
                  size_t len, const char *site, const char *source,
                  int priority, struct import_errors *errs, size_t *nslots,
                  size_t *nexts);
/* The problems of a refused planning, as the `details` of a response. */
json_t *ingest_errors_json(const struct import_errors *errs);
/* The --import command line: sends the file to the running service. */
int ingest_import_cli(const struct pb_config *cfg, const char *file,
                      const char *format, const char *site, const char *source,
                      bool dry_run);

#endif
