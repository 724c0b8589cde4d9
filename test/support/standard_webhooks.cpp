#include "support/standard_webhooks.h"

#include <sstream>
#include <stdexcept>

#include "support/support.h"

namespace hookd::test {

namespace {

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

}  // namespace

std::vector<std::pair<std::string, std::string>> reference_signed_headers(const std::string& secret,
                                                                          const std::string& msg_id,
                                                                          const std::string& body) {
  TempDir dir;
  write_file(dir.path() / "body.json", body);
  std::string output;
  int rc = run_command("NODE_PATH=" + shell_quote(HOOKD_SOURCE_DIR "/.peers/node_modules") +
                           " /usr/bin/node " + shell_quote(HOOKD_SOURCE_DIR "/test/peers/sign.js") +
                           " " + shell_quote(secret) + " " + shell_quote(msg_id) + " " +
                           shell_quote((dir.path() / "body.json").string()),
                       &output);
  if (rc != 0) throw std::runtime_error("sign.js: " + output);
  std::vector<std::pair<std::string, std::string>> headers;
  std::istringstream lines(output);
  for (std::string line; std::getline(lines, line);) {
    auto colon = line.find(": ");
    if (colon == std::string::npos) throw std::runtime_error("sign.js: " + output);
    headers.emplace_back(line.substr(0, colon), line.substr(colon + 2));
  }
  if (headers.size() != 3) throw std::runtime_error("sign.js: " + output);
  return headers;
}

}  // namespace hookd::test
