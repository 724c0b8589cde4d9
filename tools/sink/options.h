// hookd-sink's command line: what to listen on, what to verify, which
// faults to inject. A value type filled once at start-up.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace hookd::sink {

struct Options {
  std::string listen = "127.0.0.1:0";
  std::string port_file;
  std::string cert_file;
  std::string key_file;
  std::string client_ca_file;
  std::string secret;
  std::int64_t tolerance_seconds = 300;
  std::string token;
  unsigned threads = 1;
  double fail_rate = 0;
  double fail_for_seconds = 0;
  std::uint64_t fail_first = 0;
  double rate_429 = 0;
  unsigned retry_after_seconds = 1;
  bool gone = false;
  int status = 0;
  unsigned delay_ms = 0;
  double reset_rate = 0;
  std::string record_file;
  std::string summary_file;
  double duration_seconds = 0;
  unsigned idle_timeout_ms = 30000;
  std::size_t max_body_bytes = 64 << 20;
  std::uint64_t seed = 0;
};

// Fills `options` from the command line; prints --help and exits 0, or
// prints the problem and returns false on a bad flag.
bool parse_options(int argc, char** argv, Options& options);

}  // namespace hookd::sink
