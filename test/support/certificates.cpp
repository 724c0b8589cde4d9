#include "support/certificates.h"

#include <stdexcept>

#include "support/support.h"

namespace hookd::test {

CertificateFiles make_self_signed_certificate(const std::filesystem::path& dir,
                                              const std::string& name) {
  CertificateFiles files{(dir / (name + ".pem")).string(), (dir / (name + ".key")).string()};
  std::string output;
  int rc = run_command(
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 "
      "-subj /CN=127.0.0.1 -keyout '" +
          files.key + "' -out '" + files.cert + "'",
      &output);
  if (rc != 0) throw std::runtime_error("openssl req failed: " + output);
  return files;
}

}  // namespace hookd::test
