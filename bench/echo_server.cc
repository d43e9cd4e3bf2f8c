#include "bench/echo_server.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "bench/shaped_write.h"
#include "common/server.h"
#include "common/status.h"
#include "common/tls.h"
#include "common/storage.h"
#include "kentra/bench/v1/echo.grpc.pb.h"
#include "node/schema.h"

namespace kentra::bench {
namespace {

namespace bv1 = kentra::bench::v1;

// Largest answer the echo server builds, so a bad request cannot exhaust memory.
constexpr int kMaxResponseBytes = 1 << 20;

// Largest batch a call may ask for.
constexpr int kMaxWriteOperations = 1000;
constexpr int kMaxWriteBytes = 1 << 20;

class EchoServiceImpl final : public bv1::EchoService::Service {
 public:
  // `verifier` and `store` may be null.
  EchoServiceImpl(const PeerVerifier* verifier, Store* store) : verifier_(verifier), store_(store) {}

  grpc::Status Echo(grpc::ServerContext* ctx, const bv1::EchoRequest* request, bv1::EchoResponse* response) override {
    if (verifier_ != nullptr) {
      absl::Status who = verifier_->Verify(*ctx->auth_context()).status();
      if (!who.ok()) return ToGrpcStatus(who);
    }
    if (request->response_bytes() < 0 || request->response_bytes() > kMaxResponseBytes) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "response_bytes: must be in [0, 1048576]");
    }
    if (request->write_operations() > 0) {
      if (store_ == nullptr) {
        return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "write_operations: this echo server has no store");
      }
      if (request->write_operations() > kMaxWriteOperations || request->write_bytes() < 0 ||
          request->write_bytes() > kMaxWriteBytes) {
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "write_operations: at most 1000 puts and 1 MiB");
      }
      absl::Status written =
          WriterFor(request->write_operations(), request->write_bytes()).Write(*store_, 0, writes_.fetch_add(1));
      if (!written.ok()) return ToGrpcStatus(written);
    }
    response->mutable_payload()->assign(static_cast<size_t>(request->response_bytes()), 'x');
    return grpc::Status::OK;
  }

 private:
  // One writer per shape, made once: making one draws its filler bytes.
  const ShapedWriter& WriterFor(int operations, int bytes) {
    absl::MutexLock lock(&mu_);
    auto& writer = writers_[{operations, bytes}];
    if (writer == nullptr) writer = std::make_unique<ShapedWriter>(operations, bytes);
    return *writer;
  }

  const PeerVerifier* verifier_;
  Store* store_;
  std::atomic<int64_t> writes_{0};
  absl::Mutex mu_;
  std::map<std::pair<int, int>, std::unique_ptr<ShapedWriter>> writers_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

std::string SelfPath() {
  char self[4096];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  return n > 0 ? std::string(self, static_cast<size_t>(n)) : "";
}

int ServeEcho(const std::string& secrets_dir, const std::string& store_dir) {
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
  std::unique_ptr<Store> store;
  if (!store_dir.empty()) {
    auto opened = Store::Open(store_dir, node::ColumnFamilyNames());
    if (!opened.ok()) {
      std::fprintf(stderr, "echo: %s\n", std::string(opened.status().message()).c_str());
      return 1;
    }
    store = *std::move(opened);
  }
  EchoServiceImpl service(verifier.get(), store.get());
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
