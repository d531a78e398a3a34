/* What every service does the same way: read the configuration, set up
 * logging, the time zone, the loop and the bus; run until SIGTERM/SIGINT;
 * then publish "offline" and release everything. */
#ifndef PB_SERVICE_H
#define PB_SERVICE_H

#include "pb/config.h"

struct pb_bus;
struct pb_loop;
struct pb_tz;

struct pb_service {
  const char *name;
  struct pb_config *cfg;
  struct pb_loop *loop;
  struct pb_bus *bus;
  struct pb_tz *tz; /* TIMEZONE, or the system's */
};

/* Returns 0 when the service should go on; otherwise *exit_code is what
 * main returns (after --help, --check-config or a configuration error).
 * With `with_bus` false, no bus is created (command-line modes). */
int pb_service_init(struct pb_service *svc, const char *name, int argc,
                    char **argv, const char *summary,
                    const struct pb_cli_option *extra, int *exit_code);
int pb_service_connect(struct pb_service *svc);
/* Starts the bus and runs the loop; returns main's exit code. */
int pb_service_run(struct pb_service *svc);
void pb_service_cleanup(struct pb_service *svc);

#endif
