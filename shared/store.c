/* The SQLite store (pb/store.h): WAL mode, ordered migrations recorded in a
 * schema_version table, and prepared statements cached by their SQL. */
#include "pb/store.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "pb/error.h"
#include "pb/log.h"

#define STMT_CACHE 64

struct pb_stmt {
  sqlite3_stmt *st;
  struct pb_store *store;
  const char *sql;
};

/* A thread that checkpoints the WAL, so that the fsync a checkpoint needs
 * never stalls the service's loop (pb_store_checkpoint_in_background). */
struct checkpointer {
  pthread_t thread;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  pthread_cond_t idle; /* signalled when a checkpoint ends */
  int wal_pages;       /* after the last commit; 0 when checkpointed */
  bool running;        /* the thread is checkpointing */
  bool writer;         /* the writer is checkpointing (the thread waits) */
  bool stop;
};

struct pb_store {
  sqlite3 *db;
  char path[512];
  int version;
  struct pb_stmt cache[STMT_CACHE];
  int ncache;
  struct checkpointer *ckpt;
};

static int db_error(struct pb_store *s, const char *what) {
  pb_error("database %s: %s failed: %s", s->path, what, sqlite3_errmsg(s->db));
  return PB_EDB;
}

int pb_store_path(const char *data_dir, const char *service, char *buf,
                  size_t len) {
  if (mkdir(data_dir, 0700) != 0 && errno != EEXIST) {
    pb_error("cannot create data directory %s: %s", data_dir, strerror(errno));
    return PB_EIO;
  }
  int n = snprintf(buf, len, "%s/%s.db", data_dir, service);
  return (n < 0 || (size_t)n >= len) ? PB_ETOOBIG : 0;
}

int pb_store_open_service(const char *data_dir, const char *service,
                          const struct pb_migration *migrations, size_t count,
                          struct pb_store **out) {
  char path[512];
  int rc = pb_store_path(data_dir, service, path, sizeof path);
  if (!rc)
    rc = pb_store_open(path, migrations, count, out);
  if (rc) {
    pb_error("cannot open %s: %s", path, pb_strerror(rc));
    return rc;
  }
  /* Checkpoints are the one write that waits for the disk: an override
   * must not wait behind one on the loop. */
  if (pb_store_checkpoint_in_background(*out))
    pb_warn("database %s: checkpoints stay on the main thread", path);
  return 0;
}

int pb_store_exec(struct pb_store *s, const char *sql) {
  char *msg = NULL;
  if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
    pb_error("database %s: %s", s->path, msg ? msg : "error");
    sqlite3_free(msg);
    return PB_EDB;
  }
  return 0;
}

int pb_store_begin(struct pb_store *s) {
  return pb_store_exec(s, "BEGIN IMMEDIATE");
}
int pb_store_commit(struct pb_store *s) {
  return pb_store_exec(s, "COMMIT");
}
void pb_store_rollback(struct pb_store *s) {
  /* A failed ROLLBACK is logged by pb_store_exec; SQLite still rolls the
   * transaction back when the connection closes. */
  if (!sqlite3_get_autocommit(s->db) && pb_store_exec(s, "ROLLBACK"))
    pb_warn("database %s: the transaction stays open", s->path);
}

static int read_version(struct pb_store *s, int *version) {
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(s->db, "SELECT MAX(version) FROM schema_version", -1,
                         &st, NULL) != SQLITE_OK)
    return db_error(s, "reading the schema version");
  *version = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
  sqlite3_finalize(st);
  return 0;
}

static int migrate(struct pb_store *s, const struct pb_migration *m,
                   size_t count) {
  int newest = count ? m[count - 1].version : 0;
  if (s->version > newest) {
    pb_error("database %s has schema version %d but this build knows only up "
             "to %d: it was written by a newer PresenceBus; upgrade, or "
             "restore a backup made by this version",
             s->path, s->version, newest);
    return PB_EVERSION;
  }
  for (size_t i = 0; i < count; i++) {
    if (m[i].version <= s->version)
      continue;
    if (pb_store_begin(s))
      return PB_EDB;
    char ins[128];
    snprintf(ins, sizeof ins,
             "INSERT INTO schema_version(version, applied_at) VALUES (%d, "
             "strftime('%%s','now'))",
             m[i].version);
    if (pb_store_exec(s, m[i].sql) || pb_store_exec(s, ins) ||
        pb_store_commit(s)) {
      pb_store_rollback(s);
      pb_error("database %s: migration to version %d failed", s->path,
               m[i].version);
      return PB_EDB;
    }
    s->version = m[i].version;
    pb_info("database %s migrated to schema version %d", s->path, s->version);
  }
  return 0;
}

