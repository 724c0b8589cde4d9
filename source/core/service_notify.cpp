#include "hookd/core/service_notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>

namespace hookd {

namespace {

std::optional<unsigned long long> env_number(const char* name) {
  const char* value = std::getenv(name);
  if (!value || !*value) return std::nullopt;
  unsigned long long n = 0;
  const char* end = value + std::strlen(value);
  auto [ptr, ec] = std::from_chars(value, end, n);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return n;
}

}  // namespace

ServiceNotifier ServiceNotifier::from_environment() {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  std::optional<std::chrono::microseconds> watchdog;
  auto usec = env_number("WATCHDOG_USEC");
  auto pid = env_number("WATCHDOG_PID");
  if (usec && *usec > 0 && (!pid || *pid == static_cast<unsigned long long>(::getpid()))) {
    watchdog = std::chrono::microseconds(*usec);
  }
  return ServiceNotifier(socket ? socket : "", watchdog);
}

ServiceNotifier::ServiceNotifier(std::string socket,
                                 std::optional<std::chrono::microseconds> watchdog)
    : socket_(std::move(socket)), watchdog_(watchdog) {}

Status ServiceNotifier::notify(std::string_view state) const {
  if (socket_.empty()) return Ok{};
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  // A path, or '@' for the abstract namespace (a leading NUL, not counted
  // as the end of the name).
  if (socket_.size() >= sizeof address.sun_path || (socket_[0] != '/' && socket_[0] != '@')) {
    return make_error("NOTIFY_SOCKET: not a socket path or @name: " + socket_);
  }
  std::memcpy(address.sun_path, socket_.data(), socket_.size());
  if (socket_[0] == '@') address.sun_path[0] = '\0';
  const socklen_t length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + socket_.size());
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return make_error(std::string("notify socket: ") + std::strerror(errno));
  ssize_t sent = ::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL,
                          reinterpret_cast<const sockaddr*>(&address), length);
  const int error = errno;
  ::close(fd);
  if (sent < 0) return make_error("notify " + socket_ + ": " + std::strerror(error));
  return Ok{};
}

Status ServiceNotifier::ready(std::string_view status) const {
  std::string state = "READY=1\nMAINPID=" + std::to_string(::getpid());
  if (!status.empty()) state += "\nSTATUS=" + std::string(status);
  return notify(state);
}

Status ServiceNotifier::stopping() const {
  return notify("STOPPING=1\nSTATUS=draining");
}

Status ServiceNotifier::watchdog() const {
  return notify("WATCHDOG=1");
}

std::optional<std::chrono::microseconds> ServiceNotifier::watchdog_interval() const {
  if (!watchdog_) return std::nullopt;
  return *watchdog_ / 2;
}

}  // namespace hookd
