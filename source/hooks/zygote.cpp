#include "hookd/hooks/zygote.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <system_error>

#include "hookd/core/log.h"
#include "hookd/hooks/hook_run.h"
#include "hookd/hooks/output_capture.h"
#include "hookd/hooks/zygote_protocol.h"

namespace hookd {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using Tag = ZygoteTag;
using Type = ZygoteMessageType;

// execve refuses a single argument or environment string this long; such a
// run goes to spawn, which reports that as it always has.
constexpr std::size_t kMaxExecString = 128 * 1024;
constexpr int kMaxFdsPerRecord = 4;
// A zygote lives until it is retired or dies, never until a timeout.
constexpr std::chrono::milliseconds kNoTimeout = std::chrono::hours(24 * 365 * 10);
constexpr std::chrono::milliseconds kKillGrace{2000};
// After the process is gone, how long its socket may stay open (a child
// between fork and closing its descriptors still holds it).
constexpr std::chrono::milliseconds kDrainTimeout{5000};

std::string errno_text(int err) {
  return std::error_code(err, std::generic_category()).message();
}

void close_all(std::vector<int>& fds) {
  for (int fd : fds)
    ::close(fd);
  fds.clear();
}

// One record with descriptors, waiting (poll) while the socket buffer is full.
Status send_record(int fd, const std::string& record, const std::vector<int>& fds,
                   Clock::time_point deadline) {
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
    if (::sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0) return Ok{};
    if (errno == EINTR) continue;
    if (errno != EAGAIN) return make_error("send: " + errno_text(errno));
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return make_error("send: the zygote does not read its socket");
    pollfd out{fd, POLLOUT, 0};
    ::poll(&out, 1, static_cast<int>(left.count()));
  }
}

std::string describe_exit(const ProcessResult& r) {
  std::string text;
  if (!r.spawn_error.empty()) return "could not start: " + r.spawn_error;
  if (r.exit_code) text = "exited with status " + std::to_string(*r.exit_code);
  if (r.signal) text = "killed by signal " + std::to_string(*r.signal);
  if (text.empty()) text = "ended";
  return text;
}

}  // namespace

const char* zygote_bootstrap() {
  return "#hookd-zygote\n"
         "import socket;c=socket.socket(fileno=0)\n"
         "exec(compile(c.recv(1<<20),'hookd-zygote.py','exec'),"
         "{'__name__':'hookd_zygote','control':c})\n";
}

const char* zygote_source() {
  return
#include "zygote_source.inc"
      ;
}

// ---------------------------------------------------------------------------
// Everything on `strand` except fork_run() and reap(), which come from other
// threads; what they share with it is under `mutex`. The socket's descriptor
// is only closed by the destructor, so a sender never writes to a reused one.

struct Zygote::State : std::enable_shared_from_this<Zygote::State> {
  enum class Phase { loading, ready, retiring, gone };

  struct PendingFork {
    std::promise<ZygoteFork> answer;
  };

  State(asio::io_context& io, ZygoteOptions o, std::function<void(const ZygoteEnd&)> e)
      : io(io),
        strand(asio::make_strand(io)),
        socket(strand),
        load_timer(strand),
        end_timer(strand),
        options(std::move(o)),
        ended(std::move(e)),
        buffer(kZygoteMaxRecordBytes + 1) {}

  ~State() {
    if (null_fd >= 0) ::close(null_fd);
  }

  // ----------------------------------------------------------- start-up

  void start() {
    started_at = Clock::now();
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) {
      return fail_to_start("socketpair: " + errno_text(errno));
    }
    null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    int size = static_cast<int>(2 * kZygoteMaxRecordBytes);
    for (int option : {SO_SNDBUF, SO_RCVBUF})
      ::setsockopt(pair[0], SOL_SOCKET, option, &size, sizeof size);
    socket.assign(pair[0]);

