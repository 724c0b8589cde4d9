#include "hookd/core/sha256.h"

#include <openssl/evp.h>

namespace hookd {
namespace {

EVP_MD_CTX* thread_context() {
  struct Context {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    ~Context() { EVP_MD_CTX_free(ctx); }
  };
  thread_local Context context;
  return context.ctx;
}

}  // namespace

Sha256::Sha256() {
  // Fetched once: OpenSSL 3 looks EVP_sha256() up again on every digest.
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  EVP_DigestInit_ex(thread_context(), md, nullptr);
}

void Sha256::add(std::string_view bytes) {
  EVP_DigestUpdate(thread_context(), bytes.data(), bytes.size());
}

Sha256Digest Sha256::finish() {
  Sha256Digest out{};
  unsigned int length = 0;
  EVP_DigestFinal_ex(thread_context(), out.data(), &length);
  return out;
}

Sha256Digest sha256(std::string_view bytes) {
  Sha256 digest;
  digest.add(bytes);
  return digest.finish();
}

}  // namespace hookd
