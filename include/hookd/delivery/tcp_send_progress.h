// How far the peer's TCP has acknowledged what this side wrote on a socket,
// from the kernel (Linux TCP_INFO and SIOCOUTQ). Syslog over TCP has no
// application acknowledgement: the peer's TCP acknowledgement is the
// strongest evidence a sender can get. Thread-safe (reads kernel state).
#pragma once

#include <cstdint>
#include <optional>

namespace hookd {

struct TcpSendProgress {
  // Bytes handed to the kernel so far (acknowledged + still queued), and
  // how many of them the peer acknowledged. Counted from the same origin,
  // so `acked >= handed` taken earlier means all of that earlier data arrived.
  std::uint64_t handed = 0;
  std::uint64_t acked = 0;
};

// nullopt when `fd` is not a TCP socket or the kernel cannot tell.
std::optional<TcpSendProgress> tcp_send_progress(int fd);

}  // namespace hookd
