#include "hub/hub_server.h"

#include "common/status.h"

namespace kentra::hub {

absl::StatusOr<std::unique_ptr<HubServer>> HubServer::Start(HubOptions options) {
  auto hub = std::unique_ptr<HubServer>(new HubServer());
  if (options.secrets_dir.empty()) return absl::FailedPreconditionError("--secrets_dir is required: the hub speaks only mutual TLS");
  KENTRA_ASSIGN_OR_RETURN(TlsIdentity tls, LoadTlsIdentity(options.secrets_dir, "server"));
  KENTRA_ASSIGN_OR_RETURN(hub->verifier_, PeerVerifier::Create(tls.ca_pem, options.revoked_serials, SystemClock::Get()));
  const int max_request_bytes = options.setup.hub.max_request_bytes();
  hub->registry_ = std::make_unique<CentreRegistry>(std::move(options.setup));
  KENTRA_ASSIGN_OR_RETURN(hub->store_, IndicatorStore::Open(options.data_dir + "/indicators", options.clock));
  KENTRA_ASSIGN_OR_RETURN(hub->audit_, HubAuditLog::Open(options.data_dir + "/audit", options.clock));
  hub->access_ = std::make_unique<HubAccess>(hub->verifier_.get(), hub->audit_.get());
  hub->sync_ = std::make_unique<SyncServiceImpl>(hub->access_.get(), hub->store_.get(), hub->registry_.get(), options.clock);
  hub->stats_ = std::make_unique<StatsServiceImpl>(hub->access_.get(), hub->store_.get(), hub->registry_.get());
  hub->admin_ = std::make_unique<AdminServiceImpl>(hub->access_.get(), hub->store_.get(), hub->registry_.get(),
                                                   hub->audit_.get(), options.clock);
  ServerOptions server_options;
  server_options.listen_address = options.listen_address;
  server_options.max_receive_bytes = max_request_bytes;
  server_options.credentials = MakeServerCredentials(tls);
  server_options.interceptors = std::move(options.interceptors);
  KENTRA_ASSIGN_OR_RETURN(RunningServer running,
                          StartServer(server_options, {hub->sync_.get(), hub->stats_.get(), hub->admin_.get()}));
  hub->server_ = std::move(running.server);
  hub->port_ = running.port;
  return hub;
}

void HubServer::Shutdown(absl::Duration grace) {
  if (shut_down_ || server_ == nullptr) return;
  shut_down_ = true;
  ShutdownServer(server_.get(), grace);
}

HubServer::~HubServer() {
  Shutdown(absl::Seconds(5));
  server_.reset();
  store_.reset();
  audit_.reset();
}

}  // namespace kentra::hub
