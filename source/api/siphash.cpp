#include "hookd/api/siphash.h"

#include <openssl/rand.h>

#include <random>

namespace hookd::api {
namespace {

constexpr std::uint64_t rotl(std::uint64_t x, int b) {
  return (x << b) | (x >> (64 - b));
}

void round(std::uint64_t v[4]) {
  v[0] += v[1];
  v[1] = rotl(v[1], 13);
  v[1] ^= v[0];
  v[0] = rotl(v[0], 32);
  v[2] += v[3];
  v[3] = rotl(v[3], 16);
  v[3] ^= v[2];
  v[0] += v[3];
  v[3] = rotl(v[3], 21);
  v[3] ^= v[0];
  v[2] += v[1];
  v[1] = rotl(v[1], 17);
  v[1] ^= v[2];
  v[2] = rotl(v[2], 32);
}

std::uint64_t load_le(const unsigned char* p, std::size_t n) {
  std::uint64_t word = 0;
  for (std::size_t i = 0; i < n; ++i)
    word |= static_cast<std::uint64_t>(p[i]) << (8 * i);
  return word;
}

void store_le(unsigned char* p, std::uint64_t word) {
  for (std::size_t i = 0; i < 8; ++i)
    p[i] = static_cast<unsigned char>(word >> (8 * i));
}

}  // namespace

SipHash128::SipHash128(const SipKey& key)
    : v_{key[0] ^ 0x736f6d6570736575ull, key[1] ^ 0x646f72616e646f6dull,
         key[0] ^ 0x6c7967656e657261ull, key[1] ^ 0x7465646279746573ull} {
  v_[1] ^= 0xee;  // the 128-bit output variant
}

void SipHash128::compress(std::uint64_t word) {
  v_[3] ^= word;
  round(v_);
  round(v_);
  v_[0] ^= word;
}

void SipHash128::add(std::string_view bytes) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  std::size_t n = bytes.size();
  length_ += n;
  // Top up a partial word first; then whole words straight from the input.
  while (tail_bytes_ > 0 && tail_bytes_ < 8 && n > 0) {
    tail_ |= static_cast<std::uint64_t>(*p++) << (8 * tail_bytes_++);
    --n;
  }
  if (tail_bytes_ == 8) {
    compress(tail_);
    tail_ = 0;
    tail_bytes_ = 0;
  }
  for (; n >= 8; p += 8, n -= 8)
    compress(load_le(p, 8));
  if (n > 0) {
    tail_ = load_le(p, n);
    tail_bytes_ = n;
  }
}

SipDigest SipHash128::finish() {
  compress(tail_ | (length_ << 56));
  SipDigest out{};
  v_[2] ^= 0xee;
  for (int i = 0; i < 4; ++i)
    round(v_);
  store_le(out.data(), v_[0] ^ v_[1] ^ v_[2] ^ v_[3]);
  v_[1] ^= 0xdd;
  for (int i = 0; i < 4; ++i)
    round(v_);
  store_le(out.data() + 8, v_[0] ^ v_[1] ^ v_[2] ^ v_[3]);
  return out;
}

SipKey random_sip_key() {
  unsigned char bytes[16];
  SipKey key{};
  if (RAND_bytes(bytes, sizeof bytes) == 1) {
    key = {load_le(bytes, 8), load_le(bytes + 8, 8)};
  } else {
    std::random_device device;  // OpenSSL's generator failed: the kernel's, directly
    for (std::uint64_t& half : key)
      half = (static_cast<std::uint64_t>(device()) << 32) | device();
  }
  return key;
}

}  // namespace hookd::api
