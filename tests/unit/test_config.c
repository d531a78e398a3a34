/* The configuration table: validation names the key, env files, defaults. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "pb/config.h"
#include "pb/error.h"

static void defaults(void) {
  struct pb_config *c = pb_config_new();
  CHECK_STR(pb_config_str(c, PB_CFG_MQTT_URL), "mqtt://127.0.0.1:1883");
  CHECK_STR(pb_config_str(c, PB_CFG_MQTT_TOPIC_ROOT), "presence");
  CHECK_STR(pb_config_str(c, PB_CFG_DATA_DIR), "./data");
  CHECK_STR(pb_config_str(c, PB_CFG_SITE), "main");
  CHECK_STR(pb_config_str(c, PB_CFG_WEB_LISTEN), "127.0.0.1:8080");
  CHECK_STR(pb_config_str(c, PB_CFG_DEFAULT_STATUS), "available");
  CHECK_INT(pb_config_int(c, PB_CFG_SCHEDULE_HORIZON_DAYS), 14);
  CHECK(!pb_config_bool(c, PB_CFG_YEASTAR_INSECURE));
  pb_config_free(c);
}

static void errors_name_the_key(void) {
  struct pb_config *c = pb_config_new();
  char err[512];
  CHECK_INT(pb_config_set(c, "MQTT_URL", "http://x", err, sizeof err),
            PB_ECONFIG);
  CHECK(strncmp(err, "MQTT_URL:", 9) == 0);
  CHECK(pb_config_set(c, "SCHEDULE_HORIZON_DAYS", "0", err, sizeof err) != 0);
  CHECK(strstr(err, "SCHEDULE_HORIZON_DAYS: 0 is outside 1..366") != NULL);
  CHECK(pb_config_set(c, "SCHEDULE_HORIZON_DAYS", "7d", err, sizeof err) != 0);
  CHECK(pb_config_set(c, "DEFAULT_STATUS", "holiday", err, sizeof err) != 0);
  CHECK(strstr(err, "DEFAULT_STATUS: unknown status 'holiday'") != NULL);
  CHECK(pb_config_set(c, "SITE", "main site", err, sizeof err) != 0);
  CHECK(pb_config_set(c, "TIMEZONE", "Mars/Olympus", err, sizeof err) != 0);
  CHECK(pb_config_set(c, "WEB_LISTEN", "localhost:99999", err, sizeof err) !=
        0);
  CHECK(pb_config_set(c, "YEASTAR_INSECURE", "maybe", err, sizeof err) != 0);
  CHECK(pb_config_set(c, "MQTT_TOPIC_ROOT", "a/#", err, sizeof err) != 0);
  CHECK(pb_config_set(c, "CLOCK_OFFSET_MS", "soon", err, sizeof err) != 0);
  CHECK(pb_config_set(c, "NO_SUCH_KEY", "1", err, sizeof err) != 0);
  CHECK(strstr(err, "NO_SUCH_KEY") != NULL);
  /* good values, canonicalised */
  CHECK_INT(pb_config_set(c, "DEFAULT_STATUS", "DND", err, sizeof err), 0);
  CHECK_STR(pb_config_str(c, PB_CFG_DEFAULT_STATUS), "do_not_disturb");
  CHECK_INT(pb_config_set(c, "YEASTAR_INSECURE", "yes", err, sizeof err), 0);
  CHECK(pb_config_bool(c, PB_CFG_YEASTAR_INSECURE));
  CHECK_INT(pb_config_set(c, "YEASTAR_PBX_URL", "https://pbx.example.org:8088",
                          err, sizeof err),
            0);
  CHECK_INT(pb_config_set(c, "TIMEZONE", "Europe/Paris", err, sizeof err), 0);
  CHECK_INT(pb_config_set(c, "WEB_LISTEN", "[::1]:8080", err, sizeof err), 0);
  pb_config_free(c);
}

