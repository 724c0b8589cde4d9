// Cutting a fetch short: FetchControl's cancel on real sockets (a socketpair
// stands in for the remote) and the watchdog thread that cancels at the
// deadline. Effects are awaited, never timed.
#include "hookd/runbooks/fetch_watchdog.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <optional>

#include "hookd/runbooks/fetch_control.h"
#include "support/support.h"

using namespace hookd;
using namespace std::chrono_literals;
using Clock = FetchDeadline::Clock;
using hookd::test::wait_until;

namespace {

struct SocketPair {
  int ours = -1, theirs = -1;
  SocketPair() {
    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
    ours = fds[0];
    theirs = fds[1];
  }
  ~SocketPair() {
    if (ours >= 0) ::close(ours);
    ::close(theirs);
  }
};

// recv without blocking: 0 at EOF (shut down), -1 with EAGAIN while open and quiet.
ssize_t peek(int fd) {
  char c;
  return ::recv(fd, &c, 1, MSG_DONTWAIT | MSG_PEEK);
}

bool readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) == 1;
}

}  // namespace

TEST_CASE("FetchControl: cancel cuts the registered sockets and wakes the waiters",
          "[fetch_watchdog]") {
  FetchControl control;
  control.reset(FetchDeadline(), "timed out");
  SocketPair a, b;
  REQUIRE(control.add_socket(a.ours));
  REQUIRE(peek(a.ours) == -1);
  REQUIRE(errno == EAGAIN);
  CHECK_FALSE(readable(control.wake_fd()));
  CHECK_FALSE(control.should_stop());

  control.cancel("stopping");
  CHECK(control.cancelled());
  CHECK(control.should_stop());
  CHECK_FALSE(control.timed_out());
  CHECK(control.reason() == "stopping");
  CHECK(peek(a.ours) == 0);            // shut down: a reader sees EOF at once
  CHECK(readable(control.wake_fd()));  // a poll on the eventfd wakes
  CHECK(peek(b.ours) == -1);           // an unregistered socket is left alone

  // The first cancel wins, and a socket opened after it is refused.
  control.cancel_timeout();
  CHECK(control.reason() == "stopping");
  CHECK_FALSE(control.timed_out());
  CHECK_FALSE(control.add_socket(b.ours));

  // The next fetch starts clean.
  control.reset(FetchDeadline(), "timed out");
  CHECK_FALSE(control.cancelled());
  CHECK(control.reason().empty());
  CHECK_FALSE(readable(control.wake_fd()));
}

TEST_CASE("FetchControl: a closed socket is forgotten, so its number's next owner is not cut",
          "[fetch_watchdog]") {
  FetchControl control;
  control.reset(FetchDeadline(), "timed out");
  std::optional<SocketPair> first(std::in_place);
  REQUIRE(control.add_socket(first->ours));
  control.close_socket(first->ours);
  first->ours = -1;
  SocketPair next;  // likely reuses the number just closed
  control.cancel("stopping");
  CHECK(peek(next.ours) == -1);
  CHECK(errno == EAGAIN);
}

TEST_CASE("FetchControl: should_stop cancels as a timeout once the deadline has passed",
          "[fetch_watchdog]") {
  FetchControl control;
  control.reset(FetchDeadline(Clock::now(), 1h), "fetch timed out after 3600 s");
  CHECK_FALSE(control.should_stop());
  CHECK_FALSE(control.cancelled());

  control.reset(FetchDeadline(Clock::now() - 2s, 1s), "fetch timed out after 1 s");
  SocketPair s;
  REQUIRE(control.add_socket(s.ours));
  CHECK(control.should_stop());
  CHECK(control.cancelled());
  CHECK(control.timed_out());
  CHECK(control.reason() == "fetch timed out after 1 s");
  CHECK(peek(s.ours) == 0);
}

TEST_CASE("FetchWatchdog cancels the armed fetch at its deadline", "[fetch_watchdog]") {
  FetchControl control;
  FetchDeadline deadline(Clock::now(), 50ms);
  control.reset(deadline, "fetch timed out after 50 ms");
  SocketPair s;
  REQUIRE(control.add_socket(s.ours));
  FetchWatchdog watchdog(control);
  watchdog.arm(deadline);
  REQUIRE(wait_until([&] { return control.cancelled(); }));
  CHECK(control.timed_out());
  CHECK(control.reason() == "fetch timed out after 50 ms");
  // Without any read or callback on the fetch side: the watchdog cut the socket.
  CHECK(peek(s.ours) == 0);
}

TEST_CASE("FetchWatchdog: armed again, the new deadline counts", "[fetch_watchdog]") {
  FetchControl control;
  control.reset(FetchDeadline(), "timed out");
  FetchWatchdog watchdog(control);
  watchdog.arm(FetchDeadline(Clock::now(), 1h));
  watchdog.arm(FetchDeadline(Clock::now() - 1s, 0s));
  REQUIRE(wait_until([&] { return control.cancelled(); }));
  CHECK(control.timed_out());
}

TEST_CASE("FetchWatchdog: disarmed or destroyed, it cancels nothing", "[fetch_watchdog]") {
  FetchControl control;
  control.reset(FetchDeadline(), "timed out");
  {
    FetchWatchdog watchdog(control);
    watchdog.arm(FetchDeadline(Clock::now(), 1h));
    watchdog.disarm();
    watchdog.arm(FetchDeadline(Clock::now(), 1h));
  }  // joins: a far deadline does not hold the thread
  CHECK_FALSE(control.cancelled());
  { FetchWatchdog never_armed(control); }
  CHECK_FALSE(control.cancelled());
}
