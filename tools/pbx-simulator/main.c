/* pbx-simulator: command-line flags (one table gives defaults, parsing and
 * --help), startup, the port file, and shutdown on SIGINT/SIGTERM. */
#include "sim.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct options {
  char listen[256];
  char port_file[4096];
  long extensions;
  char client_id[256];
  char client_secret[256];
  long token_lifetime;
  long refresh_lifetime;
  long max_tokens;
  long max_page_size;
  long latency_ms;
  double error_rate;
  bool outage;
  bool api_disabled;
  char allowed_ips[SIM_ALLOWED_IPS_MAX * SIM_IP_TEXT];
  char tls_cert[4096];
  char tls_key[4096];
  bool quiet;
  long ws_idle_timeout;
  bool demo_calls;
  char sn[64];
  bool help;
};

enum kind { K_STRING, K_LONG, K_DOUBLE, K_BOOL };

struct flag {
  const char *name;
  enum kind kind;
  size_t offset;
  size_t size; /* K_STRING: buffer size */
  long min, max;
  const char *arg; /* metavariable in --help */
  const char *def; /* default, parsed like a command-line value */
  const char *help;
};

#define OPT(field) offsetof(struct options, field)
#define STR(field) OPT(field), sizeof(((struct options *)0)->field)

static const struct flag flags[] = {
    {"listen", K_STRING, STR(listen), 0, 0, "HOST:PORT", "127.0.0.1:8088",
     "address to listen on; port 0 picks a free port"},
    {"port-file", K_STRING, STR(port_file), 0, 0, "FILE", "",
     "write the bound port to FILE once listening"},
    {"extensions", K_LONG, OPT(extensions), 0, 0, SIM_EXTENSIONS_MAX, "N", "10",
     "demo extensions (ids from 1, numbers from 2000)"},
    {"client-id", K_STRING, STR(client_id), 0, 0, "ID", "presencebus-demo",
     "Client ID accepted by get_token (username)"},
    {"client-secret", K_STRING, STR(client_secret), 0, 0, "SECRET",
     "demo-secret-0123456789abcdef0123",
     "Client Secret accepted by get_token (password)"},
    {"token-lifetime", K_LONG, OPT(token_lifetime), 0, 1, SIM_LIFETIME_MAX,
     "SECONDS", "1800", "access token lifetime"},
    {"refresh-lifetime", K_LONG, OPT(refresh_lifetime), 0, 1, SIM_LIFETIME_MAX,
     "SECONDS", "86400", "refresh token lifetime"},
    {"max-tokens", K_LONG, OPT(max_tokens), 0, 1, SIM_MAX_TOKENS_LIMIT, "N",
     "8", "valid access tokens allowed at once"},
    {"max-page-size", K_LONG, OPT(max_page_size), 0, 1, SIM_PAGE_SIZE_MAX, "N",
     "100", "largest page_size accepted by extension/list and search"},
    {"latency-ms", K_LONG, OPT(latency_ms), 0, 0, SIM_LATENCY_MAX_MS, "N", "0",
     "delay added to every Open API request"},
    {"error-rate", K_DOUBLE, OPT(error_rate), 0, 0, 1, "F", "0",
     "fraction (0..1) of Open API requests answered with HTTP 500"},
    {"outage", K_BOOL, OPT(outage), 0, 0, 0, NULL, NULL,
     "start in outage: Open API connections are closed unanswered"},
    {"api-disabled", K_BOOL, OPT(api_disabled), 0, 0, 0, NULL, NULL,
     "start with the Open API switched off (its paths answer 404)"},
    {"allowed-ips", K_STRING, STR(allowed_ips), 0, 0, "LIST", "",
     "API IP allow-list, comma-separated (others get errcode 70087)"},
    {"tls-cert", K_STRING, STR(tls_cert), 0, 0, "FILE", "",
     "serve HTTPS with this PEM certificate (with --tls-key)"},
    {"tls-key", K_STRING, STR(tls_key), 0, 0, "FILE", "",
     "PEM private key of --tls-cert"},
    {"ws-idle-timeout", K_LONG, OPT(ws_idle_timeout), 0, 1, 3600, "SECONDS",
     "60", "close a WebSocket after this long without a client message"},
    {"demo-calls", K_BOOL, OPT(demo_calls), 0, 0, 0, NULL, NULL,
     "calls start, ring, are answered, held and end on their own"},
    {"sn", K_STRING, STR(sn), 0, 0, "SERIAL", "3631A2124SIM",
     "the PBX serial number events carry"},
    {"quiet", K_BOOL, OPT(quiet), 0, 0, 0, NULL, NULL,
     "do not print a line per Open API request"},
    {"help", K_BOOL, OPT(help), 0, 0, 0, NULL, NULL, "print this help"},
};
#define N_FLAGS (sizeof flags / sizeof flags[0])

