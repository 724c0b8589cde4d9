#include "hookd/runbooks/git_source.h"

#include <string_view>
#include <system_error>

#include "hookd/core/event.h"
#include "hookd/core/log.h"
#include "hookd/runbooks/fetch_control.h"
#include "hookd/runbooks/remote_url.h"
#include "hookd/runbooks/runbooks_metrics.h"
#include "hookd/runbooks/socket_stream.h"

namespace hookd {
namespace {

namespace fs = std::filesystem;

constexpr const char* kLastGoodRef = "refs/hookd/last-good";

std::string config_string(git_config* config, const char* name) {
  git_buf buf = GIT_BUF_INIT;
  std::string value;
  if (git_config_get_string_buf(&buf, config, name) == 0) value.assign(buf.ptr, buf.size);
  git_buf_dispose(&buf);
  return value;
}

}  // namespace

// What libgit2's callbacks of one fetch see: every one of them is a chance to
// notice a cancel or a passed deadline.
struct GitSource::Callbacks {
  GitSource& source;
  FetchCredentials credentials;

  git_remote_callbacks table() {
    git_remote_callbacks callbacks = GIT_REMOTE_CALLBACKS_INIT;
    callbacks.credentials = on_credentials;
    callbacks.certificate_check = on_certificate;
    callbacks.transfer_progress = on_transfer;
    callbacks.sideband_progress = on_sideband;
    callbacks.payload = this;
    return callbacks;
  }

