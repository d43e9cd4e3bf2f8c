#include "common/tls.h"

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <algorithm>
#include <ctime>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace kentra {
namespace {

// Most distinct client certificates remembered; the cache starts over beyond it.
constexpr size_t kMaxCachedCertificates = 4096;

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::FailedPreconditionError(absl::StrCat("cannot read ", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};
using X509Ptr = std::unique_ptr<X509, X509Deleter>;

X509Ptr ParsePem(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr) return nullptr;
  X509Ptr cert(PEM_read_bio_X509(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);
  return cert;
}

absl::Time FromAsn1(const ASN1_TIME* t) {
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return absl::InfinitePast();
  return absl::FromTM(tm, absl::UTCTimeZone());
}

std::string SerialHex(X509* cert) {
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get_serialNumber(cert), nullptr);
  if (bn == nullptr) return "";
  char* hex = BN_bn2hex(bn);
  std::string out = hex == nullptr ? "" : hex;
  OPENSSL_free(hex);
  BN_free(bn);
  return absl::AsciiStrToUpper(out);
}

// The URIs in the certificate's subject alternative names.
std::vector<std::string> SanUris(X509* cert) {
  std::vector<std::string> uris;
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return uris;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type != GEN_URI) continue;
    const ASN1_IA5STRING* uri = name->d.uniformResourceIdentifier;
    uris.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri)),
                      static_cast<size_t>(ASN1_STRING_length(uri)));
  }
  GENERAL_NAMES_free(names);
  return uris;
}

absl::Status Refused(absl::string_view why) {
  return absl::UnauthenticatedError(absl::StrCat("client certificate refused: ", why));
}

}  // namespace

absl::StatusOr<std::string> ReadSecretFile(const std::string& path) {
  struct stat st{};
  if (stat(path.c_str(), &st) != 0) {
    return absl::FailedPreconditionError(absl::StrCat("secret file ", path, " is missing"));
  }
  if ((st.st_mode & 077) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "secret file ", path, " can be read by others; run: chmod 600 ", path));
  }
  return ReadFile(path);
}

absl::StatusOr<std::string> ReadHexSecretFile(const std::string& path) {
  auto text = ReadSecretFile(path);
  if (!text.ok()) return text.status();
  const std::string hex(absl::StripAsciiWhitespace(*text));
  if (hex.size() != 64 || !std::all_of(hex.begin(), hex.end(), [](char c) { return absl::ascii_isxdigit(c); })) {
    return absl::FailedPreconditionError(absl::StrCat(path, " must hold 64 hex digits (openssl rand -hex 32)"));
  }
  return absl::HexStringToBytes(hex);
}

absl::StatusOr<TlsIdentity> LoadTlsIdentity(const std::string& dir, absl::string_view role) {
  TlsIdentity identity;
  auto ca = ReadFile(absl::StrCat(dir, "/ca.crt"));
  if (!ca.ok()) return ca.status();
  auto cert = ReadFile(absl::StrCat(dir, "/", role, ".crt"));
  if (!cert.ok()) return cert.status();
  auto key = ReadSecretFile(absl::StrCat(dir, "/", role, ".key"));
  if (!key.ok()) return key.status();
  identity.ca_pem = *std::move(ca);
  identity.cert_pem = *std::move(cert);
  identity.key_pem = *std::move(key);
  return identity;
}

std::shared_ptr<grpc::ServerCredentials> MakeServerCredentials(const TlsIdentity& identity) {
  grpc::SslServerCredentialsOptions options(GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_BUT_DONT_VERIFY);
  options.pem_root_certs = identity.ca_pem;
  options.pem_key_cert_pairs.push_back({identity.key_pem, identity.cert_pem});
  return grpc::SslServerCredentials(options);
}

std::shared_ptr<grpc::ChannelCredentials> MakeClientCredentials(const TlsIdentity& identity) {
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = identity.ca_pem;
  options.pem_private_key = identity.key_pem;
  options.pem_cert_chain = identity.cert_pem;
  return grpc::SslCredentials(options);
}

