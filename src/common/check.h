// CHECK: internal invariants that must hold in every build (not compiled out by NDEBUG).
// A failed CHECK prints file:line and the condition, then aborts: a bug, never user error.
#pragma once

#include <cstdio>
#include <cstdlib>

#define KV_CHECK(cond)                                                                  \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      std::fprintf(stderr, "FATAL %s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                     \
    }                                                                                   \
  } while (0)
