/* A minimal harness: CHECK records a failure and carries on, so one run lists every problem. */
#ifndef TSRUN_TEST_H
#define TSRUN_TEST_H
#include <stdio.h>

static int test_failures, test_checks;

#define CHECK(cond, ...)                                                                     \
  do {                                                                                       \
    test_checks++;                                                                           \
    if (!(cond)) {                                                                           \
      test_failures++;                                                                       \
      fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                        \
      fprintf(stderr, __VA_ARGS__);                                                          \
      fputc('\n', stderr);                                                                   \
    }                                                                                        \
  } while (0)

#define TEST_REPORT(name)                                                                    \
  (printf("%s: %d checks, %d failures\n", name, test_checks, test_failures), test_failures != 0)
#endif
