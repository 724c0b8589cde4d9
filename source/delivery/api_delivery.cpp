#include "hookd/delivery/api_delivery.h"

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <map>
#include <mutex>
#include <set>

#include "hookd/core/log.h"
#include "hookd/delivery/blocking_io_thread.h"
#include "hookd/delivery/endpoint_stats.h"
#include "hookd/delivery/endpoint_worker.h"
#include "hookd/delivery/journal_wakeup.h"
#include "hookd/journal/journal.h"
#include "hookd/journal/shared_dead_letters.h"

namespace hookd {

namespace {

namespace fs = std::filesystem;

std::string consumer_of(const std::string& id) {
  return kApiConsumerPrefix + id;
}

// The files a worker keeps for endpoint `id` (endpoint_worker.h).
std::vector<fs::path> files_of(const fs::path& dir, const std::string& id) {
  return {dir / (id + ".dead-letters.jsonl"), dir / (id + ".state.json")};
}

// The endpoint ids that have files in `dir`.
std::set<std::string> ids_with_files(const fs::path& dir) {
  std::set<std::string> ids;
  std::error_code ec;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.rfind("ep_", 0) == 0) ids.insert(name.substr(0, name.find('.')));
  }
  return ids;
}

}  // namespace

struct ApiDelivery::Impl : std::enable_shared_from_this<ApiDelivery::Impl> {
  enum class State { starting, running, stopping, failed };
  struct Slot {
    std::shared_ptr<EndpointWorker> worker;
    std::string url;  // the URL the worker was made for
    State state = State::starting;
  };

  Impl(boost::asio::io_context& io_context, Journal& j, ApiDeliveryOptions opts)
      : io(io_context), journal(j), options(std::move(opts)) {
    context.io = &io;
    context.journal = &journal;
    context.files = files;
    context.last_seq = last_seq;
    context.dir = options.dir;
    context.retry =
        RetryPolicy(options.retry_schedule, options.jitter, options.min_backoff_throttled);
    context.window = options.window;
    context.user_agent =
        options.user_agent.empty() ? std::string("hookd/") + HOOKD_VERSION : options.user_agent;
    context.consumer_prefix = kApiConsumerPrefix;
    context.on_attempt = options.on_attempt;
    context.shared_dead_letters = options.shared_dead_letters;
    context.max_attempts_shown = options.max_attempts_shown;
  }

  boost::asio::io_context& io;
  Journal& journal;
  const ApiDeliveryOptions options;
  std::shared_ptr<BlockingIoThread> files = std::make_shared<BlockingIoThread>();
  std::shared_ptr<std::atomic<std::uint64_t>> last_seq =
      std::make_shared<std::atomic<std::uint64_t>>(0);
  EndpointWorkerContext context;
  std::shared_ptr<JournalWakeup> wakeup;

  // What the API has, and the consumers registered for it: any thread.
  mutable std::mutex mutex;
  std::map<std::string, std::shared_ptr<SvixEndpointLink>> desired;
  std::set<std::string> registered;
  // The running workers, for status_json from any reactor.
  mutable std::mutex running_mutex;
  std::map<std::string, std::shared_ptr<EndpointWorker>> running;

  // On io only.
  std::map<std::string, Slot> slots;
  bool stopping = false;

  EndpointSpec spec_for(const std::string& id, const std::shared_ptr<SvixEndpointLink>& link) {
    EndpointSpec spec;
    spec.name = id;
    spec.url = link->get()->url;
    spec.ca = options.ca_file;
    spec.timeout = options.timeout;
    spec.connections = options.connections;
    spec.batch = 1;
    spec.svix = link;
    return spec;
  }

  std::map<std::string, std::shared_ptr<SvixEndpointLink>> desired_now() const {
    std::lock_guard lock(mutex);
    return desired;
  }

  void set_running(const std::string& id, std::shared_ptr<EndpointWorker> worker) {
    std::lock_guard lock(running_mutex);
    if (worker) {
      running[id] = std::move(worker);
    } else {
      running.erase(id);
    }
  }

