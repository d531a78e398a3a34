/* web-api's own database, DATA_DIR/web-api.db: accounts, login sessions,
 * API tokens (only hashes of session ids and tokens are stored; a token
 * may expire), the extensions each account owns (its calls) and the audit
 * log. Everything else web-api shows is rebuilt from the bus. */
#include "pb/store.h"

#include <stdio.h>

#include "pb/config.h"
#include "pb/error.h"
#include "pb/log.h"
#include "pb/topics.h"
#include "web.h"

static const struct pb_migration migrations[] = {
    {1, "CREATE TABLE users ("
        "  name TEXT PRIMARY KEY,"
        "  role TEXT NOT NULL,"
        "  pwhash TEXT NOT NULL,"
        "  created_at INTEGER NOT NULL,"
        "  updated_at INTEGER NOT NULL);"
        "CREATE TABLE sessions ("
        "  hash TEXT PRIMARY KEY," /* SHA-256 of the cookie value */
        "  user TEXT NOT NULL,"
        "  csrf TEXT NOT NULL,"
        "  created_at INTEGER NOT NULL,"
        "  expires_at INTEGER NOT NULL);"
        "CREATE TABLE tokens ("
        "  id INTEGER PRIMARY KEY,"
        "  name TEXT NOT NULL,"
        "  user TEXT NOT NULL,"
        "  role TEXT NOT NULL,"
        "  hash TEXT NOT NULL UNIQUE," /* SHA-256 of the token */
        "  created_at INTEGER NOT NULL,"
        "  last_used_at INTEGER);"
        "CREATE TABLE audit ("
        "  id INTEGER PRIMARY KEY,"
        "  at INTEGER NOT NULL," /* unix seconds */
        "  kind TEXT NOT NULL,"
        "  site TEXT NOT NULL DEFAULT '',"
        "  ext TEXT NOT NULL DEFAULT '',"
        "  actor TEXT NOT NULL DEFAULT '',"
        "  message TEXT NOT NULL,"
        "  data TEXT);"
        "CREATE INDEX audit_at ON audit(at);"
        "CREATE INDEX audit_ext ON audit(site, ext, at);"
        "CREATE INDEX audit_kind ON audit(kind, at);"},
    /* API tokens may expire (NULL: never). */
    {2, "ALTER TABLE tokens ADD COLUMN expires_at INTEGER;"},
    /* Events were kept whole before WEB_EVENT_MAX_BYTES: a huge one is
     * replaced once by the record a too-large event gets now. */
    {3, "UPDATE audit SET data = json_object('kind', kind, 'too_large', "
        "json('true'), 'size', length(CAST(data AS BLOB))) "
        "WHERE length(CAST(data AS BLOB)) > 65536;"},
    /* The extensions whose calls a readonly user may see and place. */
    {4, "CREATE TABLE user_extensions ("
        "  user TEXT NOT NULL,"
        "  site TEXT NOT NULL,"
        "  ext TEXT NOT NULL,"
        "  PRIMARY KEY (user, site, ext));"},
};

int web_store_open(const struct pb_config *cfg, struct pb_store **out) {
  return pb_store_open_service(pb_config_str(cfg, PB_CFG_DATA_DIR),
                               PB_SERVICE_WEB_API, migrations,
                               sizeof migrations / sizeof migrations[0], out);
}
