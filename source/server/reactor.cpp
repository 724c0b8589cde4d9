#include "hookd/server/reactor.h"

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <thread>
#include <vector>

#include "hookd/core/log.h"
#include "hookd/core/metrics.h"

namespace hookd {

namespace asio = boost::asio;

struct Reactor::Impl {
  using Guard = asio::executor_work_guard<asio::io_context::executor_type>;
  std::vector<std::unique_ptr<asio::io_context>> contexts;
  std::vector<Guard> guards;
  std::atomic<bool> stopping{false};
};

Reactor::Reactor(std::size_t threads) : impl_(std::make_unique<Impl>()) {
  if (threads == 0) threads = 1;
  for (std::size_t i = 0; i < threads; ++i) {
    // Concurrency hint 1: each context is run by exactly one thread, so Asio
    // can skip its internal locking.
    impl_->contexts.push_back(std::make_unique<asio::io_context>(1));
    impl_->guards.push_back(asio::make_work_guard(*impl_->contexts.back()));
  }
}

Reactor::~Reactor() {
  stop();
  for (auto& c : impl_->contexts)
    c->stop();
}

std::size_t Reactor::size() const {
  return impl_->contexts.size();
}

asio::io_context& Reactor::context(std::size_t index) {
  return *impl_->contexts.at(index % impl_->contexts.size());
}

namespace {

// A handler that throws is a bug, but one connection's bug must not take the
// whole edge daemon down: log it and keep the reactor running.
void run_guarded(asio::io_context& io, std::size_t index) {
  for (;;) {
    try {
      io.run();
      return;
    } catch (const std::exception& e) {
      log::error("unhandled exception in a reactor handler",
                 {{"reactor", index}, {"error", e.what()}});
      metrics()
          .counter("hookd_reactor_handler_exceptions_total",
                   "Exceptions that escaped a handler (bugs), caught by the reactor")
          .inc();
    }
  }
}

}  // namespace

void Reactor::run(std::function<void()> on_signal) {
  auto& main = *impl_->contexts.front();
  asio::signal_set signals(main, SIGTERM, SIGINT);
  std::atomic<int> received{0};
  std::function<void(const boost::system::error_code&, int)> on_signal_handler;
  on_signal_handler = [&](const boost::system::error_code& ec, int signo) {
    if (ec) return;
    if (received.fetch_add(1) == 0) {
      log::info("signal received, draining", {{"signal", signo}});
      if (on_signal) on_signal();
      signals.async_wait(on_signal_handler);
    } else {
      log::warn("second signal, exiting now", {{"signal", signo}});
      std::_Exit(1);
    }
  };
  signals.async_wait(on_signal_handler);

  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < impl_->contexts.size(); ++i) {
    threads.emplace_back([this, i] { run_guarded(*impl_->contexts[i], i); });
  }
  run_guarded(main, 0);
  for (auto& t : threads)
    t.join();
}

void Reactor::stop() {
  if (impl_->stopping.exchange(true)) return;
  // Called once the drain is complete: whatever is still queued (timers of
  // idle retries, the signal wait) is abandoned on purpose.
  for (auto& c : impl_->contexts)
    c->stop();
}

}  // namespace hookd
