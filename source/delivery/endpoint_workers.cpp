#include "hookd/delivery/endpoint_workers.h"

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "hookd/core/log.h"
#include "hookd/delivery/blocking_io_thread.h"
#include "hookd/delivery/endpoint_list.h"
#include "hookd/journal/journal.h"

namespace hookd {

EndpointWorkers::EndpointWorkers(const EndpointWorkerContext& context) : context_(context) {}

void EndpointWorkers::add(EndpointSpec spec) {
  std::lock_guard<std::mutex> lock(mutex_);
  workers_.push_back(EndpointWorker::create(context_, std::move(spec)));
}

Status EndpointWorkers::start_all() {
  for (const auto& w : list()) {
    if (Status st = w->start(); !st) return st;
  }
  return Ok{};
}

std::vector<std::shared_ptr<EndpointWorker>> EndpointWorkers::list() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return workers_;
}

std::shared_ptr<EndpointWorker> EndpointWorkers::find(std::string_view name) const {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& w : workers_) {
    if (w->spec().name == name) return w;
  }
  return nullptr;
}

void EndpointWorkers::stop_all(std::function<void()> done) {
  stopping_ = true;
  const auto all = list();
  if (all.empty()) return done();
  auto left = std::make_shared<std::size_t>(all.size());
  auto all_done = std::make_shared<std::function<void()>>(std::move(done));
  for (const auto& w : all) {
    w->stop([left, all_done] {
      if (--*left == 0) (*all_done)();
    });
  }
}

void EndpointWorkers::reopen_all() {
  if (stopping_) return;
  for (const auto& w : list())
    w->reopen();
}

void EndpointWorkers::apply(const std::vector<EndpointSpec>& wanted) {
  if (stopping_) return;
  std::vector<EndpointSpec> running;
  for (const auto& w : list())
    running.push_back(w->spec());
  const EndpointChanges changes = endpoint_changes(running, wanted);
  if (changes.empty()) {
    log::info("delivery: endpoints unchanged on reload", {{"endpoints", running.size()}});
    return;
  }
  log_changes(changes.added.size(), changes.removed.size(), changes.changed.size());
  for (const auto& name : changes.removed)
    remove(name, true, [] {});
  // A changed endpoint keeps its name, so its cursor and dead letters: the
  // new worker starts once the old one has committed and flushed them.
  std::weak_ptr<EndpointWorkers> weak = weak_from_this();
  for (const auto& spec : changes.changed) {
    remove(spec.name, false, [weak, spec] {
      if (auto self = weak.lock()) self->start_at_runtime(spec);
    });
  }
  for (const auto& spec : changes.added)
    start_at_runtime(spec);
}

void EndpointWorkers::remove(const std::string& name, bool forget_cursor,
                             std::function<void()> then) {
  std::shared_ptr<EndpointWorker> worker;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = std::find_if(workers_.begin(), workers_.end(),
                           [&](const auto& w) { return w->spec().name == name; });
    if (it == workers_.end()) return then();
    worker = *it;
    workers_.erase(it);
  }
  Journal* journal = context_.journal;
  worker->stop([worker, journal, name, forget_cursor, then = std::move(then)] {
    if (forget_cursor) {
      // Gone for good: the journal no longer keeps segments for it. Its
      // dead-letter file stays, for an operator to look at.
      journal->unregister_consumer("endpoint:" + name);
      log::info("delivery: endpoint removed", {{"endpoint", name}});
    }
    then();
  });
}

void EndpointWorkers::start_at_runtime(EndpointSpec spec) {
  if (stopping_) return;
  auto worker = EndpointWorker::create(context_, std::move(spec));
  std::weak_ptr<EndpointWorkers> weak = weak_from_this();
  boost::asio::io_context* io = context_.io;
  // start() loads state and dead letters and opens files: off the reactor.
  context_.files->post([weak, worker, io] {
    Status started = worker->start();
    boost::asio::post(*io, [weak, worker, started] {
      auto self = weak.lock();
      if (!self) return;
      if (!started) {
        log::error("delivery: endpoint not started",
                   {{"endpoint", worker->spec().name}, {"error", started.error().message}});
        return;
      }
      // Stopping meanwhile: it never sent, so its cursor has nothing to commit.
      if (self->stopping_) return;
      {
        std::lock_guard<std::mutex> lock(self->mutex_);
        self->workers_.push_back(worker);
      }
      worker->wake();
    });
  });
}

void EndpointWorkers::log_changes(std::size_t added, std::size_t removed,
                                  std::size_t changed) const {
  log::info("delivery: endpoints reloaded",
            {{"added", added}, {"removed", removed}, {"changed", changed}});
}

}  // namespace hookd
