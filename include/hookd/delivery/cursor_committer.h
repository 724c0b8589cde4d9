// CursorCommitter: moves one journal consumer's committed cursor forward,
// batching commits to at most one per delay so a busy endpoint does not
// commit on every delivered event. Runs on the io_context.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace boost::asio {
class io_context;
}

namespace hookd {

class Journal;

class CursorCommitter {
 public:
  // `position` reads the cursor the consumer may commit now.
  CursorCommitter(boost::asio::io_context& io, Journal& journal, std::string consumer,
                  std::function<std::uint64_t()> position,
                  std::chrono::milliseconds delay = std::chrono::milliseconds(50));
  ~CursorCommitter();
  CursorCommitter(const CursorCommitter&) = delete;
  CursorCommitter& operator=(const CursorCommitter&) = delete;

  // The cursor that is committed already (registering the consumer returns it).
  void committed_at(std::uint64_t seq) { committed_ = seq; }
  // The position moved: commit within the delay.
  void schedule();
  // Commits the position now if it moved.
  void commit_now();
  // No more scheduled commits (commit_now still works).
  void stop();

 private:
  struct Timer;
  Journal& journal_;
  const std::string consumer_;
  const std::function<std::uint64_t()> position_;
  const std::chrono::milliseconds delay_;
  std::shared_ptr<Timer> timer_;
  std::uint64_t committed_ = 0;
  bool stopped_ = false;
};

}  // namespace hookd
