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

struct NamedObject {
  std::string name;  // "<kind>/<id>.json"
  std::string text;
};

std::vector<NamedObject> take_objects(ObjectBacking::Snapshot& snapshot) {
  std::vector<NamedObject> objects;
  objects.reserve(snapshot.objects.size());
  for (auto& [name, text] : snapshot.objects)
    objects.push_back(NamedObject{std::move(name), std::move(text)});
  return objects;
}

// Applications first: an endpoint whose application is gone (deleted just
// before a crash) is an orphan, named in `orphans` to be removed.
Result<Model> build_model(const std::vector<NamedObject>& objects, const std::string& where,
                          std::vector<std::string>& orphans) {
  Model model;
  auto of_kind = [&](const char* kind, auto keep) -> Status {
    const std::string prefix = std::string(kind) + "/";
    for (const NamedObject& object : objects) {
      if (object.name.rfind(prefix, 0) != 0) continue;
      if (!keep(object)) return make_error(where + object.name + ": unreadable API object");
    }
    return Ok{};
  };
  Status apps = of_kind(kAppsDir, [&](const NamedObject& object) {
    auto app = decode_application(object.text);
    if (!app) return false;
    if (!app->uid.empty()) model.app_id_by_uid[app->uid] = app->id;
    std::string id = app->id;
    model.apps.emplace(std::move(id), std::move(*app));
    return true;
  });
  if (!apps) return apps.error();
  Status types = of_kind(kEventTypesDir, [&](const NamedObject& object) {
    auto type = decode_event_type(object.text);
    if (!type) return false;
    std::string name = type->name;
    model.event_types.emplace(std::move(name), std::move(*type));
    return true;
  });
  if (!types) return types.error();
  Status endpoints = of_kind(kEndpointsDir, [&](const NamedObject& object) {
    auto endpoint = decode_endpoint(object.text);
    if (!endpoint) return false;
    if (!model.apps.count(endpoint->app_id)) {
      orphans.push_back(object.name);
      return true;
    }
    std::string app = endpoint->app_id, id = endpoint->id;
    model.endpoints[app].emplace(std::move(id), std::move(*endpoint));
    return true;
  });
  if (!endpoints) return endpoints.error();
  return model;
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

const Endpoint* Model::find_endpoint(const std::string& app_id, std::string_view id_or_uid) const {
  return const_cast<Model*>(this)->find_endpoint(app_id, id_or_uid);
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

  explicit Writer(std::function<Status(const std::vector<FileOp>&)> apply)
      : apply(std::move(apply)), thread([this] { run(); }) {}

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
      job.done(apply(job.ops));
      lock.lock();
    }
  }

  std::function<Status(const std::vector<FileOp>&)> apply;
  std::mutex mutex;
  std::condition_variable wake;
  std::deque<Job> jobs;
  bool stopping = false;
  std::thread thread;  // last: starts after the fields above exist
};

// ---------------------------------------------------------------------------
// ApiStore

namespace {
std::atomic<std::uint64_t> store_instances{0};
}  // namespace

ApiStore::ApiStore(fs::path dir, Limits limits, std::shared_ptr<ObjectBacking> backing)
    : dir_(std::move(dir)),
      limits_(limits),
      instance_(++store_instances),
      backing_(std::move(backing)) {}

std::string ApiStore::app_id_of(std::string_view id_or_uid) const {
  struct Memo {
    std::uint64_t instance = 0;  // 0: none
    std::uint64_t generation = 0;
    std::string key;
    std::string app_id;  // "" for none
  };
  thread_local Memo memo;
  if (memo.instance == instance_ &&
      memo.generation == generation_.load(std::memory_order_acquire) && memo.key == id_or_uid) {
    return memo.app_id;
  }
  std::lock_guard lock(mutex_);
  const Application* app = model_.find_app(id_or_uid);
  memo.instance = instance_;
  memo.generation = generation_.load(std::memory_order_relaxed);
  memo.key.assign(id_or_uid);
  memo.app_id = app ? app->id : std::string();
  return memo.app_id;
}

ApiStore::~ApiStore() {
  if (refresh_thread_.joinable()) {
    {
      std::lock_guard lock(refresh_mutex_);
      refresh_stopping_ = true;
    }
    refresh_wake_.notify_one();
    refresh_thread_.join();
  }
  writer_.reset();  // drains the queue first
}

