/* A growable byte buffer with a size cap (in the spirit of curl's dynbuf),
 * and one helper that grows a typed array by doubling. Every call that can
 * fail says so in its result, which the caller must look at. */
#ifndef PB_BUF_H
#define PB_BUF_H

#include <stddef.h>

#include "pb/error.h"

/* Fields are the buffer's own; read them through pb_buf_str / pb_buf_len.
 * A buffer set up with pb_buf_init holds no memory until the first add. */
struct pb_buf {
  char *bytes;
  size_t len; /* bytes held, without the terminating NUL */
  size_t cap; /* bytes allocated */
  size_t max; /* len never exceeds this */
};

/* An empty buffer that refuses to hold more than `max` bytes (> 0). */
void pb_buf_init(struct pb_buf *b, size_t max);

/* Append. 0, PB_ENOMEM, or PB_ETOOBIG when the result would pass the cap;
 * on failure the buffer holds what it held before. The contents are always
 * NUL-terminated, so bytes may contain anything but pb_buf_str stops at a
 * NUL inside them. */
PB_MUST_CHECK int pb_buf_add(struct pb_buf *b, const void *bytes, size_t n);
PB_MUST_CHECK int pb_buf_add_str(struct pb_buf *b, const char *s);
PB_MUST_CHECK int pb_buf_addf(struct pb_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The contents, lent until the next change ("" when empty, never NULL). */
const char *pb_buf_str(const struct pb_buf *b);
size_t pb_buf_len(const struct pb_buf *b);

/* Empties the buffer and keeps its memory for reuse. */
void pb_buf_reset(struct pb_buf *b);
/* Frees the memory; the buffer is empty and usable again with the same cap.
 * Accepts NULL. */
void pb_buf_free(struct pb_buf *b);
/* Hands the NUL-terminated contents over (free() them) and leaves the buffer
 * empty. NULL only when out of memory (an empty buffer gives ""). */
PB_MUST_CHECK char *pb_buf_take(struct pb_buf *b);

/* Makes room for `need` items of `elem_size` bytes in the array `*items_ptr`
 * (pass &array, any element type) that holds `*cap` items: doubles the
 * capacity (8 at first) until `need` fits, never past `max_items`. New slots
 * are zeroed. 0 (also when `need` already fits), PB_ETOOBIG when `need`
 * exceeds `max_items` or the size in bytes overflows, PB_ENOMEM; on failure
 * the array and *cap are untouched. */
PB_MUST_CHECK int pb_array_grow(void *items_ptr, size_t *cap, size_t need,
                                size_t elem_size, size_t max_items);

#endif
