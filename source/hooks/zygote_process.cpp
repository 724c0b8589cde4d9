#include "hookd/hooks/zygote_process.h"

#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <utility>

#include "hookd/core/log.h"
#include "hookd/core/utf8.h"
#include "hookd/hooks/output_capture.h"
#include "hookd/hooks/zygote_channel.h"

namespace hookd {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

constexpr std::chrono::milliseconds kKillGrace{2000};
// After the process is gone, how long its socket may stay open: a child
// between its fork and closing its descriptors still holds it.
constexpr std::chrono::milliseconds kDrainTimeout{5000};
constexpr std::chrono::milliseconds kSendTimeout{10000};
constexpr std::size_t kOutputInReason = 2000;

std::string describe_exit(const ProcessResult& r) {
  if (!r.spawn_error.empty()) return "could not start: " + r.spawn_error;
  if (r.signal) return "killed by signal " + std::to_string(*r.signal);
  if (r.exit_code) return "exited with status " + std::to_string(*r.exit_code);
  return "ended";
}

}  // namespace

// Everything on `strand`. The socket's descriptor is only closed by the
// destructor, so a sender on another thread never writes to a reused number.
struct ZygoteProcess::State : std::enable_shared_from_this<ZygoteProcess::State> {
  State(asio::io_context& io, Handlers h)
      : io(io),
        strand(asio::make_strand(io)),
        socket(strand),
        deadline(strand),
        end_timer(strand),
        handlers(std::move(h)) {}

  template <typename F>
  void post(F f) {
    asio::post(strand, [self = shared_from_this(), f = std::move(f)]() mutable { f(*self); });
  }

  void start(ProcessOptions options, const std::vector<std::string>& records) {
    auto pair = make_zygote_socketpair();
    if (!pair) {
      return post([error = pair.error().message](State& self) {
        self.reason = error;
        self.forced = self.process_gone = true;
        self.stop_reading(false);
        self.finish();
      });
    }
    auto [ours, theirs] = *pair;
    socket.assign(ours);
    options.stdin_fd = theirs;
    std::weak_ptr<State> weak = shared_from_this();
    process = run_process(io, std::move(options), [weak](ProcessResult r) {
      if (auto self = weak.lock()) {
        self->post([r = std::move(r)](State& s) mutable { s.on_process_exit(std::move(r)); });
      }
    });
    ::close(theirs);
    pid = process.pid();
    // Without a process (on_process_exit says why) its socket reads as closed.
    Status sent = Ok{};
    auto until = Clock::now() + kSendTimeout;
    for (std::size_t i = 0; pid > 0 && sent && i < records.size(); ++i) {
      sent = records[i].size() > kZygoteMaxRecordBytes && i > 0
                 ? Status(make_error("a record over the size limit"))
                 : send_zygote_record(ours, records[i], {}, until);
    }
    if (!sent) return post([error = sent.error().message](State& self) { self.give_up(error); });
    post([](State& self) { self.read_more(); });
  }

  void read_more() {
    socket.async_wait(asio::posix::descriptor_base::wait_read,
                      [self = shared_from_this()](boost::system::error_code ec) {
                        if (!ec) self->drain();
                      });
  }

  void drain() {
    while (!socket_done) {
      auto received = receive_zygote_record(socket.native_handle(), buffer);
      switch (received.kind) {
        case ReceivedRecord::Kind::none_yet:
          return read_more();
        case ReceivedRecord::Kind::end:
          return on_socket_end(received.error);
        case ReceivedRecord::Kind::oversized:
          return not_believed("a record over the size limit");
        case ReceivedRecord::Kind::record:
          break;
      }
      auto message = decode_zygote_message(received.bytes);
      if (!message) {
        close_fds(received.fds);
        return not_believed(message.error().message);
      }
      if (!handlers.record(*message, received.fds)) {
        close_fds(received.fds);
        return not_believed("");
      }
    }
  }

