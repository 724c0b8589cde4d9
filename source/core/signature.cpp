#include "hookd/core/signature.h"

#include <array>
#include <charconv>
#include <memory>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

namespace hookd {
namespace {

constexpr std::string_view kSecretPrefix = "whsec_";
constexpr std::string_view kVersionPrefix = "v1,";
constexpr std::size_t kMacSize = 32;  // SHA-256

constexpr char kBase64Alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<signed char, 256> make_decode_table() {
  std::array<signed char, 256> table{};
  for (auto& entry : table)
    entry = -1;
  for (int i = 0; i < 64; ++i)
    table[static_cast<unsigned char>(kBase64Alphabet[i])] = i;
  return table;
}
constexpr auto kBase64Decode = make_decode_table();

struct MacFree {
  void operator()(EVP_MAC* mac) const { EVP_MAC_free(mac); }
  void operator()(EVP_MAC_CTX* ctx) const { EVP_MAC_CTX_free(ctx); }
};

// One HMAC-SHA256 context per thread, fetched once: fetching the algorithm
// on every call (as the one-shot HMAC() does in OpenSSL 3) costs more than
// the MAC itself for a small body. Re-initialising with a new key is cheap.
class ThreadMac {
 public:
  ThreadMac() {
    std::unique_ptr<EVP_MAC, MacFree> mac(EVP_MAC_fetch(nullptr, OSSL_MAC_NAME_HMAC, nullptr));
    if (mac) ctx_.reset(EVP_MAC_CTX_new(mac.get()));
    if (ctx_) {
      char digest[] = "SHA256";
      OSSL_PARAM params[] = {
          OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
          OSSL_PARAM_construct_end(),
      };
      if (EVP_MAC_CTX_set_params(ctx_.get(), params) != 1) ctx_.reset();
    }
  }

  // HMAC-SHA256(key, id "." timestamp "." body) without joining the parts.
  bool compute(std::string_view key, std::string_view id, std::string_view timestamp,
               std::string_view body, unsigned char (&out)[kMacSize]) {
    if (!ctx_) return false;
    auto bytes = [](std::string_view s) {
      return reinterpret_cast<const unsigned char*>(s.data());
    };
    // A zero-length key still needs a non-null pointer for OpenSSL to
    // treat it as a (re)key rather than "keep the previous key".
    static const unsigned char kNoKey = 0;
    const unsigned char* key_bytes = key.empty() ? &kNoKey : bytes(key);
    std::size_t length = 0;
    return EVP_MAC_init(ctx_.get(), key_bytes, key.size(), nullptr) == 1 &&
           EVP_MAC_update(ctx_.get(), bytes(id), id.size()) == 1 &&
           EVP_MAC_update(ctx_.get(), bytes("."), 1) == 1 &&
           EVP_MAC_update(ctx_.get(), bytes(timestamp), timestamp.size()) == 1 &&
           EVP_MAC_update(ctx_.get(), bytes("."), 1) == 1 &&
           EVP_MAC_update(ctx_.get(), bytes(body), body.size()) == 1 &&
           EVP_MAC_final(ctx_.get(), out, &length, kMacSize) == 1 && length == kMacSize;
  }

 private:
  std::unique_ptr<EVP_MAC_CTX, MacFree> ctx_;
};

bool hmac_sha256(std::string_view key, std::string_view id, std::string_view timestamp,
                 std::string_view body, unsigned char (&out)[kMacSize]) {
  thread_local ThreadMac mac;
  return mac.compute(key, id, timestamp, body, out);
}

std::optional<std::int64_t> parse_unix_seconds(std::string_view text) {
  std::int64_t value = 0;
  if (text.empty() || text.front() < '0' || text.front() > '9') return std::nullopt;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.resize((bytes.size() + 2) / 3 * 4);
  auto in = reinterpret_cast<const unsigned char*>(bytes.data());
  std::size_t n = bytes.size();
  std::size_t o = 0;
  std::size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    std::uint32_t v = (in[i] << 16) | (in[i + 1] << 8) | in[i + 2];
    out[o++] = kBase64Alphabet[(v >> 18) & 63];
    out[o++] = kBase64Alphabet[(v >> 12) & 63];
    out[o++] = kBase64Alphabet[(v >> 6) & 63];
    out[o++] = kBase64Alphabet[v & 63];
  }
  if (std::size_t rest = n - i; rest > 0) {
    std::uint32_t v = in[i] << 16;
    if (rest == 2) v |= in[i + 1] << 8;
    out[o++] = kBase64Alphabet[(v >> 18) & 63];
    out[o++] = kBase64Alphabet[(v >> 12) & 63];
    out[o++] = rest == 2 ? kBase64Alphabet[(v >> 6) & 63] : '=';
    out[o++] = '=';
  }
  return out;
}

// Standard alphabet; padding optional (secrets are often pasted without it),
// but when present it must complete the last quantum.
std::optional<std::string> base64_decode(std::string_view text) {
  if (!text.empty() && text.back() == '=') {
    if (text.size() % 4 != 0) return std::nullopt;
    text.remove_suffix(1);
    if (!text.empty() && text.back() == '=') text.remove_suffix(1);
  }
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3 + 2);
  std::uint32_t accumulator = 0;
  int bits = 0;
  for (char c : text) {
    int v = kBase64Decode[static_cast<unsigned char>(c)];
    if (v < 0) return std::nullopt;
    accumulator = (accumulator << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((accumulator >> bits) & 0xFF);
    }
  }
  return out;
}

