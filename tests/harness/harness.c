/* Test harness (placeholder until the server lands). */
#include "harness.h"