static void usage(FILE *to) {
  char left[64];

  fprintf(to, "usage: pbx-simulator [options]\n"
              "A strict Yeastar P-Series Open API simulator with a /sim/ "
              "control API.\n\n");
  for (size_t i = 0; i < N_FLAGS; i++) {
    const struct flag *f = &flags[i];
    snprintf(left, sizeof left, "--%s%s%s", f->name, f->arg ? " " : "",
             f->arg ? f->arg : "");
    fprintf(to, "  %-28s %s", left, f->help);
    if (f->def != NULL && *f->def != '\0')
      fprintf(to, " (default %s)", f->def);
    fputc('\n', to);
  }
}

static int set_value(struct options *o, const struct flag *f,
                     const char *value) {
  char *base = (char *)o + f->offset;
  double d;
  long l;

  switch (f->kind) {
  case K_STRING:
    if (strlen(value) >= f->size)
      return -1;
    memcpy(base, value, strlen(value) + 1);
    return 0;
  case K_LONG:
    if (sim_parse_long(value, f->min, f->max, &l) != 0)
      return -1;
    memcpy(base, &l, sizeof l);
    return 0;
  case K_DOUBLE:
    if (sim_parse_double(value, (double)f->min, (double)f->max, &d) != 0)
      return -1;
    memcpy(base, &d, sizeof d);
    return 0;
  case K_BOOL: {
    bool b = true;
    memcpy(base, &b, sizeof b);
    return 0;
  }
  }
  return -1;
}

static int parse_args(int argc, char **argv, struct options *o) {
  struct option longopts[N_FLAGS + 1];
  int c;

  memset(o, 0, sizeof *o);
  memset(longopts, 0, sizeof longopts);
  for (size_t i = 0; i < N_FLAGS; i++) {
    if (flags[i].def != NULL && set_value(o, &flags[i], flags[i].def) != 0)
      return -1;
    longopts[i].name = flags[i].name;
    longopts[i].has_arg =
        flags[i].kind == K_BOOL ? no_argument : required_argument;
    longopts[i].val = 1000 + (int)i;
  }
  while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    if (c == 'h') {
      o->help = true;
      continue;
    }
    if (c < 1000 || c >= 1000 + (int)N_FLAGS)
      return -1; /* getopt already printed why */
    const struct flag *f = &flags[c - 1000];
    if (set_value(o, f, optarg ? optarg : "") != 0) {
      fprintf(stderr, "pbx-simulator: invalid value for --%s: '%s'\n", f->name,
              optarg ? optarg : "");
      return -1;
    }
  }
  if (optind < argc) {
    fprintf(stderr, "pbx-simulator: unexpected argument '%s'\n", argv[optind]);
    return -1;
  }
  return 0;
}

