#include "hookd/runbooks/socket_stream.h"

#include <git2.h>
#include <git2/sys/stream.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string>
#include <type_traits>

#include "hookd/runbooks/fetch_control.h"

namespace hookd {
namespace {

thread_local FetchControl* t_control = nullptr;

// Same leading layout as libgit2's internal git_socket_stream
// ({git_stream parent; char* host; char* port; GIT_SOCKET s;}): its SSH
// transport reaches into the standard stream for the descriptor.
struct DeadlineSocket {
  git_stream parent;
  char* host;
  char* port;
  int s;
  FetchControl* control;
};
static_assert(std::is_standard_layout_v<DeadlineSocket>);
static_assert(offsetof(DeadlineSocket, parent) == 0);

DeadlineSocket* as_socket(git_stream* stream) {
  return reinterpret_cast<DeadlineSocket*>(stream);
}

void set_net_error(const std::string& message) {
  git_error_set_str(GIT_ERROR_NET, message.c_str());
}

int fail_cancelled(FetchControl* control) {
  set_net_error("fetch cancelled: " + control->reason());
  return -1;
}

void close_fd(DeadlineSocket* st, int fd) {
  st->control ? st->control->close_socket(fd) : void(::close(fd));
}

// Waits until the socket is ready for `events`, the fetch is cancelled, or its
// deadline passes. 0 when ready.
int wait_socket(DeadlineSocket* st, short events) {
  FetchControl* control = st->control;
  for (;;) {
    int timeout_ms = -1;
    if (control) {
      if (control->cancelled()) return fail_cancelled(control);
      timeout_ms = control->deadline().poll_timeout_ms(FetchDeadline::Clock::now());
      if (timeout_ms == 0) {
        control->cancel_timeout();
        return fail_cancelled(control);
      }
    }
    pollfd fds[2] = {{st->s, events, 0}, {control ? control->wake_fd() : -1, POLLIN, 0}};
    int n = ::poll(fds, control ? 2 : 1, timeout_ms);
    if (n < 0) {
      if (errno == EINTR) continue;
      set_net_error(std::string("poll failed: ") + std::strerror(errno));
      return -1;
    }
    if (control && control->cancelled()) return fail_cancelled(control);
    if (n > 0 && fds[0].revents != 0) return 0;
  }
}

int socket_connect(git_stream* stream) {
  DeadlineSocket* st = as_socket(stream);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_family = AF_UNSPEC;
  addrinfo* info = nullptr;
  // Blocking: bounded by the resolver's own timeouts, not by the fetch deadline.
  if (int rc = ::getaddrinfo(st->host, st->port, &hints, &info); rc != 0) {
    set_net_error(std::string("failed to resolve address for ") + st->host + ": " +
                  ::gai_strerror(rc));
    return -1;
  }
  std::string last_error = "no address";
  int result = -1;
  for (addrinfo* p = info; p != nullptr; p = p->ai_next) {
    int fd = ::socket(p->ai_family, p->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, p->ai_protocol);
    if (fd < 0) {
      last_error = std::strerror(errno);
      continue;
    }
    if (st->control && !st->control->add_socket(fd)) {
      ::close(fd);
      fail_cancelled(st->control);
      break;
    }
    st->s = fd;
    int rc = ::connect(fd, p->ai_addr, p->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      if (wait_socket(st, POLLOUT) < 0) {
        // Cancelled or out of time: trying the next address would not help.
        close_fd(st, fd);
        st->s = -1;
        ::freeaddrinfo(info);
        return -1;
      }
      int err = 0;
      socklen_t len = sizeof err;
      rc = ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0 ? 0 : -1;
      if (rc != 0) errno = err;
    }
    if (rc == 0) {
      result = 0;
      break;
    }
    last_error = std::strerror(errno);
    close_fd(st, fd);
    st->s = -1;
  }
  ::freeaddrinfo(info);
  if (result != 0 && !(st->control && st->control->cancelled())) {
    git_error_set_str(GIT_ERROR_OS, (std::string("failed to connect to ") + st->host + ":" +
                                     st->port + ": " + last_error)
                                        .c_str());
  }
  return result;
}

// An error of recv/send: a cancel's shutdown() shows up as one, and says so.
ssize_t fail_io(DeadlineSocket* st, const char* what) {
  if (st->control && st->control->cancelled()) return fail_cancelled(st->control);
  set_net_error(std::string("error ") + what + " socket: " + std::strerror(errno));
  return -1;
}

ssize_t socket_read(git_stream* stream, void* data, std::size_t len) {
  DeadlineSocket* st = as_socket(stream);
  for (;;) {
    ssize_t n = ::recv(st->s, data, len, MSG_DONTWAIT);
    if (n >= 0) {
      if (n == 0 && st->control && st->control->cancelled()) return fail_cancelled(st->control);
      return n;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return fail_io(st, "receiving data from");
    if (wait_socket(st, POLLIN) < 0) return -1;
  }
}

ssize_t socket_write(git_stream* stream, const char* data, std::size_t len, int /*flags*/) {
  DeadlineSocket* st = as_socket(stream);
  for (;;) {
    ssize_t n = ::send(st->s, data, len, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n >= 0) return n;
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return fail_io(st, "sending data to");
    if (wait_socket(st, POLLOUT) < 0) return -1;
  }
}

int socket_close(git_stream* stream) {
  DeadlineSocket* st = as_socket(stream);
  if (st->s >= 0) {
    close_fd(st, st->s);
    st->s = -1;
  }
  return 0;
}

void socket_free(git_stream* stream) {
  DeadlineSocket* st = as_socket(stream);
  socket_close(stream);
  std::free(st->host);
  std::free(st->port);
  delete st;
}

int socket_init(git_stream** out, const char* host, const char* port) {
  auto* st = new DeadlineSocket{};
  st->parent.version = GIT_STREAM_VERSION;
  st->parent.connect = socket_connect;
  st->parent.read = socket_read;
  st->parent.write = socket_write;
  st->parent.close = socket_close;
  st->parent.free = socket_free;
  st->host = ::strdup(host);
  st->port = ::strdup(port ? port : "");
  st->s = -1;
  st->control = t_control;
  *out = &st->parent;
  return 0;
}

}  // namespace

int register_deadline_socket_stream() {
  static git_stream_registration registration{GIT_STREAM_VERSION, socket_init, nullptr};
  return git_stream_register(GIT_STREAM_STANDARD, &registration);
}

ScopedFetchControl::ScopedFetchControl(FetchControl& control) : previous_(t_control) {
  t_control = &control;
}

ScopedFetchControl::~ScopedFetchControl() {
  t_control = previous_;
}

}  // namespace hookd
