// SipHash128: the reference vector of the SipHash paper, and the same
// digests as OpenSSL's SipHash-2-4 (EVP_MAC "SIPHASH", 16-byte output) for
// every length across a few words, whatever pieces the input comes in.
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include <catch2/catch.hpp>
#include <string>

#include "hookd/api/siphash.h"

namespace {

using hookd::api::SipDigest;
using hookd::api::SipHash128;
using hookd::api::SipKey;

// The key bytes 00 01 .. 0f, as the paper's test vectors use.
constexpr SipKey kPaperKey = {0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull};

SipDigest openssl_siphash(const SipKey& key, std::string_view bytes) {
  unsigned char raw_key[16];
  for (int i = 0; i < 16; ++i)
    raw_key[i] = static_cast<unsigned char>(key[i / 8] >> (8 * (i % 8)));
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "SIPHASH", nullptr);
  REQUIRE(mac != nullptr);
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(mac);
  unsigned int size = 16;
  OSSL_PARAM params[] = {OSSL_PARAM_construct_uint(OSSL_MAC_PARAM_SIZE, &size),
                         OSSL_PARAM_construct_end()};
  REQUIRE(EVP_MAC_init(ctx, raw_key, sizeof raw_key, params) == 1);
  REQUIRE(EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size()) ==
          1);
  SipDigest out{};
  std::size_t written = 0;
  REQUIRE(EVP_MAC_final(ctx, out.data(), &written, out.size()) == 1);
  REQUIRE(written == 16);
  EVP_MAC_CTX_free(ctx);
  EVP_MAC_free(mac);
  return out;
}

SipDigest ours(const SipKey& key, std::string_view bytes, std::size_t piece) {
  SipHash128 digest(key);
  for (std::size_t at = 0; at < bytes.size(); at += piece)
    digest.add(bytes.substr(at, piece));
  return digest.finish();
}

}  // namespace

TEST_CASE("SipHash128 gives the paper's vector for the empty input", "[siphash]") {
  const SipDigest expected = {0xa3, 0x81, 0x7f, 0x04, 0xba, 0x25, 0xa8, 0xe6,
                              0x6d, 0xf6, 0x72, 0x14, 0xc7, 0x55, 0x02, 0x93};
  CHECK(ours(kPaperKey, "", 1) == expected);
}

TEST_CASE("SipHash128 agrees with OpenSSL's SipHash-2-4 in any pieces", "[siphash]") {
  std::string input;
  for (int i = 0; i < 40; ++i)
    input += static_cast<char>(i * 37 + 11);
  const SipKey keys[] = {kPaperKey, hookd::api::random_sip_key()};
  for (const SipKey& key : keys) {
    for (std::size_t length = 0; length <= input.size(); ++length) {
      const std::string_view bytes(input.data(), length);
      const SipDigest expected = openssl_siphash(key, bytes);
      for (std::size_t piece : {1, 3, 7, 8, 9, 64}) {
        INFO("length " << length << ", pieces of " << piece);
        CHECK(ours(key, bytes, piece) == expected);
      }
    }
  }
}

TEST_CASE("random_sip_key draws a different key each time", "[siphash]") {
  CHECK(hookd::api::random_sip_key() != hookd::api::random_sip_key());
}
