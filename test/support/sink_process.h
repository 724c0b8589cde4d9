// hookd-sink as a child process of a test: the SIEM end of a delivery. It is
// started on a chosen port (0 picks one; a replacement reuses the port of the
// sink it replaces), and its --record file is read back as which event ids
// it answered 2xx, how often. SIGSTOP/SIGCONT make it hang and come back
// with its connections open. Stopped (SIGCONT, SIGTERM) when destroyed.
// Not thread-safe.
#pragma once

#include <cstddef>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "support/support.h"

namespace hookd::test {

class SinkProcess {
 public:
  // `flags` are hookd-sink flags (faults, delays); --listen, --port-file and
  // --record are added. Throws std::runtime_error when it does not come up.
  explicit SinkProcess(std::vector<std::string> flags = {}, unsigned short port = 0);
  ~SinkProcess();
  SinkProcess(const SinkProcess&) = delete;
  SinkProcess& operator=(const SinkProcess&) = delete;

  unsigned short port() const { return port_; }
  std::string url() const;  // http://127.0.0.1:<port>/hook

  struct Received {
    std::map<std::string, std::size_t> answered_2xx;  // event id -> times
    std::size_t attempts = 0;                         // requests seen, any answer
  };
  // What the record file says so far (a line still being written is skipped).
  Received received() const;
  // Ids of the events answered with 2xx.
  std::set<std::string> delivered() const;
  // How often each event was answered with 2xx (above 1: a duplicate).
  std::map<std::string, int> delivery_counts() const;
  std::string log() const;

  void hang();       // SIGSTOP: connections are accepted by the kernel, never answered
  void come_back();  // SIGCONT
  void stop();       // SIGTERM and wait

 private:
  TempDir dir_;
  ChildProcess process_;
  unsigned short port_ = 0;
  bool hung_ = false;
};

}  // namespace hookd::test
