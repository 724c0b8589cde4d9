// Standard Webhooks signatures: base64 round-trips, secrets parse or fail
// cleanly, what sign() makes verify() accepts (alone or among other entries),
// a changed body or a stale timestamp is refused, and a fuzzed header is only
// accepted when one of its entries carries the right MAC.
#include <charconv>
#include <optional>
#include <string>

#include <fuzzer/FuzzedDataProvider.h>

#include "fuzz_check.h"
#include "hookd/core/signature.h"

namespace {

// The Standard Webhooks example secret, for inputs whose own secret text
// does not parse: verify() is exercised on every input.
constexpr std::string_view kFallbackSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr std::int64_t kTolerance = 300;

void check_base64(std::string_view bytes, std::string_view text) {
  std::string encoded = hookd::base64_encode(bytes);
  FUZZ_CHECK(encoded.size() % 4 == 0);
  FUZZ_CHECK(hookd::base64_decode(encoded) == std::string(bytes));
  if (auto decoded = hookd::base64_decode(text)) {
    FUZZ_CHECK(hookd::base64_decode(hookd::base64_encode(*decoded)) == decoded);
  }
}

// The 32-byte MAC of one "v1,<base64>" entry, if it is one.
std::optional<std::string> v1_mac(std::string_view entry) {
  if (entry.substr(0, 3) != "v1,") return std::nullopt;
  auto mac = hookd::base64_decode(entry.substr(3));
  if (!mac || mac->size() != 32) return std::nullopt;
  return mac;
}

bool header_carries(std::string_view header, const std::string& mac) {
  while (!header.empty()) {
    std::size_t space = header.find(' ');
    if (v1_mac(header.substr(0, space)) == mac) return true;
    header = space == std::string_view::npos ? std::string_view() : header.substr(space + 1);
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  std::string secret_text = in.ConsumeRandomLengthString(80);
  std::string id = in.ConsumeRandomLengthString(64);
  std::string timestamp_header = in.ConsumeRandomLengthString(24);
  std::string signature_header = in.ConsumeRandomLengthString(400);
  auto now = in.ConsumeIntegralInRange<std::int64_t>(0, std::int64_t{1} << 40);
  std::string body = in.ConsumeRemainingBytesAsString();

  check_base64(secret_text, secret_text);
  check_base64(body, signature_header);

  // A secret is "whsec_" (optional) and base64 of a non-empty key.
  auto parsed = hookd::WebhookSecret::parse(secret_text);
  std::string_view key_text = secret_text;
  if (key_text.substr(0, 6) == "whsec_") key_text.remove_prefix(6);
  auto key = hookd::base64_decode(key_text);
  FUZZ_CHECK(parsed.ok() == (key && !key->empty()));
  hookd::WebhookSecret secret =
      parsed ? parsed.value() : hookd::WebhookSecret::parse(kFallbackSecret).value();

  // What we sign, we verify; the id is required.
  std::string signature = secret.sign(id, now, body);
  auto mac = v1_mac(signature);
  FUZZ_CHECK(mac.has_value());
  std::string now_text = std::to_string(now);
  bool accepted = secret.verify(id, now_text, signature, body, now, kTolerance).ok();
  FUZZ_CHECK(accepted == !id.empty());
  if (!id.empty()) {
    FUZZ_CHECK(secret.verify(id, now_text, signature_header + " " + signature, body, now).ok());
    FUZZ_CHECK(!secret.verify(id, now_text, signature, body + "x", now).ok());
    FUZZ_CHECK(!secret.verify(id, now_text, signature, body, now + kTolerance + 1).ok());
    FUZZ_CHECK(!secret.verify(id, now_text, signature, body, now - kTolerance - 1).ok());
  }

  // A fuzzed header passes only with a fresh timestamp and the right MAC.
  auto verdict = secret.verify(id, timestamp_header, signature_header, body, now, kTolerance);
  if (verdict.ok()) {
    std::int64_t stamp = 0;
    auto [end, ec] = std::from_chars(timestamp_header.data(),
                                     timestamp_header.data() + timestamp_header.size(), stamp);
    FUZZ_CHECK(ec == std::errc() && end == timestamp_header.data() + timestamp_header.size());
    FUZZ_CHECK(stamp >= now - kTolerance && stamp <= now + kTolerance);
    // sign() writes the timestamp canonically; the MAC covers the header text.
    if (std::to_string(stamp) == timestamp_header) {
      FUZZ_CHECK(header_carries(signature_header, *v1_mac(secret.sign(id, stamp, body))));
    }
  }
  return 0;
}
