/* One line per event on stderr: "2026-11-21T10:00:00.123Z scheduler info
 * message". Newlines in messages are escaped so one event stays one line,
 * and registered secrets are masked before anything is written. */
#include "pb/log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "pb/error.h"
#include "pb/secretbox.h"

#define MAX_SECRETS 1024 /* calendar URLs each bring a few */
#define LINE_MAX_BYTES 4096

static struct {
  char service[32];
  enum pb_log_level level;
  char *secrets[MAX_SECRETS];
  size_t nsecrets;
  pthread_mutex_t lock;
} g = {.service = "presencebus",
       .level = PB_LOG_INFO,
       .lock = PTHREAD_MUTEX_INITIALIZER};

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void pb_log_init(const char *service, enum pb_log_level level) {
  if (service)
    snprintf(g.service, sizeof g.service, "%s", service);
  g.level = level;
}

void pb_log_set_level(enum pb_log_level level) {
  g.level = level;
}

int pb_log_level_parse(const char *text, enum pb_log_level *out) {
  if (!text)
    return PB_EINVAL;
  for (size_t i = 0; i < 4; i++) {
    if (strcasecmp(text, level_names[i]) == 0) {
      *out = (enum pb_log_level)i;
      return 0;
    }
  }
  if (strcasecmp(text, "warning") == 0) {
    *out = PB_LOG_WARN;
    return 0;
  }
  return PB_EINVAL;
}

void pb_log_add_secret(const char *secret) {
  if (!secret || strlen(secret) < 4)
    return;
  pthread_mutex_lock(&g.lock);
  for (size_t i = 0; i < g.nsecrets; i++) {
    if (strcmp(g.secrets[i], secret) == 0) {
      pthread_mutex_unlock(&g.lock);
      return;
    }
  }
  if (g.nsecrets < MAX_SECRETS) {
    char *copy = strdup(secret);
    if (copy)
      g.secrets[g.nsecrets++] = copy;
  }
  pthread_mutex_unlock(&g.lock);
}

void pb_log_remove_secret(const char *secret) {
  if (!secret)
    return;
  pthread_mutex_lock(&g.lock);
  for (size_t i = 0; i < g.nsecrets; i++) {
    if (strcmp(g.secrets[i], secret) == 0) {
      pb_secret_free(g.secrets[i]);
      g.secrets[i] = g.secrets[--g.nsecrets];
      break;
    }
  }
  pthread_mutex_unlock(&g.lock);
}

/* Replace every registered secret in line (in place, never growing). */
static void mask_secrets(char *line) {
  for (size_t i = 0; i < g.nsecrets; i++) {
    const char *s = g.secrets[i];
    size_t slen = strlen(s);
    char *hit;
    while ((hit = strstr(line, s)) != NULL) {
      memcpy(hit, "***", 3);
      memmove(hit + 3, hit + slen, strlen(hit + slen) + 1);
    }
  }
}

void pb_logv(enum pb_log_level level, const char *fmt, va_list ap) {
  if (level < g.level)
    return;
  char msg[LINE_MAX_BYTES];
  vsnprintf(msg, sizeof msg, fmt, ap);
  for (char *p = msg; *p; p++) {
    if (*p == '\n' || *p == '\r')
      *p = ' ';
  }
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  char stamp[40];
  strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
  pthread_mutex_lock(&g.lock);
  mask_secrets(msg);
  fprintf(stderr, "%s.%03ldZ %s %s %s\n", stamp, ts.tv_nsec / 1000000L,
          g.service, level_names[level], msg);
  pthread_mutex_unlock(&g.lock);
}

void pb_log(enum pb_log_level level, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  pb_logv(level, fmt, ap);
  va_end(ap);
}
