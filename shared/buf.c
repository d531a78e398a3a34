/* Size-capped growable buffer and array growth (see pb/buf.h). The cap is
 * checked before any allocation, so a hostile length never reaches
 * malloc. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb/buf.h"

#define BUF_FIRST 64

void pb_buf_init(struct pb_buf *b, size_t max) {
  b->bytes = NULL;
  b->len = 0;
  b->cap = 0;
  b->max = max;
}

/* Room for `n` more bytes plus the NUL. */
static int reserve(struct pb_buf *b, size_t n) {
  if (n > b->max || b->len > b->max - n)
    return PB_ETOOBIG;
  size_t want = b->len + n + 1;
  if (want <= b->cap)
    return 0;
  size_t cap = b->cap ? b->cap : BUF_FIRST;
  while (cap < want)
    cap = cap > SIZE_MAX / 2 ? want : cap * 2;
  if (cap > b->max + 1)
    cap = b->max + 1; /* want <= max + 1, so this still fits */
  char *p = realloc(b->bytes, cap);
  if (!p)
    return PB_ENOMEM;
  b->bytes = p;
  b->cap = cap;
  return 0;
}

int pb_buf_add(struct pb_buf *b, const void *bytes, size_t n) {
  int rc = reserve(b, n);
  if (rc)
    return rc;
  if (n)
    memcpy(b->bytes + b->len, bytes, n);
  b->len += n;
  b->bytes[b->len] = '\0';
  return 0;
}

int pb_buf_add_str(struct pb_buf *b, const char *s) {
  return pb_buf_add(b, s, strlen(s));
}

int pb_buf_addf(struct pb_buf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0)
    return PB_EINVAL;
  int rc = reserve(b, (size_t)n);
  if (rc)
    return rc;
  va_start(ap, fmt);
  vsnprintf(b->bytes + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
  return 0;
}

const char *pb_buf_str(const struct pb_buf *b) {
  return b->bytes ? b->bytes : "";
}

size_t pb_buf_len(const struct pb_buf *b) {
  return b->len;
}

void pb_buf_reset(struct pb_buf *b) {
  b->len = 0;
  if (b->bytes)
    b->bytes[0] = '\0';
}

void pb_buf_free(struct pb_buf *b) {
  if (!b)
    return;
  free(b->bytes);
  pb_buf_init(b, b->max);
}

char *pb_buf_take(struct pb_buf *b) {
  char *s = b->bytes ? b->bytes : calloc(1, 1);
  if (s)
    pb_buf_init(b, b->max);
  return s;
}

int pb_array_grow(void *items_ptr, size_t *cap, size_t need, size_t elem_size,
                  size_t max_items) {
  if (need <= *cap)
    return 0;
  if (need > max_items || elem_size == 0 || need > SIZE_MAX / elem_size)
    return PB_ETOOBIG;
  size_t n = *cap ? *cap : 8;
  while (n < need)
    n = n > SIZE_MAX / 2 ? need : n * 2;
  if (n > max_items)
    n = max_items;
  if (n > SIZE_MAX / elem_size)
    n = need; /* fits: checked above */
  void *items;
  memcpy(&items, items_ptr, sizeof items);
  char *grown = realloc(items, n * elem_size);
  if (!grown)
    return PB_ENOMEM;
  memset(grown + *cap * elem_size, 0, (n - *cap) * elem_size);
  memcpy(items_ptr, &grown, sizeof grown);
  *cap = n;
  return 0;
}
