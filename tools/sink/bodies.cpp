#include "bodies.h"

#include <zlib.h>

#include <boost/json.hpp>

namespace hookd::sink {

namespace json = boost::json;

std::optional<std::string> gunzip(std::string_view in, std::size_t limit) {
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) return std::nullopt;
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  std::string out;
  char chunk[16384];
  int rc = Z_OK;
  while (rc == Z_OK) {
    zs.next_out = reinterpret_cast<Bytef*>(chunk);
    zs.avail_out = sizeof chunk;
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) break;
    out.append(chunk, sizeof chunk - zs.avail_out);
    if (out.size() > limit) rc = Z_MEM_ERROR;
    if (rc == Z_OK && zs.avail_in == 0 && zs.avail_out != 0) rc = Z_BUF_ERROR;
  }
  inflateEnd(&zs);
  if (rc != Z_STREAM_END) return std::nullopt;
  return out;
}

std::string event_id(const json::value& value) {
  if (!value.is_object()) return {};
  const auto* id = value.as_object().if_contains("id");
  if (id == nullptr || !id->is_string()) return {};
  return std::string(id->as_string());
}

std::string event_timestamp(const json::value& value) {
  if (!value.is_object()) return {};
  const auto* ts = value.as_object().if_contains("timestamp");
  if (ts == nullptr || !ts->is_string()) return {};
  return std::string(ts->as_string());
}

namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

}  // namespace

std::optional<std::vector<SeenEvent>> parse_hec(std::string_view body) {
  std::vector<SeenEvent> events;
  json::stream_parser parser;
  std::size_t pos = 0;
  while (true) {
    while (pos < body.size() && is_space(body[pos]))
      ++pos;
    if (pos == body.size()) break;
    parser.reset();
    boost::system::error_code ec;
    pos += parser.write_some(body.data() + pos, body.size() - pos, ec);
    if (ec) return std::nullopt;
    if (!parser.done()) {
      parser.finish(ec);
      if (ec) return std::nullopt;
    }
    json::value object = parser.release();
    if (!object.is_object()) return std::nullopt;
    const auto* event = object.as_object().if_contains("event");
    if (event == nullptr) return std::nullopt;
    std::string id = event_id(*event);
    if (id.empty()) return std::nullopt;
    events.push_back({std::move(id), event_timestamp(*event)});
  }
  if (events.empty()) return std::nullopt;
  return events;
}

std::optional<std::vector<SeenEvent>> parse_ndjson(std::string_view body) {
  std::vector<SeenEvent> events;
  while (!body.empty()) {
    const auto end = body.find('\n');
    std::string_view line = body.substr(0, end);
    body = end == std::string_view::npos ? std::string_view() : body.substr(end + 1);
    while (!line.empty() && is_space(line.back()))
      line.remove_suffix(1);
    while (!line.empty() && is_space(line.front()))
      line.remove_prefix(1);
    if (line.empty()) continue;
    boost::system::error_code ec;
    json::value value = json::parse(line, ec);
    if (ec) return std::nullopt;
    std::string id = event_id(value);
    if (id.empty()) return std::nullopt;
    events.push_back({std::move(id), event_timestamp(value)});
  }
  if (events.empty()) return std::nullopt;
  return events;
}

}  // namespace hookd::sink