  // Takes the new set: live settings swapped at once, new consumers
  // registered before returning; the workers follow on io.
  void update(std::vector<SvixEndpointSettings> endpoints) {
    std::vector<std::string> fresh;
    {
      std::lock_guard lock(mutex);
      std::map<std::string, std::shared_ptr<SvixEndpointLink>> next;
      std::set<std::string> kept;
      for (const SvixEndpointSettings& settings : endpoints)
        kept.insert(settings.id);
      // A deleted endpoint sends nothing from now on; its worker stops on io.
      for (auto& [id, link] : desired) {
        if (kept.count(id)) continue;
        SvixEndpointSettings gone = *link->get();
        gone.disabled = true;
        link->set(std::move(gone));
      }
      for (SvixEndpointSettings& settings : endpoints) {
        std::string id = settings.id;
        auto it = desired.find(id);
        if (it != desired.end()) {
          it->second->set(std::move(settings));
          next.emplace(id, it->second);
        } else {
          next.emplace(id, std::make_shared<SvixEndpointLink>(std::move(settings)));
          if (!registered.count(id)) fresh.push_back(id);
        }
      }
      desired = std::move(next);
    }
    for (const std::string& id : fresh) {
      journal.register_consumer(consumer_of(id));
      std::lock_guard lock(mutex);
      registered.insert(id);
    }
    std::weak_ptr<Impl> weak = weak_from_this();
    boost::asio::post(io, [weak] {
      if (auto self = weak.lock()) self->reconcile();
    });
  }

  // Brings the workers in line with `desired`; on io. Slots starting or
  // stopping are left alone: they call reconcile again when done.
  void reconcile() {
    if (stopping) return;
    const auto want = desired_now();
    std::vector<std::pair<std::string, bool>> retiring;  // (id, deleted)
    for (auto& [id, slot] : slots) {
      if (slot.state == State::starting || slot.state == State::stopping) continue;
      auto it = want.find(id);
      if (it == want.end()) {
        retiring.emplace_back(id, true);
      } else if (it->second->get()->url != slot.url) {
        retiring.emplace_back(id, false);
      }
    }
    for (const auto& [id, deleted] : retiring)
      retire(id, slots.at(id), deleted);
    for (const auto& [id, link] : want) {
      if (!slots.count(id)) launch(id, link);
    }
    forget_orphans(want);
    wake_all();
  }

  // Starts a worker on the file thread (start() loads files).
  void launch(const std::string& id, const std::shared_ptr<SvixEndpointLink>& link) {
    auto worker = EndpointWorker::create(context, spec_for(id, link));
    slots[id] = Slot{worker, link->get()->url, State::starting};
    std::weak_ptr<Impl> weak = weak_from_this();
    boost::asio::io_context* ctx = &io;
    files->post([weak, ctx, id, worker] {
      auto status = std::make_shared<Status>(worker->start());
      boost::asio::post(*ctx, [weak, id, worker, status] {
        if (auto self = weak.lock()) self->started(id, worker, *status);
      });
    });
  }

  void started(const std::string& id, const std::shared_ptr<EndpointWorker>& worker,
               const Status& status) {
    auto it = slots.find(id);
    if (it == slots.end() || it->second.worker != worker) return;
    if (!status) {
      log::error("svix delivery: endpoint has no worker",
                 {{"endpoint", id}, {"error", status.error().message}});
      it->second.state = State::failed;
    } else if (stopping) {
      worker->stop([] {});
      return;
    } else {
      it->second.state = State::running;
      set_running(id, worker);
    }
    reconcile();
  }

  // Stops a worker: for good (`deleted`: consumer, files and series go) or
  // to start it again with a new URL.
  void retire(const std::string& id, Slot& slot, bool deleted) {
    const bool was_running = slot.state == State::running;
    slot.state = State::stopping;
    set_running(id, nullptr);
    std::weak_ptr<Impl> weak = weak_from_this();
    boost::asio::io_context* ctx = &io;
    // Always later, on io: stop() may call back before it returns.
    auto after = [weak, ctx, id, deleted] {
      boost::asio::post(*ctx, [weak, id, deleted] {
        auto self = weak.lock();
        if (!self) return;
        self->slots.erase(id);
        if (deleted) self->forget(id);
        self->reconcile();
      });
    };
    if (!was_running) return after();
    log::info(deleted ? "svix delivery: endpoint deleted" : "svix delivery: endpoint URL changed",
              {{"endpoint", id}});
    slot.worker->stop(after);
  }

