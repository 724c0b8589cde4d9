// Which CPU each hook run starts on: the one holding fewest runs now, ties
// taken in turn.
#include "hookd/hooks/cpu_spread.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <vector>

using hookd::CpuSpread;

TEST_CASE("runs go to the CPU holding fewest, ties in turn", "[cpu_spread]") {
  struct Step {
    int give_back;  // a slot to give back first, or -1
    int cpu;        // the CPU the next run gets
  };
  // CPUs 0, 2 and 3 (1 is not ours).
  // clang-format off
  const std::vector<Step> steps = {
    {-1, 0}, {-1, 2}, {-1, 3},  // one each
    {-1, 0},                     // ties rotate on from the last one
    { 1, 2},                     // 2 was given back: it holds fewest
    { 0, 3},                     // 0 given back: all hold one, and 3 is next in turn
    {-1, 0},
  };
  // clang-format on
  CpuSpread spread({0, 2, 3});
  for (std::size_t i = 0; i < steps.size(); ++i) {
    INFO("step " << i);
    spread.give_back(steps[i].give_back);
    int slot = spread.take();
    REQUIRE(slot >= 0);
    CHECK(spread.cpu(slot) == steps[i].cpu);
  }
}

TEST_CASE("one CPU or none: nothing to spread", "[cpu_spread]") {
  CpuSpread one({5});
  CHECK(one.take() == -1);
  one.give_back(-1);
  CpuSpread none({});
  CHECK(none.take() == -1);
}

TEST_CASE("the allowed CPUs are this process's", "[cpu_spread]") {
  auto cpus = hookd::allowed_cpus();
  CHECK_FALSE(cpus.empty());
  CHECK(std::is_sorted(cpus.begin(), cpus.end()));
}
