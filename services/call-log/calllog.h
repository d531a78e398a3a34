/* call-log's internal header. The call log keeps every finished call (CDR)
 * of every site once, in its own database (DATA_DIR/call-log.db), catches
 * up from the PBX's CDR search through the gateway after an outage, and
 * answers searches and statistics (docs/call-log.md). */
#ifndef CALLLOG_H
#define CALLLOG_H

#include <stdbool.h>
#include <stdint.h>

#include "pb/error.h"
#include "pb/json.h"
#include "pb/payload.h"
#include "pb/payload_call.h"

struct pb_loop;
struct pb_map;
struct pb_store;
struct pb_timer;
struct pb_tz;

/* ---- numbers (number_key.c) ----
 * A number is searched by its digits read backwards, so that "ends with"
 * is a range over an index ("0123456789" finds "+33123456789"). */
#define CALLLOG_SUFFIX_DIGITS 6
/* The digits of `number` ('+', '*', '#' and anything else dropped),
 * reversed, into out; "" when none. */
void calllog_number_rev(const char *number, char *out, size_t len);

/* ---- what a search or statistics request selects (query_parse.c) ---- */
enum calllog_match {
  CALLLOG_MATCH_NONE,
  CALLLOG_MATCH_EXACT,
  CALLLOG_MATCH_SUFFIX
};
struct calllog_filter {
  char site[PB_ID_MAX];       /* "" any */
  enum calllog_match match;   /* how `number` is matched */
  char number[PB_NUMBER_MAX]; /* cleaned (exact: compared as it is) */
  char key_lo[PB_NUMBER_MAX]; /* reversed digits: the range's ends */
  char key_hi[PB_NUMBER_MAX + 1];
  char ext[PB_NUMBER_MAX]; /* "" any */
  const char *direction;   /* NULL any, else a contract name */
  const char *status;      /* NULL any */
  int64_t from, to;        /* start time in [from, to) */
};

enum calllog_group {
  CALLLOG_GROUP_NONE,
  CALLLOG_GROUP_DAY,
  CALLLOG_GROUP_WEEK,
  CALLLOG_GROUP_MONTH
};

#define CALLLOG_PAGE_SIZE_MAX 1000
#define CALLLOG_TOP_MAX 1000
#define CALLLOG_PERIODS_MAX 1000
#define CALLLOG_LAST_CALLS 5

struct calllog_search {
  struct calllog_filter f;
  int64_t page, page_size;
};

struct calllog_stats_req {
  struct calllog_filter f; /* from and to required */
  enum calllog_group group;
  int64_t top;
};

struct calllog_get {
  char site[PB_ID_MAX];
  char call_id[PB_CALL_ID_MAX];
};

/* Requests read whole: every field checked, the first bad one named in
 * err ("field 'page_size': ..."). `default_site` is not applied: a search
 * without a site covers every site. */
int calllog_search_parse(const json_t *req, struct calllog_search *out,
                         char *err, size_t errlen);
int calllog_stats_parse(const json_t *req, struct calllog_stats_req *out,
                        char *err, size_t errlen);
/* `get`: call_id required, site defaulting to `default_site` (SITE). */
int calllog_get_parse(const json_t *req, const char *default_site,
                      struct calllog_get *out, char *err, size_t errlen);

/* ---- the database (cdr_store.c) ---- */
int calllog_store_open(const char *data_dir, struct pb_store **out);
/* An in-memory or file database at `path` (tests, the benchmark). */
int calllog_store_open_path(const char *path, struct pb_store **out);
/* Stores a CDR unless (site, call_id) is already there (then *added is
 * false and the first one is kept). */
PB_MUST_CHECK int calllog_store_add(struct pb_store *st, const struct pb_cdr *c,
                                    bool *added);
/* Deletes at most `limit` CDRs that started before `before`. */
PB_MUST_CHECK int calllog_store_prune(struct pb_store *st, int64_t before,
                                      int limit, int64_t *deleted);
/* The site's catch-up cursor: the end of the last window fully stored;
 * PB_ENOTFOUND when the site has none yet. */
int calllog_store_cursor(struct pb_store *st, const char *site,
                         int64_t *cursor);
PB_MUST_CHECK int calllog_store_set_cursor(struct pb_store *st,
                                           const char *site, int64_t cursor);
/* PB_ENOTFOUND when the log has no such call. */
int calllog_store_get(struct pb_store *st, const char *site,
                      const char *call_id, struct pb_cdr *out);
int64_t calllog_store_count(struct pb_store *st);

/* ---- answers (cdr_query.c, cdr_stats.c) ---- */
/* {"total","page","page_size","cdrs":[...]} newest first, or NULL after a
 * database error (logged). */
json_t *calllog_search_run(struct pb_store *st, const struct calllog_search *s,
                           const struct pb_tz *tz);
/* The stats answer of docs/call-log.md, or NULL after a database error. */
json_t *calllog_stats_run(struct pb_store *st,
                          const struct calllog_stats_req *r,
                          const struct pb_tz *tz);
