#include "hookd/runbooks/snapshot.h"

#include <string>
#include <system_error>

#include "hookd/core/durable_file.h"
#include "hookd/core/event.h"
#include "hookd/core/log.h"
#include "hookd/runbooks/libgit2.h"
#include "hookd/runbooks/runbooks_metrics.h"

namespace hookd {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kHooksDir = "hoop-hooks";
constexpr std::string_view kScriptSuffix = ".runbook.py";

}  // namespace

std::optional<std::filesystem::path> RunbooksSnapshot::script_for(
    std::string_view event_type) const {
  auto it = scripts.find(hook_script_name(event_type));
  if (it == scripts.end()) return std::nullopt;
  return it->second;
}

Status ScriptStore::create_dir() const {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) return make_error("cannot create " + dir_.string() + ": " + ec.message());
  return Ok{};
}

void ScriptStore::remove_leftovers() const {
  // write_atomic's "<name>.tmp", and the "<name>.tmp.<pid>.<n>" of earlier versions.
  std::error_code ec;
  for (auto it = fs::directory_iterator(dir_, ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    if (it->path().filename().string().find(".tmp") != std::string::npos) {
      fs::remove(it->path(), ec);
    }
  }
}

Result<std::filesystem::path> ScriptStore::store(std::string_view blob_id,
                                                 std::string_view content) const {
  fs::path path = dir_ / (std::string(blob_id) + std::string(kScriptSuffix));
  std::error_code ec;
  if (fs::file_size(path, ec) == content.size() && !ec) return path;
  Status written = write_atomic(
      path, content, fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
  if (!written) return written.error();
  return path;
}

Result<std::shared_ptr<RunbooksSnapshot>> build_snapshot(git_repository* repo,
                                                         const git_oid& commit_oid,
                                                         const ScriptStore& store,
                                                         std::uint64_t max_script_bytes) {
  auto snap = std::make_shared<RunbooksSnapshot>();
  snap->commit_id = oid_hex(commit_oid);
  CommitPtr commit;
  TreePtr root;
  if (git_commit_lookup(commit.out(), repo, &commit_oid) != 0 ||
      git_commit_tree(root.out(), commit.get()) != 0) {
    return make_error("commit " + snap->commit_id + ": " + last_git_message());
  }
  TreeEntryPtr dir_entry;
  int rc = git_tree_entry_bypath(dir_entry.out(), root.get(), std::string(kHooksDir).c_str());
  if (rc == GIT_ENOTFOUND) return snap;  // no hooks: a valid, empty snapshot
  if (rc != 0) return make_error(std::string(kHooksDir) + ": " + last_git_message());
  if (git_tree_entry_type(dir_entry.get()) != GIT_OBJECT_TREE) return snap;
  TreePtr hooks;
  if (git_tree_lookup(hooks.out(), repo, git_tree_entry_id(dir_entry.get())) != 0) {
    return make_error(std::string(kHooksDir) + ": " + last_git_message());
  }
  for (std::size_t i = 0, n = git_tree_entrycount(hooks.get()); i < n; ++i) {
    const git_tree_entry* entry = git_tree_entry_byindex(hooks.get(), i);
    std::string name = git_tree_entry_name(entry);
    if (!name.ends_with(kScriptSuffix) || name.size() == kScriptSuffix.size()) continue;
    git_filemode_t mode = git_tree_entry_filemode(entry);
    if (mode != GIT_FILEMODE_BLOB && mode != GIT_FILEMODE_BLOB_EXECUTABLE) continue;  // links...
    BlobPtr blob;
    if (git_blob_lookup(blob.out(), repo, git_tree_entry_id(entry)) != 0) {
      return make_error(std::string(kHooksDir) + "/" + name + ": " + last_git_message());
    }
    auto size = static_cast<std::uint64_t>(git_blob_rawsize(blob.get()));
    if (size > max_script_bytes) {
      runbooks_metrics().scripts_skipped.inc();
      log::warn("runbooks: hook script too big, left out", {{"script", name},
                                                            {"bytes", size},
                                                            {"max_bytes", max_script_bytes},
                                                            {"commit", snap->commit_id}});
      continue;
    }
    auto path = store.store(
        oid_hex(*git_tree_entry_id(entry)),
        std::string_view(static_cast<const char*>(git_blob_rawcontent(blob.get())), size));
    if (!path) return path.error();
    snap->scripts.emplace(std::move(name), std::move(*path));
  }
  return snap;
}

}  // namespace hookd
