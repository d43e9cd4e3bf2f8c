#include "bench/echo_server.h"

#include <unistd.h>

#include <cstdio>
#include <string>

#include "common/server.h"
#include "common/status.h"
#include "common/tls.h"
#include "kentra/bench/v1/echo.grpc.pb.h"

namespace kentra::bench {
namespace {

namespace bv1 = kentra::bench::v1;

// Largest answer the echo server builds, so a bad request cannot exhaust memory.
constexpr int kMaxResponseBytes = 1 << 20;

class EchoServiceImpl final : public bv1::EchoService::Service {
 public:
  explicit EchoServiceImpl(const PeerVerifier* verifier) : verifier_(verifier) {}

  grpc::Status Echo(grpc::ServerContext* ctx, const bv1::EchoRequest* request, bv1::EchoResponse* response) override {
    if (verifier_ != nullptr) {
      absl::Status who = verifier_->Verify(*ctx->auth_context()).status();
      if (!who.ok()) return ToGrpcStatus(who);
    }
    if (request->response_bytes() < 0 || request->response_bytes() > kMaxResponseBytes) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "response_bytes: must be in [0, 1048576]");
    }
    response->mutable_payload()->assign(static_cast<size_t>(request->response_bytes()), 'x');
    return grpc::Status::OK;
  }

 private:
  const PeerVerifier* verifier_;
};

}  // namespace

std::string SelfPath() {
  char self[4096];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  return n > 0 ? std::string(self, static_cast<size_t>(n)) : "";
}

int ServeEcho(const std::string& secrets_dir) {
  ServerOptions options;
  options.listen_address = "127.0.0.1:0";
  options.insecure = secrets_dir.empty();
  std::unique_ptr<PeerVerifier> verifier;
  if (!secrets_dir.empty()) {
    auto tls = LoadTlsIdentity(secrets_dir, "server");
    auto made = tls.ok() ? PeerVerifier::Create(tls->ca_pem, {}, SystemClock::Get())
                         : absl::StatusOr<std::unique_ptr<PeerVerifier>>(tls.status());
    if (!made.ok()) {
      std::fprintf(stderr, "echo: %s\n", std::string(made.status().message()).c_str());
      return 1;
    }
    verifier = *std::move(made);
    options.credentials = MakeServerCredentials(*tls);
  }
  EchoServiceImpl service(verifier.get());
  auto running = StartServer(options, {&service});
  if (!running.ok()) {
    std::fprintf(stderr, "echo: %s\n", std::string(running.status().message()).c_str());
    return 1;
  }
  std::printf("kentra-bench echo listening on port %d\n", running->port);
  std::fflush(stdout);
  WaitForTerminationSignal();
  ShutdownServer(running->server.get(), absl::Seconds(2));
  return 0;
}

}  // namespace kentra::bench
