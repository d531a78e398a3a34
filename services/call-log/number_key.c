/* Phone numbers as the call log indexes them: the digits read backwards,
 * so that "the number ends with these digits" is a range over an index
 * instead of a LIKE '%...' over every row (docs/call-log.md). */
#include <string.h>

#include "calllog.h"

void calllog_number_rev(const char *number, char *out, size_t len) {
  size_t n = 0, digits = 0;
  if (!len)
    return;
  out[0] = '\0';
  if (!number)
    return;
  for (const char *p = number; *p; p++)
    if (*p >= '0' && *p <= '9')
      digits++;
  if (digits >= len)
    digits = len - 1; /* the last digits matter: keep those */
  for (size_t i = strlen(number); i > 0 && n < digits; i--)
    if (number[i - 1] >= '0' && number[i - 1] <= '9')
      out[n++] = number[i - 1];
  out[n] = '\0';
}
