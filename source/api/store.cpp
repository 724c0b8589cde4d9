#include "hookd/api/store.h"

#include <condition_variable>
#include <deque>
#include <set>
#include <thread>

#include "hookd/api/store_codec.h"
#include "hookd/core/durable_file.h"
#include "hookd/core/log.h"

namespace hookd::api {
namespace {

namespace fs = std::filesystem;

constexpr const char* kAppsDir = "apps";
constexpr const char* kEndpointsDir = "endpoints";
constexpr const char* kEventTypesDir = "event-types";

Status apply_op(const FileOp& op) {
  if (op.kind == FileOp::Kind::write) return write_atomic(op.path, op.content);
  std::error_code ec;
  fs::remove(op.path, ec);
  if (ec) return make_error(op.path.string() + ": " + ec.message());
  if (!fsync_dir(op.path.parent_path())) {
    return make_error(op.path.parent_path().string() + ": directory fsync failed");
  }
  return Ok{};
}

// The *.json files of a directory, oldest name first.
Result<std::vector<fs::path>> json_files(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return make_error(dir.string() + ": " + ec.message());
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    if (it->path().extension() == ".json") out.push_back(it->path());
  }
  if (ec) return make_error(dir.string() + ": " + ec.message());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------
// Model

const Application* Model::find_app(std::string_view id_or_uid) const {
  return const_cast<Model*>(this)->find_app(id_or_uid);
}

Application* Model::find_app(std::string_view id_or_uid) {
  std::string key(id_or_uid);
  if (auto it = apps.find(key); it != apps.end()) return &it->second;
  if (auto uid = app_id_by_uid.find(key); uid != app_id_by_uid.end()) {
    if (auto it = apps.find(uid->second); it != apps.end()) return &it->second;
  }
  return nullptr;
}

Endpoint* Model::find_endpoint(const std::string& app_id, std::string_view id_or_uid) {
  auto app = endpoints.find(app_id);
  if (app == endpoints.end()) return nullptr;
  std::string key(id_or_uid);
  if (auto it = app->second.find(key); it != app->second.end()) return &it->second;
  for (auto& [id, endpoint] : app->second) {
    if (!endpoint.uid.empty() && endpoint.uid == key) return &endpoint;
  }
  return nullptr;
}

std::size_t Model::endpoint_count(const std::string& app_id) const {
  auto app = endpoints.find(app_id);
  return app == endpoints.end() ? 0 : app->second.size();
}

// ---------------------------------------------------------------------------
// Writer: one thread applying queued file operations in order.

struct ApiStore::Writer {
  struct Job {
    std::vector<FileOp> ops;
    std::function<void(Status)> done;
  };

  Writer() : thread([this] { run(); }) {}

  ~Writer() {
    {
      std::lock_guard lock(mutex);
      stopping = true;
    }
    wake.notify_one();
    thread.join();
  }

  void submit(Job job) {
    {
      std::lock_guard lock(mutex);
      jobs.push_back(std::move(job));
    }
    wake.notify_one();
  }

  void run() {
    std::unique_lock lock(mutex);
    while (true) {
      wake.wait(lock, [this] { return stopping || !jobs.empty(); });
      if (jobs.empty()) return;  // stopping, and everything written
      Job job = std::move(jobs.front());
      jobs.pop_front();
      lock.unlock();
      Status status = Ok{};
      for (const FileOp& op : job.ops) {
        status = apply_op(op);
        if (!status) break;
      }
      job.done(std::move(status));
      lock.lock();
    }
  }