int pb_store_open(const char *path, const struct pb_migration *migrations,
                  size_t count, struct pb_store **out) {
  struct pb_store *s = calloc(1, sizeof *s);
  if (!s)
    return PB_ENOMEM;
  snprintf(s->path, sizeof s->path, "%s", path);
  if (sqlite3_open_v2(path, &s->db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                          SQLITE_OPEN_NOMUTEX,
                      NULL) != SQLITE_OK) {
    pb_error("cannot open database %s: %s", path,
             s->db ? sqlite3_errmsg(s->db) : "out of memory");
    pb_store_close(s);
    return PB_EDB;
  }
  sqlite3_busy_timeout(s->db, 5000);
  int rc =
      pb_store_exec(s, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                       "PRAGMA foreign_keys=ON;"
                       "CREATE TABLE IF NOT EXISTS schema_version("
                       "version INTEGER PRIMARY KEY, applied_at INTEGER)");
  if (!rc)
    rc = read_version(s, &s->version);
  if (!rc)
    rc = migrate(s, migrations, count);
  if (rc) {
    pb_store_close(s);
    return rc;
  }
  *out = s;
  return 0;
}

#define CKPT_EVERY_MS 1000
/* Past this many WAL pages after a commit, the thread is woken at once. */
#define CKPT_AT_ONCE_PAGES 1000
/* Past this many, the thread has fallen far behind (commits come faster
 * than the disk takes them, or the thread is starved): the writer waits
 * for the thread's checkpoint under way, if any, then checkpoints itself,
 * as SQLite's own automatic checkpoint would, so that the file stays
 * bounded whatever happens. */
#define CKPT_WRITER_PAGES 4000
/* The WAL file's size cap once checkpointed: SQLite truncates it to this
 * when it starts the log over (journal_size_limit), and the thread
 * truncates it itself when it finds it larger. */
#define WAL_LIMIT_BYTES (4 * 1024 * 1024)

static int on_commit(void *ud, sqlite3 *db, const char *name, int pages) {
  struct checkpointer *c = ud;
  pthread_mutex_lock(&c->lock);
  c->wal_pages = pages;
  if (pages >= CKPT_AT_ONCE_PAGES)
    pthread_cond_signal(&c->cond);
  if (pages < CKPT_WRITER_PAGES) {
    pthread_mutex_unlock(&c->lock);
    return SQLITE_OK;
  }
  /* Only one connection may checkpoint at a time (the other gets BUSY):
   * wait for the thread's, and keep it from starting another. */
  while (c->running)
    pthread_cond_wait(&c->idle, &c->lock);
  c->writer = true;
  pthread_mutex_unlock(&c->lock);
  sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
  pthread_mutex_lock(&c->lock);
  c->writer = false;
  pthread_mutex_unlock(&c->lock);
  return SQLITE_OK;
}

struct ckpt_args {
  struct checkpointer *c;
  char path[512];
};

static long long wal_size(const char *path) {
  char wal[600];
  struct stat st;
  snprintf(wal, sizeof wal, "%s-wal", path);
  return stat(wal, &st) == 0 ? (long long)st.st_size : 0;
}

/* PASSIVE checkpoints after commits never wait for the writer; when the
 * writer next begins with the whole log copied, it starts the log over and
 * cuts the file back to WAL_LIMIT_BYTES. A writer that pauses for a whole
 * interval with the file still over the cap (a burst ended before a
 * checkpoint could catch up) gets a TRUNCATE checkpoint, which empties it;
 * it has no busy handler, so it never waits for a writer that came back. */
