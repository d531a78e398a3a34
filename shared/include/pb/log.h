/* Logging: one line per event on stderr, with a level, a UTC timestamp and
 * the service name. Registered secrets are replaced by "***" in every line,
 * so a token that slips into a message or a URL is never printed. */
#ifndef PB_LOG_H
#define PB_LOG_H

#include <stdarg.h>

enum pb_log_level { PB_LOG_DEBUG, PB_LOG_INFO, PB_LOG_WARN, PB_LOG_ERROR };

void pb_log_init(const char *service, enum pb_log_level level);
void pb_log_set_level(enum pb_log_level level);
/* "debug", "info", "warn"/"warning", "error" (any case). 0 or PB_EINVAL. */
int pb_log_level_parse(const char *text, enum pb_log_level *out);
/* Redact this text from every later log line. Short strings (< 4 bytes) are
 * ignored, to avoid masking ordinary words. At most 1024 secrets. */
void pb_log_add_secret(const char *secret);
/* Forget a secret that is no longer used (a replaced token), so the 1024
 * slots keep covering the live ones. */
void pb_log_remove_secret(const char *secret);

void pb_log(enum pb_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void pb_logv(enum pb_log_level level, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

#define pb_debug(...) pb_log(PB_LOG_DEBUG, __VA_ARGS__)
#define pb_info(...) pb_log(PB_LOG_INFO, __VA_ARGS__)
#define pb_warn(...) pb_log(PB_LOG_WARN, __VA_ARGS__)
#define pb_error(...) pb_log(PB_LOG_ERROR, __VA_ARGS__)

#endif
