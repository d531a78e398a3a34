/* The SQLite store: migrations in order, reopening, refusing a newer file. */
#include <stdio.h>
#include <stdlib.h>
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
  CHECK(st && pb_stmt_bind_text(st, 1, "a") == 0 && pb_stmt_bind_int(st, 2, 7) == 0);
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

int main(void) {
  RUN(migrations_and_versions);
  return CHECK_DONE();
}
