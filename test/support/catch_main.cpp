// Catch2's main for every test binary, with the skip exit code of skip.h.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <iostream>

#include "support/skip.h"

namespace hookd::test {

namespace {
int skipped = 0;
}  // namespace

void skip_test(const std::string& why) {
  ++skipped;
  std::cout << "SKIPPED: " << Catch::getResultCapture().getCurrentTestName() << ": " << why
            << std::endl;
}

int skipped_tests() {
  return skipped;
}

}  // namespace hookd::test

int main(int argc, char* argv[]) {
  int rc = Catch::Session().run(argc, argv);
  // Catch2 exits with the number of failed assertions: 77 failures must not
  // read as a skip.
  if (rc == hookd::test::kSkipExitCode) rc = hookd::test::kSkipExitCode + 1;
  if (rc == 0 && hookd::test::skipped_tests() > 0) return hookd::test::kSkipExitCode;
  return rc;
}
