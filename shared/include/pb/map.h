/* A string-keyed hash map (open addressing, linear probing) for the
 * per-extension tables every service keeps in memory. Keys are copied;
 * values are lent pointers the caller owns. */
#ifndef PB_MAP_H
#define PB_MAP_H

#include <stddef.h>

struct pb_map;

struct pb_map *pb_map_new(void);
/* Frees the map, not the values. */
void pb_map_free(struct pb_map *map);
void *pb_map_get(const struct pb_map *map, const char *key);
/* Inserts or replaces; returns 0 or PB_ENOMEM. */
int pb_map_put(struct pb_map *map, const char *key, void *value);
/* Removes and returns the value, or NULL. */
void *pb_map_remove(struct pb_map *map, const char *key);
size_t pb_map_count(const struct pb_map *map);
/* Iteration: *pos starts at 0; returns NULL at the end. The map must not
 * change during an iteration. */
void *pb_map_next(const struct pb_map *map, size_t *pos, const char **key);

#endif