    ProcessOptions p;
    p.argv = {options.interpreter, "-c", zygote_bootstrap(), "hookd-zygote", options.commit};
    p.env = options.env;
    p.cwd = options.dir;
    p.timeout = kNoTimeout;
    p.kill_grace = kKillGrace;
    p.output_max_bytes = options.output_max_bytes;
    p.stdin_fd = pair[1];
    std::weak_ptr<State> weak = shared_from_this();
    process = run_process(io, std::move(p), [weak](ProcessResult r) {
      if (auto self = weak.lock()) {
        asio::post(self->strand, [self, r = std::move(r)]() mutable {
          self->on_process_exit(std::move(r));
        });
      }
    });
    ::close(pair[1]);
    {
      std::lock_guard lock(mutex);
      zygote_pid = process.pid();
    }
    if (zygote_pid == 0) {  // on_process_exit says why; its socket reads as closed
      asio::post(strand, [self = shared_from_this()] { self->read_more(); });
      return;
    }

    ZygoteMessage load{Type::load, {}};
    load.add(Tag::interpreter, options.interpreter);
    for (const auto& e : options.env)
      load.add(Tag::env, e);
    for (const auto& m : options.preload)
      load.add(Tag::preload, m);
    for (const auto& s : options.scripts)
      load.add(Tag::script, s.string());
    auto record = encode_zygote_message(load);
    auto deadline = Clock::now() + options.answer_timeout;
    Status sent = record.size() > kZygoteMaxRecordBytes
                      ? Status(make_error("LOAD is over the record limit"))
                      : send_record(pair[0], zygote_source(), {}, deadline);
    if (sent) sent = send_record(pair[0], record, {}, deadline);
    if (!sent) {
      asio::post(strand, [self = shared_from_this(), error = sent.error().message] {
        self->give_up(error);
      });
      return;
    }
    log::info("hook zygote starting", {{"commit", options.commit}, {"pid", zygote_pid}});
    asio::post(strand, [self = shared_from_this()] {
      self->load_timer.expires_after(self->options.load_timeout);
      self->load_timer.async_wait([self](boost::system::error_code ec) {
        if (!ec && self->phase_is(Phase::loading)) self->give_up("did not load in time");
      });
      self->read_more();
    });
  }

  void fail_to_start(std::string error) {
    asio::post(strand, [self = shared_from_this(), error = std::move(error)] {
      self->reason = error;
      self->process_gone = true;
      self->socket_done = true;
      self->finish();
    });
  }

  bool phase_is(Phase p) {
    std::lock_guard lock(mutex);
    return phase == p;
  }

  // -------------------------------------------------------------- reading

  void read_more() {
    socket.async_wait(asio::posix::descriptor_base::wait_read,
                      [self = shared_from_this()](boost::system::error_code ec) {
                        if (!ec) self->drain();
                      });
  }

  void drain() {
    for (;;) {
      if (socket_done) return;
      iovec iov{buffer.data(), buffer.size()};
      alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFdsPerRecord)];
      msghdr msg{};
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = control;
      msg.msg_controllen = sizeof control;
      ssize_t n = ::recvmsg(socket.native_handle(), &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) return read_more();
      std::vector<int> fds;
      if (n >= 0) {
        for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
          if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
          std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
          for (std::size_t i = 0; i < count; ++i) {
            int fd;
            std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
            fds.push_back(fd);
          }
        }
      }
      if (n <= 0 && fds.empty()) {
        return on_socket_end(n < 0 ? "socket: " + errno_text(errno) : "");
      }
      if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
        close_all(fds);
        protocol_error("a record over the size limit");
        return;
      }
      auto message = decode_zygote_message(std::string_view(buffer.data(), std::size_t(n)));
      if (!message) {
        close_all(fds);
        protocol_error(message.error().message);
        return;
      }
      if (!handle(*message, fds)) return;
    }
  }

  // False once the zygote is given up.
  bool handle(const ZygoteMessage& m, std::vector<int>& fds) {
    if (m.type != Type::started && !fds.empty()) {
      close_all(fds);
      return protocol_error("descriptors with a message that carries none");
    }
    switch (m.type) {
      case Type::ready:
        return on_ready(m);
      case Type::started:
        return on_started(m, fds);
      case Type::failed:
        return on_failed(m);
      case Type::status:
        return on_status(m);
      case Type::error:
        return protocol_error("the zygote refused a record: " +
                              std::string(m.get(Tag::error).value_or("")));
      default:
        return protocol_error("unknown message type " + std::to_string(int(m.type)));
    }
  }

  bool on_ready(const ZygoteMessage& m) {
    std::unique_lock lock(mutex);
    if (phase != Phase::loading && phase != Phase::retiring) {
      lock.unlock();
      return protocol_error("READY twice");
    }
    if (auto error = m.get(Tag::error)) {
      // It exits by itself; the end reports this.
      unsupported = true;
      reason = std::string(*error);
      return true;
    }
    if (m.get_u64(Tag::pid) != static_cast<std::uint64_t>(zygote_pid)) {
      lock.unlock();
      return protocol_error("READY names another pid");
    }
    for (auto script : m.all(Tag::script))
      compiled.insert(std::string(script));
    was_ready = true;
    ready_at = Clock::now();
    if (phase == Phase::loading) phase = Phase::ready;
    lock.unlock();
    load_timer.cancel();
    auto notes = m.all(Tag::note);
    for (std::size_t i = 0; i < notes.size() && i < 20; ++i) {
      log::warn("hook zygote note", {{"commit", options.commit}, {"note", valid_utf8(notes[i])}});
    }
    log::info("hook zygote ready",
              {{"commit", options.commit},
               {"pid", zygote_pid},
               {"implementation", std::string(m.get(Tag::implementation).value_or(""))},
               {"version", std::string(m.get(Tag::version).value_or(""))},
               {"scripts", compiled.size()},
               {"of_scripts", options.scripts.size()},
               {"load_ms", std::chrono::duration_cast<std::chrono::milliseconds>(
                               ready_at - started_at)
                               .count()}});
    maybe_end_retired();
    return true;
  }

  bool on_started(const ZygoteMessage& m, std::vector<int>& fds) {
    auto id = m.get_u64(Tag::run_id);
    auto pid = m.get_u64(Tag::pid);
    if (!id || !pid || *pid == 0 || *pid > 0x7FFFFFFF || fds.size() != 1) {
      close_all(fds);
      return protocol_error("a malformed STARTED");
    }
    int pidfd = fds[0];
    fds.clear();
    std::shared_ptr<PendingFork> pending;
    {
      std::lock_guard lock(mutex);
      auto it = pending_forks.find(*id);
      if (it == pending_forks.end()) {
        ::close(pidfd);
        return protocol_error("STARTED for a run never asked for");
      }
      pending = it->second;
      pending_forks.erase(it);
      ++in_flight;
    }
    AdoptedChild child;
    child.pid = static_cast<int>(*pid);
    child.pidfd = pidfd;
    std::weak_ptr<State> weak = shared_from_this();
    child.reap = [weak, id = *id](std::function<void(std::optional<int>)> reaped) {
      if (auto self = weak.lock()) return self->reap(id, std::move(reaped));
      reaped(std::nullopt);
    };
    pending->answer.set_value(ZygoteFork{std::move(child), {}, true});
    return true;
  }

  bool on_failed(const ZygoteMessage& m) {
    auto id = m.get_u64(Tag::run_id);
    std::shared_ptr<PendingFork> pending;
    {
      std::lock_guard lock(mutex);
      auto it = id ? pending_forks.find(*id) : pending_forks.end();
      if (it != pending_forks.end()) {
        pending = it->second;
        pending_forks.erase(it);
      }
    }
    if (!pending) return protocol_error("FAILED for a run never asked for");
    pending->answer.set_value(
        ZygoteFork{std::nullopt, "zygote: " + std::string(m.get(Tag::error).value_or("")), true});
    maybe_end_retired();
    return true;
  }

  bool on_status(const ZygoteMessage& m) {
    auto id = m.get_u64(Tag::run_id);
    std::function<void(std::optional<int>)> reaped;
    {
      std::lock_guard lock(mutex);
      auto it = id ? pending_reaps.find(*id) : pending_reaps.end();
      if (it != pending_reaps.end()) {
        reaped = std::move(it->second);
        pending_reaps.erase(it);
        --in_flight;
      }
    }
    if (!reaped) return protocol_error("STATUS for a run not being reaped");
    auto status = m.get_u64(Tag::status);
    std::optional<int> wait_status;
    if (status && *status <= 0xFFFF) {
      int s = static_cast<int>(*status);
      if (WIFEXITED(s) || WIFSIGNALED(s)) wait_status = s;
    }
    if (!wait_status) {
      log::warn("hook zygote could not report an exit status",
                {{"commit", options.commit},
                 {"error", std::string(m.get(Tag::error).value_or("not a wait status"))}});
    }
    reaped(wait_status);
    maybe_end_retired();
    return true;
  }

  // ------------------------------------------------------------ requests

  void reap(std::uint64_t id, std::function<void(std::optional<int>)> reaped) {
    ZygoteMessage m{Type::reap, {}};
    m.add_u64(Tag::run_id, id);
    {
      std::lock_guard lock(mutex);
      if (!socket_usable) {
        --in_flight;
        asio::post(strand, [reaped = std::move(reaped)] { reaped(std::nullopt); });
        return;
      }
      pending_reaps[id] = std::move(reaped);
    }
    // REAPs are tiny and the zygote reads all the time: a full buffer means
    // it is stuck, which ends it (and the status comes back as unknown).
    if (!send_record(socket.native_handle(), encode_zygote_message(m), {}, Clock::now())) {
      asio::post(strand, [self = shared_from_this()] { self->give_up("stopped reading REAPs"); });
    }
  }

  ZygoteFork fork_run(const HookRun& run, const std::vector<std::string>& params) {
    const auto& argv = run.process.argv;
    if (argv.size() < 2) return {std::nullopt, "no script", true};
    for (const auto& e : run.process.env) {
      if (e.size() >= kMaxExecString) return {std::nullopt, "an environment entry over 128 KiB", true};
    }
    auto pending = std::make_shared<PendingFork>();
    auto answer = pending->answer.get_future();
    std::uint64_t id = 0;
    {
      std::lock_guard lock(mutex);
      if (phase != Phase::ready || !socket_usable) return {std::nullopt, "not ready", true};
      id = next_run_id++;
      pending_forks[id] = pending;
    }
    ZygoteMessage m{Type::run, {}};
    m.add_u64(Tag::run_id, id);
    m.add(Tag::script, argv[1]);
    for (std::size_t i = 1; i < argv.size(); ++i)
      m.add(Tag::arg, argv[i]);
    for (const auto& e : run.process.env)
      m.add(Tag::env, e);
    m.add(Tag::cwd, run.process.cwd.string());
    for (const auto& p : params)
      m.add(Tag::param, p);
    auto record = encode_zygote_message(m);

    auto forget = [&](std::string error) {
      std::lock_guard lock(mutex);
      pending_forks.erase(id);
      return ZygoteFork{std::nullopt, std::move(error), true};
    };
    if (record.size() > kZygoteMaxRecordBytes) return forget("a run over the record limit");
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) return forget("pipe: " + errno_text(errno));
    auto deadline = Clock::now() + options.answer_timeout;
    auto sent = send_record(socket.native_handle(), record, {null_fd, out[1]}, deadline);
    ::close(out[1]);
    if (!sent) {
      ::close(out[0]);
      return forget(sent.error().message);
    }
    if (answer.wait_until(deadline) != std::future_status::ready) {
      // Ending it settles the question: until its socket closes every
      // STARTED it sent still arrives, and after that no child can run.
      asio::post(strand, [self = shared_from_this()] { self->give_up("did not answer a RUN"); });
      if (answer.wait_for(kKillGrace + kDrainTimeout + std::chrono::seconds(1)) !=
          std::future_status::ready) {
        {
          std::lock_guard lock(mutex);
          pending_forks.erase(id);
        }
        ::close(out[0]);
        return {std::nullopt, "the zygote did not answer", false};
      }
    }
    auto fork = answer.get();
    if (fork.child) {
      fork.child->output_fd = out[0];
      fork.child->started = Clock::now();
    } else {
      ::close(out[0]);
    }
    return fork;
  }

  // ---------------------------------------------------------------- ending

  void retire() {
    {
      std::lock_guard lock(mutex);
      if (phase == Phase::gone || phase == Phase::retiring) return;
      phase = Phase::retiring;
      retired = true;
    }
    asio::post(strand, [self = shared_from_this()] { self->maybe_end_retired(); });
  }

  // A retired zygote with nothing in flight reads the end of its socket and exits.
  void maybe_end_retired() {
    {
      std::lock_guard lock(mutex);
      if (phase != Phase::retiring || in_flight > 0 || !pending_forks.empty()) return;
      if (!socket_usable) return;
      socket_usable = false;
    }
    ::shutdown(socket.native_handle(), SHUT_WR);
    arm_end_timer(kKillGrace);
  }

  // Ends it: the kill sequence of its ChildProcess (SIGTERM, then SIGKILL).
  void give_up(std::string why) {
    if (reason.empty() && !unsupported) reason = std::move(why);
    {
      std::lock_guard lock(mutex);
      if (phase != Phase::gone) phase = Phase::retiring;
    }
    process.cancel();
  }

  // Garbage on the socket: nothing more it says is believed.
  bool protocol_error(std::string what) {
    log::error("hook zygote protocol error", {{"commit", options.commit}, {"error", what}});
    give_up("protocol error: " + what);
    // A STARTED among what is no longer read may have let a child run.
    close_socket_side(false);
    return false;
  }

  void on_socket_end(std::string error) {
    if (!error.empty() && reason.empty()) reason = error;
    // Every record it sent has been read: a run without STARTED never ran.
    close_socket_side(true);
    // It should be exiting; if it is not, it is ended.
    if (!process_gone) arm_end_timer(kKillGrace);
    finish();
  }

  void close_socket_side(bool may_start_elsewhere) {
    std::map<std::uint64_t, std::shared_ptr<PendingFork>> forks;
    std::map<std::uint64_t, std::function<void(std::optional<int>)>> reaps;
    {
      std::lock_guard lock(mutex);
      socket_usable = false;
      if (phase != Phase::gone) phase = Phase::retiring;
      forks.swap(pending_forks);
      reaps.swap(pending_reaps);
      in_flight -= std::min(in_flight, reaps.size());
    }
    socket_done = true;
    boost::system::error_code ignored;
    socket.cancel(ignored);
    ::shutdown(socket.native_handle(), SHUT_RDWR);
    for (auto& [id, pending] : forks) {
      pending->answer.set_value(
          ZygoteFork{std::nullopt, "the zygote ended: " + reason_text(), may_start_elsewhere});
    }
    for (auto& [id, reaped] : reaps)
      reaped(std::nullopt);
  }

  void on_process_exit(ProcessResult r) {
    process_gone = true;
    exit_text = describe_exit(r);
    if (!r.output.empty()) {
      std::string output = valid_utf8(r.output);
      if (output.size() > 2000) output.resize(2000);
      output_text = std::move(output);
    }
    if (socket_done) return finish();
    // Records it sent before exiting are still to be read; give them a moment.
    arm_end_timer(kDrainTimeout);
  }

  void arm_end_timer(std::chrono::milliseconds after) {
    end_timer.expires_after(after);
    end_timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec) return;
      if (!self->process_gone) return self->process.cancel();
      if (!self->socket_done) self->close_socket_side(false);
      self->finish();
    });
  }

  std::string reason_text() const {
    if (!reason.empty()) return reason;
    return exit_text.empty() ? "socket closed" : exit_text;
  }

  void finish() {
    if (!process_gone || !socket_done || finished) return;
    finished = true;
    load_timer.cancel();
    end_timer.cancel();
    {
      std::lock_guard lock(mutex);
      phase = Phase::gone;
    }
    ZygoteEnd end;
    {
      std::lock_guard lock(mutex);
      end.was_ready = was_ready;
      end.retired = retired && reason.empty() && !unsupported;
    }
    end.unsupported = unsupported;
    if (!end.retired) end.reason = reason_text();
    if (!end.retired && !output_text.empty()) end.reason += "; output: " + output_text;
    end.lived = Clock::now() - started_at;
    if (ended) {
      auto callback = std::move(ended);
      ended = nullptr;
      callback(end);
    }
  }

  asio::io_context& io;
  asio::strand<asio::io_context::executor_type> strand;
  asio::posix::stream_descriptor socket;
  asio::steady_timer load_timer, end_timer;
  const ZygoteOptions options;
  std::function<void(const ZygoteEnd&)> ended;
  std::vector<char> buffer;
  ChildProcess process;
  int null_fd = -1;
  Clock::time_point started_at, ready_at;

  // Strand-only.
  bool process_gone = false, socket_done = false, finished = false;
  bool unsupported = false;
  std::string reason;  // why it ended, when not retired
  std::string exit_text, output_text;

  // Shared with fork_run() and reap() callers.
  mutable std::mutex mutex;
  Phase phase = Phase::loading;
  bool socket_usable = true;
  bool was_ready = false, retired = false;
  int zygote_pid = 0;
  std::set<std::string> compiled;
  std::uint64_t next_run_id = 1;
  std::size_t in_flight = 0;  // STARTED, STATUS not yet received
  std::map<std::uint64_t, std::shared_ptr<PendingFork>> pending_forks;
  std::map<std::uint64_t, std::function<void(std::optional<int>)>> pending_reaps;
};

