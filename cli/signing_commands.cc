// kentractl roster sign and directory sign: the operator's signing, on the
// machine that holds the root key seed, of the roster of node keys and of the
// federation directory. Local only: they talk to no server.
#include <fstream>

#include <google/protobuf/text_format.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "cli/kentractl.h"
#include "common/config.h"
#include "common/directory.h"
#include "common/sealing.h"
#include "common/status.h"
#include "common/tls.h"
#include "common/time_util.h"

namespace kentra::cli {
namespace rv1 = kentra::referral::v1;

absl::Status RunDirectoryCommand(const Args& args, std::ostream& out) {
  if (args.positional().size() != 2 || args.positional()[1] != "sign") {
    return UsageError("use 'directory sign --root_seed=FILE --hub_config=configs/hub.textproto --version=N --out=FILE'");
  }
  KENTRA_RETURN_IF_ERROR(args.CheckAllowed({"root_seed", "hub_config", "version", "out"}));
  KENTRA_ASSIGN_OR_RETURN(std::string seed_path, args.Require("root_seed"));
  KENTRA_ASSIGN_OR_RETURN(std::string hub_config, args.Require("hub_config"));
  KENTRA_ASSIGN_OR_RETURN(std::string out_path, args.Require("out"));
  KENTRA_ASSIGN_OR_RETURN(int version, args.GetInt("version", 0));
  if (version <= 0) return UsageError("--version must be a positive number, higher than the last directory's");
  KENTRA_ASSIGN_OR_RETURN(std::string seed, ReadHexSecretFile(seed_path));
  KENTRA_ASSIGN_OR_RETURN(RootKeys root, RootKeys::FromSeed(seed));
  // The hub's config and its centres, validated as the hub validates them.
  KENTRA_ASSIGN_OR_RETURN(HubSetup setup, LoadHubConfig(hub_config));
  const rv1::Directory directory = BuildDirectory(setup.centres, version, absl::Now());
  std::ofstream file(out_path, std::ios::binary | std::ios::trunc);
  if (!SignDirectory(root, directory).SerializeToOstream(&file) || !file.flush()) {
    return absl::FailedPreconditionError(absl::StrCat("cannot write ", out_path));
  }
  out << "signed directory version " << version << " with " << directory.centres_size() << " centres into "
      << out_path << "\nput it where the hub's --directory points; the hub serves it from its next request\n";
  return absl::OkStatus();
}

absl::Status RunRosterCommand(const Args& args, std::ostream& out) {
  if (args.positional().size() != 2 || args.positional()[1] != "sign") {
    return UsageError("use 'roster sign --root_seed=FILE (--entries=F1,F2 | --node_keys=DIR) --version=N --out=FILE'");
  }
  KENTRA_RETURN_IF_ERROR(args.CheckAllowed({"root_seed", "entries", "node_keys", "version", "out", "root_pub_out"}));
  KENTRA_ASSIGN_OR_RETURN(std::string seed_path, args.Require("root_seed"));
  KENTRA_ASSIGN_OR_RETURN(std::string out_path, args.Require("out"));
  KENTRA_ASSIGN_OR_RETURN(int version, args.GetInt("version", 0));
  if (version <= 0) return UsageError("--version must be a positive number, higher than the last roster's");
  KENTRA_ASSIGN_OR_RETURN(std::string seed, ReadHexSecretFile(seed_path));
  KENTRA_ASSIGN_OR_RETURN(RootKeys root, RootKeys::FromSeed(seed));
  rv1::Roster roster;
  roster.set_version(version);
  *roster.mutable_issue_time() = ToTimestamp(absl::Now());
  // Entries as nodes print them (kentra-node --print_roster_entry) ...
  for (absl::string_view file : absl::StrSplit(args.GetOr("entries", ""), ',', absl::SkipEmpty())) {
    std::ifstream in{std::string(file)};
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in.good() && text.empty()) return UsageError(absl::StrCat("cannot read ", file));
    if (!google::protobuf::TextFormat::ParseFromString(text, roster.add_entries())) {
      return UsageError(absl::StrCat(file, " is not a roster entry"));
    }
  }
  // ... or, for a development PKI, straight from the centres' node.key seeds.
  if (auto dir = args.Get("node_keys")) {
    KENTRA_ASSIGN_OR_RETURN(auto entries, DevPkiRosterEntries(*dir));
    for (auto& e : entries) *roster.add_entries() = std::move(e);
  }
  if (roster.entries_size() == 0) return UsageError("give --entries or --node_keys");
  KENTRA_RETURN_IF_ERROR(WriteSignedRoster(root, roster, out_path, args.GetOr("root_pub_out", "")));
  out << "signed roster version " << version << " with " << roster.entries_size() << " nodes into " << out_path
      << "\nroot public key (pin it on every node): " << absl::BytesToHexString(root.public_key) << "\n";
  return absl::OkStatus();
}

}  // namespace kentra::cli
