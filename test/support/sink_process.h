// hookd-sink as a child process of a test: the SIEM end of a delivery,
// recording every event it receives. Stopped (SIGTERM) on destruction.
// Not thread-safe.
#pragma once

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "support/support.h"

namespace hookd::test {

class SinkProcess {
 public:
  // `flags` are appended to --listen 127.0.0.1:0 --port-file --record. Throws
  // std::runtime_error when it does not come up.
  explicit SinkProcess(std::vector<std::string> flags = {});

  unsigned short port() const { return port_; }
  // Ids of the events answered with 2xx, from the record file.
  std::set<std::string> delivered() const;
  // How often each event was answered with 2xx (above 1: a duplicate).
  std::map<std::string, int> delivery_counts() const;
  std::string log() const;

 private:
  TempDir dir_;
  ChildProcess process_;
  unsigned short port_ = 0;
};

}  // namespace hookd::test
