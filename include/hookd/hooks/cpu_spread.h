// CpuSpread: which CPU the next hook run starts on. Left to the kernel,
// children mostly start near the thread that spawned them (ours all follow
// one reactor thread), and with group scheduling (autogroup, cgroups) the
// balancer sees little reason to move them: on a busy 2-core machine the
// hooks had runnable work on one CPU only, 35-45% of the time, while other
// work had the rest. So runs go to the CPU that holds fewest of them now;
// ties rotate, so one run at a time does not always land on the same CPU.
//
// A value type; not thread-safe (the runner's strand).
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

namespace hookd {

class CpuSpread {
 public:
  explicit CpuSpread(std::vector<int> cpus) : cpus_(std::move(cpus)), runs_(cpus_.size(), 0) {}

  // A slot (an index into the CPUs), counted as taken until give_back();
  // -1 with fewer than two CPUs, where there is nothing to spread.
  int take();
  int cpu(int slot) const { return cpus_[static_cast<std::size_t>(slot)]; }
  void give_back(int slot);  // -1: nothing

 private:
  std::vector<int> cpus_;
  std::vector<std::size_t> runs_;  // runs on cpus_[i] now
  std::size_t next_ = 0;
};

// The CPUs this process may run on, in order.
std::vector<int> allowed_cpus();

}  // namespace hookd