static void env_file(void) {
  char path[] = "/tmp/pb-config-XXXXXX";
  int fd = mkstemp(path);
  FILE *f = fdopen(fd, "w");
  fputs(
      "# PresenceBus\n\nexport SITE=lycee\nMQTT_URL = \"mqtt://broker:1884\"\n"
      "YEASTAR_CLIENT_SECRET='s3cr3t value'\n",
      f);
  fclose(f);
  struct pb_config *c = pb_config_new();
  char err[512];
  CHECK_INT(pb_config_load_file(c, path, err, sizeof err), 0);
  CHECK_STR(pb_config_str(c, PB_CFG_SITE), "lycee");
  CHECK_STR(pb_config_str(c, PB_CFG_MQTT_URL), "mqtt://broker:1884");
  CHECK_STR(pb_config_str(c, PB_CFG_YEASTAR_CLIENT_SECRET), "s3cr3t value");
  pb_config_free(c);

  f = fopen(path, "w");
  fputs("SITE=ok\nMQTT_PORT=1883\n", f);
  fclose(f);
  c = pb_config_new();
  CHECK(pb_config_load_file(c, path, err, sizeof err) != 0);
  CHECK(strstr(err, ":2: unknown configuration key 'MQTT_PORT'") != NULL);
  pb_config_free(c);

  f = fopen(path, "w");
  fputs("DEFAULT_STATUS=nope\n", f);
  fclose(f);
  c = pb_config_new();
  CHECK(pb_config_load_file(c, path, err, sizeof err) != 0);
  CHECK(strstr(err, ":1: DEFAULT_STATUS: unknown status") != NULL);
  pb_config_free(c);
  unlink(path);

  c = pb_config_new();
  CHECK(pb_config_load_file(c, "/nonexistent/pb.env", err, sizeof err) != 0);
  pb_config_free(c);
}

static void environment_wins(void) {
  setenv("SITE", "annexe", 1);
  setenv("LOG_LEVEL", "loud", 1);
  struct pb_config *c = pb_config_new();
  char err[512];
  CHECK(pb_config_load_env(c, err, sizeof err) != 0);
  CHECK(strstr(err, "LOG_LEVEL") != NULL);
  unsetenv("LOG_LEVEL");
  CHECK_INT(pb_config_load_env(c, err, sizeof err), 0);
  CHECK_STR(pb_config_str(c, PB_CFG_SITE), "annexe");
  unsetenv("SITE");
  pb_config_free(c);
}

static void setup_command_line(void) {
  static const struct pb_cli_option extra[] = {{"--import", "FILE", "import"},
                                               {"--dry-run", NULL, "check"},
                                               {NULL, NULL, NULL}};
  struct pb_config *c = NULL;
  int code = -1;
  char *ok[] = {"svc", "--import", "plan.csv", "--dry-run", NULL};
  CHECK_INT(pb_config_setup(4, ok, "svc", "", extra, &c, &code), 0);
  CHECK_STR(pb_config_arg(c, "--import"), "plan.csv");
  CHECK_STR(pb_config_arg(c, "--dry-run"), "");
  CHECK(pb_config_arg(c, "--other") == NULL);
  pb_config_free(c);
  char *bad[] = {"svc", "--imprt", "x", NULL};
  CHECK(pb_config_setup(3, bad, "svc", "", extra, &c, &code) != 0);
  CHECK_INT(code, 2);
  char *missing[] = {"svc", "--import", NULL};
  CHECK(pb_config_setup(2, missing, "svc", "", extra, &c, &code) != 0);
  CHECK_INT(code, 2);
}

static void urls(void) {
  struct pb_url u;
  CHECK_INT(pb_url_parse("mqtts://user:pw@broker.example.org:8883", &u), 0);
  CHECK_STR(u.scheme, "mqtts");
  CHECK_STR(u.host, "broker.example.org");
  CHECK_INT(u.port, 8883);
  CHECK_INT(pb_url_parse("https://[fe80::1]:8088/openapi", &u), 0);
  CHECK_STR(u.host, "[fe80::1]");
  CHECK_STR(u.path, "/openapi");
  CHECK(pb_url_parse("broker:1883", &u) != 0);
  CHECK(pb_url_parse("mqtt://:1883", &u) != 0);
  CHECK(pb_url_parse("mqtt://host:0", &u) != 0);
}

int main(void) {
  RUN(defaults);
  RUN(errors_name_the_key);
  RUN(env_file);
  RUN(environment_wins);
  RUN(setup_command_line);
  RUN(urls);
  return CHECK_DONE();
}