static void *checkpoint_loop(void *arg) {
  struct ckpt_args *a = arg;
  struct checkpointer *c = a->c;
  sqlite3 *db = NULL;
  bool oversize = false;
  /* Its own connection: SQLite lets a checkpoint run beside the writer.
   * A connection learns that the file is in WAL mode, and opens the WAL,
   * only when it first reads the database: until then a checkpoint on it
   * silently does nothing, so read once. */
  if (sqlite3_open_v2(a->path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                      NULL) != SQLITE_OK ||
      sqlite3_exec(db, "SELECT count(*) FROM sqlite_master", NULL, NULL,
                   NULL) != SQLITE_OK) {
    pb_error("database %s: the checkpoint thread cannot open it: %s", a->path,
             db ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_close(db);
    db = NULL;
  }
  pthread_mutex_lock(&c->lock);
  while (!c->stop) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += (long)CKPT_EVERY_MS * 1000000L;
    until.tv_sec += until.tv_nsec / 1000000000L;
    until.tv_nsec %= 1000000000L;
    pthread_cond_timedwait(&c->cond, &c->lock, &until);
    if (c->stop || !db || c->writer || (!c->wal_pages && !oversize))
      continue;
    int mode =
        c->wal_pages ? SQLITE_CHECKPOINT_PASSIVE : SQLITE_CHECKPOINT_TRUNCATE;
    c->wal_pages = 0;
    c->running = true;
    pthread_mutex_unlock(&c->lock);
    int log = 0, done = 0;
    if (sqlite3_wal_checkpoint_v2(db, NULL, mode, &log, &done) != SQLITE_OK &&
        sqlite3_errcode(db) != SQLITE_BUSY)
      pb_warn("database %s: checkpoint failed: %s", a->path,
              sqlite3_errmsg(db));
    oversize = wal_size(a->path) > WAL_LIMIT_BYTES;
    pthread_mutex_lock(&c->lock);
    c->running = false;
    pthread_cond_broadcast(&c->idle);
    if (done < log && !c->wal_pages)
      c->wal_pages = log - done; /* a reader held some back: again later */
  }
  pthread_mutex_unlock(&c->lock);
  if (db)
    sqlite3_close(db);
  free(a);
  return NULL;
}

int pb_store_checkpoint_in_background(struct pb_store *s) {
  if (s->ckpt)
    return 0;
  struct checkpointer *c = calloc(1, sizeof *c);
  struct ckpt_args *a = calloc(1, sizeof *a);
  if (!c || !a) {
    free(c);
    free(a);
    return PB_ENOMEM;
  }
  pthread_mutex_init(&c->lock, NULL);
  pthread_cond_init(&c->cond, NULL);
  pthread_cond_init(&c->idle, NULL);
  a->c = c;
  snprintf(a->path, sizeof a->path, "%s", s->path);
  /* The hook replaces SQLite's own automatic checkpoint after commits;
   * the size limit makes the writer cut the file back when it starts the
   * log over after a checkpoint. */
  char limit[64];
  snprintf(limit, sizeof limit, "PRAGMA journal_size_limit=%d",
           WAL_LIMIT_BYTES);
  if (pb_store_exec(s, limit))
    pb_warn("database %s: the log file is not cut back", s->path);
  sqlite3_wal_hook(s->db, on_commit, c);
  if (pthread_create(&c->thread, NULL, checkpoint_loop, a) != 0) {
    sqlite3_wal_autocheckpoint(s->db, 1000);
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->cond);
    pthread_cond_destroy(&c->idle);
    free(c);
    free(a);
    return PB_EIO;
  }
  s->ckpt = c;
  return 0;
}

static void stop_checkpointer(struct pb_store *s) {
  struct checkpointer *c = s->ckpt;
  if (!c)
    return;
  pthread_mutex_lock(&c->lock);
  c->stop = true;
  pthread_cond_signal(&c->cond);
  pthread_mutex_unlock(&c->lock);
  pthread_join(c->thread, NULL);
  pthread_mutex_destroy(&c->lock);
  pthread_cond_destroy(&c->cond);
  pthread_cond_destroy(&c->idle);
  free(c);
  s->ckpt = NULL;
}

