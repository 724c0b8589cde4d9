#include "hookd/runbooks/runbooks.h"

#include <fcntl.h>
#include <git2.h>
#include <git2/sys/stream.h>
#include <netdb.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <cerrno>
#include <condition_variable>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

#include "hookd/core/event.h"
#include "hookd/core/log.h"
#include "hookd/core/metrics.h"
#include "hookd/runbooks/server_certificate.h"

namespace hookd {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kHooksDir = "hoop-hooks";
constexpr std::string_view kScriptSuffix = ".runbook.py";
constexpr const char* kLastGoodRef = "refs/hookd/last-good";

// ---------------------------------------------------------------------------
// Cancelling a fetch.
//
// libgit2 1.5 has no network timeouts (GIT_OPT_SET_SERVER_TIMEOUT arrived in
// 1.7) and its callbacks only run while data flows, so a server that accepts
// and then says nothing would hold the worker forever. Every socket libgit2
// opens goes through git_socket_stream_new(), which honours a registered
// GIT_STREAM_STANDARD constructor: ours waits in poll() on the socket and on
// an eventfd, until the fetch deadline. git://, http:// and https:// (the TLS
// stream wraps the standard one) do all their I/O through it. libssh2 reads
// the descriptor itself, so cancelling also shutdown()s every open socket of
// the fetch, which wakes libssh2's own poll with an EOF.
// ---------------------------------------------------------------------------

class FetchControl {
 public:
  FetchControl() : wake_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}
  ~FetchControl() {
    if (wake_fd_ >= 0) ::close(wake_fd_);
  }
  FetchControl(const FetchControl&) = delete;
  FetchControl& operator=(const FetchControl&) = delete;

  void reset(Clock::time_point deadline, std::string timeout_reason) {
    std::lock_guard lock(mutex_);
    cancelled_.store(false);
    timed_out_ = false;
    reason_.clear();
    timeout_reason_ = std::move(timeout_reason);
    deadline_ = deadline;
    std::uint64_t drained;
    while (::read(wake_fd_, &drained, sizeof drained) > 0) {
    }
  }

  void cancel(std::string reason, bool timed_out = false) {
    std::lock_guard lock(mutex_);
    if (cancelled_.load()) return;
    reason_ = std::move(reason);
    timed_out_ = timed_out;
    cancelled_.store(true);
    std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
    for (int fd : fds_)
      ::shutdown(fd, SHUT_RDWR);
  }

  void cancel_timeout() { cancel(timeout_reason(), true); }

  // For libgit2 callbacks: true once cancelled or past the deadline.
  bool should_stop() {
    if (cancelled_.load()) return true;
    if (Clock::now() >= deadline()) {
      cancel_timeout();
      return true;
    }
    return false;
  }

  bool cancelled() const { return cancelled_.load(); }
  bool timed_out() const {
    std::lock_guard lock(mutex_);
    return timed_out_;
  }
  std::string reason() const {
    std::lock_guard lock(mutex_);
    return reason_;
  }
  std::string timeout_reason() const {
    std::lock_guard lock(mutex_);
    return timeout_reason_;
  }
  Clock::time_point deadline() const {
    std::lock_guard lock(mutex_);
    return deadline_;
  }
  int wake_fd() const { return wake_fd_; }

  // Sockets are registered so cancel() can cut them; false if already cancelled.
  bool add_socket(int fd) {
    std::lock_guard lock(mutex_);
    if (cancelled_.load()) return false;
    fds_.push_back(fd);
    return true;
  }
  // Closing under the lock keeps cancel() from shutting down a reused descriptor.
  void close_socket(int fd) {
    std::lock_guard lock(mutex_);
    fds_.erase(std::remove(fds_.begin(), fds_.end(), fd), fds_.end());
    ::close(fd);
  }

 private:
  mutable std::mutex mutex_;
  std::atomic<bool> cancelled_{false};
  bool timed_out_ = false;
  std::string reason_;
  std::string timeout_reason_ = "fetch timed out";
  Clock::time_point deadline_ = Clock::time_point::max();
  std::vector<int> fds_;
  int wake_fd_;
};

// The control of the fetch running on this thread; streams created during it
// pick it up (libgit2 creates them synchronously on the calling thread).
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

void set_net_error(const std::string& message) {
  git_error_set_str(GIT_ERROR_NET, message.c_str());
}

int fail_cancelled(FetchControl* control) {
  set_net_error("fetch cancelled: " + control->reason());
  return -1;
}

