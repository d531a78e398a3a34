/* A minimal unit-test harness: CHECK records a failure and goes on, the
 * binary exits non-zero when any check failed. One binary per module, each
 * its own ctest entry. */
#ifndef PB_CHECK_H
#define PB_CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int check_failures;
static int check_count;

#define CHECK(cond)                                                            \
  do {                                                                         \
    check_count++;                                                             \
    if (!(cond)) {                                                             \
      check_failures++;                                                        \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                          \
  } while (0)

#define CHECK_INT(a, b)                                                        \
  do {                                                                         \
    long long check_a_ = (long long)(a), check_b_ = (long long)(b);            \
    check_count++;                                                             \
    if (check_a_ != check_b_) {                                                \
      check_failures++;                                                        \
      fprintf(stderr, "%s:%d: %s == %lld, expected %s == %lld\n", __FILE__,    \
              __LINE__, #a, check_a_, #b, check_b_);                           \
    }                                                                          \
  } while (0)

#define CHECK_STR(a, b)                                                        \
  do {                                                                         \
    const char *check_a_ = (a), *check_b_ = (b);                               \
    check_count++;                                                             \
    if (!check_a_ || !check_b_ || strcmp(check_a_, check_b_) != 0) {           \
      check_failures++;                                                        \
      fprintf(stderr, "%s:%d: %s == \"%s\", expected \"%s\"\n", __FILE__,      \
              __LINE__, #a, check_a_ ? check_a_ : "(null)",                    \
              check_b_ ? check_b_ : "(null)");                                 \
    }                                                                          \
  } while (0)

#define RUN(test)                                                              \
  do {                                                                         \
    int check_before_ = check_failures;                                        \
    test();                                                                    \
    printf("%s %s\n", check_failures == check_before_ ? "ok  " : "FAIL",       \
           #test);                                                             \
  } while (0)

#define CHECK_DONE()                                                           \
  (printf("%d checks, %d failed\n", check_count, check_failures),              \
   check_failures ? 1 : 0)

#endif
