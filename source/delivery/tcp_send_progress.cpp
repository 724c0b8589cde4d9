#include "hookd/delivery/tcp_send_progress.h"

// The kernel's own tcp_info: glibc's <netinet/tcp.h> lacks tcpi_bytes_acked,
// so this file includes the Linux header and nothing that pulls in glibc's.
#include <linux/sockios.h>
#include <linux/tcp.h>
#include <netinet/in.h>  // IPPROTO_TCP; <netinet/tcp.h> would clash
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cstddef>

namespace hookd {

namespace {

std::optional<std::uint64_t> bytes_acked(int fd) {
  struct tcp_info info {};
  socklen_t len = sizeof info;
  if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return std::nullopt;
  // tcpi_bytes_acked arrived with Linux 4.1: an older kernel leaves it out.
  if (len < offsetof(struct tcp_info, tcpi_bytes_acked) + sizeof info.tcpi_bytes_acked) {
    return std::nullopt;
  }
  return info.tcpi_bytes_acked;
}

}  // namespace

std::optional<TcpSendProgress> tcp_send_progress(int fd) {
  // Two reads of the kernel: an acknowledgement arriving between them would
  // make the sum too small (confirming data early), so the acknowledged
  // count is read on both sides of the queue size and must not have moved.
  for (int attempt = 0; attempt < 16; ++attempt) {
    auto before = bytes_acked(fd);
    if (!before) return std::nullopt;
    int queued = 0;  // not yet acknowledged, sent or not
    if (::ioctl(fd, SIOCOUTQ, &queued) != 0 || queued < 0) return std::nullopt;
    auto after = bytes_acked(fd);
    if (!after) return std::nullopt;
    if (*before != *after) continue;
    return TcpSendProgress{*after + static_cast<std::uint64_t>(queued), *after};
  }
  return std::nullopt;
}

}  // namespace hookd