/* HOST:PORT, with [v6]:PORT for IPv6. host must hold size bytes. */
static int split_listen(const char *listen, char *host, size_t size,
                        uint16_t *port) {
  const char *colon = strrchr(listen, ':');
  const char *start = listen;
  size_t len;
  long p;

  if (colon == NULL || sim_parse_long(colon + 1, 0, 65535, &p) != 0)
    return -1;
  len = (size_t)(colon - listen);
  if (len >= 2 && listen[0] == '[' && listen[len - 1] == ']') {
    start++;
    len -= 2;
  }
  if (len == 0 || len >= size)
    return -1;
  memcpy(host, start, len);
  host[len] = '\0';
  *port = (uint16_t)p;
  return 0;
}

static int stop_pipe[2] = {-1, -1};

static void on_stop_signal(int sig) {
  int saved = errno;
  char byte = (char)sig;

  if (write(stop_pipe[1], &byte, 1) < 0) {
    /* Nothing to do: a byte is already waiting or main is gone. */
  }
  errno = saved;
}

/* "10.0.0.1,192.168.1.2" into the settings; -1 on a bad list. */
static int parse_allowed(const char *list, struct sim_settings *set) {
  const char *p = list;

  set->n_allowed_ips = 0;
  while (*p) {
    const char *end = strchr(p, ',');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    if (len == 0 || len >= SIM_IP_TEXT ||
        set->n_allowed_ips >= SIM_ALLOWED_IPS_MAX)
      return -1;
    memcpy(set->allowed_ips[set->n_allowed_ips], p, len);
    set->allowed_ips[set->n_allowed_ips][len] = '\0';
    set->n_allowed_ips++;
    p += len;
    if (*p == ',')
      p++;
  }
  return 0;
}

/* A whole small file (a PEM certificate or key) as a string, or NULL. */
static char *read_small_file(const char *path) {
  FILE *f = fopen(path, "rb");
  char *buf;
  size_t n;

  if (f == NULL)
    return NULL;
  buf = malloc(SIM_TLS_FILE_MAX + 1);
  n = buf ? fread(buf, 1, SIM_TLS_FILE_MAX + 1, f) : 0;
  fclose(f);
  if (buf == NULL || n == 0 || n > SIM_TLS_FILE_MAX) {
    free(buf);
    return NULL;
  }
  buf[n] = '\0';
  return buf;
}

/* Written to a temporary name and renamed, so a reader never sees half. */
static int write_port_file(const char *path, uint16_t port) {
  char tmp[4200];
  FILE *f;

  snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid());
  f = fopen(tmp, "w");
  if (f == NULL)
    return -1;
  fprintf(f, "%u\n", (unsigned)port);
  if (fclose(f) != 0 || rename(tmp, path) != 0) {
    unlink(tmp);
    return -1;
  }
  return 0;
}

