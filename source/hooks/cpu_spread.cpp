#include "hookd/hooks/cpu_spread.h"

#include <sched.h>

namespace hookd {

int CpuSpread::take() {
  if (cpus_.size() < 2) return -1;
  std::size_t best = next_ % cpus_.size();
  for (std::size_t k = 1; k < cpus_.size(); ++k) {
    std::size_t i = (next_ + k) % cpus_.size();
    if (runs_[i] < runs_[best]) best = i;
  }
  next_ = best + 1;
  ++runs_[best];
  return static_cast<int>(best);
}

void CpuSpread::give_back(int slot) {
  if (slot >= 0) --runs_[static_cast<std::size_t>(slot)];
}

std::vector<int> allowed_cpus() {
  std::vector<int> cpus;
  cpu_set_t set;
  if (::sched_getaffinity(0, sizeof set, &set) != 0) return cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
  }
  return cpus;
}

}  // namespace hookd