// ---------------------------------------------------------------------------

Zygote::Zygote(std::shared_ptr<State> state) : state_(std::move(state)) {}

Zygote::~Zygote() {
  kill();
}

std::shared_ptr<Zygote> Zygote::start(boost::asio::io_context& io, ZygoteOptions options,
                                      std::function<void(const ZygoteEnd&)> ended) {
  auto state = std::make_shared<State>(io, std::move(options), std::move(ended));
  state->start();
  return std::shared_ptr<Zygote>(new Zygote(state));
}

const std::string& Zygote::commit() const {
  return state_->options.commit;
}

int Zygote::pid() const {
  std::lock_guard lock(state_->mutex);
  return state_->zygote_pid;
}

bool Zygote::ready() const {
  std::lock_guard lock(state_->mutex);
  return state_->phase == State::Phase::ready && state_->socket_usable;
}

bool Zygote::can_run(const std::filesystem::path& script) const {
  std::lock_guard lock(state_->mutex);
  return state_->phase == State::Phase::ready && state_->socket_usable &&
         state_->compiled.count(script.string()) == 1;
}

std::size_t Zygote::runs_in_flight() const {
  std::lock_guard lock(state_->mutex);
  return state_->in_flight;
}

ZygoteFork Zygote::fork_run(const HookRun& run, const std::vector<std::string>& params) {
  return state_->fork_run(run, params);
}

void Zygote::retire() {
  state_->retire();
}

void Zygote::kill() {
  asio::post(state_->strand, [state = state_] {
    if (!state->finished) state->give_up("stopped by hookd");
  });
}

}  // namespace hookd
