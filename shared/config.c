/* The configuration table (pb/config.h): validation of every key, env files,
 * the environment, the shared command line (--help, --check-config,
 * --config) and the Markdown that docs/config.md is made of. */
#include "pb/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pb/bus.h"
#include "pb/clock.h"
#include "pb/error.h"
#include "pb/log.h"
#include "pb/presence.h"
#include "pb/tz.h"

#define MAX_ARGS 16
#define MAX_FILE_BYTES (1024 * 1024)

struct key_def {
  const char *name;
  enum pb_config_type type;
  const char *def;
  long long min, max;
  const char *help;
};

static const struct key_def keys[PB_CFG__COUNT] = {
#define PB_CONFIG_ROW(n, t, d, lo, hi, h) {#n, t, d, lo, hi, h},
    PB_CONFIG_KEYS(PB_CONFIG_ROW)
#undef PB_CONFIG_ROW
};

struct pb_config {
  char *values[PB_CFG__COUNT]; /* NULL: the default */
  struct {
    const char *name;
    char *value;
  } args[MAX_ARGS];
  int nargs;
};

struct pb_config *pb_config_new(void) {
  return calloc(1, sizeof(struct pb_config));
}

void pb_config_free(struct pb_config *cfg) {
  if (!cfg)
    return;
  for (int i = 0; i < PB_CFG__COUNT; i++)
    free(cfg->values[i]);
  for (int i = 0; i < cfg->nargs; i++)
    free(cfg->args[i].value);
  free(cfg);
}

const char *pb_config_key_name(enum pb_config_key key) {
  return (key >= 0 && key < PB_CFG__COUNT) ? keys[key].name : NULL;
}

static int find_key(const char *name) {
  for (int i = 0; i < PB_CFG__COUNT; i++)
    if (strcmp(keys[i].name, name) == 0)
      return i;
  return -1;
}

static const char *type_name(enum pb_config_type t) {
  static const char *const n[] = {
      "string", "secret",    "integer",   "boolean", "URL",   "host:port",
      "status", "log level", "time zone", "id",      "topic", "RFC 3339 time"};
  return n[t];
}

int pb_parse_listen(const char *text, char *host, size_t hostlen, int *port) {
  const char *colon;
  const char *h = text;
  size_t hlen;
  if (!text || !*text)
    return PB_EINVAL;
  if (text[0] == '[') {
    const char *close = strchr(text, ']');
    if (!close || close[1] != ':')
      return PB_EINVAL;
    h = text + 1;
    hlen = (size_t)(close - h);
    colon = close + 1;
  } else {
    colon = strrchr(text, ':');
    if (!colon)
      return PB_EINVAL;
    hlen = (size_t)(colon - text);
  }
  if (hlen == 0 || hlen >= hostlen)
    return PB_EINVAL;
  char *end;
  errno = 0;
  long p = strtol(colon + 1, &end, 10);
  if (errno || *end || end == colon + 1 || p < 1 || p > 65535)
    return PB_EINVAL;
  memcpy(host, h, hlen);
  host[hlen] = '\0';
  *port = (int)p;
  return 0;
}

static int parse_bool(const char *v, bool *out) {
  static const char *const yes[] = {"1", "true", "yes", "on"};
  static const char *const no[] = {"0", "false", "no", "off"};
  for (int i = 0; i < 4; i++) {
    if (strcasecmp(v, yes[i]) == 0) {
      *out = true;
      return 0;
    }
    if (strcasecmp(v, no[i]) == 0) {
      *out = false;
      return 0;
    }
  }
  return PB_EINVAL;
}

