/* pb_buf (the capped growable buffer) and pb_array_grow. */
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "pb/buf.h"

static void grows_and_terminates(void) {
  struct pb_buf b;
  pb_buf_init(&b, 1000);
  CHECK_STR(pb_buf_str(&b), "");
  CHECK_INT(pb_buf_len(&b), 0);
  CHECK_INT(pb_buf_add_str(&b, "ab"), 0);
  CHECK_INT(pb_buf_add(&b, "cdef", 2), 0);
  CHECK_INT(pb_buf_addf(&b, "-%d-%s", 42, "x"), 0);
  CHECK_STR(pb_buf_str(&b), "abcd-42-x");
  CHECK_INT(pb_buf_len(&b), 9);
  for (int i = 0; i < 90; i++)
    CHECK_INT(pb_buf_add(&b, "0123456789", 10), 0);
  CHECK_INT(pb_buf_len(&b), 909);
  CHECK(pb_buf_str(&b)[909] == '\0');
  CHECK(memcmp(pb_buf_str(&b) + 899, "0123456789", 10) == 0);
  pb_buf_reset(&b);
  CHECK_STR(pb_buf_str(&b), "");
  CHECK_INT(pb_buf_add(&b, "z", 1), 0);
  CHECK_STR(pb_buf_str(&b), "z");
  pb_buf_free(&b);
  CHECK_STR(pb_buf_str(&b), "");
  CHECK_INT(pb_buf_add_str(&b, "again"), 0); /* usable after free */
  CHECK_STR(pb_buf_str(&b), "again");
  pb_buf_free(&b);
  pb_buf_free(NULL);
}

static void cap_refuses_and_keeps(void) {
  struct pb_buf b;
  pb_buf_init(&b, 8);
  CHECK_INT(pb_buf_add_str(&b, "12345"), 0);
  CHECK_INT(pb_buf_add_str(&b, "6789"), PB_ETOOBIG);
  CHECK_STR(pb_buf_str(&b), "12345"); /* unchanged */
  CHECK_INT(pb_buf_addf(&b, "%s", "abcd"), PB_ETOOBIG);
  CHECK_STR(pb_buf_str(&b), "12345");
  CHECK_INT(pb_buf_add(&b, "xyz", 3), 0); /* exactly the cap */
  CHECK_STR(pb_buf_str(&b), "12345xyz");
  CHECK_INT(pb_buf_add(&b, "", 0), 0);
  CHECK_INT(pb_buf_add(&b, "!", 1), PB_ETOOBIG);
  CHECK_INT(pb_buf_add(&b, "!", SIZE_MAX), PB_ETOOBIG); /* no overflow */
  CHECK_INT(pb_buf_len(&b), 8);
  pb_buf_free(&b);
}

static void take_hands_over(void) {
  struct pb_buf b;
  pb_buf_init(&b, 100);
  char *s = pb_buf_take(&b);
  CHECK_STR(s, ""); /* nothing added: still a string */
  free(s);
  CHECK_INT(pb_buf_addf(&b, "%05d", 7), 0);
  s = pb_buf_take(&b);
  CHECK_STR(s, "00007");
  CHECK_STR(pb_buf_str(&b), ""); /* the buffer is empty again */
  CHECK_INT(pb_buf_len(&b), 0);
  free(s);
  pb_buf_free(&b);
}

struct item {
  int a;
  double b;
};

static void array_grows_by_doubling(void) {
  struct item *items = NULL;
  size_t cap = 0;
  CHECK_INT(pb_array_grow(&items, &cap, 0, sizeof *items, 100), 0);
  CHECK(items == NULL);
  CHECK_INT(pb_array_grow(&items, &cap, 1, sizeof *items, 100), 0);
  CHECK_INT(cap, 8);
  CHECK(items != NULL);
  for (size_t i = 0; i < cap; i++)
    CHECK(items[i].a == 0 && items[i].b == 0); /* new slots zeroed */
  items[7].a = 7;
  CHECK_INT(pb_array_grow(&items, &cap, 9, sizeof *items, 100), 0);
  CHECK_INT(cap, 16);
  CHECK_INT(items[7].a, 7);
  CHECK_INT(items[8].a, 0);
  CHECK_INT(pb_array_grow(&items, &cap, 70, sizeof *items, 100), 0);
  CHECK_INT(cap, 100); /* 128 clamped to the most allowed */
  struct item *before = items;
  CHECK_INT(pb_array_grow(&items, &cap, 101, sizeof *items, 100), PB_ETOOBIG);
  CHECK(items == before);
  CHECK_INT(cap, 100);
  CHECK_INT(items[7].a, 7);
  free(items);
}

static void array_refuses_overflow(void) {
  char *bytes = NULL;
  size_t cap = 0;
  CHECK_INT(pb_array_grow(&bytes, &cap, SIZE_MAX / 2, 4, SIZE_MAX), PB_ETOOBIG);
  CHECK(bytes == NULL);
  CHECK_INT(cap, 0);
  CHECK_INT(pb_array_grow(&bytes, &cap, 3, 1, 5), 0);
  CHECK_INT(cap, 5); /* 8 clamped */
  free(bytes);
}

int main(void) {
  RUN(grows_and_terminates);
  RUN(cap_refuses_and_keeps);
  RUN(take_hands_over);
  RUN(array_grows_by_doubling);
  RUN(array_refuses_overflow);
  return CHECK_DONE();
}