  std::mutex mutex;
  std::condition_variable wake;
  std::deque<Job> jobs;
  bool stopping = false;
  std::thread thread;  // last: starts after the fields above exist
};

// ---------------------------------------------------------------------------
// ApiStore

ApiStore::ApiStore(fs::path dir, Limits limits) : dir_(std::move(dir)), limits_(limits) {}

ApiStore::~ApiStore() {
  writer_.reset();  // drains the queue first
}

Result<std::unique_ptr<ApiStore>> ApiStore::open(fs::path dir, Limits limits) {
  std::unique_ptr<ApiStore> store(new ApiStore(std::move(dir), limits));
  if (auto loaded = store->load(); !loaded) return loaded.error();
  store->endpoints_ = store->snapshot_locked();
  store->writer_ = std::make_unique<Writer>();
  return store;
}

Status ApiStore::load() {
  auto read_all = [](const fs::path& dir, auto decode, auto keep) -> Status {
    auto files = json_files(dir);
    if (!files) return files.error();
    for (const fs::path& file : *files) {
      auto text = read_whole_file(file);
      auto object = text ? decode(*text) : std::nullopt;
      if (!object) return make_error(file.string() + ": unreadable API object");
      keep(std::move(*object), file);
    }
    return Ok{};
  };

  if (auto s = read_all(dir_ / kAppsDir, decode_application,
                        [&](Application app, const fs::path&) {
                          if (!app.uid.empty()) model_.app_id_by_uid[app.uid] = app.id;
                          std::string id = app.id;
                          model_.apps.emplace(std::move(id), std::move(app));
                        });
      !s) {
    return s;
  }
  if (auto s = read_all(dir_ / kEventTypesDir, decode_event_type,
                        [&](EventType type, const fs::path&) {
                          std::string name = type.name;
                          model_.event_types.emplace(std::move(name), std::move(type));
                        });
      !s) {
    return s;
  }
  std::vector<fs::path> orphans;
  if (auto s = read_all(dir_ / kEndpointsDir, decode_endpoint,
                        [&](Endpoint endpoint, const fs::path& file) {
                          // An application deleted just before a crash leaves
                          // its endpoint files behind: they go now.
                          if (!model_.apps.count(endpoint.app_id)) {
                            orphans.push_back(file);
                            return;
                          }
                          std::string app = endpoint.app_id, id = endpoint.id;
                          model_.endpoints[app].emplace(std::move(id), std::move(endpoint));
                        });
      !s) {
    return s;
  }
  for (const fs::path& orphan : orphans) {
    if (auto removed = apply_op(FileOp{FileOp::Kind::remove, orphan, {}}); !removed) {
      log::warn("api: cannot remove orphaned endpoint file", {{"error", removed.error().message}});
    }
  }
  log::info("api store loaded", {{"applications", model_.apps.size()},
                                 {"event_types", model_.event_types.size()},
                                 {"orphans_removed", orphans.size()}});
  return Ok{};
}

FileOp ApiStore::save(const Application& app) const {
  return FileOp{FileOp::Kind::write, dir_ / kAppsDir / (app.id + ".json"), encode(app)};
}

FileOp ApiStore::save(const EventType& type) const {
  return FileOp{FileOp::Kind::write, dir_ / kEventTypesDir / (type.name + ".json"), encode(type)};
}

FileOp ApiStore::save(const Endpoint& endpoint) const {
  return FileOp{FileOp::Kind::write, dir_ / kEndpointsDir / (endpoint.id + ".json"),
                encode(endpoint)};
}

FileOp ApiStore::remove_application_file(const std::string& id) const {
  return FileOp{FileOp::Kind::remove, dir_ / kAppsDir / (id + ".json"), {}};
}

FileOp ApiStore::remove_endpoint_file(const std::string& id) const {
  return FileOp{FileOp::Kind::remove, dir_ / kEndpointsDir / (id + ".json"), {}};
}

void ApiStore::change(const std::function<Change(Model&)>& apply, Done done) {
  Change change;
  {
    std::lock_guard lock(mutex_);
    change = apply(model_);
    if (change.ops.empty()) {
      if (change.endpoints_changed) endpoints_ = snapshot_locked();
    }
  }
  if (change.ops.empty()) {
    if (change.endpoints_changed) publish_endpoints();
    return done(change.status, std::move(change.body));
  }
  auto shared = std::make_shared<Change>(std::move(change));
  std::vector<FileOp> ops = std::move(shared->ops);
  writer_->submit(Writer::Job{
      std::move(ops), [this, shared, done = std::move(done)](Status status) {
        if (!status) {
          log::error("api store write failed", {{"error", status.error().message}});
          {
            std::lock_guard lock(mutex_);
            if (shared->undo) shared->undo(model_);
            if (shared->endpoints_changed) endpoints_ = snapshot_locked();
          }
          return done(500, R"({"code":"server_error","detail":"could not store the change"})");
        }
        if (shared->endpoints_changed) {
          {
            std::lock_guard lock(mutex_);
            endpoints_ = snapshot_locked();
          }
          publish_endpoints();
        }
        done(shared->status, std::move(shared->body));
      }});
}

std::shared_ptr<const EndpointSet> ApiStore::snapshot_locked() const {
  auto set = std::make_shared<EndpointSet>();
  for (const auto& [app_id, endpoints] : model_.endpoints) {
    auto& list = set->by_app[app_id];
    for (const auto& [id, endpoint] : endpoints)
      list.push_back(endpoint);
  }
  return set;
}

std::shared_ptr<const EndpointSet> ApiStore::endpoints() const {
  std::lock_guard lock(mutex_);
  return endpoints_;
}

void ApiStore::on_endpoints_changed(
    std::function<void(std::shared_ptr<const EndpointSet>)> listener) {
  std::lock_guard lock(mutex_);
  listeners_.push_back(std::move(listener));
}

void ApiStore::publish_endpoints() {
  std::shared_ptr<const EndpointSet> set;
  std::vector<std::function<void(std::shared_ptr<const EndpointSet>)>> listeners;
  {
    std::lock_guard lock(mutex_);
    set = endpoints_;
    listeners = listeners_;
  }
  for (auto& listener : listeners)
    listener(set);
}

}  // namespace hookd::api
