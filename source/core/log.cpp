#include "hookd/core/log.h"

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <string>

namespace hookd::log {
namespace {

std::atomic<int> g_level{static_cast<int>(Level::info)};
std::atomic<Format> g_format{Format::json};
std::mutex g_write_mutex;

const char* level_name(Level level) {
  switch (level) {
    case Level::debug:
      return "debug";
    case Level::info:
      return "info";
    case Level::warn:
      return "warn";
    case Level::error:
      return "error";
  }
  return "info";
}

void append_json_string(std::string& out, std::string_view s) {
  out.push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          // Bytes >= 0x80 pass through: UTF-8 stays readable. Invalid UTF-8
          // from hook output is the caller's to sanitise.
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
}

void append_value(std::string& out, const Field& field, bool quote_strings) {
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string_view>) {
          if (quote_strings) {
            append_json_string(out, v);
          } else {
            out.append(v);
          }
        } else if constexpr (std::is_same_v<T, bool>) {
          out += v ? "true" : "false";
        } else if constexpr (std::is_same_v<T, double>) {
          if (std::isfinite(v)) {
            char buf[32];
            std::snprintf(buf, sizeof buf, "%.6g", v);
            out += buf;
          } else {
            out += "null";
          }
        } else {
          out += std::to_string(v);
        }
      },
      field.value);
}

std::string timestamp_now() {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}

}  // namespace

void configure(Level level, Format format) {
  g_level.store(static_cast<int>(level));
  g_format.store(format);
}

bool parse_level(std::string_view text, Level& out) {
  if (text == "debug") {
    out = Level::debug;
  } else if (text == "info") {
    out = Level::info;
  } else if (text == "warn" || text == "warning") {
    out = Level::warn;
  } else if (text == "error") {
    out = Level::error;
  } else {
    return false;
  }
  return true;
}

bool enabled(Level level) {
  return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed);
}

void write(Level level, std::string_view message, std::initializer_list<Field> fields) {
  std::string line;
  line.reserve(128 + message.size());
  if (g_format.load(std::memory_order_relaxed) == Format::json) {
    line += "{\"ts\":\"";
    line += timestamp_now();
    line += "\",\"level\":\"";
    line += level_name(level);
    line += "\",\"msg\":";
    append_json_string(line, message);
    for (const Field& f : fields) {
      line.push_back(',');
      append_json_string(line, f.key);
      line.push_back(':');
      append_value(line, f, true);
    }
    line += "}\n";
  } else {
    line += timestamp_now();
    line.push_back(' ');
    line += level_name(level);
    line.push_back(' ');
    line.append(message);
    for (const Field& f : fields) {
      line.push_back(' ');
      line.append(f.key);
      line.push_back('=');
      append_value(line, f,
                   std::holds_alternative<std::string_view>(f.value) &&
                       std::get<std::string_view>(f.value).find(' ') != std::string_view::npos);
    }
    line.push_back('\n');
  }
  // One fwrite per record under a lock keeps lines whole across threads.
  std::lock_guard lock(g_write_mutex);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace hookd::log
