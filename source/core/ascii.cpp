#include "hookd/core/ascii.h"

namespace hookd {

bool ascii_iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  // Header names are stored lower-case and looked up by lower-case
  // literals: the same bytes are the usual case, and memcmp is wide.
  if (a == b) return true;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

std::string ascii_lower(std::string_view s) {
  std::string out;
  ascii_lower_assign(out, s);
  return out;
}

void ascii_lower_assign(std::string& out, std::string_view s) {
  out.assign(s.data(), s.size());
  for (char& c : out)
    c = ascii_lower(c);
}

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

}  // namespace hookd