  // A deleted endpoint's consumer (and with it its backlog), files and
  // scrape-time series. The cursor was committed by the worker's stop.
  void forget(const std::string& id) {
    {
      std::lock_guard lock(mutex);
      registered.erase(id);
    }
    remove_endpoint_series(id);
    if (options.shared_dead_letters) options.shared_dead_letters->forget(consumer_of(id));
    Journal* j = &journal;
    files->post([j, id, paths = files_of(options.dir, id)] {
      j->unregister_consumer(consumer_of(id));
      for (const fs::path& path : paths) {
        std::error_code ec;
        fs::remove(path, ec);
      }
    });
  }

  // Consumers registered for endpoints deleted before a worker was made.
  void forget_orphans(const std::map<std::string, std::shared_ptr<SvixEndpointLink>>& want) {
    std::vector<std::string> orphans;
    {
      std::lock_guard lock(mutex);
      for (const std::string& id : registered) {
        if (!want.count(id) && !slots.count(id)) orphans.push_back(id);
      }
    }
    for (const std::string& id : orphans)
      forget(id);
  }

  void wake_all() {
    if (stopping) return;
    for (auto& [id, slot] : slots) {
      if (slot.state == State::running) slot.worker->wake();
    }
  }

  std::shared_ptr<EndpointWorker> running_worker(const std::string& id) const {
    std::lock_guard lock(running_mutex);
    auto it = running.find(id);
    return it == running.end() ? nullptr : it->second;
  }

  bool disabled(const std::string& id) const {
    std::lock_guard lock(mutex);
    auto it = desired.find(id);
    return it == desired.end() || it->second->get()->disabled;
  }

  Status start(std::vector<SvixEndpointSettings> endpoints) {
    std::error_code ec;
    fs::create_directories(options.dir, ec);
    if (ec) return make_error("svix delivery dir " + options.dir.string() + ": " + ec.message());
    {
      std::lock_guard lock(mutex);
      for (SvixEndpointSettings& settings : endpoints) {
        std::string id = settings.id;
        desired.emplace(id, std::make_shared<SvixEndpointLink>(std::move(settings)));
        registered.insert(id);
      }
    }
    for (const auto& [id, link] : desired_now()) {
      auto worker = EndpointWorker::create(context, spec_for(id, link));
      Slot slot{worker, link->get()->url, State::running};
      if (Status st = worker->start(); !st) {
        log::error("svix delivery: endpoint has no worker",
                   {{"endpoint", id}, {"error", st.error().message}});
        slot.state = State::failed;
      } else {
        set_running(id, worker);
      }
      slots.emplace(id, std::move(slot));
    }
    // Endpoints deleted while hookd was down (or before their files went).
    for (const std::string& id : ids_with_files(options.dir)) {
      if (slots.count(id)) continue;
      journal.unregister_consumer(consumer_of(id));
      for (const fs::path& path : files_of(options.dir, id))
        fs::remove(path, ec);
    }
    std::weak_ptr<Impl> weak = weak_from_this();
    wakeup = JournalWakeup::create(io, journal, last_seq, [weak] {
      if (auto self = weak.lock()) self->wake_all();
    });
    boost::asio::post(io, [weak] {
      if (auto self = weak.lock()) self->wakeup->start();
    });
    log::info("svix delivery started", {{"endpoints", slots.size()}});
    return Ok{};
  }

  void stop(std::function<void()> done) {
    stopping = true;
    if (wakeup) wakeup->stop();
    std::vector<std::shared_ptr<EndpointWorker>> workers;
    for (auto& [id, slot] : slots) {
      if (slot.state == State::running) workers.push_back(slot.worker);
      if (slot.state == State::running) slot.state = State::stopping;
    }
    {
      std::lock_guard lock(running_mutex);
      running.clear();
    }
    if (workers.empty()) return done();
    auto left = std::make_shared<std::size_t>(workers.size());
    auto all_done = std::make_shared<std::function<void()>>(std::move(done));
    for (const auto& worker : workers) {
      worker->stop([left, all_done] {
        if (--*left == 0) (*all_done)();
      });
    }
  }

