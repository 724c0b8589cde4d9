#include "hookd/runbooks/libgit2.h"

#include "hookd/runbooks/socket_stream.h"

namespace hookd {
namespace {

const char* error_class_name(int klass) {
  switch (klass) {
    case GIT_ERROR_NONE:
      return "none";
    case GIT_ERROR_NOMEMORY:
      return "nomemory";
    case GIT_ERROR_OS:
      return "os";
    case GIT_ERROR_INVALID:
      return "invalid";
    case GIT_ERROR_REFERENCE:
      return "reference";
    case GIT_ERROR_ZLIB:
      return "zlib";
    case GIT_ERROR_REPOSITORY:
      return "repository";
    case GIT_ERROR_CONFIG:
      return "config";
    case GIT_ERROR_ODB:
      return "odb";
    case GIT_ERROR_OBJECT:
      return "object";
    case GIT_ERROR_NET:
      return "net";
    case GIT_ERROR_TREE:
      return "tree";
    case GIT_ERROR_INDEXER:
      return "indexer";
    case GIT_ERROR_SSL:
      return "ssl";
    case GIT_ERROR_SSH:
      return "ssh";
    case GIT_ERROR_CALLBACK:
      return "callback";
    case GIT_ERROR_FILESYSTEM:
      return "filesystem";
    case GIT_ERROR_HTTP:
      return "http";
    case GIT_ERROR_INTERNAL:
      return "internal";
    default:
      return "other";
  }
}

}  // namespace

LibGit2::LibGit2() : rc_(git_libgit2_init()) {
  if (rc_ < 0) return;
  rc_ = register_deadline_socket_stream();
  if (rc_ < 0) git_libgit2_shutdown();
}

LibGit2::~LibGit2() {
  if (rc_ >= 0) git_libgit2_shutdown();
}

std::string oid_hex(const git_oid& oid) {
  char buf[GIT_OID_HEXSZ + 1];
  git_oid_tostr(buf, sizeof buf, &oid);
  return buf;
}

std::string last_git_message() {
  const git_error* e = git_error_last();
  return e && e->message ? e->message : "unknown libgit2 error";
}

const char* last_git_class() {
  const git_error* e = git_error_last();
  return error_class_name(e ? e->klass : GIT_ERROR_NONE);
}

}  // namespace hookd