absl::StatusOr<std::unique_ptr<PeerVerifier>> PeerVerifier::Create(const std::string& ca_pem,
                                                                   std::set<std::string> revoked_serials,
                                                                   const Clock* clock) {
  X509Ptr ca = ParsePem(ca_pem);
  if (ca == nullptr) return absl::FailedPreconditionError("the federation CA certificate cannot be parsed");
  auto verifier = std::unique_ptr<PeerVerifier>(new PeerVerifier());
  X509_STORE* store = X509_STORE_new();
  if (store == nullptr || X509_STORE_add_cert(store, ca.get()) != 1) {
    X509_STORE_free(store);
    return absl::InternalError("cannot set up certificate verification");
  }
  verifier->store_ = store;
  for (const auto& serial : revoked_serials) verifier->revoked_.insert(absl::AsciiStrToUpper(serial));
  verifier->clock_ = clock;
  return verifier;
}

PeerVerifier::~PeerVerifier() { X509_STORE_free(static_cast<X509_STORE*>(store_)); }

PeerVerifier::Checked PeerVerifier::Check(const std::string& pem) const {
  Checked checked;
  X509Ptr cert = ParsePem(pem);
  if (cert == nullptr) {
    checked.status = Refused("it cannot be parsed");
    return checked;
  }
  checked.principal.serial = SerialHex(cert.get());
  checked.not_before = FromAsn1(X509_get0_notBefore(cert.get()));
  checked.not_after = FromAsn1(X509_get0_notAfter(cert.get()));
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, static_cast<X509_STORE*>(store_), cert.get(), nullptr);
  X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
  // Validity dates are checked per call against the clock, so results can be cached.
  X509_VERIFY_PARAM_set_flags(X509_STORE_CTX_get0_param(ctx), X509_V_FLAG_NO_CHECK_TIME);
  const bool verified = X509_verify_cert(ctx) == 1;
  const int error = X509_STORE_CTX_get_error(ctx);
  X509_STORE_CTX_free(ctx);
  if (!verified) {
    checked.status = Refused(absl::StrCat("not issued by the federation CA for client use (",
                                          X509_verify_cert_error_string(error), ")"));
    return checked;
  }
  std::vector<std::string> kentra_uris;
  for (const auto& uri : SanUris(cert.get())) {
    if (uri.rfind("kentra://", 0) == 0) kentra_uris.push_back(uri);
  }
  if (kentra_uris.size() != 1) {
    checked.status = Refused("it must name exactly one kentra:// identity");
    return checked;
  }
  auto principal = PrincipalFromUri(kentra_uris[0]);
  if (!principal.ok()) {
    checked.status = Refused(principal.status().message());
    return checked;
  }
  principal->serial = checked.principal.serial;
  checked.principal = *std::move(principal);
  return checked;
}

absl::StatusOr<Principal> PeerVerifier::Verify(const grpc::AuthContext& auth) const {
  const auto pems = auth.FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME);
  if (pems.empty()) return Refused("the client presented no certificate");
  const absl::string_view pem(pems.front().data(), pems.front().size());
  Checked checked;
  bool cached = false;
  {
    absl::ReaderMutexLock lock(&mu_);
    auto it = cache_.find(pem);  // heterogeneous lookup: no copy on the hot path
    if (it != cache_.end()) {
      checked = it->second;
      cached = true;
    }
  }
  if (!cached) {
    checked = Check(std::string(pem));
    absl::MutexLock lock(&mu_);
    if (cache_.size() >= kMaxCachedCertificates) cache_.clear();
    cache_.emplace(std::string(pem), checked);
  }
  if (!checked.status.ok()) return checked.status;
  if (revoked_.count(checked.principal.serial) > 0) {
    return Refused(absl::StrCat("serial ", checked.principal.serial, " is revoked"));
  }
  const absl::Time now = clock_->Now();
  if (now < checked.not_before) return Refused("it is not valid yet");
  if (now >= checked.not_after) return Refused("it has expired");
  return checked.principal;
}

}  // namespace kentra
