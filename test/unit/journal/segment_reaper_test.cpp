// The reaper closes a retired segment's descriptor once it holds the last
// reference, and never while a reader still has the segment. A pipe stands
// in for the segment file: its read end sees EOF exactly when the write end
// (the segment's fd) is closed.
#include "hookd/journal/segment_reaper.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cerrno>
#include <memory>
#include <optional>
#include <vector>

namespace {

using hookd::journal_detail::Segment;
using hookd::journal_detail::SegmentPtr;
using hookd::journal_detail::SegmentReaper;

struct PipeSegment {
  SegmentPtr segment = std::make_shared<Segment>();
  int read_fd = -1;

  PipeSegment() {
    int fds[2];
    REQUIRE(::pipe2(fds, O_CLOEXEC | O_NONBLOCK) == 0);
    read_fd = fds[0];
    segment->fd = fds[1];
  }
  ~PipeSegment() { ::close(read_fd); }

  // True once nothing can write to the pipe any more: the fd was closed.
  bool closed() const {
    char c;
    const ssize_t n = ::read(read_fd, &c, 1);
    if (n == 0) return true;
    REQUIRE(n < 0);
    REQUIRE(errno == EAGAIN);
    return false;
  }
};

std::vector<SegmentPtr> hand_over(SegmentPtr& segment) {
  std::vector<SegmentPtr> out;
  out.push_back(std::move(segment));
  return out;
}

}  // namespace

TEST_CASE("SegmentReaper closes a retired segment nobody else holds") {
  SegmentReaper reaper;
  PipeSegment a;
  REQUIRE_FALSE(a.closed());
  reaper.take(hand_over(a.segment));
  CHECK(reaper.flush() == 0);
  CHECK(a.closed());
}

TEST_CASE("SegmentReaper keeps a segment open while a reader holds it") {
  SegmentReaper reaper;
  PipeSegment b;
  SegmentPtr reader = b.segment;
  reaper.take(hand_over(b.segment));
  CHECK(reaper.flush() == 1);
  CHECK_FALSE(b.closed());
  reader.reset();  // the reader is done; the reaper now holds the last reference
  CHECK(reaper.flush() == 0);
  CHECK(b.closed());
}

TEST_CASE("SegmentReaper drops what it still holds when it ends") {
  PipeSegment c;
  std::optional<SegmentPtr> reader = c.segment;
  {
    SegmentReaper reaper;
    reaper.take(hand_over(c.segment));
    CHECK(reaper.flush() == 1);
    reader.reset();
  }
  CHECK(c.closed());
}

TEST_CASE("SegmentReaper hands every taken segment to on_retired, readers or not") {
  std::atomic<int> retired{0};
  SegmentReaper reaper([&](const Segment& segment) {
    CHECK(segment.fd >= 0);  // before the close
    ++retired;
  });
  PipeSegment d, e;
  SegmentPtr reader = e.segment;
  reaper.take(hand_over(d.segment));
  reaper.take(hand_over(e.segment));
  CHECK(reaper.flush() == 1);
  CHECK(retired == 2);
  CHECK(d.closed());
  CHECK_FALSE(e.closed());
}
