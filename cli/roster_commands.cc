// kentractl roster sign: the operator's signing of the roster of node keys, on
// the machine that holds the root key seed. Local only: it talks to no server.
#include <fstream>

#include <google/protobuf/text_format.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "cli/kentractl.h"
#include "common/sealing.h"
#include "common/status.h"
#include "common/tls.h"
#include "common/time_util.h"

namespace kentra::cli {
namespace rv1 = kentra::referral::v1;

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
