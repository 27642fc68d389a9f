/* Test harness: starts a real `taskwheel serve` in a temporary directory; see harness.c. */
#ifndef TW_TESTS_HARNESS_H
#define TW_TESTS_HARNESS_H
#endif