int main(int argc, char **argv) {
  struct options o;
  struct sim sim;
  struct sim_server *srv = NULL;
  struct sim_demo *demo = NULL;
  struct sim_settings initial;
  char *cert = NULL, *key = NULL;
  char host[256];
  uint16_t port, bound = 0;
  struct sigaction sa = {0};
  char byte;
  int rc = 1;

  if (parse_args(argc, argv, &o) != 0) {
    usage(stderr);
    return 2;
  }
  if (o.help) {
    usage(stdout);
    return 0;
  }
  if (split_listen(o.listen, host, sizeof host, &port) != 0) {
    fprintf(stderr, "pbx-simulator: --listen wants HOST:PORT, got '%s'\n",
            o.listen);
    return 2;
  }

  memset(&initial, 0, sizeof initial);
  if (parse_allowed(o.allowed_ips, &initial) != 0) {
    fprintf(stderr,
            "pbx-simulator: --allowed-ips wants at most %d addresses "
            "separated by commas\n",
            SIM_ALLOWED_IPS_MAX);
    return 2;
  }
  if ((o.tls_cert[0] != '\0') != (o.tls_key[0] != '\0')) {
    fprintf(stderr, "pbx-simulator: --tls-cert and --tls-key go together\n");
    return 2;
  }
  if (o.tls_cert[0] != '\0' && ((cert = read_small_file(o.tls_cert)) == NULL ||
                                (key = read_small_file(o.tls_key)) == NULL)) {
    fprintf(stderr, "pbx-simulator: cannot read the TLS certificate or key\n");
    free(cert);
    return 2;
  }
  memset(&sim, 0, sizeof sim);
  snprintf(sim.client_id, sizeof sim.client_id, "%s", o.client_id);
  snprintf(sim.client_secret, sizeof sim.client_secret, "%s", o.client_secret);
  sim.quiet = o.quiet;
  initial.latency_ms = o.latency_ms;
  initial.error_rate = o.error_rate;
  initial.error_status = 500;
  initial.token_lifetime = o.token_lifetime;
  initial.refresh_lifetime = o.refresh_lifetime;
  initial.outage = o.outage;
  initial.max_page_size = o.max_page_size;
  initial.api_disabled = o.api_disabled;
  sim.state = sim_state_new(&initial);
  sim.tokens = sim_tokens_new((unsigned)o.max_tokens);
  sim.dir = sim_dir_new((unsigned)o.extensions);
  sim.log = sim_log_new(SIM_LOG_MAX);
  sim.calls = sim_calls_new();
  sim.ws = sim_ws_new(sim.tokens, o.ws_idle_timeout);
  sim.webhooks = sim_webhooks_new("Yeastar-PBX-Simulator/1.0");
  sim.events = sim_events_new(sim.ws, sim.webhooks, o.sn);
  sim.recordings = sim_recordings_new();
  if (!sim.state || !sim.tokens || !sim.dir || !sim.log || !sim.calls ||
      !sim.ws || !sim.webhooks || !sim.events || !sim.recordings) {
    fprintf(stderr, "pbx-simulator: out of memory\n");
    goto out;
  }

  if (pipe(stop_pipe) != 0) {
    perror("pbx-simulator: pipe");
    goto out;
  }
  /* Whichever thread gets SIGINT/SIGTERM, the handler wakes main through
   * the pipe (sigwait would miss signals sent to threads we do not own). */
  sigemptyset(&sa.sa_mask);
  sa.sa_handler = on_stop_signal;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  sim_dir_set_hook(sim.dir, sim_events_dir_hook, sim.events);
  srv = sim_http_start(&sim, host, port, cert, key, &bound);
  if (srv == NULL)
    goto out;
  if (o.demo_calls && (demo = sim_demo_start(&sim)) == NULL) {
    fprintf(stderr, "pbx-simulator: cannot start the demo calls\n");
    goto out;
  }
  if (o.port_file[0] != '\0' && write_port_file(o.port_file, bound) != 0) {
    fprintf(stderr, "pbx-simulator: cannot write port file '%s'\n",
            o.port_file);
    goto out;
  }
  if (!o.quiet) {
    printf("pbx-simulator: listening on %s://%s:%u (%ld extensions)\n",
           cert ? "https" : "http", host, (unsigned)bound, o.extensions);
    fflush(stdout);
  }
  while (read(stop_pipe[0], &byte, 1) < 0 && errno == EINTR)
    ;
  rc = 0;
out:
  sim_demo_stop(demo);
  sim_ws_shutdown(sim.ws); /* every upgraded socket closed before MHD stops */
  sim_http_stop(srv);
  sim_webhooks_free(sim.webhooks); /* no sender left before events go */
  sim_events_free(sim.events);
  sim_recordings_free(sim.recordings);
  sim_ws_free(sim.ws);
  free(cert);
  free(key);
  sim_calls_free(sim.calls);
  sim_log_free(sim.log);
  sim_dir_free(sim.dir);
  sim_tokens_free(sim.tokens);
  sim_state_free(sim.state);
  for (int i = 0; i < 2; i++)
    if (stop_pipe[i] >= 0)
      close(stop_pipe[i]);
  return rc;
}