  // 0 to go on, else what the callback must return.
  static int stop_code(void* payload) {
    FetchControl& control = static_cast<Callbacks*>(payload)->source.control_;
    if (!control.should_stop()) return 0;
    git_error_set_str(GIT_ERROR_CALLBACK, ("fetch cancelled: " + control.reason()).c_str());
    return GIT_EUSER;
  }
  static int on_credentials(git_credential** out, const char* /*url*/,
                            const char* username_from_url, unsigned int allowed_types,
                            void* payload) {
    if (int stop = stop_code(payload)) return stop;
    return static_cast<Callbacks*>(payload)->credentials.acquire(out, username_from_url,
                                                                 allowed_types);
  }
  static int on_certificate(git_cert* cert, int /*valid*/, const char* host, void* payload) {
    if (int stop = stop_code(payload)) return stop;
    return static_cast<Callbacks*>(payload)->credentials.check_certificate(cert, host);
  }
  static int on_transfer(const git_indexer_progress* stats, void* payload) {
    GitSource& self = static_cast<Callbacks*>(payload)->source;
    if (stats->received_bytes > self.options_.max_fetch_bytes) {
      self.control_.cancel("the download exceeds " + std::to_string(self.options_.max_fetch_bytes) +
                           " bytes (max_fetch_bytes)");
    }
    return stop_code(payload);
  }
  static int on_sideband(const char* /*str*/, int /*len*/, void* payload) {
    return stop_code(payload);
  }
};

GitSource::GitSource(const RunbooksOptions& options, ScriptStore scripts, FetchControl& control)
    : options_(options),
      repo_dir_(options.dir / "repo"),
      source_key_(options.url + "\n" + options.branch),
      scripts_(std::move(scripts)),
      control_(control),
      key_file_(options.dir / "ssh-key.pem") {}

GitSource::~GitSource() = default;

Status GitSource::open_clone() {
  if (repo_.get()) return Ok{};
  if (Status made = scripts_.create_dir(); !made) return made;
  std::error_code ec;
  if (fs::exists(repo_dir_, ec)) {
    RepositoryPtr existing;
    if (git_repository_open_bare(existing.out(), repo_dir_.c_str()) == 0) {
      RemotePtr origin;
      const char* url = nullptr;
      if (git_remote_lookup(origin.out(), existing.get(), "origin") == 0)
        url = git_remote_url(origin.get());
      // Compared without credentials: an older hookd stored the URL as given.
      if (url && url_without_credentials(url) == options_.url) {
        if (options_.url == url || remove_stored_credentials(existing.get())) {
          repo_.reset(existing.release());
          return Ok{};
        }
      } else {
        log::warn("runbooks: the local clone points at another remote; cloning afresh",
                  {{"dir", repo_dir_.string()}, {"url", redact_remote_url(options_.url)}});
      }
    } else {
      log::warn("runbooks: the local clone is unusable; cloning afresh",
                {{"dir", repo_dir_.string()}, {"error", last_git_message()}});
    }
    existing.reset();
    fs::remove_all(repo_dir_, ec);
    if (ec) return make_error("cannot remove " + repo_dir_.string() + ": " + ec.message());
  }
  RepositoryPtr fresh;
  if (git_repository_init(fresh.out(), repo_dir_.c_str(), 1) != 0) {
    return make_error("init " + repo_dir_.string() + ": " + last_git_message());
  }
  RemotePtr origin;
  if (git_remote_create(origin.out(), fresh.get(), "origin", options_.url.c_str()) != 0) {
    return make_error("remote " + redact_remote_url(options_.url) + ": " + last_git_message());
  }
  repo_.reset(fresh.release());
  return Ok{};
}

bool GitSource::remove_stored_credentials(git_repository* repo) const {
  ConfigPtr config;
  bool rewritten = git_remote_set_url(repo, "origin", options_.url.c_str()) == 0 &&
                   git_repository_config(config.out(), repo) == 0;
  if (rewritten) {
    // "<url>\n<branch>", recorded by the last good fetch.
    std::string source = config_string(config.get(), "hookd.source");
    auto newline = source.find('\n');
    std::string clean = url_without_credentials(source.substr(0, newline)) +
                        (newline == std::string::npos ? "" : source.substr(newline));
    if (clean != source) {
      rewritten = git_config_set_string(config.get(), "hookd.source", clean.c_str()) == 0;
    }
  }
  if (!rewritten) {
    log::warn(
        "runbooks: cannot remove the credentials from the local clone; cloning afresh",
        {{"dir", repo_dir_.string()}, {"error", redact_secrets(last_git_message(), options_)}});
    return false;
  }
  // FETCH_HEAD names the URL too; hookd never reads it.
  std::error_code ec;
  fs::remove(repo_dir_ / "FETCH_HEAD", ec);
  log::info("runbooks: removed the credentials stored in the local clone's remote URL",
            {{"dir", repo_dir_.string()}});
  return true;
}

void GitSource::drop_clone() {
  repo_.reset();
  std::error_code ec;
  fs::remove_all(repo_dir_, ec);
}

std::shared_ptr<RunbooksSnapshot> GitSource::kept_snapshot() {
  if (!open_clone()) return nullptr;
  ConfigPtr config;
  if (git_repository_config(config.out(), repo_.get()) != 0) return nullptr;
  git_oid oid;
  if (config_string(config.get(), "hookd.source") != source_key_ ||
      git_reference_name_to_id(&oid, repo_.get(), kLastGoodRef) != 0) {
    return nullptr;
  }
  std::int64_t fetched_ms = 0;
  git_config_get_int64(&fetched_ms, config.get(), "hookd.fetchedms");
  auto snap = build_snapshot(repo_.get(), oid, scripts_, options_.max_script_bytes);
  if (!snap) {
    log::warn("runbooks: the snapshot kept in the local clone is unreadable; cloning afresh",
              {{"error", snap.error().message}});
    drop_clone();
    return nullptr;
  }
  (*snap)->fetched_unix_ms = fetched_ms;
  (*snap)->ref = config_string(config.get(), "hookd.ref");
  return std::move(*snap);
}

Result<FetchedRef> GitSource::download(FetchFailure& failure) {
  if (Status ready = open_clone(); !ready) {
    failure.message = redact_secrets(ready.error().message, options_);
    return make_error(failure.message);
  }
  Callbacks callbacks{*this, FetchCredentials(options_, key_file_)};
  auto fail = [&](const std::string& what) {
    failure = git_failure(what, &callbacks.credentials);
    return make_error(failure.message);
  };

  RemotePtr remote;
  if (git_remote_lookup(remote.out(), repo_.get(), "origin") != 0) {
    auto error = fail("remote");
    failure.local = true;
    return error;
  }
  git_remote_callbacks table = callbacks.table();
  git_proxy_options proxy = GIT_PROXY_OPTIONS_INIT;
  proxy.type = GIT_PROXY_AUTO;
  ScopedFetchControl scoped_control(control_);

  if (git_remote_connect(remote.get(), GIT_DIRECTION_FETCH, &table, &proxy, nullptr) != 0) {
    auto error = fail("connect");
    // libgit2 takes a local path that does not exist for an unknown URL scheme.
    std::error_code ec;
    if (is_local_path(options_.url) && !fs::exists(options_.url, ec)) {
      failure.message = "connect: no repository at " + options_.url;
      error = make_error(failure.message);
    }
    return error;
  }
  const git_remote_head** heads = nullptr;
  std::size_t head_count = 0;
  if (git_remote_ls(&heads, &head_count, remote.get()) != 0) return fail("list refs");
  auto ref = pick_ref(heads, head_count, failure);
  if (!ref) return ref;

  // Only the one ref: fetching every branch of a busy runbooks repository
  // would cost time for objects no hook uses.
  std::string spec = ref->name;
  char* spec_ptr = spec.data();
  git_strarray specs{&spec_ptr, 1};
  git_fetch_options fetch_opts = GIT_FETCH_OPTIONS_INIT;
  fetch_opts.callbacks = table;
  fetch_opts.prune = GIT_FETCH_NO_PRUNE;
  fetch_opts.update_fetchhead = 0;
  fetch_opts.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
  fetch_opts.proxy_opts = proxy;
  int rc = git_remote_download(remote.get(), &specs, &fetch_opts);
  if (const git_indexer_progress* progress = git_remote_stats(remote.get())) {
    runbooks_metrics().received_bytes.inc(static_cast<double>(progress->received_bytes));
  }
  if (rc != 0) return fail("download");
  git_remote_disconnect(remote.get());
  return ref;
}

Result<FetchedRef> GitSource::pick_ref(const git_remote_head** heads, std::size_t head_count,
                                       FetchFailure& failure) const {
  auto find = [&](std::string_view name) -> const git_remote_head* {
    for (std::size_t i = 0; i < head_count; ++i) {
      if (name == heads[i]->name) return heads[i];
    }
    return nullptr;
  };
  auto missing = [&](std::string message) {
    failure.message = std::move(message);
    failure.klass = "reference";
    return make_error(failure.message);
  };
  if (!options_.branch.empty()) {
    std::string name =
        options_.branch.starts_with("refs/") ? options_.branch : "refs/heads/" + options_.branch;
    const git_remote_head* target = find(name);
    if (!target) return missing("branch " + name + " not found on the remote");
    return FetchedRef{name, target->oid};
  }
  const git_remote_head* head = find("HEAD");
  if (!head) return missing("the remote has no HEAD (an empty repository?)");
  FetchedRef ref{"HEAD", head->oid};
  if (head->symref_target && find(head->symref_target)) {
    ref.name = head->symref_target;
    return ref;
  }
  for (std::size_t i = 0; i < head_count; ++i) {
    if (std::string_view(heads[i]->name).starts_with("refs/heads/") &&
        git_oid_equal(&heads[i]->oid, &head->oid)) {
      ref.name = heads[i]->name;
      break;
    }
  }
  return ref;
}

Result<std::shared_ptr<const RunbooksSnapshot>> GitSource::snapshot_of(const FetchedRef& ref,
                                                                       FetchFailure& failure) {
  auto snap = build_snapshot(repo_.get(), ref.commit, scripts_, options_.max_script_bytes);
  if (!snap) {
    // Objects the download just vouched for cannot be read back: start the
    // clone afresh rather than fail the same way at every tick.
    failure.message = redact_secrets("snapshot: " + snap.error().message, options_);
    failure.local = true;
    return make_error(failure.message);
  }
  (*snap)->ref = ref.name;
  (*snap)->fetched_unix_ms = now_unix_ms();
  record_last_good(ref, (*snap)->fetched_unix_ms);
  return std::shared_ptr<const RunbooksSnapshot>(std::move(*snap));
}

// Kept for the next start, which serves it until its first fetch succeeds.
void GitSource::record_last_good(const FetchedRef& ref, std::int64_t fetched_unix_ms) {
  ReferencePtr last_good;
  ConfigPtr config;
  if (git_reference_create(last_good.out(), repo_.get(), kLastGoodRef, &ref.commit, 1,
                           "hookd fetch") != 0 ||
      git_repository_config(config.out(), repo_.get()) != 0 ||
      git_config_set_string(config.get(), "hookd.source", source_key_.c_str()) != 0 ||
      git_config_set_string(config.get(), "hookd.ref", ref.name.c_str()) != 0 ||
      git_config_set_int64(config.get(), "hookd.fetchedms", fetched_unix_ms) != 0) {
    log::warn("runbooks: cannot record the snapshot in the local clone",
              {{"error", redact_secrets(last_git_message(), options_)}});
  }
}

FetchFailure GitSource::git_failure(const std::string& what,
                                    const FetchCredentials* credentials) const {
  FetchFailure f;
  if (control_.cancelled()) {
    f.message = what + ": " + control_.reason();
    f.cancelled = true;
    f.timed_out = control_.timed_out();
    f.klass = f.timed_out ? "timeout" : "cancelled";
  } else if (credentials && !credentials->refusal().empty()) {
    f.message = what + ": " + credentials->refusal();
    f.klass = last_git_class();
  } else {
    f.message = what + ": " + last_git_message();
    f.klass = last_git_class();
  }
  f.message = redact_secrets(std::move(f.message), options_);
  return f;
}

}  // namespace hookd