  // The state every node derives alike from the shared attempts.
  std::string shared_status_json(const std::string& id, const EndpointWorker& worker,
                                 const StoredEvent& stored) const {
    const std::size_t attempts_to_dead_letter = options.retry_schedule.size() + 1;
    std::vector<SharedAttempt> attempts = options.shared_attempts(
        stored.event.id, id, std::max(options.max_attempts_shown, attempts_to_dead_letter));
    DeliveryState state = DeliveryState::pending;
    std::size_t failed_scheduled = 0;
    for (const SharedAttempt& a : attempts) {
      if (a.success) state = DeliveryState::delivered;
      // A 410 disables the endpoint and is not counted against the schedule.
      if (!a.success && !a.manual && a.record.status != 410) ++failed_scheduled;
    }
    if (state != DeliveryState::delivered) {
      if (!worker.spec().accepts(stored.event)) {
        state = DeliveryState::filtered;
      } else if (failed_scheduled >= attempts_to_dead_letter) {
        state = DeliveryState::dead_letter;
      }
    }
    std::vector<AttemptRecord> shown;
    const std::size_t skip = attempts.size() > options.max_attempts_shown
                                 ? attempts.size() - options.max_attempts_shown
                                 : 0;
    for (std::size_t i = skip; i < attempts.size(); ++i)
      shown.push_back(std::move(attempts[i].record));
    return status_json_of(state, shown);
  }

  std::optional<std::string> status_json(const StoredEvent& stored) const {
    std::map<std::string, std::shared_ptr<EndpointWorker>> workers;
    {
      std::lock_guard lock(running_mutex);
      if (running.empty()) return std::nullopt;
      workers = running;
    }
    if (!stored.event.message) return std::nullopt;
    std::string out;
    for (const auto& [id, worker] : workers) {
      const auto& link = worker->spec().svix;
      if (!link || link->get()->app_id != stored.event.message->app_id) continue;
      out += out.empty() ? "{" : ",";
      out += boost::json::serialize(boost::json::string(id));
      out += ':';
      out += options.shared_attempts ? shared_status_json(id, *worker, stored)
                                     : worker->status_json(stored);
    }
    if (out.empty()) return std::nullopt;
    return out + "}";
  }
};

ApiDelivery::ApiDelivery(boost::asio::io_context& io, Journal& journal, ApiDeliveryOptions options)
    : impl_(std::make_shared<Impl>(io, journal, std::move(options))) {}

ApiDelivery::~ApiDelivery() {
  impl_->files->stop();
}

Status ApiDelivery::start(std::vector<SvixEndpointSettings> endpoints) {
  return impl_->start(std::move(endpoints));
}

void ApiDelivery::update(std::vector<SvixEndpointSettings> endpoints) {
  impl_->update(std::move(endpoints));
}

void ApiDelivery::resend(const std::string& endpoint_id, const std::string& message_id) {
  std::shared_ptr<Impl> self = impl_;
  if (self->disabled(endpoint_id)) return;
  boost::asio::post(self->io, [self, endpoint_id, message_id] {
    auto worker = self->running_worker(endpoint_id);
    if (!worker || self->stopping) return;
    std::optional<StoredEvent> stored = self->journal.lookup(message_id);
    if (!stored) {
      log::warn("svix delivery: resend of a message no longer in the journal",
                {{"endpoint", endpoint_id}, {"message", message_id}});
      return;
    }
    worker->send_manual(*stored);
  });
}

void ApiDelivery::recover(const std::string& endpoint_id, std::int64_t since_ms,
                          std::optional<std::int64_t> until_ms) {
  std::shared_ptr<Impl> self = impl_;
  if (self->disabled(endpoint_id)) return;
  boost::asio::post(self->io, [self, endpoint_id, since_ms, until_ms] {
    auto worker = self->running_worker(endpoint_id);
    if (!worker || self->stopping) return;
    worker->recover_dead_letters(since_ms, until_ms, [endpoint_id](Result<std::size_t> n) {
      if (!n) {
        log::warn("svix delivery: recovering failed messages failed",
                  {{"endpoint", endpoint_id}, {"error", n.error().message}});
        return;
      }
      log::info("svix delivery: recovering failed messages",
                {{"endpoint", endpoint_id}, {"messages", *n}});
    });
  });
}

void ApiDelivery::stop(std::function<void()> done) {
  std::shared_ptr<Impl> self = impl_;
  boost::asio::post(self->io,
                    [self, done = std::move(done)]() mutable { self->stop(std::move(done)); });
}

std::optional<std::string> ApiDelivery::status_json(const StoredEvent& stored) const {
  return impl_->status_json(stored);
}

}  // namespace hookd
