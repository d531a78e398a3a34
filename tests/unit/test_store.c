/* The SQLite store: migrations in order, reopening, refusing a newer file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "pb/error.h"
#include "pb/store.h"

static const struct pb_migration v2[] = {
    {1, "CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER)"},
    {2, "ALTER TABLE t ADD COLUMN note TEXT"},
};

static void migrations_and_versions(void) {
  char dir[] = "/tmp/pb-store-XXXXXX";
  CHECK(mkdtemp(dir) != NULL);
  char path[512];
  CHECK_INT(pb_store_path(dir, "svc", path, sizeof path), 0);
  struct pb_store *s;
  CHECK_INT(pb_store_open(path, v2, 1, &s), 0);
  CHECK_INT(pb_store_version(s), 1);
  struct pb_stmt *st = pb_store_stmt(s, "INSERT INTO t(k, v) VALUES (?1, ?2)");
  CHECK(st && pb_stmt_bind_text(st, 1, "a") == 0 &&
        pb_stmt_bind_int(st, 2, 7) == 0);
  CHECK_INT(pb_stmt_run(st), 0);
  pb_store_close(s);

  CHECK_INT(pb_store_open(path, v2, 2, &s), 0);
  CHECK_INT(pb_store_version(s), 2);
  st = pb_store_stmt(s, "SELECT v, note FROM t WHERE k = ?1");
  pb_stmt_bind_text(st, 1, "a");
  CHECK_INT(pb_stmt_step(st), PB_STMT_ROW);
  CHECK_INT(pb_stmt_int(st, 0), 7);
  CHECK(pb_stmt_is_null(st, 1));
  /* a failing transaction leaves nothing behind */
  CHECK_INT(pb_store_begin(s), 0);
  st = pb_store_stmt(s, "INSERT INTO t(k, v) VALUES (?1, ?2)");
  pb_stmt_bind_text(st, 1, "b");
  pb_stmt_bind_int(st, 2, 1);
  CHECK_INT(pb_stmt_run(st), 0);
  pb_store_rollback(s);
  st = pb_store_stmt(s, "SELECT COUNT(*) FROM t");
  CHECK_INT(pb_stmt_step(st), PB_STMT_ROW);
  CHECK_INT(pb_stmt_int(st, 0), 1);
  pb_store_close(s);

  /* this build knows only version 1: the version-2 file is refused */
  CHECK_INT(pb_store_open(path, v2, 1, &s), PB_EVERSION);
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  CHECK_INT(system(cmd), 0);
}

static long long file_size(const char *path, const char *suffix) {
  char p[600];
  struct stat st;
  snprintf(p, sizeof p, "%s%s", path, suffix);
  return stat(p, &st) == 0 ? (long long)st.st_size : 0;
}

static const struct pb_migration blobs[] = {
    {1, "CREATE TABLE b (id INTEGER PRIMARY KEY, data BLOB)"},
};

/* Commits `rows` rows of 4 KiB in transactions of 16. */
static int write_rows(struct pb_store *s, int rows) {
  static char data[4096];
  for (int i = 0; i < rows; i += 16) {
    if (pb_store_begin(s))
      return -1;
    for (int j = 0; j < 16; j++) {
      struct pb_stmt *st = pb_store_stmt(s, "INSERT INTO b(data) VALUES (?1)");
      data[0] = (char)(i + j);
      if (!st || pb_stmt_bind_blob(st, 1, data, sizeof data) || pb_stmt_run(st))
        return -1;
    }
    if (pb_store_commit(s))
      return -1;
  }
  return 0;
}

/* The background checkpointer really checkpoints: the pages reach the main
 * file without any help from the writer (below every threshold at which
 * the writer would checkpoint itself). Waits for it, with a timeout. */
static void background_checkpoint_reaches_the_file(void) {
  char dir[] = "/tmp/pb-store-XXXXXX";
  CHECK(mkdtemp(dir) != NULL);
  struct pb_store *s;
  CHECK_INT(pb_store_open_service(dir, "svc", blobs, 1, &s), 0);
  char path[512];
  CHECK_INT(pb_store_path(dir, "svc", path, sizeof path), 0);
  CHECK_INT(write_rows(s, 256), 0); /* 1 MiB, some 300 WAL pages */
  long long db = 0;
  for (int i = 0; i < 200 && (db = file_size(path, "")) < 1024 * 1024; i++) {
    struct timespec ms50 = {0, 50 * 1000 * 1000};
    nanosleep(&ms50, NULL);
  }
  if (db < 1024 * 1024)
    fprintf(stderr, "main file %lld bytes, WAL %lld bytes after 10 s\n", db,
            file_size(path, "-wal"));
  CHECK(db >= 1024 * 1024);
  pb_store_close(s);
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  CHECK_INT(system(cmd), 0);
}

/* Sustained writes (48 MiB) never let the -wal file grow past a bound. */
static void wal_stays_bounded_under_load(void) {
  char dir[] = "/tmp/pb-store-XXXXXX";
  CHECK(mkdtemp(dir) != NULL);
  struct pb_store *s;
  CHECK_INT(pb_store_open_service(dir, "svc", blobs, 1, &s), 0);
  char path[512];
  CHECK_INT(pb_store_path(dir, "svc", path, sizeof path), 0);
  long long most = 0;
  for (int round = 0; round < 96; round++) {
    CHECK_INT(write_rows(s, 128), 0); /* 512 KiB */
    long long wal = file_size(path, "-wal");
    most = wal > most ? wal : most;
  }
  fprintf(stderr, "largest -wal file seen: %lld bytes\n", most);
  CHECK(most <= 24LL * 1024 * 1024);
  struct pb_stmt *st = pb_store_stmt(s, "SELECT COUNT(*) FROM b");
  CHECK(st && pb_stmt_step(st) == PB_STMT_ROW &&
        pb_stmt_int(st, 0) == 96 * 128);
  pb_store_close(s);
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  CHECK_INT(system(cmd), 0);
}

int main(void) {
  RUN(migrations_and_versions);
  RUN(background_checkpoint_reaches_the_file);
  RUN(wal_stays_bounded_under_load);
  return CHECK_DONE();
}
