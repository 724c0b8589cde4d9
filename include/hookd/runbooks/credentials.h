// Answers libgit2's two questions of a fetch from RunbooksOptions: who hookd
// is (HTTPS user and password, SSH key) and whether the remote is who it says
// (its SSH host key must be in known_hosts: libgit2 1.5 trusts any unless
// told otherwise; X.509 is left to libgit2's own verification).
// Not thread-safe: one per fetch, on the fetching thread.
#pragma once

#include <filesystem>
#include <string>

#include "hookd/core/result.h"

struct git_cert;
struct git_credential;

namespace hookd {

struct RunbooksOptions;

// The PEM of --git-ssh-key on disk (0600), for a libgit2 that cannot take a
// key from memory: written on first use, removed by the destructor.
class SshKeyFile {
 public:
  explicit SshKeyFile(std::filesystem::path path) : path_(std::move(path)) {}
  ~SshKeyFile();
  SshKeyFile(const SshKeyFile&) = delete;
  SshKeyFile& operator=(const SshKeyFile&) = delete;

  // The file holding `pem`, written unless this object wrote it already.
  Result<std::filesystem::path> write_once(const std::string& pem);

 private:
  std::filesystem::path path_;
  bool written_ = false;
};

class FetchCredentials {
 public:
  FetchCredentials(const RunbooksOptions& options, SshKeyFile& key_file)
      : options_(options), key_file_(key_file) {}

  // A git_credential_acquire_cb's answer. Each kind of credential is offered
  // once: libgit2 asks again after a refusal, and the same one would only be
  // refused again.
  int acquire(git_credential** out, const char* username_from_url, unsigned int allowed_types);
  // A git_transport_certificate_check_cb's answer.
  int check_certificate(git_cert* cert, const char* host);
  // Why hookd refused or gave up, clearer than libgit2's message; empty if it did not.
  const std::string& refusal() const { return refusal_; }

 private:
  int acquire_ssh_key(git_credential** out, const std::string& user, unsigned int allowed_types);
  // Records why and hands libgit2 the message and the code to fail with.
  int refuse(std::string message, int error_class, int code);

  const RunbooksOptions& options_;
  SshKeyFile& key_file_;
  int userpass_attempts_ = 0;
  int key_attempts_ = 0;
  std::string refusal_;
};

}  // namespace hookd
