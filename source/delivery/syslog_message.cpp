#include "hookd/delivery/syslog_message.h"

#include "hookd/core/event.h"

namespace hookd {

int syslog_pri(int facility, int severity) {
  return facility * 8 + severity;
}

std::string syslog_header_field(std::string_view value, std::size_t max) {
  if (value.empty()) return "-";
  std::string out(value.substr(0, max));
  for (char& c : out) {
    if (c < 33 || c > 126) c = '_';
  }
  return out;
}

std::string syslog_timestamp(std::int64_t unix_ms) {
  // format_rfc3339 writes UTC with milliseconds, which RFC 5424 allows
  // (TIME-SECFRAC of up to six digits, "Z" for UTC).
  return format_rfc3339(unix_ms < 0 ? 0 : unix_ms);
}

std::string sd_param_escape(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '"' || c == '\\' || c == ']') out += '\\';
    out += c;
  }
  return out;
}

std::string hookd_structured_data(std::string_view event_id, std::string_view event_type) {
  std::string out = "[";
  out += kSyslogSdId;
  out += " id=\"";
  out += sd_param_escape(event_id);
  out += "\" type=\"";
  out += sd_param_escape(event_type);
  out += "\"]";
  return out;
}

std::string rfc5424_message(const SyslogHeader& header, int severity, std::int64_t time_ms,
                            std::string_view msgid, std::string_view structured_data,
                            std::string_view msg) {
  std::string out = "<";
  out += std::to_string(syslog_pri(header.facility, severity));
  out += ">1 ";
  out += syslog_timestamp(time_ms);
  out += ' ';
  out += syslog_header_field(header.hostname, 255);
  out += ' ';
  out += syslog_header_field(header.app_name, 48);
  out += ' ';
  out += syslog_header_field(header.procid, 128);
  out += ' ';
  out += syslog_header_field(msgid, 32);
  out += ' ';
  out += structured_data.empty() ? std::string_view("-") : structured_data;
  if (!msg.empty()) {
    out += ' ';
    out += msg;
  }
  return out;
}

std::string octet_frame(std::string_view message) {
  std::string out = std::to_string(message.size());
  out += ' ';
  out += message;
  return out;
}

}  // namespace hookd
