/* The string-keyed hash map, against a plain array as the model. */
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "pb/map.h"

static void against_model(void) {
  struct pb_map *m = pb_map_new();
  enum { N = 5000 };
  static int present[N];
  char key[32];
  srand(1);
  for (int step = 0; step < 60000; step++) {
    int k = rand() % N;
    snprintf(key, sizeof key, "main/%d", k);
    if (rand() % 3) {
      CHECK_INT(pb_map_put(m, key, &present[k]), 0);
      present[k] = 1;
    } else {
      void *v = pb_map_remove(m, key);
      CHECK((v != NULL) == (present[k] != 0));
      present[k] = 0;
    }
  }
  size_t count = 0;
  for (int k = 0; k < N; k++) {
    snprintf(key, sizeof key, "main/%d", k);
    CHECK((pb_map_get(m, key) != NULL) == (present[k] != 0));
    count += (size_t)present[k];
  }
  CHECK_INT(pb_map_count(m), count);
  size_t pos = 0, seen = 0;
  while (pb_map_next(m, &pos, NULL))
    seen++;
  CHECK_INT(seen, count);
  pb_map_free(m);
}

int main(void) {
  RUN(against_model);
  return CHECK_DONE();
}
