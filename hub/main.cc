// kentra-hub: the federation's hub. Flags, config, storage, services, wait.
#include <cstdio>
#include <iostream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "common/config.h"
#include "common/server.h"
#include "hub/hub_server.h"

ABSL_FLAG(std::string, config, "", "The hub's config (configs/hub.textproto).");
ABSL_FLAG(std::string, data_dir, "", "Directory of the hub's RocksDB database (created if missing).");
ABSL_FLAG(std::string, listen, "127.0.0.1:50050", "HOST:PORT to serve on; port 0 picks a free one.");
ABSL_FLAG(std::string, secrets_dir, "", "The hub's certificates: ca.crt, server.crt, server.key.");
ABSL_FLAG(std::string, directory, "",
          "The federation directory as the operator signed it (kentractl directory sign); replacing the file "
          "publishes a new one.");
ABSL_FLAG(std::string, backup_dir, "",
          "Where backups of the hub's stores go (kentractl admin backup create); outside the data directory. "
          "Empty: none.");
ABSL_FLAG(int, backups_kept, 14, "How many backups stay in --backup_dir; older ones are deleted.");
ABSL_FLAG(absl::Duration, backup_every, absl::ZeroDuration(),
          "Take a backup into --backup_dir whenever the newest there is this old (e.g. 24h; at least 1m), and at "
          "start if there is none. 0: only on request (kentractl admin backup create).");
ABSL_FLAG(std::string, federation, "", "The federation config (configs/federation.textproto): revoked certificates.");

int main(int argc, char** argv) {
  kentra::InitServerProcess();
  absl::SetProgramUsageMessage("kentra-hub --config=FILE --data_dir=DIR --secrets_dir=DIR [--listen=HOST:PORT] [--directory=FILE]");
  absl::ParseCommandLine(argc, argv);
  if (absl::GetFlag(FLAGS_config).empty() || absl::GetFlag(FLAGS_data_dir).empty()) {
    std::cerr << "kentra-hub: --config and --data_dir are required\n";
    return 1;
  }
  auto setup = kentra::LoadHubConfig(absl::GetFlag(FLAGS_config));
  if (!setup.ok()) {
    std::cerr << "kentra-hub: bad config: " << setup.status().message() << "\n";
    return 1;
  }
  kentra::hub::HubOptions options;
  options.setup = *std::move(setup);
  options.data_dir = absl::GetFlag(FLAGS_data_dir);
  options.listen_address = absl::GetFlag(FLAGS_listen);
  options.secrets_dir = absl::GetFlag(FLAGS_secrets_dir);
  options.directory_path = absl::GetFlag(FLAGS_directory);
  options.backups = {absl::GetFlag(FLAGS_backup_dir), absl::GetFlag(FLAGS_backups_kept)};
  options.backup_every = absl::GetFlag(FLAGS_backup_every);
  if (!absl::GetFlag(FLAGS_federation).empty()) {
    auto federation = kentra::LoadFederationConfig(absl::GetFlag(FLAGS_federation));
    if (!federation.ok()) {
      std::cerr << "kentra-hub: bad federation config: " << federation.status().message() << "\n";
      return 1;
    }
    options.revoked_serials = kentra::RevokedSerials(*federation);
  }
  auto hub = kentra::hub::HubServer::Start(std::move(options));
  if (!hub.ok()) {
    std::cerr << "kentra-hub: cannot start: " << hub.status().message() << "\n";
    return 1;
  }
  // Scripts and tests read this line to learn the port.
  std::printf("kentra-hub listening on port %d\n", (*hub)->port());
  std::fflush(stdout);
  int sig = kentra::WaitForTerminationSignal();
  std::fprintf(stderr, "kentra-hub: signal %d, draining\n", sig);
  (*hub)->Shutdown(absl::Seconds(10));
  hub->reset();
  std::fprintf(stderr, "kentra-hub: stopped cleanly\n");
  return 0;
}
