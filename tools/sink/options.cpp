#include "options.h"

#include <boost/program_options.hpp>
#include <cstdlib>
#include <filesystem>
#include <iostream>

namespace hookd::sink {

namespace po = boost::program_options;

bool parse_options(int argc, char** argv, Options& options) {
  po::options_description flags("hookd-sink options");
  std::string data_dir;
  // clang-format off
  flags.add_options()
    ("help", "show this help")
    ("listen", po::value(&options.listen)->default_value(options.listen), "host:port ([v6]:port); port 0 picks one")
    ("port-file", po::value(&options.port_file), "write the bound port here once listening")
    ("data-dir", po::value(&data_dir), "summary defaults to DIR/sink-summary.json")
    ("log-format", po::value<std::string>(), "accepted for command-line symmetry with hookd; ignored")
    ("cert", po::value(&options.cert_file), "serve HTTPS with this certificate chain (PEM)")
    ("key", po::value(&options.key_file), "private key for --cert (PEM)")
    ("client-ca", po::value(&options.client_ca_file), "require client certificates signed by this CA")
    ("secret", po::value(&options.secret), "verify Standard Webhooks signatures (whsec_...) on webhook requests")
    ("tolerance", po::value(&options.tolerance_seconds)->default_value(options.tolerance_seconds), "signature timestamp tolerance in seconds (0: any)")
    ("token", po::value(&options.token), "expect 'Authorization: Splunk <token>' on splunk-hec requests")
    ("threads", po::value(&options.threads)->default_value(options.threads), "threads running the server")
    ("fail-rate", po::value(&options.fail_rate)->default_value(0), "fraction of requests answered 500")
    ("fail-for", po::value(&options.fail_for_seconds)->default_value(0), "inject faults only during the first N seconds (0: always)")
    ("fail-first", po::value(&options.fail_first)->default_value(0), "inject faults only into the first N requests that would be answered 200 (0: all)")
    ("status-429-rate", po::value(&options.rate_429)->default_value(0), "fraction of requests answered 429")
    ("retry-after", po::value(&options.retry_after_seconds)->default_value(options.retry_after_seconds), "Retry-After seconds on 429")
    ("gone", po::bool_switch(&options.gone), "answer 410 to every request")
    ("status", po::value(&options.status)->default_value(0), "answer this status to every request (3xx adds Location)")
    ("delay-ms", po::value(&options.delay_ms)->default_value(0), "wait this long before answering")
    ("reset-rate", po::value(&options.reset_rate)->default_value(0), "fraction of requests answered by a TCP reset")
    ("record", po::value(&options.record_file), "append one JSON line per received event")
    ("summary", po::value(&options.summary_file), "write the summary JSON here on exit")
    ("duration", po::value(&options.duration_seconds)->default_value(0), "exit after N seconds (0: run until SIGTERM)")
    ("idle-timeout-ms", po::value(&options.idle_timeout_ms)->default_value(options.idle_timeout_ms), "close keep-alive connections idle this long")
    ("max-body-bytes", po::value(&options.max_body_bytes)->default_value(options.max_body_bytes), "413 beyond")
    ("seed", po::value(&options.seed)->default_value(0), "random seed for fault injection (0: random)");
  // clang-format on
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, flags), vm);
    po::notify(vm);
  } catch (const std::exception& e) {
    std::cerr << "hookd-sink: " << e.what() << "\n";
    return false;
  }
  if (vm.count("help") != 0) {
    std::cout << flags << "\n";
    std::exit(0);
  }
  if (options.summary_file.empty() && !data_dir.empty()) {
    options.summary_file = (std::filesystem::path(data_dir) / "sink-summary.json").string();
  }
  auto bad_rate = [](double r) { return !(r >= 0 && r <= 1); };
  if (bad_rate(options.fail_rate) || bad_rate(options.rate_429) || bad_rate(options.reset_rate)) {
    std::cerr << "hookd-sink: rates must be between 0 and 1\n";
    return false;
  }
  if (options.status != 0 && (options.status < 100 || options.status > 599)) {
    std::cerr << "hookd-sink: --status must be 100..599\n";
    return false;
  }
  if (options.threads == 0) options.threads = 1;
  return true;
}

}  // namespace hookd::sink
