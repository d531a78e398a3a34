/* The `--expand` command line of ical-ingest (expand_cli.c): the service's
 * glue around the calendar library, for diagnosis and for comparing the
 * reader with the Python reference byte for byte. */
#ifndef EXPAND_CLI_H
#define EXPAND_CLI_H

#include <stdbool.h>

struct pb_config;
struct pb_tz;

/* Prints the occurrences of `file` in [from, to) in the reference's format.
 * `zone` (NULL: default_tz) reads floating times and all-day days; `status`
 * appends the mapped status; `all` keeps cancelled and transparent events.
 * Returns main's exit code. */
int ingest_expand_cli(const struct pb_config *cfg,
                      const struct pb_tz *default_tz, const char *file,
                      const char *from, const char *to, const char *zone,
                      bool status, bool all);

#endif
