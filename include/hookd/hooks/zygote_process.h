// ZygoteProcess: a zygote as a process with a control socket, apart from
// what the two say to each other (that is Zygote's). It starts the process
// through run_process with its end of a fresh socketpair as stdin, sends the
// first records, reads the records that come back on a strand and hands each
// on, and reports the end once: the process gone and its socket drained.
//
// A record that breaks the framing (too large, undecodable) or one the
// handler refuses ends the zygote: nothing read after it is believed.
//
// Thread-safe: socket() may be written from any thread (records are whole);
// the handlers run on its strand, never inline.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "hookd/hooks/process.h"
#include "hookd/hooks/zygote_protocol.h"

namespace boost::asio {
class io_context;
}

namespace hookd {

class ZygoteProcess {
 public:
  struct Handlers {
    // One record and its descriptors (it closes those it does not keep).
    // False: the record is not believed, which ends the zygote.
    std::function<bool(const ZygoteMessage&, std::vector<int>& fds)> record;
    // No record will follow. `drained`: the socket reached its end, so every
    // record the zygote sent was read; otherwise reading was given up.
    std::function<void(bool drained, const std::string& why)> closed;
    // The process is gone (after closed). `forced`: it was ended, or its
    // socket failed, rather than exiting by itself.
    std::function<void(bool forced, const std::string& why)> ended;
  };

  // `options.stdin_fd` is set here; `records` are sent first, in order.
  static std::shared_ptr<ZygoteProcess> start(boost::asio::io_context& io, ProcessOptions options,
                                              const std::vector<std::string>& records,
                                              Handlers handlers);
  ~ZygoteProcess();
  ZygoteProcess(const ZygoteProcess&) = delete;
  ZygoteProcess& operator=(const ZygoteProcess&) = delete;

  int pid() const;     // 0 when it could not be started
  int socket() const;  // hookd's end; open as long as this object is
  // Calls `expired` on the strand after `after`, unless cancel_deadline() came first.
  void set_deadline(std::chrono::milliseconds after, std::function<void()> expired);
  void cancel_deadline();
  // Tells it no more records come (it exits on that), and ends it should it
  // not exit within the grace.
  void end_writing();
  // Ends it now: SIGTERM to its group, SIGKILL after the grace. The first
  // `why` given is the one reported.
  void give_up(std::string why);

  struct State;

 private:
  explicit ZygoteProcess(std::shared_ptr<State> state) : state_(std::move(state)) {}
  std::shared_ptr<State> state_;
};

}  // namespace hookd
