/* Configuration: one table of keys (name, type, default, help) from which
 * parsing, validation, --help and docs/config.md all come. Values are read
 * from an env file given with --config FILE, then from the environment
 * (which wins). Every service reads every key and ignores those it does not
 * use, so one env file serves the whole stack. */
#ifndef PB_CONFIG_H
#define PB_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum pb_config_type {
  PB_CT_STRING,   /* free text */
  PB_CT_SECRET,   /* free text, never printed or logged */
  PB_CT_INT,      /* decimal integer within [min, max] */
  PB_CT_BOOL,     /* true/false, yes/no, on/off, 1/0 */
  PB_CT_URL,      /* scheme://host[:port][/path] with an allowed scheme */
  PB_CT_LISTEN,   /* host:port */
  PB_CT_PRESENCE, /* a presence value or alias */
  PB_CT_LOGLEVEL, /* debug, info, warn, error */
  PB_CT_TIMEZONE, /* an IANA zone name */
  PB_CT_ID,       /* [A-Za-z0-9_-]+ (topic segment) */
  PB_CT_TOPIC,    /* an MQTT topic prefix without wildcards */
  PB_CT_TIME,     /* RFC 3339 instant */
};

/* X(NAME, type, default, min, max, help) */
#define PB_CONFIG_KEYS(X)                                                      \
  X(MQTT_URL, PB_CT_URL, "mqtt://127.0.0.1:1883", 0, 0,                        \
    "Broker URL: mqtt://host:port or mqtts://host:port (TLS, system CAs).")    \
  X(MQTT_USERNAME, PB_CT_STRING, "", 0, 0, "Broker user name (empty: none).")  \
  X(MQTT_PASSWORD, PB_CT_SECRET, "", 0, 0, "Broker password.")                 \
  X(MQTT_TOPIC_ROOT, PB_CT_TOPIC, "presence", 0, 0,                            \
    "Root R of every topic (R/ext/<site>/<ext>/...).")                         \
  X(MQTT_PROTOCOL, PB_CT_INT, "5", 4, 5,                                       \
    "MQTT protocol: 5 (MQTT 5) or 4 (MQTT 3.1.1).")                            \
  X(DATA_DIR, PB_CT_STRING, "./data", 0, 0,                                    \
    "Directory holding each service's SQLite database and the secret key.")   \
  X(TIMEZONE, PB_CT_TIMEZONE, "", 0, 0,                                        \
    "IANA time zone of plannings (empty: the system's).")                      \
  X(SITE, PB_CT_ID, "main", 0, 0,                                              \
    "Name of the PBX site that the YEASTAR_* keys describe.")                  \
  X(LOG_LEVEL, PB_CT_LOGLEVEL, "info", 0, 0,                                   \
    "debug, info, warn or error.")                                             \
  X(DEFAULT_STATUS, PB_CT_PRESENCE, "available", 0, 0,                         \
    "Status when no override and no slot applies.")                            \
  X(PRESENCE_LABELS, PB_CT_STRING, "", 0, 0,                                   \
    "Display labels, e.g. 'lunch=Face à face pédagogique;away=Absent'.")      \
  X(SCHEDULE_HORIZON_DAYS, PB_CT_INT, "14", 1, 366,                            \
    "How many days of concrete slots ical-ingest publishes ahead.")            \
  X(YEASTAR_PBX_URL, PB_CT_URL, "", 0, 0,                                      \
    "PBX base URL, e.g. https://pbx.example.org:8088 (empty: no PBX).")       \
  X(YEASTAR_CLIENT_ID, PB_CT_STRING, "", 0, 0,                                 \
    "Open API client id (PBX > Integrations > API).")                          \
  X(YEASTAR_CLIENT_SECRET, PB_CT_SECRET, "", 0, 0, "Open API client secret.")  \
  X(YEASTAR_CA_FILE, PB_CT_STRING, "", 0, 0,                                   \
    "CA bundle or self-signed certificate to trust for the PBX.")             \
  X(YEASTAR_INSECURE, PB_CT_BOOL, "false", 0, 0,                               \
    "Skip TLS verification for the PBX (logged as a warning at every start).") \
  X(YEASTAR_USER_AGENT, PB_CT_STRING, "PresenceBus/" PB_VERSION " OpenAPI", 0, \
    0, "User-Agent sent with every PBX request.")                              \
  X(DIRECTORY_REFRESH_MINUTES, PB_CT_INT, "10", 1, 1440,                       \
    "How often the gateway re-reads the PBX extension list.")                  \
  X(PBX_TIMEOUT_SECONDS, PB_CT_INT, "10", 1, 300,                              \
    "Total time allowed for one PBX request.")                                 \
  X(PBX_MAX_CONCURRENCY, PB_CT_INT, "4", 1, 64,                               \
    "PBX requests the gateway runs at once, per process.")                     \
  X(APPLY_RETRY_MAX_SECONDS, PB_CT_INT, "300", 1, 86400,                       \
    "Longest wait between two retries of a failed apply.")                     \
  X(WEB_LISTEN, PB_CT_LISTEN, "127.0.0.1:8080", 0, 0,                          \
    "Address and port web-api listens on.")                                    \
  X(WEB_MAX_BODY_BYTES, PB_CT_INT, "1048576", 1024, 67108864,                  \
    "Largest request body web-api accepts.")                                   \
  X(IMPORT_MAX_BYTES, PB_CT_INT, "4194304", 1024, 268435456,                   \
    "Largest planning file ical-ingest imports.")                              \
  X(CLOCK_OFFSET_MS, PB_CT_INT, "0", -315360000000LL, 315360000000LL,        \
    "Testing only: run the clock this many ms ahead of the system's.")

