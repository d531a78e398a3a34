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

#include "pb/url.h" /* pb_url_parse, which checks URL settings */

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
  X(MQTT_USERNAME, PB_CT_STRING, "", 0, 0,                                     \
    "Broker user name (empty: the service's own name, e.g. scheduler).")       \
  X(MQTT_PASSWORD, PB_CT_SECRET, "", 0, 0,                                     \
    "Broker password (prefer MQTT_PASSWORD_FILE).")                            \
  X(MQTT_PASSWORD_FILE, PB_CT_STRING, "", 0, 0,                                \
    "File holding the broker password (empty: DATA_DIR/mqtt/<user>.password "  \
    "when it exists).")                                                        \
  X(MQTT_CA_FILE, PB_CT_STRING, "", 0, 0,                                      \
    "CA bundle that signs the broker's certificate, for mqtts:// (empty: the " \
    "system's CAs).")                                                          \
  X(MQTT_CERT_FILE, PB_CT_STRING, "", 0, 0,                                    \
    "Client certificate (PEM) to present to the broker (with MQTT_KEY_FILE).") \
  X(MQTT_KEY_FILE, PB_CT_STRING, "", 0, 0,                                     \
    "Private key (PEM) of MQTT_CERT_FILE.")                                    \
  X(MQTT_INSTANCE, PB_CT_STRING, "", 0, 0,                                     \
    "Instance name: the client id is <service>-<instance>, one persistent "    \
    "session each (empty: the host name).")                                    \
  X(MQTT_SESSION_EXPIRY_SECONDS, PB_CT_INT, "604800", 60, 4294967295LL,        \
    "How long the broker keeps a stopped service's session and queued "        \
    "commands.")                                                               \
  X(MQTT_TOPIC_ROOT, PB_CT_TOPIC, "presence", 0, 0,                            \
    "Root R of every topic (R/ext/<site>/<ext>/...).")                         \
  X(MQTT_PROTOCOL, PB_CT_INT, "5", 4, 5,                                       \
    "MQTT protocol: 5 (MQTT 5) or 4 (MQTT 3.1.1).")                            \
  X(DATA_DIR, PB_CT_STRING, "./data", 0, 0,                                    \
    "Directory holding each service's SQLite database and the secret key.")    \
  X(TIMEZONE, PB_CT_TIMEZONE, "", 0, 0,                                        \
    "IANA time zone of plannings (empty: TZ, else the system's).")             \
  X(SITE, PB_CT_ID, "main", 0, 0,                                              \
    "Name of the PBX site that the YEASTAR_* keys describe.")                  \
  X(LOG_LEVEL, PB_CT_LOGLEVEL, "info", 0, 0, "debug, info, warn or error.")    \
  X(DEFAULT_STATUS, PB_CT_PRESENCE, "available", 0, 0,                         \
    "Status when no override and no slot applies.")                            \
  X(PRESENCE_LABELS, PB_CT_STRING, "", 0, 0,                                   \
    "Display labels, e.g. 'lunch=Face à face pédagogique;away=Absent'.")       \
  X(SCHEDULE_HORIZON_DAYS, PB_CT_INT, "14", 1, 366,                            \
    "How many days of concrete slots ical-ingest publishes ahead.")            \
  X(HA_DISCOVERY, PB_CT_BOOL, "true", 0, 0,                                    \
    "Publish Home Assistant MQTT discovery for every PBX extension "           \
    "(scheduler).")                                                            \
  X(HA_DISCOVERY_PREFIX, PB_CT_TOPIC, "homeassistant", 0, 0,                   \
    "Home Assistant's discovery prefix (its birth message is "                 \
    "<prefix>/status).")                                                       \
  X(ALLOW_UNLISTED_EXTENSIONS, PB_CT_BOOL, "false", 0, 0,                      \
    "Accept override, planning and settings commands for extensions that the " \
    "site's PBX directory does not list, or for a site with no directory "     \
    "(a stack without a PBX); scheduler.")                                     \
  X(YEASTAR_PBX_URL, PB_CT_URL, "", 0, 0,                                      \
    "PBX base URL, e.g. https://pbx.example.org:8088 (empty: no PBX).")        \
  X(YEASTAR_CLIENT_ID, PB_CT_STRING, "", 0, 0,                                 \
    "Open API client id (PBX > Integrations > API).")                          \
  X(YEASTAR_CLIENT_SECRET, PB_CT_SECRET, "", 0, 0, "Open API client secret.")  \
  X(YEASTAR_CA_FILE, PB_CT_STRING, "", 0, 0,                                   \
    "CA bundle or self-signed certificate to trust for the PBX.")              \
  X(YEASTAR_INSECURE, PB_CT_BOOL, "false", 0, 0,                               \
    "Skip TLS verification for the PBX (logged as a warning at every start).") \
  X(YEASTAR_PINNED_PUBLIC_KEY, PB_CT_STRING, "", 0, 0,                         \
    "Pin the PBX's public key: sha256//BASE64 (';' between several) or a "     \
    "PEM/DER key file.")                                                       \
  X(YEASTAR_USER_AGENT, PB_CT_STRING, "PresenceBus/" PB_VERSION " OpenAPI", 0, \
    0, "User-Agent sent with every PBX request.")                              \
  X(DIRECTORY_REFRESH_MINUTES, PB_CT_INT, "10", 1, 1440,                       \
    "How often the gateway re-reads the PBX extension list.")                  \
  X(PBX_TIMEOUT_SECONDS, PB_CT_INT, "10", 1, 300,                              \
    "Total time allowed for one PBX request.")                                 \
  X(PBX_MAX_CONCURRENCY, PB_CT_INT, "4", 1, 64,                                \
    "PBX requests the gateway runs at once, per PBX site.")                    \
  X(PBX_RATE_PER_SECOND, PB_CT_INT, "400", 1, 10000,                           \
    "PBX requests the gateway starts per second, per site (token bucket).")    \
  X(PBX_RATE_BURST, PB_CT_INT, "40", 1, 10000,                                 \
    "Requests a site may start at once after a quiet time (bucket size).")     \
  X(PBX_MAX_TOKENS, PB_CT_INT, "2", 1, 8,                                      \
    "Open API tokens the gateway may hold live at once, per site (the PBX "    \
    "allows 8 per application).")                                              \
  X(PBX_DEL_TOKEN_ON_EXIT, PB_CT_BOOL, "false", 0, 0,                          \
    "Revoke the token (del_token) on a clean stop instead of reusing it at "   \
    "the next start.")                                                         \
  X(PBX_READBACK_SECONDS, PB_CT_INT, "60", 0, 86400,                           \
    "How often the gateway reads back what the PBX shows, to notice drift "    \
    "(0: never).")                                                             \
  X(DRIFT_POLICY, PB_CT_STRING, "respect", 0, 0,                               \
    "A status changed on the phone: respect (kept until the planning's next "  \
    "change) or enforce.")                                                     \
  X(PBX_EVENT_FEED, PB_CT_STRING, "websocket", 0, 0,                           \
    "How yeastar-gateway hears the PBX's events live: websocket (the "         \
    "P-Series event feed, per site) or off (webhook relay only).")             \
  X(CALL_STALE_SECONDS, PB_CT_INT, "14400", 60, 604800,                        \
    "A call without news for this long is taken as over (a lost hang-up).")    \
  X(APPLY_RETRY_MAX_SECONDS, PB_CT_INT, "300", 1, 86400,                       \
    "Longest wait between two retries of a failed apply.")                     \
  X(PBX_DATE_ORDER, PB_CT_STRING, "mdy", 0, 0,                                 \
    "How the PBX shows dates (System > Date and Time > Display Format), for "  \
    "CDR times without a Unix timestamp: mdy or dmy (year first is always "    \
    "read).")                                                                  \
  X(PBX_TIMEZONE, PB_CT_TIMEZONE, "", 0, 0,                                    \
    "IANA time zone the PBX shows its times in, for CDR times without a Unix " \
    "timestamp (empty: TIMEZONE).")                                            \
  X(RECORDINGS_DIR, PB_CT_STRING, "", 0, 0,                                    \
    "Folder where yeastar-gateway keeps the call recordings it fetched from "  \
    "the PBX, one sub-folder per site (empty: none kept on disk).")            \
  X(RECORDINGS_RETENTION_DAYS, PB_CT_INT, "90", 1, 3650,                       \
    "Days a recording stays in RECORDINGS_DIR after it was fetched.")          \
  X(RECORDINGS_CACHE_MB, PB_CT_INT, "64", 0, 1024,                             \
    "Without RECORDINGS_DIR: memory kept for recently fetched recordings, so " \
    "the chunks of one listen fetch it once.")                                 \
  X(WEB_LISTEN, PB_CT_LISTEN, "127.0.0.1:8080", 0, 0,                          \
    "Address and port web-api listens on.")                                    \
  X(WEB_MAX_BODY_BYTES, PB_CT_INT, "1048576", 1024, 67108864,                  \
    "Largest request body web-api accepts.")                                   \
  X(WEB_ADMIN_PASSWORD, PB_CT_SECRET, "", 0, 0,                                \
    "Password of the 'admin' account web-api creates on first start (empty: "  \
    "generated and printed once).")                                            \
  X(WEB_SESSION_HOURS, PB_CT_INT, "12", 1, 720,                                \
    "Lifetime of a dashboard login session, in hours.")                        \
  X(WEB_COOKIE_SECURE, PB_CT_BOOL, "false", 0, 0,                              \
    "Mark the session cookie Secure (set it when HTTPS is terminated by a "    \
    "proxy).")                                                                 \
  X(WEB_LOGIN_MAX_FAILURES, PB_CT_INT, "5", 1, 1000,                           \
    "Failed logins allowed per client address and user name in 15 minutes.")   \
  X(WEB_COMMAND_TIMEOUT_MS, PB_CT_INT, "5000", 100, 120000,                    \
    "How long web-api waits for the service that owns a command (then 504).")  \
  X(WEB_AUDIT_RETENTION_DAYS, PB_CT_INT, "90", 1, 3650,                        \
    "Days the audit log keeps its entries.")                                   \
  X(WEB_SSE_RING_EVENTS, PB_CT_INT, "4096", 16, 1000000,                       \
    "Live events kept in memory for Last-Event-ID resume and slow clients.")   \
  X(WEB_SSE_HEARTBEAT_SECONDS, PB_CT_INT, "15", 1, 300,                        \
    "Seconds between two heartbeats on an idle event stream.")                 \
  X(WEB_SSE_MAX_CLIENTS, PB_CT_INT, "500", 1, 900,                             \
    "Event-stream clients web-api serves at once.")                            \
  X(WEB_EVENT_MAX_BYTES, PB_CT_INT, "16384", 1024, 1048576,                    \
    "Largest bus event web-api keeps in the audit log or streams; a bigger "   \
    "one is recorded as too large (kind, size, topic).")                       \
  X(WEB_WEBHOOK_REPLAY_SECONDS, PB_CT_INT, "600", 0, 86400,                    \
    "A PBX webhook body seen again within this many seconds is answered but "  \
    "not relayed (0: no replay check).")                                       \
  X(WEB_SSE_MAX_PER_USER, PB_CT_INT, "8", 1, 900,                              \
    "Event-stream clients one user (or token owner) may hold at once (then "   \
    "429).")                                                                   \
  X(WEB_MAX_CONNECTIONS, PB_CT_INT, "1000", 16, 100000,                        \
    "HTTP connections web-api holds at once, logged-in users included.")       \
  X(WEB_MAX_ANONYMOUS_CONNECTIONS, PB_CT_INT, "250", 8, 100000,                \
    "Of those, connections that have not shown valid credentials yet (kept "   \
    "below WEB_MAX_CONNECTIONS).")                                             \
  X(WEB_MAX_ANONYMOUS_PER_ADDRESS, PB_CT_INT, "32", 1, 100000,                 \
    "Connections without valid credentials one client address may hold (a "    \
    "trusted proxy: no cap).")                                                 \
  X(WEB_HEADER_TIMEOUT_SECONDS, PB_CT_INT, "10", 1, 3600,                      \
    "Time to send a whole request head, from the connection's start or the "   \
    "previous answer (a trickle does not extend it).")                         \
  X(WEB_BODY_TIMEOUT_SECONDS, PB_CT_INT, "60", 1, 3600,                        \
    "Time to send a whole request body once its head is in.")                  \
  X(WEB_TRUSTED_PROXIES, PB_CT_STRING, "", 0, 0,                               \
    "Reverse proxies whose X-Forwarded-For is believed: addresses or CIDRs, "  \
    "comma-separated (empty: none).")                                          \
  X(WEB_LOGIN_MAX_FAILURES_PER_ADDRESS, PB_CT_INT, "30", 1, 100000,            \
    "Failed logins allowed per client address, whatever the user names, in "   \
    "15 minutes.")                                                             \
  X(WEB_LOGIN_MAX_FAILURES_PER_ACCOUNT, PB_CT_INT, "50", 1, 100000,            \
    "Failed logins allowed per existing account, from all addresses, in 15 "   \
    "minutes.")                                                                \
  X(PBX_WEBHOOK_SECRETS, PB_CT_SECRET, "", 0, 0,                               \
    "Webhook secrets per site: 'main=SECRET;other=SECRET2' (a site without "   \
    "one refuses webhooks).")                                                  \
  X(IMPORT_MAX_BYTES, PB_CT_INT, "4194304", 1024, 268435456,                   \
    "Largest planning file ical-ingest imports.")                              \
  X(SOURCE_REFRESH_MINUTES, PB_CT_INT, "5", 1, 1440,                           \
    "Default time between two downloads of a calendar URL (each +-10 % "       \
    "jitter).")                                                                \
  X(SOURCE_BACKOFF_MAX_MINUTES, PB_CT_INT, "60", 1, 1440,                      \
    "Cap of the wait after failed downloads (1 min, doubling; at least the "   \
    "refresh interval).")                                                      \
  X(SOURCE_CONNECT_TIMEOUT_SECONDS, PB_CT_INT, "10", 1, 300,                   \
    "Time allowed to connect to a calendar server.")                           \
  X(SOURCE_TIMEOUT_SECONDS, PB_CT_INT, "60", 1, 3600,                          \
    "Total time allowed for one calendar download.")                           \
  X(SOURCE_MAX_REDIRECTS, PB_CT_INT, "5", 0, 20,                               \
    "HTTP redirects followed when downloading a calendar.")                    \
  X(SOURCE_MAX_BYTES, PB_CT_INT, "33554432", 1024, 268435456,                  \
    "Largest calendar accepted (download or upload); a larger one is "         \
    "refused.")                                                                \
  X(SOURCE_ALLOW_PRIVATE_ADDRESSES, PB_CT_BOOL, "false", 0, 0,                 \
    "Let calendar URLs reach private and loopback addresses (10/8, "           \
    "172.16/12, 192.168/16, 127/8, 100.64/10, ::1, fc00::/7): needed for an "  \
    "on-premise calendar server. Link-local and cloud metadata addresses "     \
    "stay refused.")                                                           \
  X(MAPPING_RULES, PB_CT_STRING, "", 0, 0,                                     \
    "Global event-to-status rules, a JSON array (empty: the built-in list, "   \
    "see docs/calendars.md).")                                                 \
  X(MAPPING_DEFAULT_STATUS, PB_CT_STRING, "do_not_disturb", 0, 0,              \
    "Status of calendar events no rule matches, or 'ignore'.")                 \
  X(CALL_LOG_RETENTION_DAYS, PB_CT_INT, "365", 0, 36500,                       \
    "Days call-log keeps a call, from when it rang (0: for ever).")            \
  X(CALL_LOG_BACKFILL_SECONDS, PB_CT_INT, "900", 60, 86400,                    \
    "How often call-log catches up from the PBX's CDR search (also at start, " \
    "when the gateway comes back and when a site is ok again).")               \
  X(CALL_LOG_BACKFILL_DAYS, PB_CT_INT, "7", 0, 3650,                           \
    "How far back call-log's first catch-up of a site goes.")                  \
  X(CALL_LOG_BACKFILL_OVERLAP_SECONDS, PB_CT_INT, "3600", 0, 86400,            \
    "Each catch-up starts this long before the last one ended (a call's "      \
    "record exists once it ended; the search is on ring time).")               \
  X(CALL_LOG_BACKFILL_PAGE_SIZE, PB_CT_INT, "500", 1, 1000,                    \
    "CDRs call-log asks the gateway for per page of a catch-up.")              \
  X(CLOCK_OFFSET_MS, PB_CT_INT, "0", -315360000000LL, 315360000000LL,          \
    "Testing only: run the clock this many ms ahead of the system's.")

