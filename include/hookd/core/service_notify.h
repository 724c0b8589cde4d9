// ServiceNotifier: tells a service manager (systemd, Type=notify) how the
// daemon is doing: READY=1 once it listens, STOPPING=1 when it starts to
// drain, WATCHDOG=1 keep-alives. It speaks the notify-socket protocol
// sd_notify(3) documents (one datagram of "KEY=VALUE" lines to the AF_UNIX
// socket named by $NOTIFY_SOCKET; a leading '@' names an abstract socket)
// itself rather than linking libsystemd: the protocol is one sendto(), and
// the daemon then runs the same with or without systemd, in containers too.
// Without $NOTIFY_SOCKET every call does nothing. Thread-safe.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "hookd/core/result.h"

namespace hookd {

class ServiceNotifier {
 public:
  // From $NOTIFY_SOCKET, $WATCHDOG_USEC and $WATCHDOG_PID (the watchdog is
  // ours only when WATCHDOG_PID is unset or our pid).
  static ServiceNotifier from_environment();
  // For tests and explicit wiring: `socket` as $NOTIFY_SOCKET would name it.
  explicit ServiceNotifier(std::string socket = {},
                           std::optional<std::chrono::microseconds> watchdog = std::nullopt);

  bool enabled() const { return !socket_.empty(); }

  // One datagram with `state` ("READY=1\nSTATUS=..."); an error when it
  // could not be sent (no error when disabled).
  Status notify(std::string_view state) const;
  Status ready(std::string_view status) const;
  Status stopping() const;
  Status watchdog() const;

  // How often to send WATCHDOG=1: half of WatchdogSec, as sd_watchdog_enabled(3)
  // advises; nullopt when the manager did not ask for keep-alives.
  std::optional<std::chrono::microseconds> watchdog_interval() const;

 private:
  std::string socket_;
  std::optional<std::chrono::microseconds> watchdog_;
};

}  // namespace hookd