static int validate(int k, const char *v, char **canon, char *err,
                    size_t errlen) {
  const struct key_def *d = &keys[k];
  *canon = NULL;
  switch (d->type) {
  case PB_CT_STRING:
  case PB_CT_SECRET:
    break;
  case PB_CT_INT: {
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno || end == v || *end) {
      snprintf(err, errlen, "%s: '%s' is not an integer", d->name, v);
      return PB_ECONFIG;
    }
    if (n < d->min || n > d->max) {
      snprintf(err, errlen, "%s: %lld is outside %lld..%lld", d->name, n,
               d->min, d->max);
      return PB_ECONFIG;
    }
    break;
  }
  case PB_CT_BOOL: {
    bool b;
    if (parse_bool(v, &b)) {
      snprintf(err, errlen, "%s: '%s' is not a boolean (true/false)", d->name,
               v);
      return PB_ECONFIG;
    }
    if (!(*canon = strdup(b ? "true" : "false")))
      return PB_ENOMEM;
    break;
  }
  case PB_CT_URL: {
    if (!*v) {
      if (strcmp(d->name, "MQTT_URL") == 0) {
        snprintf(err, errlen, "%s: must not be empty", d->name);
        return PB_ECONFIG;
      }
      break;
    }
    struct pb_url u;
    bool mqtt = strncmp(d->name, "MQTT", 4) == 0;
    if (pb_url_parse(v, &u) != 0) {
      snprintf(err, errlen, "%s: '%s' is not a URL like %s", d->name, v,
               mqtt ? "mqtt://host:1883" : "https://pbx.example.org:8088");
      return PB_ECONFIG;
    }
    bool ok = mqtt ? (!strcmp(u.scheme, "mqtt") || !strcmp(u.scheme, "mqtts"))
                   : (!strcmp(u.scheme, "http") || !strcmp(u.scheme, "https"));
    if (!ok) {
      snprintf(err, errlen, "%s: scheme '%s' is not supported (use %s)",
               d->name, u.scheme, mqtt ? "mqtt or mqtts" : "https or http");
      return PB_ECONFIG;
    }
    break;
  }
  case PB_CT_LISTEN: {
    char host[256];
    int port;
    if (pb_parse_listen(v, host, sizeof host, &port)) {
      snprintf(err, errlen, "%s: '%s' is not host:port with a port 1-65535",
               d->name, v);
      return PB_ECONFIG;
    }
    break;
  }
  case PB_CT_PRESENCE: {
    enum pb_presence p;
    if (pb_presence_parse(v, &p)) {
      snprintf(err, errlen, "%s: unknown status '%s' (valid: %s)", d->name, v,
               pb_presence_valid_list());
      return PB_ECONFIG;
    }
    if (!(*canon = strdup(pb_presence_name(p))))
      return PB_ENOMEM;
    break;
  }
  case PB_CT_LOGLEVEL: {
    enum pb_log_level l;
    if (pb_log_level_parse(v, &l)) {
      snprintf(err, errlen, "%s: '%s' is not one of debug, info, warn, error",
               d->name, v);
      return PB_ECONFIG;
    }
    break;
  }
  case PB_CT_TIMEZONE: {
    if (!*v)
      break;
    struct pb_tz *tz = NULL;
    if (pb_tz_load(v, &tz)) {
      snprintf(err, errlen,
               "%s: unknown time zone '%s' (use an IANA name "
               "like Europe/Paris)",
               d->name, v);
      return PB_ECONFIG;
    }
    pb_tz_free(tz);
    break;
  }
  case PB_CT_ID:
    if (!pb_topic_id_valid(v)) {
      snprintf(err, errlen,
               "%s: '%s' must be 1-64 characters of "
               "[A-Za-z0-9_-]",
               d->name, v);
      return PB_ECONFIG;
    }
    break;
  case PB_CT_TOPIC:
    if (!*v || v[0] == '/' || v[strlen(v) - 1] == '/' || strpbrk(v, "+#") ||
        strstr(v, "//") || strlen(v) > 128) {
      snprintf(err, errlen,
               "%s: '%s' must be a topic prefix without "
               "wildcards or empty levels",
               d->name, v);
      return PB_ECONFIG;
    }
    break;
  case PB_CT_TIME: {
    int64_t t;
    if (*v && pb_time_parse_rfc3339(v, &t)) {
      snprintf(err, errlen,
               "%s: '%s' is not an RFC 3339 time like "
               "2026-03-30T07:59:55+02:00",
               d->name, v);
      return PB_ECONFIG;
    }
    break;
  }
  }
  if (!*canon)
    *canon = strdup(v);
  return *canon ? 0 : PB_ENOMEM;
}

