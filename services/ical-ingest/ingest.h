/* ical-ingest's internal header: plannings in, concrete slots out.
 * A weekly planning (CSV or JSON, the earlier tool's formats) is a source;
 * each source's slots are expanded over a moving horizon and published per
 * extension on R/ext/<site>/<ext>/schedule (retained). */
#ifndef INGEST_H
#define INGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pb/payload.h"

struct pb_bus;
struct pb_config;
struct pb_loop;
struct pb_store;
struct pb_timer;
struct pb_tz;

/* ---- weekly planning (planning_csv.c, planning_json.c, planning_rules.c) */
struct weekly_slot {
  char ext[PB_ID_MAX];
  int wday;                  /* 0 = Sunday .. 6 = Saturday */
  int start_min, end_min;    /* minutes from local midnight, end <= 1440 */
  enum pb_presence status;
  int line;                  /* CSV line, or JSON entry index + 1 */
};

struct weekly_plan {
  struct weekly_slot *slots;
  size_t count, cap;
};

#define IMPORT_MAX_ERRORS 100

struct import_error {
  int line;                  /* 0 when the error is not about one line */
  char where[64];            /* JSON path, "" for CSV */
  char message[200];
};

struct import_errors {
  struct import_error items[IMPORT_MAX_ERRORS];
  size_t count;              /* kept */
  size_t total;              /* found, may exceed count */
};

void ingest_error_add(struct import_errors *errs, int line, const char *where,
                      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

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
 * local days in tz (DST-aware: an 08:00 slot is 08:00 local every day). */
int ingest_expand_weekly(const struct weekly_slot *slots, size_t n,
                         const char *ext, const struct pb_tz *tz, int64_t from,
                         int64_t to, const char *source, int priority,
                         struct slot_vec *out);
/* Sort by start and drop exact duplicates (same start, end, status). */
void ingest_slots_normalise(struct slot_vec *v);

/* ---- storage (ingest_store.c) ---- */
int ingest_store_open(const char *data_dir, struct pb_store **out);
/* Replaces a weekly source's slots in one transaction. */
int ingest_store_save_weekly(struct pb_store *st, const char *source,
                             const char *site, int priority,
                             const struct weekly_plan *plan);
/* Sites and extensions that have any slot, or had a published schedule. */
typedef void ingest_ext_cb(const char *site, const char *ext, void *ud);
int ingest_store_each_extension(struct pb_store *st, ingest_ext_cb *cb, void *ud);
/* Every weekly slot of (site, ext) from every source, with source metadata. */
typedef void ingest_slot_cb(const struct weekly_slot *s, const char *source,
                            int priority, void *ud);
int ingest_store_each_weekly(struct pb_store *st, const char *site,
                             const char *ext, ingest_slot_cb *cb, void *ud);
int ingest_store_mark_published(struct pb_store *st, const char *site,
                                const char *ext, bool has_slots);

/* ---- the running service (main.c, schedule_publish.c, import_request.c) */
struct ingest {
  struct pb_loop *loop;
  struct pb_bus *bus;
  struct pb_store *store;
  struct pb_tz *tz;
  const struct pb_config *cfg;
  struct pb_timer *horizon_timer;
  int horizon_days;
  size_t import_max;
};

/* Publishes the schedule of every known extension (start, reconnect,
 * midnight) or of one extension (after an import). */
void ingest_publish_all(struct ingest *in);
void ingest_publish_one(struct ingest *in, const char *site, const char *ext);
void ingest_arm_horizon(struct ingest *in);

int ingest_import_serve(struct ingest *in);
/* Parses `content` in `format` and stores it; fills errs on failure. */
int ingest_import(struct ingest *in, const char *format, const char *content,
                  size_t len, const char *site, const char *source, int priority,
                  struct import_errors *errs, size_t *nslots, size_t *nexts);
/* The --import command line: sends the file to the running service. */
int ingest_import_cli(const struct pb_config *cfg, const char *file,
                      const char *format, const char *site, const char *source,
                      bool dry_run);

#endif