void pb_store_close(struct pb_store *s) {
  if (!s)
    return;
  stop_checkpointer(s);
  for (int i = 0; i < s->ncache; i++)
    sqlite3_finalize(s->cache[i].st);
  if (s->db)
    sqlite3_close(s->db);
  free(s);
}

int pb_store_version(struct pb_store *s) {
  return s->version;
}

struct pb_stmt *pb_store_stmt(struct pb_store *s, const char *sql) {
  for (int i = 0; i < s->ncache; i++) {
    if (s->cache[i].sql == sql || strcmp(s->cache[i].sql, sql) == 0) {
      sqlite3_reset(s->cache[i].st);
      sqlite3_clear_bindings(s->cache[i].st);
      return &s->cache[i];
    }
  }
  if (s->ncache == STMT_CACHE) {
    pb_error("database %s: statement cache full", s->path);
    return NULL;
  }
  struct pb_stmt *p = &s->cache[s->ncache];
  if (sqlite3_prepare_v2(s->db, sql, -1, &p->st, NULL) != SQLITE_OK) {
    db_error(s, "preparing a statement");
    pb_error("statement was: %s", sql);
    return NULL;
  }
  p->store = s;
  p->sql = sql;
  s->ncache++;
  return p;
}

int pb_stmt_bind_text(struct pb_stmt *st, int idx, const char *text) {
  int rc = text ? sqlite3_bind_text(st->st, idx, text, -1, SQLITE_TRANSIENT)
                : sqlite3_bind_null(st->st, idx);
  return rc == SQLITE_OK ? 0 : db_error(st->store, "binding a value");
}

int pb_stmt_bind_blob(struct pb_stmt *st, int idx, const void *data,
                      size_t len) {
  if (len > 0x7fffffff)
    return PB_ETOOBIG;
  int rc = sqlite3_bind_blob(st->st, idx, data ? data : "", (int)len,
                             SQLITE_TRANSIENT);
  return rc == SQLITE_OK ? 0 : db_error(st->store, "binding a value");
}

int pb_stmt_bind_int(struct pb_stmt *st, int idx, int64_t value) {
  return sqlite3_bind_int64(st->st, idx, value) == SQLITE_OK
             ? 0
             : db_error(st->store, "binding a value");
}

int pb_stmt_bind_null(struct pb_stmt *st, int idx) {
  return sqlite3_bind_null(st->st, idx) == SQLITE_OK
             ? 0
             : db_error(st->store, "binding a value");
}

int pb_stmt_step(struct pb_stmt *st) {
  int rc = sqlite3_step(st->st);
  if (rc == SQLITE_ROW)
    return PB_STMT_ROW;
  if (rc == SQLITE_DONE)
    return PB_STMT_DONE;
  return db_error(st->store, "a statement");
}

int pb_stmt_run(struct pb_stmt *st) {
  if (!st)
    return PB_EDB;
  int rc = pb_stmt_step(st);
  sqlite3_reset(st->st);
  return rc < 0 ? rc : 0;
}

const char *pb_stmt_text(struct pb_stmt *st, int col) {
  const unsigned char *t = sqlite3_column_text(st->st, col);
  return t ? (const char *)t : "";
}

const void *pb_stmt_blob(struct pb_stmt *st, int col, size_t *len) {
  const void *p = sqlite3_column_blob(st->st, col);
  int n = sqlite3_column_bytes(st->st, col);
  *len = p && n > 0 ? (size_t)n : 0;
  return p ? p : "";
}

int64_t pb_stmt_int(struct pb_stmt *st, int col) {
  return sqlite3_column_int64(st->st, col);
}

bool pb_stmt_is_null(struct pb_stmt *st, int col) {
  return sqlite3_column_type(st->st, col) == SQLITE_NULL;
}

int64_t pb_store_changes(struct pb_store *s) {
  return sqlite3_changes(s->db);
}
int64_t pb_store_last_id(struct pb_store *s) {
  return sqlite3_last_insert_rowid(s->db);
}
