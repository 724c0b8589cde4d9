// The umask of the test process for one scope, as a daemon might be started
// with: children spawned inside it inherit it. Not thread-safe (the umask is
// per process).
#pragma once

#include <sys/stat.h>

namespace hookd::test {

class ScopedUmask {
 public:
  explicit ScopedUmask(mode_t mask) : previous_(::umask(mask)) {}
  ~ScopedUmask() { ::umask(previous_); }
  ScopedUmask(const ScopedUmask&) = delete;
  ScopedUmask& operator=(const ScopedUmask&) = delete;

 private:
  mode_t previous_;
};

}  // namespace hookd::test
