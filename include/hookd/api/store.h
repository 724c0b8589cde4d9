// ApiStore: the applications, event types and endpoints of the Svix API.
//
// The model lives in memory under one mutex; every change is written
// durably before its caller is answered: one small JSON file per object
// under <data-dir>/api/ (written to a temporary file, fsynced, renamed,
// directory fsynced; mode 0600, as files hold endpoint secrets), on the
// store's own writer thread, so no reactor thread ever waits on fsync.
// The journal is not used for these: its segments are deleted once every
// consumer has passed them, while these objects live until deleted.
//
// A change is visible to readers as soon as it is applied in memory, a few
// milliseconds before it is durable; if the write fails it is undone and
// the caller gets 500. Thread-safe.
//
// With an ObjectBacking (Redis, --queue) the objects are kept there instead
// of in files, and a refresh thread polls the backing's version: when
// another node changed an object, the model is loaded again and the
// endpoint listeners told, so every node serves the same objects.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "hookd/api/model.h"
#include "hookd/api/object_backing.h"
#include "hookd/core/result.h"

namespace hookd::api {

// Everything the store holds. Only touched under the store's lock (through
// ApiStore::read and ApiStore::change).
struct Model {
  std::map<std::string, Application> apps;                           // by id
  std::unordered_map<std::string, std::string> app_id_by_uid;        // uid -> id
  std::map<std::string, EventType> event_types;                      // by name
  std::map<std::string, std::map<std::string, Endpoint>> endpoints;  // app id -> id -> endpoint

  const Application* find_app(std::string_view id_or_uid) const;
  Application* find_app(std::string_view id_or_uid);
  // The endpoint of `app_id` with this id or uid.
  Endpoint* find_endpoint(const std::string& app_id, std::string_view id_or_uid);
  const Endpoint* find_endpoint(const std::string& app_id, std::string_view id_or_uid) const;
  std::size_t endpoint_count(const std::string& app_id) const;
};

// One file written or removed as part of a change.
struct FileOp {
  enum class Kind { write, remove };
  Kind kind = Kind::write;
  std::filesystem::path path;
  std::string content;
};

// What a change function decided: the answer, the files that make it
// durable, and how to take it back if writing them fails.
struct Change {
  int status = 200;
  std::string body;  // JSON; empty for 204
  std::vector<FileOp> ops;
  std::function<void(Model&)> undo;
  bool endpoints_changed = false;
};

// Every endpoint of every application, as of one moment: what delivery reads.
struct EndpointSet {
  std::map<std::string, std::vector<Endpoint>> by_app;  // app id -> its endpoints
};

class ApiStore {
 public:
  // Loads <dir>/{apps,endpoints,event-types}/*.json (blocking: start-up
  // only). An unreadable object file is an error, not silently dropped.
  // With `backing`, the objects are loaded from it instead, written to it,
  // and other nodes' changes are picked up every `refresh_every`.
  static Result<std::unique_ptr<ApiStore>> open(
      std::filesystem::path dir, Limits limits, std::shared_ptr<ObjectBacking> backing = nullptr,
      std::chrono::milliseconds refresh_every = std::chrono::milliseconds(500));
  ~ApiStore();  // finishes queued writes

  ApiStore(const ApiStore&) = delete;
  ApiStore& operator=(const ApiStore&) = delete;

  const Limits& limits() const { return limits_; }

  // The files that hold each object.
  FileOp save(const Application& app) const;
  FileOp save(const EventType& type) const;
  FileOp save(const Endpoint& endpoint) const;
  FileOp remove_application_file(const std::string& id) const;
  FileOp remove_endpoint_file(const std::string& id) const;

  // Runs `read` under the lock; it must not block.
  template <typename F>
  auto read(F&& read) const {
    std::lock_guard lock(mutex_);
    return read(static_cast<const Model&>(model_));
  }

  // The id of the application with this id or uid, "" when there is none:
  // read() with Model::find_app, remembered per thread until the model next
  // changes (every message create asks it, mostly for the same
  // application).
  std::string app_id_of(std::string_view id_or_uid) const;

  // Runs `apply` under the lock. When it returns file ops they are written
  // on the writer thread and `done` runs there once they are durable (or
  // with 500 after undo when they fail); otherwise `done` runs at once, on
  // the caller's thread.
  using Done = std::function<void(int status, std::string body)>;
  void change(const std::function<Change(Model&)>& apply, Done done);

  // Delivery's view: replaced (never modified) after each endpoint change.
  std::shared_ptr<const EndpointSet> endpoints() const;
  // Called with the new set after every change to endpoints (or their
  // applications), on the writer thread once durable. Must not block.
  void on_endpoints_changed(std::function<void(std::shared_ptr<const EndpointSet>)> listener);

 private:
  struct Writer;
  ApiStore(std::filesystem::path dir, Limits limits, std::shared_ptr<ObjectBacking> backing);
  Status load();
  Status apply_ops(const std::vector<FileOp>& ops);
  void refresh_loop(std::chrono::milliseconds every);
  void refresh();
  std::shared_ptr<const EndpointSet> snapshot_locked() const;
  void publish_endpoints();
  void model_changed_locked() { generation_.fetch_add(1, std::memory_order_release); }

  const std::filesystem::path dir_;
  const Limits limits_;
  mutable std::mutex mutex_;
  // Moves on (under mutex_) after every change of model_; app_id_of's
  // per-thread answer holds while it stays. `instance_` tells stores apart
  // that share an address one after the other.
  std::atomic<std::uint64_t> generation_{0};
  const std::uint64_t instance_;
  Model model_;
  std::shared_ptr<const EndpointSet> endpoints_;  // under mutex_
  std::vector<std::function<void(std::shared_ptr<const EndpointSet>)>> listeners_;
  std::unique_ptr<Writer> writer_;

  // With a backing only.
  const std::shared_ptr<ObjectBacking> backing_;
  std::uint64_t seen_version_ = 0;   // refresh thread
  std::uint64_t local_changes_ = 0;  // under mutex_: changes made through this store
  std::size_t writes_pending_ = 0;   // under mutex_: submitted, not yet written
  std::mutex refresh_mutex_;
  std::condition_variable refresh_wake_;
  bool refresh_stopping_ = false;  // under refresh_mutex_
  std::thread refresh_thread_;
};

}  // namespace hookd::api
