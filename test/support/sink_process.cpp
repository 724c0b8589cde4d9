#include "support/sink_process.h"

#include <boost/json.hpp>
#include <chrono>
#include <sstream>
#include <stdexcept>

namespace hookd::test {

namespace fs = std::filesystem;

SinkProcess::SinkProcess(std::vector<std::string> flags) {
  const fs::path port_file = dir_.path() / "port";
  std::vector<std::string> args = {HOOKD_SINK_BINARY,
                                   "--listen",
                                   "127.0.0.1:0",
                                   "--port-file",
                                   port_file.string(),
                                   "--record",
                                   (dir_.path() / "record.jsonl").string()};
  args.insert(args.end(), flags.begin(), flags.end());
  process_ = ChildProcess(args, dir_.path() / "sink.log");
  bool up = wait_until(
      [&] { return !process_.running() || !read_file(port_file).empty(); },  // written atomically
      std::chrono::seconds(10));
  if (!up || !process_.running()) throw std::runtime_error("hookd-sink did not start: " + log());
  port_ = static_cast<unsigned short>(std::stoi(read_file(port_file)));
}

std::set<std::string> SinkProcess::delivered() const {
  std::set<std::string> ids;
  for (const auto& [id, count] : delivery_counts())
    ids.insert(id);
  return ids;
}

std::map<std::string, int> SinkProcess::delivery_counts() const {
  std::map<std::string, int> counts;
  std::istringstream lines(read_file(dir_.path() / "record.jsonl"));
  for (std::string line; std::getline(lines, line);) {
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(line, ec);
    if (ec || !v.is_object()) continue;  // a line still being written
    const auto& record = v.as_object();
    const auto* status = record.if_contains("status");
    const auto* id = record.if_contains("id");
    if (!status || !id || !id->is_string() || !status->is_int64()) continue;
    if (status->as_int64() >= 200 && status->as_int64() < 300) {
      ++counts[std::string(id->as_string())];
    }
  }
  return counts;
}

std::string SinkProcess::log() const {
  return read_file(dir_.path() / "sink.log");
}

}  // namespace hookd::test
