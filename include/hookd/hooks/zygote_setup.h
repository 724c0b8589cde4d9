// How a contained run's ChildSetup (child_setup.h) is said to a prewarm
// zygote: the RUN's PARAM entries (zygote_protocol.h) and the descriptors
// that go with it after its stdin and output. The forked child applies them
// in ChildSetup's order. What the zygote itself already has (it was started
// with the same rlimits, no_new_privs and hook user) is still sent where
// applying it again is harmless, and left out where it is not (switching
// users again needs privileges the zygote gave up).
//
// Pure function; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "hookd/core/result.h"
#include "hookd/hooks/child_setup.h"

namespace hookd {

struct ZygoteRunSetup {
  std::vector<std::string> params;
  std::vector<int> fds;  // the run's cgroup.procs files, borrowed from its cage
};

// The most cgroup.procs descriptors one RUN carries (zygote.py agrees).
inline constexpr std::size_t kZygoteMaxCgroupFds = 6;

// `zygote`: the setup the zygote was started with (nullptr: none). The error
// says what the zygote cannot apply (then the run spawns).
Result<ZygoteRunSetup> zygote_run_setup(const ChildSetup& run, const ChildSetup* zygote);

}  // namespace hookd
