// Explicit skips for Catch2 v2, which has no SKIP: a case that cannot run on
// this machine says why and returns; the test binary then exits with
// kSkipExitCode, which ctest's SKIP_RETURN_CODE (test/CMakeLists.txt) reports
// as "Skipped", never as "Passed". Only for a missing machine feature, never
// to hide a failure. Not thread-safe: call it from the test's own thread.
#pragma once

#include <string>

namespace hookd::test {

inline constexpr int kSkipExitCode = 77;

// Prints "SKIPPED: <case>: <why>" and records the skip for main().
void skip_test(const std::string& why);
// How many cases of this run called skip_test.
int skipped_tests();

}  // namespace hookd::test

// Ends the current TEST_CASE as skipped. Use in the case's own body (it
// returns from it), before its first SECTION.
#define HOOKD_SKIP(why)            \
  do {                             \
    ::hookd::test::skip_test(why); \
    return;                        \
  } while (false)