enum pb_config_key {
#define PB_CONFIG_ENUM(name, type, def, min, max, help) PB_CFG_##name,
  PB_CONFIG_KEYS(PB_CONFIG_ENUM)
#undef PB_CONFIG_ENUM
      PB_CFG__COUNT
};

/* A service-specific command-line option ("--import"), described for --help. */
struct pb_cli_option {
  const char *name;     /* with leading dashes */
  const char *arg;      /* NULL for a flag, else the value's name: "FILE" */
  const char *help;
};

struct pb_config;

struct pb_config *pb_config_new(void);
void pb_config_free(struct pb_config *cfg);
/* Validate and set one key. Errors name the key: "MQTT_URL: ...". */
int pb_config_set(struct pb_config *cfg, const char *name, const char *value,
                  char *err, size_t errlen);
/* KEY=VALUE lines, '#' comments, optional "export ", optional quotes. An
 * unknown key is an error naming the key and the line. */
int pb_config_load_file(struct pb_config *cfg, const char *path, char *err,
                        size_t errlen);
/* Every table key present in the environment. */
int pb_config_load_env(struct pb_config *cfg, char *err, size_t errlen);

/* The whole start-up: handles --config FILE, --help, --check-config,
 * --version and the service's own options (`extra`, ending with a zeroed
 * entry). Returns 0 when the service should run, else sets *exit_code. */
int pb_config_setup(int argc, char **argv, const char *service,
                    const char *summary, const struct pb_cli_option *extra,
                    struct pb_config **out, int *exit_code);
/* Value of a service option after pb_config_setup; NULL when absent, ""
 * for a flag that was given. */
const char *pb_config_arg(const struct pb_config *cfg, const char *option);

const char *pb_config_str(const struct pb_config *cfg, enum pb_config_key key);
int64_t pb_config_int(const struct pb_config *cfg, enum pb_config_key key);
bool pb_config_bool(const struct pb_config *cfg, enum pb_config_key key);
const char *pb_config_key_name(enum pb_config_key key);

/* The table as Markdown (docs/config.md is this output, checked by a test). */
void pb_config_print_markdown(void);
void pb_config_print_help(const char *service, const char *summary,
                          const struct pb_cli_option *extra);

/* Parse "host:port" ("[::1]:8080" too). */
int pb_parse_listen(const char *text, char *host, size_t hostlen, int *port);
/* Parse "scheme://[user[:pass]@]host[:port][/path]". */
struct pb_url {
  char scheme[16];
  char host[256];
  int port;              /* 0 when absent */
  char path[512];
};
int pb_url_parse(const char *text, struct pb_url *out);

#endif
