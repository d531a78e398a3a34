/* The benchmark's baseline: a plain libical program, as most C code reads a
 * calendar: the whole file parsed into libical's component tree, then
 * icalcomponent_foreach_recurrence over every VEVENT for the window.
 * (It also shows the naive API's flaw: moved instances count twice.)
 *
 *   ical_libical_baseline FILE YYYYMMDD YYYYMMDD   -> prints the count */
#include <libical/ical.h>
#include <stdio.h>
#include <stdlib.h>

static void count(icalcomponent *comp, struct icaltime_span *span, void *ud) {
  (void)comp;
  (void)span;
  (*(long *)ud)++;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s FILE FROM TO (YYYYMMDD, UTC)\n", argv[0]);
    return 2;
  }
  FILE *f = fopen(argv[1], "rb");
  if (!f) {
    perror(argv[1]);
    return 1;
  }
  fseek(f, 0, SEEK_END);
  long len = ftell(f);
  rewind(f);
  char *buf = malloc((size_t)len + 1);
  if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len) {
    fclose(f);
    return 1;
  }
  fclose(f);
  buf[len] = '\0';
  icalcomponent *root = icalparser_parse_string(buf);
  free(buf);
  if (!root) {
    fprintf(stderr, "libical cannot parse %s\n", argv[1]);
    return 1;
  }
  struct icaltimetype from = icaltime_from_string(argv[2]);
  struct icaltimetype to = icaltime_from_string(argv[3]);
  from.is_date = to.is_date = 0;
  from.zone = to.zone = icaltimezone_get_utc_timezone();
  long n = 0;
  for (icalcomponent *ev =
           icalcomponent_get_first_component(root, ICAL_VEVENT_COMPONENT);
       ev; ev = icalcomponent_get_next_component(root, ICAL_VEVENT_COMPONENT))
    icalcomponent_foreach_recurrence(ev, from, to, count, &n);
  printf("%ld\n", n);
  icalcomponent_free(root);
  return 0;
}
