#include "hookd/delivery/journal_wakeup.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "hookd/journal/journal.h"

namespace hookd {

namespace {
constexpr auto kTick = std::chrono::seconds(1);
}  // namespace

struct JournalWakeup::Timer {
  explicit Timer(boost::asio::io_context& io) : timer(io) {}
  boost::asio::steady_timer timer;
};

std::shared_ptr<JournalWakeup> JournalWakeup::create(
    boost::asio::io_context& io, Journal& journal,
    std::shared_ptr<std::atomic<std::uint64_t>> last_seq, std::function<void()> wake) {
  return std::shared_ptr<JournalWakeup>(
      new JournalWakeup(io, journal, std::move(last_seq), std::move(wake)));
}

JournalWakeup::JournalWakeup(boost::asio::io_context& io, Journal& journal,
                             std::shared_ptr<std::atomic<std::uint64_t>> last_seq,
                             std::function<void()> wake)
    : io_(io),
      journal_(journal),
      last_seq_(std::move(last_seq)),
      wake_(std::move(wake)),
      tick_(std::make_unique<Timer>(io)) {}

JournalWakeup::~JournalWakeup() = default;

void JournalWakeup::start() {
  last_seq_->store(journal_.stats().last_seq);
  std::weak_ptr<JournalWakeup> weak = weak_from_this();
  auto posted = posted_;
  auto last = last_seq_;
  boost::asio::io_context* io = &io_;
  // Journals cannot forget a listener: this one outlives us, holding only
  // what it needs and a weak pointer.
  journal_.on_durable([weak, posted, last, io](std::uint64_t seq) {
    std::uint64_t current = last->load();
    while (seq > current && !last->compare_exchange_weak(current, seq)) {
    }
    if (weak.expired() || posted->exchange(true)) return;
    boost::asio::post(*io, [weak, posted] {
      posted->store(false);
      if (auto self = weak.lock(); self && !self->stopped_) self->wake_();
    });
  });
  arm_tick();
  boost::asio::post(io_, [weak] {
    if (auto self = weak.lock(); self && !self->stopped_) self->wake_();
  });
}

void JournalWakeup::stop() {
  stopped_ = true;
  tick_->timer.cancel();
}

void JournalWakeup::arm_tick() {
  std::weak_ptr<JournalWakeup> weak = weak_from_this();
  tick_->timer.expires_after(kTick);
  tick_->timer.async_wait([weak](boost::system::error_code ec) {
    auto self = weak.lock();
    if (ec || !self || self->stopped_) return;
    std::uint64_t seq = self->journal_.stats().last_seq;
    if (seq > self->last_seq_->load()) self->last_seq_->store(seq);
    self->wake_();
    self->arm_tick();
  });
}

}  // namespace hookd