enum pb_config_key {
#define PB_CONFIG_ENUM(name, type, def, min, max, help) PB_CFG_##name,
  PB_CONFIG_KEYS(PB_CONFIG_ENUM)
#undef PB_CONFIG_ENUM
      PB_CFG__COUNT
};

/* A service-specific command-line option ("--import"), described for --help. */
struct pb_cli_option {
  const char *name; /* with leading dashes */
  const char *arg;  /* NULL for a flag, else the value's name: "FILE" */
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
/* A service's own check of values only it can judge (ical-ingest's rule
 * list), run by pb_config_setup after loading, --check-config included. It
 * returns 0, or an error with a message naming the key in err; the service
 * then stops with exit status 2. Set before pb_config_setup (or pass NULL). */
typedef int pb_config_check_fn(const struct pb_config *cfg, char *err,
                               size_t errlen);
void pb_config_set_check(pb_config_check_fn *check);
/* Value of a service option after pb_config_setup; NULL when absent, ""
 * for a flag that was given. */
const char *pb_config_arg(const struct pb_config *cfg, const char *option);

const char *pb_config_str(const struct pb_config *cfg, enum pb_config_key key);
int64_t pb_config_int(const struct pb_config *cfg, enum pb_config_key key);
bool pb_config_bool(const struct pb_config *cfg, enum pb_config_key key);
const char *pb_config_key_name(enum pb_config_key key);

/* The table as Markdown (docs/config.md is this output, checked by a test)
 * and as an env file (deploy/presencebus.env.example, checked likewise). */
void pb_config_print_markdown(void);
void pb_config_print_env(void);
void pb_config_print_help(const char *service, const char *summary,
                          const struct pb_cli_option *extra);

/* Parse "host:port" ("[::1]:8080" too). */
int pb_parse_listen(const char *text, char *host, size_t hostlen, int *port);

#endif