/* The statements of searches and statistics (cdr_query.c): one per kind
 * and per filter shape (with a number or not, exact or suffix; with an
 * extension or not), so each one's plan uses the index that fits. */
enum calllog_sql {
  CALLLOG_SQL_COUNT,  /* COUNT(*) */
  CALLLOG_SQL_PAGE,   /* the CDR columns, newest first, ?11 LIMIT ?12 OFFSET */
  CALLLOG_SQL_STREAM, /* start, answered, talk_seconds, extension, peer, id,
                        oldest first */
  CALLLOG_SQL__COUNT
};
struct pb_stmt;
/* The statement for `kind` with the filter's values bound (?1..?10). */
struct pb_stmt *calllog_filter_stmt(struct pb_store *st, enum calllog_sql kind,
                                    const struct calllog_filter *f);
/* A CDR read from a row of the columns CALLLOG_CDR_COLUMNS. */
#define CALLLOG_CDR_COLUMNS                                                    \
  "site, call_id, start, answer, end_time, from_num, to_num, direction, "      \
  "status, talk_seconds, ring_seconds, trunk, recording, extension"
void calllog_cdr_from_row(struct pb_stmt *st, struct pb_cdr *out);

/* ---- the running service ---- */

/* How the call log reaches the bus. main.c wires it to shared/bus.c; unit
 * tests record what would be sent and answer the requests themselves. The
 * answer to `request` comes back through calllog_backfill_answer(site, ...)
 * (NULL response: no answer in time). Both take `req` / `event`. */
struct calllog_site;
struct calllog_io {
  int (*request)(void *ud, const char *service, const char *action, json_t *req,
                 int timeout_ms, struct calllog_site *site);
  int (*event)(void *ud, const char *kind, json_t *event);
  void *ud;
};

struct calllog_settings {
  int64_t retention_days;   /* 0: kept for ever */
  int64_t backfill_seconds; /* period of the catch-up */
  int64_t backfill_days;    /* how far back the first catch-up goes */
  int64_t overlap_seconds;  /* each catch-up starts this far before */
  int64_t page_size;        /* asked of the gateway, 1..1000 */
  int64_t request_timeout_ms;
};

/* One PBX site's catch-up (backfill.c). */
struct calllog_site {
  char name[PB_ID_MAX];
  bool ok;        /* its last R/site/<site>/status said ok */
  bool running;   /* a catch-up is under way */
  bool waiting;   /* a page request is out */
  bool again;     /* asked again while running: one more run after */
  int64_t cursor; /* -1: none yet */
  int64_t win_start, win_end;
  int64_t page, added, seen;
  int failures;
  struct pb_timer *retry;
  struct calllog *cl;
};

struct calllog {
  struct pb_loop *loop;
  struct pb_store *store;
  const struct pb_tz *tz;
  struct calllog_io io;
  struct calllog_settings set;
  const char *default_site; /* SITE: a get without "site" */
  struct pb_map *sites;     /* name -> struct calllog_site */
  bool gateway_online;
  struct pb_timer *prune;    /* retention (retention.c) */
  int64_t pruned;            /* by the batches under way, for one log line */
  struct pb_timer *periodic; /* catch-up every backfill_seconds */
};

int calllog_init(struct calllog *cl, struct pb_loop *loop,
                 struct pb_store *store, const struct pb_tz *tz,
                 const struct calllog_io *io,
                 const struct calllog_settings *set);
void calllog_cleanup(struct calllog *cl);

/* Stores one CDR from the live feed (handle_cdr.c's work, testable). */
PB_MUST_CHECK int calllog_add(struct calllog *cl, const struct pb_cdr *c,
                              bool *added);

/* ---- catch-up (backfill.c) ---- */
struct calllog_site *calllog_site_get(struct calllog *cl, const char *name,
                                      bool create);
/* R/site/<site>/status said `state` (NULL: the site was removed). A site
 * that becomes ok catches up. */
void calllog_site_status(struct calllog *cl, const char *site,
                         const char *state);
/* The gateway's availability changed: back online, every ok site catches
 * up (a waiting retry is tried at once). */
void calllog_gateway_availability(struct calllog *cl, bool online);
/* Starts a catch-up of the site (or marks one more run when one is under
 * way). `why` goes into the log. */
void calllog_backfill_start(struct calllog_site *s, const char *why);
void calllog_backfill_all(struct calllog *cl, const char *why);
/* The gateway's answer to the page request of `s` (NULL: none in time). */
void calllog_backfill_answer(struct calllog_site *s, json_t *response);

/* ---- retention (retention.c) ---- */
#define CALLLOG_PRUNE_BATCH 5000
/* One batch; re-arms itself soon while there is more, else in an hour. */
void calllog_prune_step(struct calllog *cl);
int calllog_retention_start(struct calllog *cl);

/* ---- the bus side (handle_*.c) ---- */
struct pb_bus;
int calllog_cdr_register(struct pb_bus *bus, struct calllog *cl);
int calllog_requests_register(struct pb_bus *bus, struct calllog *cl);
int calllog_sites_register(struct pb_bus *bus, struct calllog *cl);

#endif
