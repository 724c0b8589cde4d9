// JournalWakeup: runs `wake` on an io_context when the journal has new
// durable events (coalesced: at most one wake is ever queued) and once a
// second as a safety net for missed wake-ups and journal read errors, and
// keeps `last_seq` at the journal's newest durable seq. The journal listener
// is thread-safe; start() and stop() run on the io_context.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>

namespace boost::asio {
class io_context;
}

namespace hookd {

class Journal;

class JournalWakeup : public std::enable_shared_from_this<JournalWakeup> {
 public:
  static std::shared_ptr<JournalWakeup> create(boost::asio::io_context& io, Journal& journal,
                                               std::shared_ptr<std::atomic<std::uint64_t>> last_seq,
                                               std::function<void()> wake);
  ~JournalWakeup();

  // Listens to the journal and arms the tick; the first wake is posted now.
  void start();
  // No more wakes.
  void stop();

 private:
  struct Timer;
  JournalWakeup(boost::asio::io_context& io, Journal& journal,
                std::shared_ptr<std::atomic<std::uint64_t>> last_seq, std::function<void()> wake);
  void arm_tick();

  boost::asio::io_context& io_;
  Journal& journal_;
  std::shared_ptr<std::atomic<std::uint64_t>> last_seq_;
  std::function<void()> wake_;
  std::shared_ptr<std::atomic<bool>> posted_ = std::make_shared<std::atomic<bool>>(false);
  std::unique_ptr<Timer> tick_;
  bool stopped_ = false;
};

}  // namespace hookd
