#include "hookd/runbooks/credentials.h"

#include <fcntl.h>
#include <git2.h>
#include <unistd.h>

#include <cstdio>
#include <string_view>

#include "hookd/core/durable_file.h"
#include "hookd/runbooks/known_hosts.h"
#include "hookd/runbooks/remote_url.h"
#include "hookd/runbooks/runbooks.h"
#include "hookd/runbooks/server_certificate.h"

namespace hookd {

SshKeyFile::~SshKeyFile() {
  if (written_) ::unlink(path_.c_str());
}

Result<std::filesystem::path> SshKeyFile::write_once(const std::string& pem) {
  if (written_) return path_;
  ::unlink(path_.c_str());
  int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  bool ok = fd >= 0 && write_all(fd, pem);
  if (fd >= 0) ::close(fd);
  if (!ok) return make_error("cannot write the SSH key to " + path_.string());
  written_ = true;
  return path_;
}

int FetchCredentials::refuse(std::string message, int error_class, int code) {
  refusal_ = std::move(message);
  git_error_set_str(error_class, refusal_.c_str());
  return code;
}

int FetchCredentials::acquire(git_credential** out, const char* username_from_url,
                              unsigned int allowed_types) {
  const RunbooksOptions& o = options_;
  std::string ssh_user = username_from_url && *username_from_url ? username_from_url : o.ssh_user;
  if (allowed_types == GIT_CREDENTIAL_USERNAME) {
    return git_credential_username_new(out, ssh_user.c_str());
  }
  auto refuse_auth = [&](std::string message) {
    return refuse(std::move(message), GIT_ERROR_NET, GIT_EAUTH);
  };
  if (allowed_types & (GIT_CREDENTIAL_SSH_KEY | GIT_CREDENTIAL_SSH_MEMORY)) {
    if (o.ssh_key.empty()) {
      return refuse_auth("the SSH remote wants a key and no --git-ssh-key [GIT_SSH_KEY] is set");
    }
    if (key_attempts_++ > 0)
      return refuse_auth("SSH key refused by the remote for user " + ssh_user);
    return acquire_ssh_key(out, ssh_user, allowed_types);
  }
  if ((allowed_types & GIT_CREDENTIAL_USERPASS_PLAINTEXT) && is_http_url(o.url)) {
    if (o.user.empty() && o.password.empty()) {
      return refuse_auth("the remote asks for credentials and no --git-user/--git-password is set");
    }
    if (userpass_attempts_++ > 0) return refuse_auth("credentials refused by the remote");
    std::string user = o.user.empty() && username_from_url ? username_from_url : o.user;
    return git_credential_userpass_plaintext_new(out, user.c_str(), o.password.c_str());
  }
  char types[16];
  std::snprintf(types, sizeof types, "0x%x", allowed_types);
  return refuse_auth(
      std::string("the remote asks for credentials of a kind hookd does not have (types ") + types +
      ")");
}

int FetchCredentials::acquire_ssh_key(git_credential** out, const std::string& user,
                                      unsigned int allowed_types) {
  const RunbooksOptions& o = options_;
  const char* pass = o.ssh_keypass.empty() ? nullptr : o.ssh_keypass.c_str();
  bool pem = o.ssh_key.find("-----BEGIN") != std::string::npos;
  if (!pem) return git_credential_ssh_key_new(out, user.c_str(), nullptr, o.ssh_key.c_str(), pass);
  if ((allowed_types & GIT_CREDENTIAL_SSH_MEMORY) &&
      git_credential_ssh_key_memory_new(out, user.c_str(), nullptr, o.ssh_key.c_str(), pass) == 0) {
    return 0;
  }
  // This libgit2 cannot take a key from memory: hand it a private file.
  auto file = key_file_.write_once(o.ssh_key);
  if (!file) return refuse(file.error().message, GIT_ERROR_NET, GIT_EAUTH);
  return git_credential_ssh_key_new(out, user.c_str(), nullptr, file->c_str(), pass);
}

int FetchCredentials::check_certificate(git_cert* cert, const char* host) {
  if (cert->cert_type == GIT_CERT_X509 && !options_.ca_file.empty()) {
    auto* x509 = reinterpret_cast<git_cert_x509*>(cert);
    Status trusted = verify_server_certificate(
        options_.ca_file, std::string_view(static_cast<const char*>(x509->data), x509->len), host);
    if (trusted) return 0;
    return refuse(std::string("the TLS certificate of ") + host + " is not trusted by --git-ca " +
                      options_.ca_file.string() + ": " + trusted.error().message,
                  GIT_ERROR_SSL, GIT_ECERTIFICATE);
  }
  if (cert->cert_type != GIT_CERT_HOSTKEY_LIBSSH2) {
    // X.509 without --git-ca: libgit2's own verification (system CAs, host name) decides.
    return GIT_PASSTHROUGH;
  }
  auto refuse_key = [&](std::string message) {
    return refuse(std::move(message), GIT_ERROR_SSH, GIT_ECERTIFICATE);
  };
  if (options_.ssh_known_hosts.empty()) {
    return refuse_key(std::string("refusing the SSH host key of ") + host +
                      ": no --git-ssh-known-hosts [GIT_SSH_KNOWN_HOSTS] is set");
  }
  auto* hostkey = reinterpret_cast<git_cert_hostkey*>(cert);
  if (!(hostkey->type & GIT_CERT_SSH_RAW) || hostkey->hostkey == nullptr) {
    return refuse_key(std::string("the SSH host key of ") + host + " is not available to check");
  }
  Status known = check_known_host(options_.ssh_known_hosts, host, ssh_port_of(options_.url),
                                  std::string_view(hostkey->hostkey, hostkey->hostkey_len));
  if (!known) return refuse_key(known.error().message);
  return 0;
}

}  // namespace hookd
