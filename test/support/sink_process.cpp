#include "support/sink_process.h"

#include <signal.h>

#include <boost/json.hpp>
#include <chrono>
#include <stdexcept>

namespace hookd::test {

SinkProcess::SinkProcess(std::vector<std::string> flags, unsigned short port) {
  const auto port_file = dir_.path() / "port";
  std::vector<std::string> args = {
      HOOKD_SINK_BINARY,  "--listen", "127.0.0.1:" + std::to_string(port),    "--port-file",
      port_file.string(), "--record", (dir_.path() / "record.jsonl").string()};
  args.insert(args.end(), flags.begin(), flags.end());
  process_ = ChildProcess(args, dir_.path() / "sink.log");
  const bool up = wait_until([&] { return !process_.running() || !read_file(port_file).empty(); },
                             std::chrono::seconds(10));
  if (!up || !process_.running()) {
    throw std::runtime_error("hookd-sink did not start: " + log());
  }
  port_ = static_cast<unsigned short>(std::stoi(read_file(port_file)));
}

SinkProcess::~SinkProcess() {
  stop();
}

std::string SinkProcess::url() const {
  return "http://127.0.0.1:" + std::to_string(port_) + "/hook";
}

SinkProcess::Received SinkProcess::received() const {
  Received out;
  const std::string text = read_file(dir_.path() / "record.jsonl");
  for (std::size_t pos = 0, nl; (nl = text.find('\n', pos)) != std::string::npos; pos = nl + 1) {
    boost::system::error_code ec;
    const auto line = boost::json::parse(text.substr(pos, nl - pos), ec);
    if (ec || !line.is_object()) continue;
    ++out.attempts;
    const auto& record = line.as_object();
    const auto* status = record.if_contains("status");
    const auto* id = record.if_contains("id");
    if (!status || !status->is_int64() || !id || !id->is_string()) continue;
    if (status->as_int64() >= 200 && status->as_int64() < 300)
      ++out.answered_2xx[std::string(id->as_string())];
  }
  return out;
}

std::set<std::string> SinkProcess::delivered() const {
  std::set<std::string> ids;
  for (const auto& [id, times] : received().answered_2xx)
    ids.insert(id);
  return ids;
}

std::map<std::string, int> SinkProcess::delivery_counts() const {
  std::map<std::string, int> counts;
  for (const auto& [id, times] : received().answered_2xx)
    counts[id] = static_cast<int>(times);
  return counts;
}

std::string SinkProcess::log() const {
  return read_file(dir_.path() / "sink.log");
}

void SinkProcess::hang() {
  if (process_.pid() > 0 && ::kill(process_.pid(), SIGSTOP) == 0) hung_ = true;
}

void SinkProcess::come_back() {
  if (hung_ && ::kill(process_.pid(), SIGCONT) == 0) hung_ = false;
}

void SinkProcess::stop() {
  come_back();  // a stopped process does not act on SIGTERM
  if (process_.pid() > 0) process_.terminate();
}

}  // namespace hookd::test