Result<std::unique_ptr<ApiStore>> ApiStore::open(fs::path dir, Limits limits,
                                                 std::shared_ptr<ObjectBacking> backing,
                                                 std::chrono::milliseconds refresh_every) {
  std::unique_ptr<ApiStore> store(new ApiStore(std::move(dir), limits, std::move(backing)));
  if (auto loaded = store->load(); !loaded) return loaded.error();
  store->endpoints_ = store->snapshot_locked();
  ApiStore* self = store.get();
  store->writer_ = std::make_unique<Writer>(
      [self](const std::vector<FileOp>& ops) { return self->apply_ops(ops); });
  if (store->backing_) {
    store->refresh_thread_ =
        std::thread([self, refresh_every] { self->refresh_loop(refresh_every); });
  }
  return store;
}

Status ApiStore::load() {
  std::vector<NamedObject> objects;
  if (backing_) {
    // Redis need not be up at start-up (the queue waits for it too): the
    // refresh thread loads the objects once it answers.
    auto snapshot = backing_->load();
    if (!snapshot) {
      log::warn("api store: not loaded yet", {{"error", snapshot.error().message}});
      return Ok{};
    }
    objects = take_objects(*snapshot);
    seen_version_ = snapshot->version;
  } else {
    for (const char* kind : {kAppsDir, kEventTypesDir, kEndpointsDir}) {
      auto files = json_files(dir_ / kind);
      if (!files) return files.error();
      for (const fs::path& file : *files) {
        auto text = read_whole_file(file);
        if (!text) return make_error(file.string() + ": unreadable API object");
        objects.push_back(NamedObject{std::string(kind) + "/" + file.filename().string(), *text});
      }
    }
  }
  std::vector<std::string> orphans;
  auto model = build_model(objects, backing_ ? "api object " : dir_.string() + "/", orphans);
  if (!model) return model.error();
  {
    std::lock_guard lock(mutex_);
    model_ = std::move(model).value();
    model_changed_locked();
  }
  std::vector<FileOp> removals;
  for (const std::string& orphan : orphans)
    removals.push_back(FileOp{FileOp::Kind::remove, dir_ / orphan, {}});
  if (auto removed = apply_ops(removals); !removed) {
    log::warn("api: cannot remove orphaned endpoint file", {{"error", removed.error().message}});
  }
  log::info("api store loaded", {{"applications", model_.apps.size()},
                                 {"event_types", model_.event_types.size()},
                                 {"orphans_removed", orphans.size()},
                                 {"shared", backing_ != nullptr}});
  return Ok{};
}

Status ApiStore::apply_ops(const std::vector<FileOp>& ops) {
  if (ops.empty()) return Ok{};
  if (!backing_) {
    for (const FileOp& op : ops) {
      if (Status status = apply_op(op); !status) return status;
    }
    return Ok{};
  }
  std::vector<ObjectBacking::Write> writes;
  for (const FileOp& op : ops) {
    writes.push_back(ObjectBacking::Write{op.path.lexically_relative(dir_).generic_string(),
                                          op.content, op.kind == FileOp::Kind::remove});
  }
  return backing_->apply(writes);
}

// ---------------------------------------------------------------------------
// Refresh: other nodes' changes, from the backing's version.

void ApiStore::refresh_loop(std::chrono::milliseconds every) {
  std::unique_lock lock(refresh_mutex_);
  while (!refresh_wake_.wait_for(lock, every, [this] { return refresh_stopping_; })) {
    lock.unlock();
    refresh();
    lock.lock();
  }
}

void ApiStore::refresh() {
  auto version = backing_->version();
  if (!version || *version == seen_version_) return;
  std::uint64_t changes_before = 0;
  {
    std::lock_guard lock(mutex_);
    changes_before = local_changes_;
  }
  auto snapshot = backing_->load();
  if (!snapshot) {
    log::warn("api store: refresh failed", {{"error", snapshot.error().message}});
    return;
  }
  std::vector<std::string> orphans;
  auto model = build_model(take_objects(*snapshot), "api object ", orphans);
  if (!model) {
    log::warn("api store: refresh failed", {{"error", model.error().message}});
    return;
  }
  {
    std::lock_guard lock(mutex_);
    // A change of this node's own is under way: its write moves the version
    // on, and the next round loads it with everything else.
    if (local_changes_ != changes_before || writes_pending_ > 0) return;
    model_ = std::move(model).value();
    model_changed_locked();
    endpoints_ = snapshot_locked();
  }
  seen_version_ = snapshot->version;
  log::info("api store: refreshed", {{"version", seen_version_}});
  publish_endpoints();
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
    model_changed_locked();
    ++local_changes_;
    if (change.ops.empty()) {
      if (change.endpoints_changed) endpoints_ = snapshot_locked();
    } else {
      ++writes_pending_;
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
        {
          std::lock_guard lock(mutex_);
          --writes_pending_;
        }
        if (!status) {
          log::error("api store write failed", {{"error", status.error().message}});
          {
            std::lock_guard lock(mutex_);
            if (shared->undo) shared->undo(model_);
            model_changed_locked();
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
