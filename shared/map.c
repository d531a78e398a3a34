/* String-keyed hash map (pb/map.h): FNV-1a, linear probing, backward-shift
 * deletion (no tombstones), grown at 70 % load. */
#include "pb/map.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pb/error.h"

struct entry {
  char *key;
  void *value;
  uint64_t hash;
};

struct pb_map {
  struct entry *slots;
  size_t cap, count;
};

static uint64_t fnv1a(const char *s) {
  uint64_t h = 1469598103934665603ULL;
  while (*s) {
    h ^= (unsigned char)*s++;
    h *= 1099511628211ULL;
  }
  return h;
}

struct pb_map *pb_map_new(void) {
  struct pb_map *m = calloc(1, sizeof *m);
  if (!m)
    return NULL;
  m->cap = 16;
  m->slots = calloc(m->cap, sizeof *m->slots);
  if (!m->slots) {
    free(m);
    return NULL;
  }
  return m;
}

void pb_map_free(struct pb_map *m) {
  if (!m)
    return;
  for (size_t i = 0; i < m->cap; i++)
    free(m->slots[i].key);
  free(m->slots);
  free(m);
}

static size_t find(const struct pb_map *m, const char *key, uint64_t h) {
  size_t i = (size_t)h & (m->cap - 1);
  while (m->slots[i].key) {
    if (m->slots[i].hash == h && strcmp(m->slots[i].key, key) == 0)
      return i;
    i = (i + 1) & (m->cap - 1);
  }
  return i;
}

void *pb_map_get(const struct pb_map *m, const char *key) {
  size_t i = find(m, key, fnv1a(key));
  return m->slots[i].key ? m->slots[i].value : NULL;
}

static int grow(struct pb_map *m) {
  size_t cap = m->cap * 2;
  struct entry *slots = calloc(cap, sizeof *slots);
  if (!slots)
    return PB_ENOMEM;
  for (size_t i = 0; i < m->cap; i++) {
    if (!m->slots[i].key)
      continue;
    size_t j = (size_t)m->slots[i].hash & (cap - 1);
    while (slots[j].key)
      j = (j + 1) & (cap - 1);
    slots[j] = m->slots[i];
  }
  free(m->slots);
  m->slots = slots;
  m->cap = cap;
  return 0;
}

int pb_map_put(struct pb_map *m, const char *key, void *value) {
  if ((m->count + 1) * 10 > m->cap * 7 && grow(m))
    return PB_ENOMEM;
  uint64_t h = fnv1a(key);
  size_t i = find(m, key, h);
  if (m->slots[i].key) {
    m->slots[i].value = value;
    return 0;
  }
  char *k = strdup(key);
  if (!k)
    return PB_ENOMEM;
  m->slots[i] = (struct entry){k, value, h};
  m->count++;
  return 0;
}

void *pb_map_remove(struct pb_map *m, const char *key) {
  size_t i = find(m, key, fnv1a(key));
  if (!m->slots[i].key)
    return NULL;
  void *value = m->slots[i].value;
  free(m->slots[i].key);
  m->slots[i].key = NULL;
  m->count--;
  /* Shift back the entries that probed past the freed slot. */
  size_t j = i;
  for (;;) {
    j = (j + 1) & (m->cap - 1);
    if (!m->slots[j].key)
      break;
    size_t home = (size_t)m->slots[j].hash & (m->cap - 1);
    bool between = i <= j ? (home > i && home <= j) : (home > i || home <= j);
    if (between)
      continue;
    m->slots[i] = m->slots[j];
    m->slots[j].key = NULL;
    i = j;
  }
  return value;
}

size_t pb_map_count(const struct pb_map *m) {
  return m->count;
}

void *pb_map_next(const struct pb_map *m, size_t *pos, const char **key) {
  while (*pos < m->cap) {
    struct entry *e = &m->slots[(*pos)++];
    if (e->key) {
      if (key)
        *key = e->key;
      return e->value;
    }
  }
  return NULL;
}
