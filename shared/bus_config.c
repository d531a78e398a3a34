/* How a process finds its broker from the configuration (pb/bus.h,
 * docs/security.md): its user name, its password (a secret: read from a
 * file rather than the environment where possible, never logged), TLS files,
 * its instance name and how long the broker keeps its session. */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pb/bus.h"
#include "pb/config.h"
#include "pb/error.h"
#include "pb/log.h"

#define PASSWORD_MAX 512

/* The first line of `path` into buf, without its line end. */
static int read_password(const char *path, char *buf, size_t len) {
  FILE *f = fopen(path, "r");
  if (!f) {
    pb_error("bus: cannot read the broker password file %s: %s", path,
             strerror(errno));
    return PB_ECONFIG;
  }
  struct stat st;
  if (fstat(fileno(f), &st) == 0 && (st.st_mode & 0077))
    pb_warn("bus: %s can be read by other users (chmod 600 it)", path);
  size_t n = fread(buf, 1, len - 1, f);
  fclose(f);
  buf[n] = '\0';
  buf[strcspn(buf, "\r\n")] = '\0';
  if (!*buf) {
    pb_error("bus: the broker password file %s is empty", path);
    return PB_ECONFIG;
  }
  return 0;
}

int pb_bus_new_from_config(struct pb_loop *loop, const struct pb_config *cfg,
                           const char *service, const char *user,
                           bool ephemeral, struct pb_bus **out) {
  const char *name = pb_config_str(cfg, PB_CFG_MQTT_USERNAME);
  if (!*name)
    name = user;
  char password[PASSWORD_MAX] = "";
  const char *given = pb_config_str(cfg, PB_CFG_MQTT_PASSWORD);
  const char *file = pb_config_str(cfg, PB_CFG_MQTT_PASSWORD_FILE);
  int rc = 0;
  if (*given) {
    snprintf(password, sizeof password, "%s", given);
  } else if (*file) {
    rc = read_password(file, password, sizeof password);
  } else {
    /* scripts/run and the test harness keep one file per user here. */
    char path[1024];
    snprintf(path, sizeof path, "%s/mqtt/%s.password",
             pb_config_str(cfg, PB_CFG_DATA_DIR), name);
    if (access(path, F_OK) == 0)
      rc = read_password(path, password, sizeof password);
  }
  if (rc)
    goto out;
  struct pb_bus_options o = {
      .url = pb_config_str(cfg, PB_CFG_MQTT_URL),
      .username = name,
      .password = password,
      .root = pb_config_str(cfg, PB_CFG_MQTT_TOPIC_ROOT),
      .service = service,
      .instance = pb_config_str(cfg, PB_CFG_MQTT_INSTANCE),
      .ca_file = pb_config_str(cfg, PB_CFG_MQTT_CA_FILE),
      .cert_file = pb_config_str(cfg, PB_CFG_MQTT_CERT_FILE),
      .key_file = pb_config_str(cfg, PB_CFG_MQTT_KEY_FILE),
      .session_expiry =
          (unsigned)pb_config_int(cfg, PB_CFG_MQTT_SESSION_EXPIRY_SECONDS),
      .protocol = (int)pb_config_int(cfg, PB_CFG_MQTT_PROTOCOL),
      .ephemeral = ephemeral,
  };
  if (*o.instance && !pb_topic_id_valid(o.instance)) {
    pb_error("MQTT_INSTANCE: '%s' must be 1-64 characters of [A-Za-z0-9_-]",
             o.instance);
    rc = PB_ECONFIG;
    goto out;
  }
  if (!*password)
    pb_warn("bus: connecting to the broker as '%s' without a password: only "
            "a broker that allows anonymous clients accepts it "
            "(docs/security.md)",
            name);
  rc = pb_bus_new(loop, &o, out);
out:
  /* libmosquitto keeps its own copy; ours goes on every path. */
  sodium_memzero(password, sizeof password);
  return rc;
}