int pb_config_set(struct pb_config *cfg, const char *name, const char *value,
                  char *err, size_t errlen) {
  int k = find_key(name);
  if (k < 0) {
    snprintf(err, errlen, "unknown configuration key '%s'", name);
    return PB_ECONFIG;
  }
  char *canon;
  int rc = validate(k, value, &canon, err, errlen);
  if (rc)
    return rc;
  free(cfg->values[k]);
  cfg->values[k] = canon;
  return 0;
}

int pb_config_load_env(struct pb_config *cfg, char *err, size_t errlen) {
  for (int i = 0; i < PB_CFG__COUNT; i++) {
    const char *v = getenv(keys[i].name);
    if (v) {
      int rc = pb_config_set(cfg, keys[i].name, v, err, errlen);
      if (rc)
        return rc;
    }
  }
  return 0;
}

static char *trim(char *s) {
  while (isspace((unsigned char)*s))
    s++;
  size_t n = strlen(s);
  while (n && isspace((unsigned char)s[n - 1]))
    s[--n] = '\0';
  return s;
}

int pb_config_load_file(struct pb_config *cfg, const char *path, char *err,
                        size_t errlen) {
  FILE *f = fopen(path, "r");
  if (!f) {
    snprintf(err, errlen, "cannot open config file %s: %s", path,
             strerror(errno));
    return PB_EIO;
  }
  char line[4096];
  int lineno = 0, rc = 0;
  long total = 0;
  while (fgets(line, sizeof line, f)) {
    lineno++;
    total += (long)strlen(line);
    if (total > MAX_FILE_BYTES) {
      snprintf(err, errlen, "%s: larger than 1 MiB", path);
      rc = PB_ETOOBIG;
      break;
    }
    if (!strchr(line, '\n') && !feof(f)) {
      snprintf(err, errlen, "%s:%d: line longer than 4095 bytes", path, lineno);
      rc = PB_ECONFIG;
      break;
    }
    char *s = trim(line);
    if (!*s || *s == '#')
      continue;
    if (strncmp(s, "export ", 7) == 0)
      s = trim(s + 7);
    char *eq = strchr(s, '=');
    if (!eq) {
      snprintf(err, errlen, "%s:%d: expected KEY=VALUE", path, lineno);
      rc = PB_ECONFIG;
      break;
    }
    *eq = '\0';
    char *key = trim(s), *val = trim(eq + 1);
    size_t vlen = strlen(val);
    if (vlen >= 2 && (val[0] == '"' || val[0] == '\'') &&
        val[vlen - 1] == val[0]) {
      val[vlen - 1] = '\0';
      val++;
    }
    char kerr[512];
    if (find_key(key) < 0) {
      snprintf(err, errlen, "%s:%d: unknown configuration key '%s'", path,
               lineno, key);
      rc = PB_ECONFIG;
      break;
    }
    if ((rc = pb_config_set(cfg, key, val, kerr, sizeof kerr)) != 0) {
      snprintf(err, errlen, "%s:%d: %s", path, lineno, kerr);
      break;
    }
  }
  fclose(f);
  return rc;
}

const char *pb_config_str(const struct pb_config *cfg, enum pb_config_key key) {
  if (key < 0 || key >= PB_CFG__COUNT)
    return "";
  return (cfg && cfg->values[key]) ? cfg->values[key] : keys[key].def;
}

int64_t pb_config_int(const struct pb_config *cfg, enum pb_config_key key) {
  return strtoll(pb_config_str(cfg, key), NULL, 10);
}

bool pb_config_bool(const struct pb_config *cfg, enum pb_config_key key) {
  bool b = false;
  parse_bool(pb_config_str(cfg, key), &b);
  return b;
}

