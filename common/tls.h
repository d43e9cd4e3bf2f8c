// Mutual TLS for every kentra connection: loading a party's certificate, key and
// the federation CA from its directory (as scripts/dev-pki lays it out), building
// gRPC credentials, and verifying the certificate a client presents.
//
// Servers accept the TLS handshake from any client and then verify the client's
// certificate here, per call, so that a refused certificate gets a precise
// UNAUTHENTICATED status (and an audit entry) instead of a bare handshake failure.
#ifndef KENTRA_COMMON_TLS_H_
#define KENTRA_COMMON_TLS_H_

#include <memory>
#include <set>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/identity.h"

namespace kentra {

// One party's TLS material, PEM encoded.
struct TlsIdentity {
  std::string ca_pem;    // the federation CA, which every peer must chain to
  std::string cert_pem;  // this party's certificate
  std::string key_pem;   // its private key
};

// Reads DIR/ca.crt, DIR/<role>.crt and DIR/<role>.key, where role is "server" or
// "client". FAILED_PRECONDITION naming the file if one is missing or if the key
// can be read by anyone but its owner.
absl::StatusOr<TlsIdentity> LoadTlsIdentity(const std::string& dir, absl::string_view role);

// Reads a file holding a secret; FAILED_PRECONDITION if it is missing or readable
// by group or others ("chmod 600 FILE").
absl::StatusOr<std::string> ReadSecretFile(const std::string& path);
// Reads a secret file holding a 32-byte secret as 64 hex digits (openssl rand
// -hex 32): node.key, federation.secret, the operator's root.seed. Returns the bytes.
absl::StatusOr<std::string> ReadHexSecretFile(const std::string& path);

// Server credentials that present `identity` and ask every client for a
// certificate (verified per call by PeerVerifier).
std::shared_ptr<grpc::ServerCredentials> MakeServerCredentials(const TlsIdentity& identity);

// Client credentials that present `identity` and verify the server against its CA.
std::shared_ptr<grpc::ChannelCredentials> MakeClientCredentials(const TlsIdentity& identity);

// Verifies the client certificate of a call: issued by the federation CA for
// client use, valid now, not revoked, naming exactly one kentra identity.
// Results are cached per certificate, so a reused connection costs a hash lookup.
// Thread-safe.
class PeerVerifier {
 public:
  // `revoked_serials`: upper-case hex serial numbers that are refused.
  static absl::StatusOr<std::unique_ptr<PeerVerifier>> Create(const std::string& ca_pem,
                                                              std::set<std::string> revoked_serials,
                                                              const Clock* clock);
  ~PeerVerifier();

  // The identity of the client on `auth`, or UNAUTHENTICATED saying why not.
  absl::StatusOr<Principal> Verify(const grpc::AuthContext& auth) const;

 private:
  struct Checked {
    absl::Status status;  // why the certificate is refused regardless of time
    Principal principal;
    absl::Time not_before;
    absl::Time not_after;
  };
  PeerVerifier() = default;
  Checked Check(const std::string& pem) const;

  void* store_ = nullptr;  // X509_STORE*, opaque so OpenSSL stays out of headers
  std::set<std::string> revoked_;
  const Clock* clock_ = nullptr;
  mutable absl::Mutex mu_;
  mutable absl::flat_hash_map<std::string, Checked> cache_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kentra

#endif  // KENTRA_COMMON_TLS_H_
