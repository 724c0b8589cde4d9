// Reactor: one io_context per thread (one per core by default), each run by
// exactly one thread, plus SIGTERM/SIGINT handling for a graceful drain.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>

namespace boost::asio {
class io_context;
}

namespace hookd {

class Reactor {
 public:
  explicit Reactor(std::size_t threads);
  ~Reactor();
  Reactor(const Reactor&) = delete;
  Reactor& operator=(const Reactor&) = delete;

  std::size_t size() const;
  boost::asio::io_context& context(std::size_t index);

  // Runs every io_context on its own thread (the calling thread runs index 0)
  // until stop(). The first SIGTERM or SIGINT calls `on_signal` on reactor 0;
  // a second one exits at once.
  void run(std::function<void()> on_signal);

  // Lets run() return once the work already posted is done. Thread-safe.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hookd