const char *pb_config_arg(const struct pb_config *cfg, const char *option) {
  for (int i = 0; cfg && i < cfg->nargs; i++)
    if (strcmp(cfg->args[i].name, option) == 0)
      return cfg->args[i].value;
  return NULL;
}

void pb_config_print_help(const char *service, const char *summary,
                          const struct pb_cli_option *extra) {
  printf("Usage: %s [OPTIONS]\n%s\n\nOptions:\n", service,
         summary ? summary : "");
  printf("  %-28s %s\n", "--config FILE",
         "read KEY=VALUE settings from FILE "
         "(the environment wins)");
  printf("  %-28s %s\n", "--check-config",
         "validate the configuration and exit");
  printf("  %-28s %s\n", "--help", "show this help and exit");
  printf("  %-28s %s\n", "--version", "show the version and exit");
  for (const struct pb_cli_option *o = extra; o && o->name; o++) {
    char left[64];
    snprintf(left, sizeof left, "%s%s%s", o->name, o->arg ? " " : "",
             o->arg ? o->arg : "");
    printf("  %-28s %s\n", left, o->help);
  }
  printf("\nConfiguration (environment variables or --config FILE):\n");
  for (int i = 0; i < PB_CFG__COUNT; i++) {
    printf("  %-26s %s", keys[i].name, keys[i].help);
    if (*keys[i].def && keys[i].type != PB_CT_SECRET)
      printf(" [default: %s]", keys[i].def);
    printf("\n");
  }
}

void pb_config_print_markdown(void) {
  printf("| Key | Type | Default | Description |\n|---|---|---|---|\n");
  for (int i = 0; i < PB_CFG__COUNT; i++) {
    const struct key_def *d = &keys[i];
    char range[64] = "";
    if (d->type == PB_CT_INT)
      snprintf(range, sizeof range, " (%lld-%lld)", d->min, d->max);
    printf("| `%s` | %s%s | %s%s%s | %s |\n", d->name, type_name(d->type),
           range, *d->def ? "`" : "", *d->def ? d->def : "(empty)",
           *d->def ? "`" : "", d->help);
  }
}

void pb_config_print_env(void) {
  printf(
      "# PresenceBus configuration: one env file for the whole stack.\n#\n"
      "# Every service reads every key (and ignores those it does not use),\n"
      "# from this file when started with `--config FILE`, then from the\n"
      "# environment, which wins. Syntax: KEY=VALUE, '#' comments, optional\n"
      "# `export `, optional quotes. An unknown key is an error. The values\n"
      "# below are the defaults; an empty value means \"none\". Made by\n"
      "# `<service> --config-env`; `<service> --config FILE --check-config`\n"
      "# validates a file.\n#\n"
      "# systemd: copy to /etc/presencebus/presencebus.env (root:presencebus,\n"
      "# mode 0640: it holds secrets). The units set DATA_DIR themselves.\n");
  for (int i = 0; i < PB_CFG__COUNT; i++) {
    const struct key_def *d = &keys[i];
    printf("\n# %s", d->help);
    if (d->type == PB_CT_INT)
      printf(" (%lld-%lld)", d->min, d->max);
    if (d->type == PB_CT_SECRET)
      printf(" Secret: never printed or logged.");
    printf("\n%s=%s\n", d->name, d->type == PB_CT_SECRET ? "" : d->def);
  }
}

static void apply_side_effects(struct pb_config *cfg) {
  enum pb_log_level lvl = PB_LOG_INFO;
  pb_log_level_parse(pb_config_str(cfg, PB_CFG_LOG_LEVEL), &lvl);
  pb_log_set_level(lvl);
  for (int i = 0; i < PB_CFG__COUNT; i++)
    if (keys[i].type == PB_CT_SECRET)
      pb_log_add_secret(pb_config_str(cfg, (enum pb_config_key)i));
  int64_t offset = pb_config_int(cfg, PB_CFG_CLOCK_OFFSET_MS);
  if (offset != 0) {
    pb_clock_set_offset(offset);
    pb_warn("CLOCK_OFFSET_MS is set: the clock runs %lld ms %s the system's "
            "(testing only)",
            (long long)(offset < 0 ? -offset : offset),
            offset < 0 ? "behind" : "ahead of");
  }
}