  // Garbage on the socket: nothing more it says is believed, so a STARTED
  // among what is no longer read may have let a child run.
  void not_believed(const std::string& what) {
    if (!what.empty()) {
      log::error("hook zygote protocol error", {{"pid", pid}, {"error", what}});
      give_up("protocol error: " + what);
    } else {
      give_up("protocol error");
    }
    stop_reading(false);
  }

  void give_up(std::string why) {
    if (reason.empty()) reason = std::move(why);
    forced = true;
    process.cancel();
  }

  void on_socket_end(const std::string& error) {
    if (!error.empty()) {
      if (reason.empty()) reason = error;
      forced = true;
    }
    stop_reading(true);
    // It should be exiting; if it is not, it is ended.
    if (!process_gone) arm_end_timer(kKillGrace, "did not exit after closing its socket");
    finish();
  }

  void stop_reading(bool drained) {
    if (socket_done) return;
    socket_done = true;
    boost::system::error_code ignored;
    socket.cancel(ignored);
    ::shutdown(socket.native_handle(), SHUT_RDWR);
    if (handlers.closed) handlers.closed(drained, reason_text());
  }

  void on_process_exit(ProcessResult r) {
    process_gone = true;
    exit_text = describe_exit(r);
    output_text = valid_utf8(r.output.substr(0, kOutputInReason));
    if (socket_done) return finish();
    // Records it sent before exiting are still to be read; give them a moment.
    arm_end_timer(kDrainTimeout, "");
  }

  void arm_end_timer(std::chrono::milliseconds after, std::string why) {
    end_timer.expires_after(after);
    end_timer.async_wait([self = shared_from_this(), why](boost::system::error_code ec) {
      if (ec) return;
      if (!self->process_gone) return self->give_up(why);
      self->stop_reading(false);
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
    deadline.cancel();
    end_timer.cancel();
    std::string why = reason_text();
    if (!output_text.empty()) why += "; output: " + output_text;
    if (handlers.ended) handlers.ended(forced, why);
    handlers = {};
  }

  asio::io_context& io;
  asio::strand<asio::io_context::executor_type> strand;
  asio::posix::stream_descriptor socket;
  asio::steady_timer deadline, end_timer;
  Handlers handlers;
  ChildProcess process;
  int pid = 0;  // set before any handler runs
  std::vector<char> buffer;
  bool process_gone = false, socket_done = false, finished = false, forced = false;
  std::string reason, exit_text, output_text;
};

std::shared_ptr<ZygoteProcess> ZygoteProcess::start(asio::io_context& io, ProcessOptions options,
                                                    const std::vector<std::string>& records,
                                                    Handlers handlers) {
  options.kill_grace = kKillGrace;
  auto state = std::make_shared<State>(io, std::move(handlers));
  state->start(std::move(options), records);
  return std::shared_ptr<ZygoteProcess>(new ZygoteProcess(state));
}

ZygoteProcess::~ZygoteProcess() {
  give_up("stopped by hookd");
}

int ZygoteProcess::pid() const {
  return state_->pid;
}

int ZygoteProcess::socket() const {
  return state_->socket.native_handle();
}

void ZygoteProcess::set_deadline(std::chrono::milliseconds after, std::function<void()> expired) {
  state_->post([after, expired = std::move(expired)](State& state) {
    state.deadline.expires_after(after);
    state.deadline.async_wait(
        [expired, keep = state.shared_from_this()](boost::system::error_code ec) {
          if (!ec) expired();
        });
  });
}

void ZygoteProcess::cancel_deadline() {
  state_->post([](State& state) { state.deadline.cancel(); });
}

void ZygoteProcess::end_writing() {
  ::shutdown(socket(), SHUT_WR);
  state_->post([](State& state) {
    if (!state.finished) state.arm_end_timer(kKillGrace, "did not exit when retired");
  });
}

void ZygoteProcess::give_up(std::string why) {
  state_->post([why = std::move(why)](State& state) mutable {
    if (!state.finished) state.give_up(std::move(why));
  });
}

}  // namespace hookd
