#include "support/certificates.h"

#include <stdexcept>

namespace hookd::test {

void TestCertificates::run_openssl(const std::string& command) const {
  std::string output;
  if (run_command("(cd '" + dir_.path().string() + "' && " + command + ")", &output) != 0) {
    throw std::runtime_error(command + "\n" + output);
  }
}

void TestCertificates::make_ca(const std::string& name) {
  run_openssl(
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2"
      " -keyout " +
      name + ".key -out " + name + ".pem -subj '/CN=hookd test " + name +
      "' -addext basicConstraints=critical,CA:TRUE"
      " -addext keyUsage=critical,keyCertSign,cRLSign");
}

void TestCertificates::make_leaf(const std::string& name, const std::string& ca,
                                 const std::string& extensions) {
  write_file(dir_.path() / (name + ".ext"), extensions);
  run_openssl("openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout " +
              name + ".key -out " + name + ".csr -subj '/CN=" + name +
              "' && openssl x509 -req -in " + name + ".csr -CA " + ca + ".pem -CAkey " + ca +
              ".key -CAcreateserial -CAserial " + ca + ".srl -days 2 -out " + name +
              ".pem -extfile " + name + ".ext");
}

std::string TestCertificates::der(const std::string& name) const {
  run_openssl("openssl x509 -in " + name + ".pem -outform DER -out " + name + ".der");
  return read_file(dir_.path() / (name + ".der"));
}

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