// Waits until the socket is ready for `events`, the fetch is cancelled, or its
// deadline passes. 0 when ready.
int wait_socket(DeadlineSocket* st, short events) {
  FetchControl* control = st->control;
  for (;;) {
    int timeout_ms = -1;
    if (control) {
      if (control->cancelled()) return fail_cancelled(control);
      auto left = control->deadline() - Clock::now();
      if (left <= Clock::duration::zero()) {
        control->cancel_timeout();
        return fail_cancelled(control);
      }
      auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
      timeout_ms = static_cast<int>(std::min<std::int64_t>(ms, 60'000));
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
  auto* st = reinterpret_cast<DeadlineSocket*>(stream);
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
        st->control ? st->control->close_socket(fd) : void(::close(fd));
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
    st->control ? st->control->close_socket(fd) : void(::close(fd));
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

ssize_t socket_read(git_stream* stream, void* data, std::size_t len) {
  auto* st = reinterpret_cast<DeadlineSocket*>(stream);
  for (;;) {
    ssize_t n = ::recv(st->s, data, len, MSG_DONTWAIT);
    if (n >= 0) {
      if (n == 0 && st->control && st->control->cancelled()) return fail_cancelled(st->control);
      return n;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      if (st->control && st->control->cancelled()) return fail_cancelled(st->control);
      set_net_error(std::string("error receiving data from socket: ") + std::strerror(errno));
      return -1;
    }
    if (wait_socket(st, POLLIN) < 0) return -1;
  }
}

ssize_t socket_write(git_stream* stream, const char* data, std::size_t len, int /*flags*/) {
  auto* st = reinterpret_cast<DeadlineSocket*>(stream);
  for (;;) {
    ssize_t n = ::send(st->s, data, len, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n >= 0) return n;
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      if (st->control && st->control->cancelled()) return fail_cancelled(st->control);
      set_net_error(std::string("error sending data to socket: ") + std::strerror(errno));
      return -1;
    }
    if (wait_socket(st, POLLOUT) < 0) return -1;
  }
}

int socket_close(git_stream* stream) {
  auto* st = reinterpret_cast<DeadlineSocket*>(stream);
  if (st->s >= 0) {
    st->control ? st->control->close_socket(st->s) : void(::close(st->s));
    st->s = -1;
  }
  return 0;
}

void socket_free(git_stream* stream) {
  auto* st = reinterpret_cast<DeadlineSocket*>(stream);
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

// git_libgit2_init for the worker's lifetime (reference counted by libgit2);
// the stream registry is reset when the count drops to zero, so register each time.
class LibGit2 {
 public:
  LibGit2() : rc_(git_libgit2_init()) {
    if (rc_ < 0) return;
    static git_stream_registration registration{GIT_STREAM_VERSION, socket_init, nullptr};
    rc_ = git_stream_register(GIT_STREAM_STANDARD, &registration);
    if (rc_ < 0) git_libgit2_shutdown();
  }
  ~LibGit2() {
    if (rc_ >= 0) git_libgit2_shutdown();
  }
  bool ok() const { return rc_ >= 0; }

 private:
  int rc_;
};

// ---------------------------------------------------------------------------
// Small helpers.
// ---------------------------------------------------------------------------

const char* error_class_name(int klass) {
  switch (klass) {
    case GIT_ERROR_NONE:
      return "none";
    case GIT_ERROR_NOMEMORY:
      return "nomemory";
    case GIT_ERROR_OS:
      return "os";
    case GIT_ERROR_INVALID:
      return "invalid";
    case GIT_ERROR_REFERENCE:
      return "reference";
    case GIT_ERROR_ZLIB:
      return "zlib";
    case GIT_ERROR_REPOSITORY:
      return "repository";
    case GIT_ERROR_CONFIG:
      return "config";
    case GIT_ERROR_ODB:
      return "odb";
    case GIT_ERROR_OBJECT:
      return "object";
    case GIT_ERROR_NET:
      return "net";
    case GIT_ERROR_TREE:
      return "tree";
    case GIT_ERROR_INDEXER:
      return "indexer";
    case GIT_ERROR_SSL:
      return "ssl";
    case GIT_ERROR_SSH:
      return "ssh";
    case GIT_ERROR_CALLBACK:
      return "callback";
    case GIT_ERROR_FILESYSTEM:
      return "filesystem";
    case GIT_ERROR_HTTP:
      return "http";
    case GIT_ERROR_INTERNAL:
      return "internal";
    default:
      return "other";
  }
}

std::string oid_hex(const git_oid& oid) {
  char buf[GIT_OID_HEXSZ + 1];
  git_oid_tostr(buf, sizeof buf, &oid);
  return buf;
}

bool starts_with(std::string_view s, std::string_view p) {
  return s.substr(0, p.size()) == p;
}
bool ends_with(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
}

// "https://user:secret@host/x" -> "https://user:***@host/x", for logs.
std::string redact_url(std::string_view url) {
  auto scheme = url.find("://");
  if (scheme == std::string_view::npos) return std::string(url);
  auto start = scheme + 3;
  auto slash = url.find('/', start);
  auto authority = url.substr(start, slash == std::string_view::npos ? url.npos : slash - start);
  auto at = authority.rfind('@');
  if (at == std::string_view::npos) return std::string(url);
  auto userinfo = authority.substr(0, at);
  auto colon = userinfo.find(':');
  if (colon == std::string_view::npos) return std::string(url);
  std::string out(url.substr(0, start));
  out += userinfo.substr(0, colon);
  out += ":***";
  out += url.substr(start + at);
  return out;
}

void replace_all(std::string& s, std::string_view what, std::string_view with) {
  if (what.empty()) return;
  for (auto pos = s.find(what); pos != std::string::npos; pos = s.find(what, pos + with.size())) {
    s.replace(pos, what.size(), with);
  }
}

// Port the SSH transport connects to, for the known_hosts lookup.
int ssh_port_of(std::string_view url) {
  for (std::string_view scheme : {"ssh://", "ssh+git://", "git+ssh://"}) {
    if (!starts_with(url, scheme)) continue;
    auto rest = url.substr(scheme.size());
    auto authority = rest.substr(0, rest.find('/'));
    if (auto at = authority.rfind('@'); at != std::string_view::npos) {
      authority = authority.substr(at + 1);
    }
    std::string_view port;
    if (starts_with(authority, "[")) {
      auto close = authority.find(']');
      if (close != std::string_view::npos && close + 1 < authority.size() &&
          authority[close + 1] == ':') {
        port = authority.substr(close + 2);
      }
    } else if (auto colon = authority.rfind(':'); colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
    }
    if (port.empty()) return 22;
    int value = std::atoi(std::string(port).c_str());
    return value > 0 ? value : 22;
  }
  return 22;  // scp-like user@host:path
}

bool is_http_url(std::string_view url) {
  return starts_with(url, "http://") || starts_with(url, "https://");
}

// ---------------------------------------------------------------------------
// known_hosts.
// ---------------------------------------------------------------------------

std::optional<std::string> base64_decode(std::string_view in) {
  if (in.empty() || in.size() % 4 != 0) return std::nullopt;
  std::string out(in.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  if (n < 0) return std::nullopt;
  std::size_t pad = ends_with(in, "==") ? 2 : ends_with(in, "=") ? 1 : 0;
  out.resize(static_cast<std::size_t>(n) - pad);
  return out;
}

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// OpenSSH host patterns: '*' any run, '?' one character, case-insensitive.
bool glob_match(std::string_view pattern, std::string_view text) {
  std::size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || lower(pattern[p]) == lower(text[t]))) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*')
    ++p;
  return p == pattern.size();
}

bool hashed_host_matches(std::string_view field, const std::string& name) {
  // |1|base64(salt)|base64(HMAC-SHA1(salt, name))
  auto rest = field.substr(3);
  auto bar = rest.find('|');
  if (bar == std::string_view::npos) return false;
  auto salt = base64_decode(rest.substr(0, bar));
  auto hash = base64_decode(rest.substr(bar + 1));
  if (!salt || !hash || hash->size() != 20) return false;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  if (!HMAC(EVP_sha1(), salt->data(), static_cast<int>(salt->size()),
            reinterpret_cast<const unsigned char*>(name.data()), name.size(), mac, &mac_len)) {
    return false;
  }
  return mac_len == hash->size() && std::memcmp(mac, hash->data(), mac_len) == 0;
}

bool host_field_matches(std::string_view field, const std::string& name) {
  if (starts_with(field, "|1|")) return hashed_host_matches(field, name);
  bool matched = false;
  while (!field.empty()) {
    auto comma = field.find(',');
    auto pattern = field.substr(0, comma);
    field = comma == std::string_view::npos ? std::string_view() : field.substr(comma + 1);
    bool negated = starts_with(pattern, "!");
    if (negated) pattern.remove_prefix(1);
    if (glob_match(pattern, name)) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

std::vector<std::string_view> split_ws(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t'))
      ++i;
    std::size_t j = i;
    while (j < line.size() && line[j] != ' ' && line[j] != '\t')
      ++j;
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

// ---------------------------------------------------------------------------
// Script files.
// ---------------------------------------------------------------------------

// Written once under a content-derived name: a snapshot swap never changes a
// file a running hook already has.
Status write_file_atomically(const fs::path& path, const void* data, std::size_t size) {
  static std::atomic<unsigned> counter{0};
  fs::path tmp = path;
  tmp += ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
  ::unlink(tmp.c_str());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0444);
  if (fd < 0) return make_error("open " + tmp.string() + ": " + std::strerror(errno));
  const char* p = static_cast<const char*>(data);
  std::size_t left = size;
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      std::string err = std::strerror(errno);
      ::close(fd);
      ::unlink(tmp.c_str());
      return make_error("write " + tmp.string() + ": " + err);
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    std::string err = std::strerror(errno);
    ::unlink(tmp.c_str());
    return make_error("fsync " + tmp.string() + ": " + err);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    std::string err = std::strerror(errno);
    ::unlink(tmp.c_str());
    return make_error("rename to " + path.string() + ": " + err);
  }
  return Ok{};
}

struct Metrics {
  Counter& fetches_ok = metrics().counter("hookd_runbooks_fetches_total",
                                          "Runbooks fetches by result", {{"result", "ok"}});
  Counter& fetches_failed = metrics().counter("hookd_runbooks_fetches_total",
                                              "Runbooks fetches by result", {{"result", "failed"}});
  Counter& timeouts = metrics().counter("hookd_runbooks_fetch_timeouts_total",
                                        "Runbooks fetches cancelled at --git-fetch-timeout");
  Counter& received_bytes = metrics().counter("hookd_runbooks_fetch_received_bytes_total",
                                              "Pack bytes received by runbooks fetches");
  Counter& scripts_skipped = metrics().counter("hookd_runbooks_scripts_skipped_total",
                                               "Hook scripts left out of a snapshot (too big)");
  Histogram& duration = metrics().histogram("hookd_runbooks_fetch_duration_seconds",
                                            "Runbooks fetch duration, success or failure",
                                            duration_buckets_seconds());
  Gauge& scripts =
      metrics().gauge("hookd_runbooks_scripts", "Hook scripts in the current snapshot");
};

Metrics& runbooks_metrics() {
  static Metrics m;
  return m;
}

struct Failure {
  std::string message;
  std::string klass = "hookd";
  bool timed_out = false;
  bool local = false;     // the local clone is at fault: start it afresh
  bool stopping = false;  // cancelled by stop(): not the remote's fault
};

template <typename T, void (*Free)(T*)>
struct GitPtr {
  T* p = nullptr;
  GitPtr() = default;
  GitPtr(const GitPtr&) = delete;
  GitPtr& operator=(const GitPtr&) = delete;
  ~GitPtr() {
    if (p) Free(p);
  }
  T** out() { return &p; }
  T* get() const { return p; }
};
using RemotePtr = GitPtr<git_remote, git_remote_free>;
using CommitPtr = GitPtr<git_commit, git_commit_free>;
using TreePtr = GitPtr<git_tree, git_tree_free>;
using TreeEntryPtr = GitPtr<git_tree_entry, git_tree_entry_free>;
using BlobPtr = GitPtr<git_blob, git_blob_free>;
using ConfigPtr = GitPtr<git_config, git_config_free>;
using ReferencePtr = GitPtr<git_reference, git_reference_free>;

std::string last_git_message() {
  const git_error* e = git_error_last();
  return e && e->message ? e->message : "unknown libgit2 error";
}

const char* last_git_class() {
  const git_error* e = git_error_last();
  return error_class_name(e ? e->klass : GIT_ERROR_NONE);
}

}  // namespace

// ---------------------------------------------------------------------------

std::optional<std::filesystem::path> RunbooksSnapshot::script_for(
    std::string_view event_type) const {
  auto it = scripts.find(hook_script_name(event_type));
  if (it == scripts.end()) return std::nullopt;
  return it->second;
}

Status check_known_host(const std::filesystem::path& known_hosts, std::string_view host, int port,
                        std::string_view host_key) {
  std::ifstream in(known_hosts);
  if (!in) return make_error("cannot read known_hosts file " + known_hosts.string());
  std::string name =
      port == 22 ? std::string(host) : "[" + std::string(host) + "]:" + std::to_string(port);
  bool matched = false;
  bool host_listed = false;
  std::string line;
  while (std::getline(in, line)) {
    auto fields = split_ws(line);
    if (fields.empty() || starts_with(fields[0], "#")) continue;
    std::string_view marker;
    if (starts_with(fields[0], "@")) {
      marker = fields[0];
      fields.erase(fields.begin());
    }
    if (fields.size() < 3 || marker == "@cert-authority") continue;
    if (!host_field_matches(fields[0], name)) continue;
    auto key = base64_decode(fields[2]);
    bool same_key = key && *key == host_key;
    if (marker == "@revoked") {
      if (same_key) return make_error("the host key of " + name + " is marked @revoked");
      continue;
    }
    host_listed = true;
    matched = matched || same_key;
  }
  if (matched) return Ok{};
  if (host_listed) {
    return make_error("host key mismatch for " + name + ": known_hosts lists a different key");
  }
  return make_error("host " + name + " is not in " + known_hosts.string());
}

// ---------------------------------------------------------------------------

struct RunbooksSource::Impl {
  explicit Impl(RunbooksOptions o)
      : opt(std::move(o)),
        repo_dir(opt.dir / "repo"),
        scripts_dir(opt.dir / "scripts"),
        source_key(opt.url + "\n" + opt.branch),
        ttl(std::max<std::chrono::seconds>(opt.ttl, std::chrono::seconds(1))),
        retry_min(std::max<std::chrono::seconds>(opt.retry_min, std::chrono::seconds(1))),
        fetch_timeout(std::max<std::chrono::seconds>(opt.fetch_timeout, std::chrono::seconds(1))),
        m(runbooks_metrics()) {}

  RunbooksOptions opt;
  fs::path repo_dir;
  fs::path scripts_dir;
  std::string source_key;  // what the kept snapshot must have been fetched for
  std::chrono::seconds ttl;
  std::chrono::seconds retry_min;
  std::chrono::seconds fetch_timeout;
  Metrics& m;

  std::atomic<std::shared_ptr<const RunbooksSnapshot>> current;

  mutable std::mutex mutex;
  std::condition_variable wake;           // worker: stop, refresh, next tick
  std::condition_variable watchdog_wake;  // watchdog: stop, (dis)arm
  bool started = false;
  bool stopping = false;
  bool refresh = false;
  bool armed = false;
  Clock::time_point deadline;
  RunbooksStats stats;
  FetchControl control;
  std::thread worker;
  std::thread watchdog;

  // Worker thread only.
  git_repository* repo = nullptr;
  fs::path pem_file;  // the PEM on disk, only if libgit2 lacks in-memory keys

  // Per fetch, handed to the libgit2 callbacks.
  struct FetchContext {
    Impl* impl = nullptr;
    int userpass_attempts = 0;
    int key_attempts = 0;
    std::string error;  // our diagnosis (credentials, host key), clearer than libgit2's
  };

  // Error text safe to log: no password, no credentials in URLs.
  std::string scrub(std::string text) const {
    replace_all(text, opt.url, redact_url(opt.url));
    if (opt.password.size() >= 3) replace_all(text, opt.password, "***");
    if (opt.ssh_keypass.size() >= 3) replace_all(text, opt.ssh_keypass, "***");
    return text;
  }

  void run_worker();
  void run_watchdog();
  bool arm();
  void disarm();

  Status ensure_repo();
  void drop_repo();
  void restore_kept_snapshot();
  Result<std::shared_ptr<RunbooksSnapshot>> build_snapshot(const git_oid& commit_oid);
  Result<std::shared_ptr<const RunbooksSnapshot>> fetch(Failure& failure);
  void attempt();
  Clock::duration retry_delay() const;
  void publish(std::shared_ptr<const RunbooksSnapshot> snap);

  Failure git_failure(const std::string& what, const FetchContext* ctx) const;

  static int on_credentials(git_credential** out, const char* url, const char* username_from_url,
                            unsigned int allowed_types, void* payload);
  static int on_certificate(git_cert* cert, int valid, const char* host, void* payload);
  static int on_transfer(const git_indexer_progress* stats, void* payload);
  static int on_sideband(const char* str, int len, void* payload);
};

static int cancelled_by_control(FetchControl& control) {
  git_error_set_str(GIT_ERROR_CALLBACK, ("fetch cancelled: " + control.reason()).c_str());
  return GIT_EUSER;
}

int RunbooksSource::Impl::on_credentials(git_credential** out, const char* /*url*/,
                                         const char* username_from_url, unsigned int allowed_types,
                                         void* payload) {
  auto* ctx = static_cast<FetchContext*>(payload);
  Impl& self = *ctx->impl;
  if (self.control.should_stop()) return cancelled_by_control(self.control);
  const RunbooksOptions& o = self.opt;
  std::string ssh_user = username_from_url && *username_from_url ? username_from_url : o.ssh_user;

  if (allowed_types == GIT_CREDENTIAL_USERNAME) {
    return git_credential_username_new(out, ssh_user.c_str());
  }
  auto fail = [&](std::string message) {
    ctx->error = std::move(message);
    git_error_set_str(GIT_ERROR_NET, ctx->error.c_str());
    return GIT_EAUTH;
  };
  unsigned int key_types = GIT_CREDENTIAL_SSH_KEY | GIT_CREDENTIAL_SSH_MEMORY;
  if (allowed_types & key_types) {
    if (o.ssh_key.empty()) {
      return fail("the SSH remote wants a key and no --git-ssh-key [GIT_SSH_KEY] is set");
    }
    // libgit2 asks again after a refusal; the same key would only be refused again.
    if (ctx->key_attempts++ > 0) return fail("SSH key refused by the remote for user " + ssh_user);
    const char* pass = o.ssh_keypass.empty() ? nullptr : o.ssh_keypass.c_str();
    bool pem = o.ssh_key.find("-----BEGIN") != std::string::npos;
    if (!pem) {
      return git_credential_ssh_key_new(out, ssh_user.c_str(), nullptr, o.ssh_key.c_str(), pass);
    }
    if ((allowed_types & GIT_CREDENTIAL_SSH_MEMORY) &&
        git_credential_ssh_key_memory_new(out, ssh_user.c_str(), nullptr, o.ssh_key.c_str(),
                                          pass) == 0) {
      return 0;
    }
    // This libgit2 cannot take a key from memory: hand it a private file.
    if (self.pem_file.empty()) {
      fs::path path = self.opt.dir / "ssh-key.pem";
      ::unlink(path.c_str());
      int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
      bool written = fd >= 0 && ::write(fd, o.ssh_key.data(), o.ssh_key.size()) ==
                                    static_cast<ssize_t>(o.ssh_key.size());
      if (fd >= 0) ::close(fd);
      if (!written) return fail("cannot write the SSH key to " + path.string());
      self.pem_file = path;
    }
    return git_credential_ssh_key_new(out, ssh_user.c_str(), nullptr, self.pem_file.c_str(), pass);
  }
  if ((allowed_types & GIT_CREDENTIAL_USERPASS_PLAINTEXT) && is_http_url(o.url)) {
    if (o.user.empty() && o.password.empty()) {
      return fail("the remote asks for credentials and no --git-user/--git-password is set");
    }
    if (ctx->userpass_attempts++ > 0) return fail("credentials refused by the remote");
    std::string user = o.user.empty() && username_from_url ? username_from_url : o.user;
    return git_credential_userpass_plaintext_new(out, user.c_str(), o.password.c_str());
  }
  char types[16];
  std::snprintf(types, sizeof types, "0x%x", allowed_types);
  return fail(std::string("the remote asks for credentials of a kind hookd does not have (types ") +
              types + ")");
}

int RunbooksSource::Impl::on_certificate(git_cert* cert, int /*valid*/, const char* host,
                                         void* payload) {
  auto* ctx = static_cast<FetchContext*>(payload);
  Impl& self = *ctx->impl;
  if (self.control.should_stop()) return cancelled_by_control(self.control);
  if (cert->cert_type == GIT_CERT_X509 && !self.opt.ca_file.empty()) {
    auto* x509 = reinterpret_cast<git_cert_x509*>(cert);
    Status trusted = verify_server_certificate(
        self.opt.ca_file, std::string_view(static_cast<const char*>(x509->data), x509->len), host);
    if (trusted) return 0;
    ctx->error = std::string("the TLS certificate of ") + host + " is not trusted by --git-ca " +
                 self.opt.ca_file.string() + ": " + trusted.error().message;
    git_error_set_str(GIT_ERROR_SSL, ctx->error.c_str());
    return GIT_ECERTIFICATE;
  }
  if (cert->cert_type != GIT_CERT_HOSTKEY_LIBSSH2) {
    // X.509 without --git-ca: libgit2's own verification (system CAs, host name) decides.
    return GIT_PASSTHROUGH;
  }
  auto refuse = [&](std::string message) {
    ctx->error = std::move(message);
    git_error_set_str(GIT_ERROR_SSH, ctx->error.c_str());
    return GIT_ECERTIFICATE;
  };
  // libgit2 1.5 trusts any SSH host key unless this callback says otherwise.
  if (self.opt.ssh_known_hosts.empty()) {
    return refuse(std::string("refusing the SSH host key of ") + host +
                  ": no --git-ssh-known-hosts [GIT_SSH_KNOWN_HOSTS] is set");
  }
  auto* hostkey = reinterpret_cast<git_cert_hostkey*>(cert);
  if (!(hostkey->type & GIT_CERT_SSH_RAW) || hostkey->hostkey == nullptr) {
    return refuse(std::string("the SSH host key of ") + host + " is not available to check");
  }
  Status known = check_known_host(self.opt.ssh_known_hosts, host, ssh_port_of(self.opt.url),
                                  std::string_view(hostkey->hostkey, hostkey->hostkey_len));
  if (!known) return refuse(known.error().message);
  return 0;
}

int RunbooksSource::Impl::on_transfer(const git_indexer_progress* stats, void* payload) {
  auto* ctx = static_cast<FetchContext*>(payload);
  Impl& self = *ctx->impl;
  if (stats->received_bytes > self.opt.max_fetch_bytes) {
    self.control.cancel("the download exceeds " + std::to_string(self.opt.max_fetch_bytes) +
                        " bytes (max_fetch_bytes)");
  }
  if (self.control.should_stop()) return cancelled_by_control(self.control);
  return 0;
}

int RunbooksSource::Impl::on_sideband(const char* /*str*/, int /*len*/, void* payload) {
  auto* ctx = static_cast<FetchContext*>(payload);
  if (ctx->impl->control.should_stop()) return cancelled_by_control(ctx->impl->control);
  return 0;
}

Failure RunbooksSource::Impl::git_failure(const std::string& what, const FetchContext* ctx) const {
  Failure f;
  if (control.cancelled()) {
    f.message = what + ": " + control.reason();
    f.klass = "timeout";
    f.timed_out = control.timed_out();
    if (!f.timed_out) f.klass = "cancelled";
    std::lock_guard lock(mutex);
    f.stopping = stopping;
  } else if (ctx && !ctx->error.empty()) {
    f.message = what + ": " + ctx->error;
    f.klass = last_git_class();
  } else {
    f.message = what + ": " + last_git_message();
    f.klass = last_git_class();
  }
  f.message = scrub(std::move(f.message));
  return f;
}

bool RunbooksSource::Impl::arm() {
  std::lock_guard lock(mutex);
  if (stopping) return false;
  deadline = Clock::now() + fetch_timeout;
  control.reset(deadline, "fetch timed out after " + std::to_string(fetch_timeout.count()) +
                              " s (--git-fetch-timeout)");
  armed = true;
  stats.fetching = true;
  watchdog_wake.notify_all();
  return true;
}

void RunbooksSource::Impl::disarm() {
  std::lock_guard lock(mutex);
  armed = false;
  stats.fetching = false;
  watchdog_wake.notify_all();
}

void RunbooksSource::Impl::run_watchdog() {
  std::unique_lock lock(mutex);
  while (!stopping) {
    if (!armed) {
      watchdog_wake.wait(lock);
      continue;
    }
    auto until = deadline;
    watchdog_wake.wait_until(lock, until);
    if (armed && deadline == until && Clock::now() >= until) {
      armed = false;
      control.cancel_timeout();
    }
  }
}

Status RunbooksSource::Impl::ensure_repo() {
  if (repo) return Ok{};
  std::error_code ec;
  fs::create_directories(scripts_dir, ec);
  if (ec) return make_error("cannot create " + scripts_dir.string() + ": " + ec.message());
  if (fs::exists(repo_dir, ec)) {
    git_repository* existing = nullptr;
    if (git_repository_open_bare(&existing, repo_dir.c_str()) == 0) {
      RemotePtr origin;
      const char* url = nullptr;
      if (git_remote_lookup(origin.out(), existing, "origin") == 0)
        url = git_remote_url(origin.get());
      if (url && opt.url == url) {
        repo = existing;
        return Ok{};
      }
      log::warn("runbooks: the local clone points at another remote; cloning afresh",
                {{"dir", repo_dir.string()}, {"url", redact_url(opt.url)}});
      git_repository_free(existing);
    } else {
      log::warn("runbooks: the local clone is unusable; cloning afresh",
                {{"dir", repo_dir.string()}, {"error", last_git_message()}});
    }
    fs::remove_all(repo_dir, ec);
    if (ec) return make_error("cannot remove " + repo_dir.string() + ": " + ec.message());
  }
  git_repository* fresh = nullptr;
  if (git_repository_init(&fresh, repo_dir.c_str(), 1) != 0) {
    return make_error("init " + repo_dir.string() + ": " + last_git_message());
  }
  RemotePtr origin;
  if (git_remote_create(origin.out(), fresh, "origin", opt.url.c_str()) != 0) {
    std::string err = last_git_message();
    git_repository_free(fresh);
    return make_error("remote " + redact_url(opt.url) + ": " + err);
  }
  repo = fresh;
  return Ok{};
}

void RunbooksSource::Impl::drop_repo() {
  if (repo) git_repository_free(repo);
  repo = nullptr;
  std::error_code ec;
  fs::remove_all(repo_dir, ec);
}

Result<std::shared_ptr<RunbooksSnapshot>> RunbooksSource::Impl::build_snapshot(
    const git_oid& commit_oid) {
  auto snap = std::make_shared<RunbooksSnapshot>();
  snap->commit_id = oid_hex(commit_oid);
  CommitPtr commit;
  TreePtr root;
  if (git_commit_lookup(commit.out(), repo, &commit_oid) != 0 ||
      git_commit_tree(root.out(), commit.get()) != 0) {
    return make_error("commit " + snap->commit_id + ": " + last_git_message());
  }
  TreeEntryPtr dir_entry;
  int rc = git_tree_entry_bypath(dir_entry.out(), root.get(), std::string(kHooksDir).c_str());
  if (rc == GIT_ENOTFOUND) return snap;  // no hooks: a valid, empty snapshot
  if (rc != 0) return make_error(std::string(kHooksDir) + ": " + last_git_message());
  if (git_tree_entry_type(dir_entry.get()) != GIT_OBJECT_TREE) return snap;
  TreePtr hooks;
  if (git_tree_lookup(hooks.out(), repo, git_tree_entry_id(dir_entry.get())) != 0) {
    return make_error(std::string(kHooksDir) + ": " + last_git_message());
  }
  for (std::size_t i = 0, n = git_tree_entrycount(hooks.get()); i < n; ++i) {
    const git_tree_entry* entry = git_tree_entry_byindex(hooks.get(), i);
    std::string name = git_tree_entry_name(entry);
    if (!ends_with(name, kScriptSuffix) || name.size() == kScriptSuffix.size()) continue;
    git_filemode_t mode = git_tree_entry_filemode(entry);
    if (mode != GIT_FILEMODE_BLOB && mode != GIT_FILEMODE_BLOB_EXECUTABLE) continue;  // links...
    BlobPtr blob;
    if (git_blob_lookup(blob.out(), repo, git_tree_entry_id(entry)) != 0) {
      return make_error(std::string(kHooksDir) + "/" + name + ": " + last_git_message());
    }
    auto size = static_cast<std::uint64_t>(git_blob_rawsize(blob.get()));
    if (size > opt.max_script_bytes) {
      m.scripts_skipped.inc();
      log::warn("runbooks: hook script too big, left out", {{"script", name},
                                                            {"bytes", size},
                                                            {"max_bytes", opt.max_script_bytes},
                                                            {"commit", snap->commit_id}});
      continue;
    }
    fs::path path = scripts_dir / (oid_hex(*git_tree_entry_id(entry)) + std::string(kScriptSuffix));
    std::error_code ec;
    if (fs::file_size(path, ec) != size || ec) {
      Status written = write_file_atomically(path, git_blob_rawcontent(blob.get()), size);
      if (!written) return written.error();
    }
    snap->scripts.emplace(std::move(name), std::move(path));
  }
  return snap;
}

// The snapshot of the last good fetch, kept in the clone, serves from start-up
// until the first fetch of this run succeeds (the remote may be down now).
void RunbooksSource::Impl::restore_kept_snapshot() {
  if (!ensure_repo()) return;
  ConfigPtr config;
  if (git_repository_config(config.out(), repo) != 0) return;
  git_buf kept_for = GIT_BUF_INIT;
  bool same_source = git_config_get_string_buf(&kept_for, config.get(), "hookd.source") == 0 &&
                     source_key == std::string(kept_for.ptr, kept_for.size);
  git_buf_dispose(&kept_for);
  git_oid oid;
  if (!same_source || git_reference_name_to_id(&oid, repo, kLastGoodRef) != 0) return;
  std::int64_t fetched_ms = 0;
  git_config_get_int64(&fetched_ms, config.get(), "hookd.fetchedms");
  git_buf ref = GIT_BUF_INIT;
  std::string ref_name;
  if (git_config_get_string_buf(&ref, config.get(), "hookd.ref") == 0) {
    ref_name.assign(ref.ptr, ref.size);
  }
  git_buf_dispose(&ref);
  auto snap = build_snapshot(oid);
  if (!snap) {
    log::warn("runbooks: the snapshot kept in the local clone is unreadable; cloning afresh",
              {{"error", snap.error().message}});
    drop_repo();
    return;
  }
  (*snap)->fetched_unix_ms = fetched_ms;
  (*snap)->ref = ref_name;
  log::info("runbooks: serving the snapshot kept in the local clone until the first fetch",
            {{"commit", (*snap)->commit_id}, {"scripts", (*snap)->scripts.size()}});
  publish(std::move(*snap));
}

Result<std::shared_ptr<const RunbooksSnapshot>> RunbooksSource::Impl::fetch(Failure& failure) {
  if (Status ready = ensure_repo(); !ready) {
    failure.message = scrub(ready.error().message);
    return make_error(failure.message);
  }
  FetchContext ctx;
  ctx.impl = this;
  auto fail = [&](const std::string& what) {
    failure = git_failure(what, &ctx);
    return make_error(failure.message);
  };

  RemotePtr remote;
  if (git_remote_lookup(remote.out(), repo, "origin") != 0) {
    auto r = fail("remote");
    failure.local = true;
    return r;
  }
  git_remote_callbacks callbacks = GIT_REMOTE_CALLBACKS_INIT;
  callbacks.credentials = on_credentials;
  callbacks.certificate_check = on_certificate;
  callbacks.transfer_progress = on_transfer;
  callbacks.sideband_progress = on_sideband;
  callbacks.payload = &ctx;
  git_proxy_options proxy = GIT_PROXY_OPTIONS_INIT;
  proxy.type = GIT_PROXY_AUTO;

  t_control = &control;
  struct ResetControl {
    ~ResetControl() { t_control = nullptr; }
  } reset_control;

  if (git_remote_connect(remote.get(), GIT_DIRECTION_FETCH, &callbacks, &proxy, nullptr) != 0) {
    auto error = fail("connect");
    // libgit2 takes a local path that does not exist for an unknown URL scheme.
    std::error_code ec;
    if (opt.url.find("://") == std::string::npos && opt.url.find(':') == std::string::npos &&
        !fs::exists(opt.url, ec)) {
      failure.message = "connect: no repository at " + opt.url;
      error = make_error(failure.message);
    }
    return error;
  }
  const git_remote_head** heads = nullptr;
  std::size_t head_count = 0;
  if (git_remote_ls(&heads, &head_count, remote.get()) != 0) return fail("list refs");
  auto find = [&](std::string_view name) -> const git_remote_head* {
    for (std::size_t i = 0; i < head_count; ++i) {
      if (name == heads[i]->name) return heads[i];
    }
    return nullptr;
  };
  const git_remote_head* target = nullptr;
  std::string ref_name;
  if (opt.branch.empty()) {
    const git_remote_head* head = find("HEAD");
    if (!head) {
      failure.message = "the remote has no HEAD (an empty repository?)";
      failure.klass = "reference";
      return make_error(failure.message);
    }
    target = head;
    ref_name = "HEAD";
    if (head->symref_target && find(head->symref_target)) {
      ref_name = head->symref_target;
    } else {
      for (std::size_t i = 0; i < head_count; ++i) {
        if (starts_with(heads[i]->name, "refs/heads/") &&
            git_oid_equal(&heads[i]->oid, &head->oid)) {
          ref_name = heads[i]->name;
          break;
        }
      }
    }
  } else {
    ref_name = starts_with(opt.branch, "refs/") ? opt.branch : "refs/heads/" + opt.branch;
    target = find(ref_name);
    if (!target) {
      failure.message = "branch " + ref_name + " not found on the remote";
      failure.klass = "reference";
      return make_error(failure.message);
    }
  }
  git_oid commit_oid = target->oid;

  // Only the one ref: fetching every branch of a busy runbooks repository
  // would cost time for objects no hook uses.
  std::string spec = ref_name;
  char* spec_ptr = spec.data();
  git_strarray specs{&spec_ptr, 1};
  git_fetch_options fetch_opts = GIT_FETCH_OPTIONS_INIT;
  fetch_opts.callbacks = callbacks;
  fetch_opts.prune = GIT_FETCH_NO_PRUNE;
  fetch_opts.update_fetchhead = 0;
  fetch_opts.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
  fetch_opts.proxy_opts = proxy;
  int rc = git_remote_download(remote.get(), &specs, &fetch_opts);
  if (const git_indexer_progress* progress = git_remote_stats(remote.get())) {
    m.received_bytes.inc(static_cast<double>(progress->received_bytes));
  }
  if (rc != 0) return fail("download");
  git_remote_disconnect(remote.get());
  disarm();

  auto snap = build_snapshot(commit_oid);
  if (!snap) {
    // Objects the download just vouched for cannot be read back: start the
    // clone afresh rather than fail the same way at every tick.
    failure.message = scrub("snapshot: " + snap.error().message);
    failure.local = true;
    return make_error(failure.message);
  }
  (*snap)->ref = ref_name;
  (*snap)->fetched_unix_ms = now_unix_ms();

  // Keep what this snapshot came from, for the next start.
  ReferencePtr ref;
  ConfigPtr config;
  if (git_reference_create(ref.out(), repo, kLastGoodRef, &commit_oid, 1, "hookd fetch") != 0 ||
      git_repository_config(config.out(), repo) != 0 ||
      git_config_set_string(config.get(), "hookd.source", source_key.c_str()) != 0 ||
      git_config_set_string(config.get(), "hookd.ref", ref_name.c_str()) != 0 ||
      git_config_set_int64(config.get(), "hookd.fetchedms", (*snap)->fetched_unix_ms) != 0) {
    log::warn("runbooks: cannot record the snapshot in the local clone",
              {{"error", scrub(last_git_message())}});
  }
  return std::shared_ptr<const RunbooksSnapshot>(std::move(*snap));
}

void RunbooksSource::Impl::publish(std::shared_ptr<const RunbooksSnapshot> snap) {
  m.scripts.set(static_cast<double>(snap->scripts.size()));
  current.store(std::move(snap));
}

void RunbooksSource::Impl::attempt() {
  if (!arm()) return;
  auto started_at = Clock::now();
  Failure failure;
  auto result = fetch(failure);
  disarm();
  double seconds = std::chrono::duration<double>(Clock::now() - started_at).count();
  m.duration.observe(seconds);
  auto duration_ms = static_cast<std::int64_t>(seconds * 1000);

  if (result) {
    auto previous = current.load();
    const auto& snap = *result;
    bool changed =
        !previous || previous->commit_id != snap->commit_id || previous->scripts != snap->scripts;
    publish(snap);
    m.fetches_ok.inc();
    {
      std::lock_guard lock(mutex);
      ++stats.fetches_ok;
      stats.consecutive_failures = 0;
      stats.last_error.clear();
    }
    if (changed) {
      log::info("runbooks snapshot published",
                {{"commit", snap->commit_id},
                 {"previous_commit", previous ? previous->commit_id : std::string()},
                 {"ref", snap->ref},
                 {"scripts", snap->scripts.size()},
                 {"duration_ms", duration_ms}});
    } else {
      log::debug("runbooks fetch: no change",
                 {{"commit", snap->commit_id}, {"duration_ms", duration_ms}});
    }
    return;
  }

  if (failure.local) drop_repo();
  if (failure.stopping) {
    log::info("runbooks fetch cancelled: stopping", {{"duration_ms", duration_ms}});
    return;
  }
  m.fetches_failed.inc();
  if (failure.timed_out) m.timeouts.inc();
  std::uint64_t consecutive;
  {
    std::lock_guard lock(mutex);
    ++stats.fetches_failed;
    consecutive = ++stats.consecutive_failures;
    stats.last_error = failure.message;
  }
  auto snap = current.load();
  log::warn("runbooks fetch failed; keeping the last good snapshot",
            {{"error", failure.message},
             {"class", failure.klass},
             {"url", redact_url(opt.url)},
             {"consecutive_failures", consecutive},
             {"serving_commit", snap ? snap->commit_id : std::string()},
             {"duration_ms", duration_ms}});
}

Clock::duration RunbooksSource::Impl::retry_delay() const {
  std::uint64_t failures;
  {
    std::lock_guard lock(mutex);
    failures = stats.consecutive_failures;
  }
  auto delay = std::chrono::duration_cast<Clock::duration>(retry_min);
  for (std::uint64_t i = 1; i < failures && delay < ttl; ++i)
    delay *= 2;
  return std::min<Clock::duration>(delay, ttl);
}

void RunbooksSource::Impl::run_worker() {
  LibGit2 libgit2;
  if (!libgit2.ok()) {
    log::error("runbooks: libgit2 failed to initialise", {{"error", last_git_message()}});
    std::lock_guard lock(mutex);
    stats.last_error = "libgit2 failed to initialise";
    return;
  }
  // Leftovers of an interrupted write.
  std::error_code ec;
  for (auto it = fs::directory_iterator(scripts_dir, ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    if (it->path().filename().string().find(".tmp.") != std::string::npos) {
      fs::remove(it->path(), ec);
    }
  }
  restore_kept_snapshot();

  auto next = Clock::now();
  for (;;) {
    {
      std::unique_lock lock(mutex);
      wake.wait_until(lock, next, [&] { return stopping || refresh; });
      if (stopping) break;
      refresh = false;
    }
    attempt();
    bool ok;
    {
      std::lock_guard lock(mutex);
      ok = stats.consecutive_failures == 0;
    }
    next = Clock::now() + (ok ? Clock::duration(ttl) : retry_delay());
  }
  if (repo) git_repository_free(repo);
  repo = nullptr;
  if (!pem_file.empty()) ::unlink(pem_file.c_str());
}

// ---------------------------------------------------------------------------

RunbooksSource::RunbooksSource(RunbooksOptions options) {
  if (options.url.empty()) throw std::invalid_argument("runbooks: the git URL is empty");
  if (options.dir.empty()) throw std::invalid_argument("runbooks: the data directory is empty");
  impl_ = std::make_shared<Impl>(std::move(options));
  std::weak_ptr<Impl> weak = impl_;
  metrics().gauge_callback(
      "hookd_runbooks_snapshot_age_seconds",
      "Seconds since the serving runbooks snapshot was last confirmed by a fetch", {}, [weak] {
        auto impl = weak.lock();
        auto snap = impl ? impl->current.load() : nullptr;
        if (!snap) return std::numeric_limits<double>::quiet_NaN();
        return std::max<double>(0, (now_unix_ms() - snap->fetched_unix_ms) / 1000.0);
      });
}

RunbooksSource::~RunbooksSource() {
  stop();
}

void RunbooksSource::start() {
  std::lock_guard lock(impl_->mutex);
  if (impl_->started || impl_->stopping) return;
  impl_->started = true;
  impl_->worker = std::thread([impl = impl_.get()] { impl->run_worker(); });
  impl_->watchdog = std::thread([impl = impl_.get()] { impl->run_watchdog(); });
}

void RunbooksSource::stop() {
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->stopping) return;
    impl_->stopping = true;
    impl_->wake.notify_all();
    impl_->watchdog_wake.notify_all();
  }
  impl_->control.cancel("stopping");
  if (impl_->worker.joinable()) impl_->worker.join();
  if (impl_->watchdog.joinable()) impl_->watchdog.join();
}

std::shared_ptr<const RunbooksSnapshot> RunbooksSource::snapshot() const {
  return impl_->current.load();
}

bool RunbooksSource::refresh_now() {
  std::lock_guard lock(impl_->mutex);
  if (!impl_->started || impl_->stopping) return false;
  impl_->refresh = true;
  impl_->wake.notify_all();
  return true;
}

RunbooksStats RunbooksSource::stats() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->stats;
}

std::string RunbooksSource::status_json() const {
  auto snap = snapshot();
  RunbooksStats s = stats();
  boost::json::object o;
  if (snap) {
    o["commit"] = snap->commit_id;
    o["ref"] = snap->ref;
    o["age_seconds"] = std::max<double>(0, (now_unix_ms() - snap->fetched_unix_ms) / 1000.0);
    o["scripts"] = snap->scripts.size();
  } else {
    o["commit"] = nullptr;
    o["ref"] = nullptr;
    o["age_seconds"] = nullptr;
    o["scripts"] = 0;
  }
  if (s.last_error.empty()) {
    o["last_error"] = nullptr;
  } else {
    o["last_error"] = s.last_error;
  }
  o["fetches_ok"] = s.fetches_ok;
  o["fetches_failed"] = s.fetches_failed;
  o["fetching"] = s.fetching;
  return boost::json::serialize(o);
}

}  // namespace hookd
