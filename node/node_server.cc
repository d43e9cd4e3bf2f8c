#include "node/node_server.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "common/config.h"
#include "common/status.h"
#include "node/schema.h"

namespace kentra::node {

absl::StatusOr<std::unique_ptr<NodeServer>> NodeServer::Start(const NodeOptions& options) {
  const auto settings = EffectiveNodeSettings(options.centre);
  auto node = std::unique_ptr<NodeServer>(new NodeServer());
  node->centre_id_ = options.centre.id();
  std::error_code ec;
  std::filesystem::create_directories(options.data_dir, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create the data directory ", options.data_dir, ": ", ec.message()));
  }
  KENTRA_ASSIGN_OR_RETURN(node->store_, Store::Open(options.data_dir, ColumnFamilyNames()));
  KENTRA_ASSIGN_OR_RETURN(node->records_,
                          CentreRecords::Open(node->store_.get(), options.clock, settings.max_page_size()));
  node->service_ = std::make_unique<StaffServiceImpl>(node->records_.get());
  ServerOptions server_options;
  server_options.listen_address = options.listen_address;
  server_options.max_receive_bytes = settings.max_request_bytes();
  server_options.insecure = options.insecure;
  KENTRA_ASSIGN_OR_RETURN(RunningServer running, StartServer(server_options, {node->service_.get()}));
  node->server_ = std::move(running.server);
  node->port_ = running.port;
  return node;
}

void NodeServer::Shutdown(absl::Duration grace) {
  if (shut_down_ || server_ == nullptr) return;
  shut_down_ = true;
  ShutdownServer(server_.get(), grace);
}

NodeServer::~NodeServer() {
  Shutdown(absl::Seconds(5));
  server_.reset();
  service_.reset();
  records_.reset();
  store_.reset();  // closes RocksDB
}

}  // namespace kentra::node
