// RAII for libgit2: the library's init count, and owning pointers for the
// objects the runbooks source looks up; plus its last error as text. For the
// runbooks sources only (it includes git2.h). Thread-compatible: libgit2
// objects belong to the thread that made them, its last error is per thread.
#pragma once

#include <git2.h>

#include <string>
#include <utility>

namespace hookd {

// git_libgit2_init() for the lifetime of the object, with the deadline socket
// stream registered (socket_stream.h).
class LibGit2 {
 public:
  LibGit2();
  ~LibGit2();
  LibGit2(const LibGit2&) = delete;
  LibGit2& operator=(const LibGit2&) = delete;
  bool ok() const { return rc_ >= 0; }

 private:
  int rc_;
};

template <typename T, void (*Free)(T*)>
class GitPtr {
 public:
  GitPtr() = default;
  GitPtr(const GitPtr&) = delete;
  GitPtr& operator=(const GitPtr&) = delete;
  ~GitPtr() {
    if (p_) Free(p_);
  }
  T** out() { return &p_; }
  T* get() const { return p_; }
  void reset(T* p = nullptr) {
    if (p_) Free(p_);
    p_ = p;
  }
  T* release() { return std::exchange(p_, nullptr); }

 private:
  T* p_ = nullptr;
};
using RepositoryPtr = GitPtr<git_repository, git_repository_free>;
using RemotePtr = GitPtr<git_remote, git_remote_free>;
using CommitPtr = GitPtr<git_commit, git_commit_free>;
using TreePtr = GitPtr<git_tree, git_tree_free>;
using TreeEntryPtr = GitPtr<git_tree_entry, git_tree_entry_free>;
using BlobPtr = GitPtr<git_blob, git_blob_free>;
using ConfigPtr = GitPtr<git_config, git_config_free>;
using ReferencePtr = GitPtr<git_reference, git_reference_free>;

std::string oid_hex(const git_oid& oid);

// The message of the last libgit2 error on this thread.
std::string last_git_message();
// Its class as a short word ("net", "ssh", "reference", ...), for logs.
const char* last_git_class();

}  // namespace hookd