Result<WebhookSecret> WebhookSecret::parse(std::string_view text) {
  if (text.substr(0, kSecretPrefix.size()) == kSecretPrefix)
    text.remove_prefix(kSecretPrefix.size());
  if (text.empty()) return make_error("secret: empty (expected whsec_<base64>)");
  // The message never echoes the secret: it ends up in logs and exit reasons.
  std::optional<std::string> key = base64_decode(text);
  if (!key) return make_error("secret: not valid base64 (expected whsec_<base64>)");
  if (key->empty()) return make_error("secret: decodes to an empty key");
  WebhookSecret secret;
  secret.key_ = std::move(*key);
  return secret;
}

std::string WebhookSecret::sign(std::string_view id, std::int64_t timestamp,
                                std::string_view body) const {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, timestamp);
  unsigned char mac[kMacSize];
  if (ec != std::errc() ||
      !hmac_sha256(key_, id, std::string_view(digits, end - digits), body, mac)) {
    // Only an OpenSSL without HMAC/SHA-256 gets here; an empty signature
    // fails every verifier instead of passing a wrong one.
    return std::string(kVersionPrefix);
  }
  std::string out(kVersionPrefix);
  out += base64_encode(std::string_view(reinterpret_cast<const char*>(mac), kMacSize));
  return out;
}

Status WebhookSecret::verify(std::string_view id, std::string_view timestamp_header,
                             std::string_view signature_header, std::string_view body,
                             std::int64_t now_unix, std::int64_t tolerance_seconds) const {
  if (id.empty()) return make_error("missing webhook-id");
  if (timestamp_header.empty()) return make_error("missing webhook-timestamp");
  if (signature_header.empty()) return make_error("missing webhook-signature");

  std::optional<std::int64_t> timestamp = parse_unix_seconds(timestamp_header);
  if (!timestamp) return make_error("invalid timestamp (expected whole unix seconds)");
  // Checked before the MAC so a replayed old message costs no HMAC.
  if (*timestamp < now_unix - tolerance_seconds) return make_error("timestamp too old");
  if (*timestamp > now_unix + tolerance_seconds) return make_error("timestamp too new");

  unsigned char expected[kMacSize];
  if (!hmac_sha256(key_, id, timestamp_header, body, expected)) {
    return make_error("signature check unavailable (OpenSSL HMAC-SHA256)");
  }

  bool matched = false;
  std::string_view rest = signature_header;
  while (!rest.empty()) {
    std::size_t space = rest.find(' ');
    std::string_view entry = rest.substr(0, space);
    rest = space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
    // Other versions (v1a asymmetric, future ones) are skipped, as the spec asks.
    if (entry.substr(0, kVersionPrefix.size()) != kVersionPrefix) continue;
    std::optional<std::string> given = base64_decode(entry.substr(kVersionPrefix.size()));
    if (!given || given->size() != kMacSize) continue;
    // Keep comparing after a match so timing does not reveal which entry hit.
    matched |= CRYPTO_memcmp(given->data(), expected, kMacSize) == 0;
  }
  if (!matched) return make_error("no matching signature");
  return Ok{};
}

Status verify_with_any(const std::vector<WebhookSecret>& secrets, std::string_view id,
                       std::string_view timestamp_header, std::string_view signature_header,
                       std::string_view body, std::int64_t now_unix,
                       std::int64_t tolerance_seconds) {
  if (secrets.empty()) return make_error("no secret to verify with");
  auto verify = [&](const WebhookSecret& secret) {
    return secret.verify(id, timestamp_header, signature_header, body, now_unix, tolerance_seconds);
  };
  Status first = verify(secrets.front());
  if (first) return first;
  for (std::size_t i = 1; i < secrets.size(); ++i) {
    if (verify(secrets[i])) return Ok{};
  }
  return first;
}

}  // namespace hookd
