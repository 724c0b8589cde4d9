#include "hookd/runbooks/known_hosts.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstring>
#include <optional>
#include <vector>

#include "hookd/core/ascii.h"
#include "hookd/core/durable_file.h"
#include "hookd/core/signature.h"

namespace hookd {
namespace {

// known_hosts fields are always padded to whole quanta; anything else is not a key.
std::optional<std::string> decode_field(std::string_view in) {
  if (in.empty() || in.size() % 4 != 0) return std::nullopt;
  return base64_decode(in);
}

// OpenSSH host patterns: '*' any run, '?' one character, case-insensitive.
bool glob_match(std::string_view pattern, std::string_view text) {
  std::size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() &&
        (pattern[p] == '?' || ascii_lower(pattern[p]) == ascii_lower(text[t]))) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*')
    ++p;
  return p == pattern.size();
}

bool hashed_host_matches(std::string_view field, std::string_view name) {
  // |1|base64(salt)|base64(HMAC-SHA1(salt, name))
  auto rest = field.substr(3);
  auto bar = rest.find('|');
  if (bar == std::string_view::npos) return false;
  auto salt = decode_field(rest.substr(0, bar));
  auto hash = decode_field(rest.substr(bar + 1));
  if (!salt || !hash || hash->size() != 20) return false;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  if (!HMAC(EVP_sha1(), salt->data(), static_cast<int>(salt->size()),
            reinterpret_cast<const unsigned char*>(name.data()), name.size(), mac, &mac_len)) {
    return false;
  }
  return mac_len == hash->size() && std::memcmp(mac, hash->data(), mac_len) == 0;
}

std::vector<std::string_view> split_ws(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t'))
      ++i;
    std::size_t j = i;
    while (j < line.size() && line[j] != ' ' && line[j] != '\t')
      ++j;
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

}  // namespace

std::string known_hosts_name(std::string_view host, int port) {
  return port == 22 ? std::string(host) : "[" + std::string(host) + "]:" + std::to_string(port);
}

bool known_hosts_field_matches(std::string_view field, std::string_view name) {
  if (field.starts_with("|1|")) return hashed_host_matches(field, name);
  bool matched = false;
  while (!field.empty()) {
    auto comma = field.find(',');
    auto pattern = field.substr(0, comma);
    field = comma == std::string_view::npos ? std::string_view() : field.substr(comma + 1);
    bool negated = pattern.starts_with("!");
    if (negated) pattern.remove_prefix(1);
    if (glob_match(pattern, name)) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

Status check_known_host_lines(std::string_view lines, std::string_view file, std::string_view host,
                              int port, std::string_view host_key) {
  std::string name = known_hosts_name(host, port);
  bool matched = false;
  bool host_listed = false;
  while (!lines.empty()) {
    auto newline = lines.find('\n');
    auto line = lines.substr(0, newline);
    lines = newline == std::string_view::npos ? std::string_view() : lines.substr(newline + 1);
    auto fields = split_ws(line);
    if (fields.empty() || fields[0].starts_with("#")) continue;
    std::string_view marker;
    if (fields[0].starts_with("@")) {
      marker = fields[0];
      fields.erase(fields.begin());
    }
    if (fields.size() < 3 || marker == "@cert-authority") continue;
    if (!known_hosts_field_matches(fields[0], name)) continue;
    auto key = decode_field(fields[2]);
    bool same_key = key && *key == host_key;
    if (marker == "@revoked") {
      if (same_key) return make_error("the host key of " + name + " is marked @revoked");
      continue;
    }
    host_listed = true;
    matched = matched || same_key;
  }
  if (matched) return Ok{};
  if (host_listed) {
    return make_error("host key mismatch for " + name + ": known_hosts lists a different key");
  }
  return make_error("host " + name + " is not in " + std::string(file));
}

Status check_known_host(const std::filesystem::path& known_hosts, std::string_view host, int port,
                        std::string_view host_key) {
  auto lines = read_whole_file(known_hosts);
  if (!lines) return make_error("cannot read known_hosts file " + known_hosts.string());
  return check_known_host_lines(*lines, known_hosts.string(), host, port, host_key);
}

}  // namespace hookd
