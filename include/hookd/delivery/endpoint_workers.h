// EndpointWorkers: the running endpoint workers of one Delivery, and their
// changes at runtime: a reload starts the endpoints it adds, stops the ones
// it removes (forgetting their journal cursor) and restarts the ones whose
// spec changed. Stopping a worker abandons its in-flight attempts without
// moving its cursor past them, so a restart sends them again: nothing in
// flight is dropped. The list is guarded by a mutex (routes and status
// reads come from any reactor); changes run on the io_context, the blocking
// part of starting a worker on the delivery's BlockingIoThread.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

#include "hookd/core/result.h"
#include "hookd/delivery/endpoint_spec.h"
#include "hookd/delivery/endpoint_worker.h"

namespace hookd {

class EndpointWorkers : public std::enable_shared_from_this<EndpointWorkers> {
 public:
  explicit EndpointWorkers(const EndpointWorkerContext& context);

  // Before start_all().
  void add(EndpointSpec spec);
  // Starts every worker added so far (blocking: before the reactors run).
  Status start_all();

  std::vector<std::shared_ptr<EndpointWorker>> list() const;
  std::shared_ptr<EndpointWorker> find(std::string_view name) const;

  // On the io_context. `done` runs once every worker has stopped and
  // committed its cursor; no change is applied afterwards.
  void stop_all(std::function<void()> done);
  // SIGHUP: every file endpoint opens its file again. On the io_context.
  void reopen_all();
  // Makes the running endpoints those of `wanted`. On the io_context.
  void apply(const std::vector<EndpointSpec>& wanted);

 private:
  void start_at_runtime(EndpointSpec spec);
  void remove(const std::string& name, bool forget_cursor, std::function<void()> then);
  void log_changes(std::size_t added, std::size_t removed, std::size_t changed) const;

  const EndpointWorkerContext context_;
  bool stopping_ = false;  // on the io_context
  mutable std::mutex mutex_;
  std::vector<std::shared_ptr<EndpointWorker>> workers_;
};

}  // namespace hookd
