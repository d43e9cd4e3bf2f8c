#include "common/server.h"

#include <signal.h>
#include <sys/stat.h>

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace kentra {

absl::Status ParseListenAddress(const std::string& address, std::string* host, int* port) {
  size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("listen address '", address, "' must be HOST:PORT, e.g. 127.0.0.1:0"));
  }
  *host = address.substr(0, colon);
  if (host->size() > 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  if (!absl::SimpleAtoi(address.substr(colon + 1), port) || *port < 0 || *port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("listen address '", address, "' has no valid port (0 to 65535)"));
  }
  return absl::OkStatus();
}

bool IsLoopbackHost(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

namespace {

// Hands the builder a factory it may own while the real one stays with its caller.
class SharedFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit SharedFactory(std::shared_ptr<grpc::experimental::ServerInterceptorFactoryInterface> f) : f_(std::move(f)) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(grpc::experimental::ServerRpcInfo* info) override {
    return f_->CreateServerInterceptor(info);
  }

 private:
  std::shared_ptr<grpc::experimental::ServerInterceptorFactoryInterface> f_;
};

}  // namespace

absl::StatusOr<RunningServer> StartServer(const ServerOptions& options,
                                          const std::vector<grpc::Service*>& services) {
  std::string host;
  int port = 0;
  absl::Status parsed = ParseListenAddress(options.listen_address, &host, &port);
  if (!parsed.ok()) return parsed;
  if (!options.insecure && options.credentials == nullptr) {
    return absl::FailedPreconditionError(
        "no TLS credentials: give the server its certificate (--secrets_dir), or --insecure on loopback");
  }
  if (options.insecure && !IsLoopbackHost(host)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "refusing to serve plaintext on '", host, "': --insecure is allowed only on loopback"));
  }

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  RunningServer running;
  builder.AddListeningPort(options.listen_address,
                           options.insecure ? grpc::InsecureServerCredentials() : options.credentials,
                           &running.port);
  builder.SetMaxReceiveMessageSize(options.max_receive_bytes);
  auto ms = [](absl::Duration d) { return static_cast<int>(absl::ToInt64Milliseconds(d)); };
  builder.AddChannelArgument(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS, ms(options.handshake_timeout));
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS, ms(options.max_connection_idle));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, ms(options.keepalive_time));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, ms(options.keepalive_timeout));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MIN_POLLERS, 2);
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS, 32);
  for (grpc::Service* service : services) builder.RegisterService(service);
  if (!options.interceptors.empty()) {
    // The builder takes ownership of factories it is given; ours stay shared with the caller.
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> factories;
    for (const auto& f : options.interceptors) factories.push_back(std::make_unique<SharedFactory>(f));
    builder.experimental().SetInterceptorCreators(std::move(factories));
  }
  running.server = builder.BuildAndStart();
  if (running.server == nullptr || running.port == 0) {
    return absl::UnavailableError(
        absl::StrCat("could not listen on ", options.listen_address, " (address in use?)"));
  }
  running.server->GetHealthCheckService()->SetServingStatus(true);
  return running;
}

void InitServerProcess() {
  // Everything the server creates (the store's files, logs, backups) is its
  // owner's only: it holds personal data.
  umask(077);
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int WaitForTerminationSignal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  int sig = 0;
  sigwait(&set, &sig);
  return sig;
}

void ShutdownServer(grpc::Server* server, absl::Duration grace) {
  server->GetHealthCheckService()->SetServingStatus(false);
  server->Shutdown(absl::ToChronoTime(absl::Now() + grace));
  server->Wait();
}

}  // namespace kentra
