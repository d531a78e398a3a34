/* The SQLite store every service keeps in DATA_DIR: WAL mode, a schema
 * version table with ordered migrations, a cache of prepared statements.
 * A database written by a newer version is refused with a clear message
 * rather than silently misread. Only store.c includes <sqlite3.h>. */
#ifndef PB_STORE_H
#define PB_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pb/error.h"

struct pb_store;
struct pb_stmt;

struct pb_migration {
  int version;     /* 1, 2, 3... in order */
  const char *sql; /* may hold several statements */
};

enum { PB_STMT_DONE = 0, PB_STMT_ROW = 1 };

/* Opens (creating) `path` and applies the migrations above the stored
 * version, each in its own transaction. PB_EVERSION when the file's version
 * is above the newest migration known. */
int pb_store_open(const char *path, const struct pb_migration *migrations,
                  size_t count, struct pb_store **out);
void pb_store_close(struct pb_store *store);
/* Moves WAL checkpoints (the one kind of write that waits for the disk:
 * fsync) to a thread with its own connection, at most once a second after
 * commits (at once past 1,000 WAL pages), so a busy disk never stalls the
 * caller's loop. Commits stay durable against a crash of the process
 * (synchronous=NORMAL). The -wal file stays bounded: cut back to 4 MiB when
 * the log starts over, truncated by the thread when it finds it larger,
 * and checkpointed by the writer itself past 4,000 pages should the thread
 * fall that far behind. Optional; stopped by pb_store_close. */
int pb_store_checkpoint_in_background(struct pb_store *store);
int pb_store_version(struct pb_store *store);
/* A service's own database, DATA_DIR/<service>.db: the directory created
 * when missing, the migrations applied, and WAL checkpoints moved off the
 * service's loop (pb_store_checkpoint_in_background). */
int pb_store_open_service(const char *data_dir, const char *service,
                          const struct pb_migration *migrations, size_t count,
                          struct pb_store **out);
/* "DATA_DIR/<service>.db", creating DATA_DIR when missing. */
int pb_store_path(const char *data_dir, const char *service, char *buf,
                  size_t len);

/* Writers: a result dropped is a write lost without a word. */
PB_MUST_CHECK int pb_store_exec(struct pb_store *store, const char *sql);
PB_MUST_CHECK int pb_store_begin(struct pb_store *store);
PB_MUST_CHECK int pb_store_commit(struct pb_store *store);
void pb_store_rollback(struct pb_store *store);

/* A prepared statement cached by its SQL text, reset and unbound, lent
 * until the next pb_store_stmt call with the same SQL. */
struct pb_stmt *pb_store_stmt(struct pb_store *store, const char *sql);
int pb_stmt_bind_text(struct pb_stmt *st, int idx, const char *text);
int pb_stmt_bind_int(struct pb_stmt *st, int idx, int64_t value);
/* Bytes that may hold NULs (a downloaded file); copied by SQLite. */
int pb_stmt_bind_blob(struct pb_stmt *st, int idx, const void *data,
                      size_t len);
int pb_stmt_bind_null(struct pb_stmt *st, int idx);
/* PB_STMT_ROW, PB_STMT_DONE or a negative error (logged once). */
PB_MUST_CHECK int pb_stmt_step(struct pb_stmt *st);
/* Runs a statement that returns no rows. */
PB_MUST_CHECK int pb_stmt_run(struct pb_stmt *st);
const char *pb_stmt_text(struct pb_stmt *st, int col); /* "" for NULL */
int64_t pb_stmt_int(struct pb_stmt *st, int col);
/* A BLOB column's bytes and length, lent until the next step ("" and 0 for
 * NULL). */
const void *pb_stmt_blob(struct pb_stmt *st, int col, size_t *len);
bool pb_stmt_is_null(struct pb_stmt *st, int col);
int64_t pb_store_changes(struct pb_store *store);
int64_t pb_store_last_id(struct pb_store *store);

#endif