static pb_config_check_fn *service_check;

void pb_config_set_check(pb_config_check_fn *check) {
  service_check = check;
}

int pb_config_setup(int argc, char **argv, const char *service,
                    const char *summary, const struct pb_cli_option *extra,
                    struct pb_config **out, int *exit_code) {
  struct pb_config *cfg = pb_config_new();
  const char *file = NULL;
  bool check = false;
  char err[1024];
  *exit_code = 0;
  if (!cfg) {
    *exit_code = 1;
    return PB_ENOMEM;
  }
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *eq = strchr(a, '=');
    size_t nlen = eq ? (size_t)(eq - a) : strlen(a);
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      pb_config_print_help(service, summary, extra);
      goto exit_ok;
    } else if (!strcmp(a, "--version")) {
      printf("%s %s\n", service, PB_VERSION);
      goto exit_ok;
    } else if (!strcmp(a, "--config-env")) {
      pb_config_print_env();
      goto exit_ok;
    } else if (!strcmp(a, "--config-markdown")) {
      pb_config_print_markdown();
      goto exit_ok;
    } else if (!strcmp(a, "--check-config")) {
      check = true;
      continue;
    } else if (!strncmp(a, "--config", nlen) && nlen == 8) {
      file = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
      if (!file) {
        fprintf(stderr, "%s: --config needs a FILE\n", service);
        goto exit_usage;
      }
      continue;
    }
    const struct pb_cli_option *o = extra;
    for (; o && o->name; o++)
      if (strlen(o->name) == nlen && !strncmp(a, o->name, nlen))
        break;
    if (!o || !o->name) {
      fprintf(stderr, "%s: unknown option '%s' (see --help)\n", service, a);
      goto exit_usage;
    }
    const char *val = "";
    if (o->arg) {
      val = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
      if (!val) {
        fprintf(stderr, "%s: %s needs %s\n", service, o->name, o->arg);
        goto exit_usage;
      }
    } else if (eq) {
      fprintf(stderr, "%s: %s takes no value\n", service, o->name);
      goto exit_usage;
    }
    if (cfg->nargs == MAX_ARGS) {
      fprintf(stderr, "%s: too many options\n", service);
      goto exit_usage;
    }
    cfg->args[cfg->nargs].name = o->name;
    if (!(cfg->args[cfg->nargs].value = strdup(val))) {
      fprintf(stderr, "%s: out of memory\n", service);
      pb_config_free(cfg);
      *exit_code = 1;
      return PB_ENOMEM;
    }
    cfg->nargs++;
  }
  if ((file && pb_config_load_file(cfg, file, err, sizeof err)) ||
      pb_config_load_env(cfg, err, sizeof err)) {
    fprintf(stderr, "%s: configuration error: %s\n", service, err);
    pb_config_free(cfg);
    *exit_code = 2;
    return PB_ECONFIG;
  }
  if (pb_presence_set_labels(pb_config_str(cfg, PB_CFG_PRESENCE_LABELS), err,
                             sizeof err)) {
    fprintf(stderr, "%s: configuration error: PRESENCE_LABELS: %s\n", service,
            err);
    pb_config_free(cfg);
    *exit_code = 2;
    return PB_ECONFIG;
  }
  if (service_check && service_check(cfg, err, sizeof err)) {
    fprintf(stderr, "%s: configuration error: %s\n", service, err);
    pb_config_free(cfg);
    *exit_code = 2;
    return PB_ECONFIG;
  }
  if (check) {
    printf("%s: configuration OK\n", service);
    goto exit_ok;
  }
  apply_side_effects(cfg);
  *out = cfg;
  return 0;
exit_ok:
  pb_config_free(cfg);
  *exit_code = 0;
  return PB_ESTATE;
exit_usage:
  pb_config_free(cfg);
  *exit_code = 2;
  return PB_EINVAL;
}
