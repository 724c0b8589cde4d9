#include "hookd/hooks/zygote_channel.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "hookd/core/text.h"
#include "hookd/hooks/zygote_protocol.h"

namespace hookd {
namespace {

// A RUN: stdin, output and up to kZygoteMaxCgroupFds cgroup files (zygote.py
// receives as many).
constexpr std::size_t kMaxFdsPerRecord = 8;

}  // namespace

void close_fds(std::vector<int>& fds) {
  for (int fd : fds)
    ::close(fd);
  fds.clear();
}

Result<std::array<int, 2>> make_zygote_socketpair() {
  std::array<int, 2> pair{};
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair.data()) != 0) {
    return make_error("socketpair: " + errno_text(errno));
  }
  int size = static_cast<int>(2 * kZygoteMaxRecordBytes);
  for (int fd : pair) {
    for (int option : {SO_SNDBUF, SO_RCVBUF})
      ::setsockopt(fd, SOL_SOCKET, option, &size, sizeof size);
  }
  return pair;
}

Status send_zygote_record(int socket, std::string_view record, const std::vector<int>& fds,
                          std::chrono::steady_clock::time_point deadline) {
  if (fds.size() > kMaxFdsPerRecord) return make_error("too many descriptors for one record");
  iovec iov{const_cast<char*>(record.data()), record.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFdsPerRecord)] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (!fds.empty()) {
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
    cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(cmsg), fds.data(), sizeof(int) * fds.size());
  }
  for (;;) {
    if (::sendmsg(socket, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0) return Ok{};
    if (errno == EINTR) continue;
    if (errno != EAGAIN) return make_error("send: " + errno_text(errno));
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return make_error("send: the zygote does not read its socket");
    pollfd out{socket, POLLOUT, 0};
    ::poll(&out, 1, static_cast<int>(left.count()));
  }
}

ReceivedRecord receive_zygote_record(int socket, std::vector<char>& buffer) {
  buffer.resize(kZygoteMaxRecordBytes + 1);
  ReceivedRecord received;
  for (;;) {
    iovec iov{buffer.data(), buffer.size()};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFdsPerRecord)];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n = ::recvmsg(socket, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return received;
    if (n < 0) {
      received.kind = ReceivedRecord::Kind::end;
      received.error = "socket: " + errno_text(errno);
      return received;
    }
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (std::size_t i = 0; i < count; ++i) {
        int fd;
        std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
        received.fds.push_back(fd);
      }
    }
    if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
      close_fds(received.fds);
      received.kind = ReceivedRecord::Kind::oversized;
      return received;
    }
    // An empty record is no message: SOCK_SEQPACKET reads 0 at the end.
    if (n == 0 && received.fds.empty()) {
      received.kind = ReceivedRecord::Kind::end;
      return received;
    }
    received.kind = ReceivedRecord::Kind::record;
    received.bytes.assign(buffer.data(), static_cast<std::size_t>(n));
    return received;
  }
}

}  // namespace hookd
