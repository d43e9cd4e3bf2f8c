// kentractl roster sign: the operator's signing of the roster of node keys, on
// the machine that holds the root key seed. Local only: it talks to no server.
#include <filesystem>
#include <fstream>

#include <google/protobuf/text_format.h>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "cli/kentractl.h"
#include "common/sealing.h"
#include "common/status.h"
#include "common/time_util.h"
#include "common/tls.h"

namespace kentra::cli {
namespace {

namespace rv1 = kentra::referral::v1;

absl::StatusOr<std::string> HexFile(const std::string& path) {
  KENTRA_ASSIGN_OR_RETURN(std::string text, ReadSecretFile(path));
  const std::string hex(absl::StripAsciiWhitespace(text));
  const std::string bytes = absl::HexStringToBytes(hex);
  if (hex.size() != 64 || bytes.size() != 32) return UsageError(absl::StrCat(path, " must hold 64 hex digits"));
  return bytes;
}

}  // namespace

absl::Status RunRosterCommand(const Args& args, std::ostream& out) {
  if (args.positional().size() != 2 || args.positional()[1] != "sign") {
    return UsageError("use 'roster sign --root_seed=FILE (--entries=F1,F2 | --node_keys=DIR) --version=N --out=FILE'");
  }
  KENTRA_RETURN_IF_ERROR(args.CheckAllowed({"root_seed", "entries", "node_keys", "version", "out", "root_pub_out"}));
  KENTRA_ASSIGN_OR_RETURN(std::string seed_path, args.Require("root_seed"));
  KENTRA_ASSIGN_OR_RETURN(std::string out_path, args.Require("out"));
  KENTRA_ASSIGN_OR_RETURN(int version, args.GetInt("version", 0));
  if (version <= 0) return UsageError("--version must be a positive number, higher than the last roster's");
  KENTRA_ASSIGN_OR_RETURN(std::string seed, HexFile(seed_path));
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
    for (const auto& centre : std::filesystem::directory_iterator(*dir)) {
      if (!std::filesystem::exists(centre.path() / "node.key")) continue;
      KENTRA_ASSIGN_OR_RETURN(std::string node_seed, HexFile((centre.path() / "node.key").string()));
      KENTRA_ASSIGN_OR_RETURN(NodeKeys keys, NodeKeys::FromSeed(node_seed));
      *roster.add_entries() = keys.Entry(centre.path().filename().string());
    }
  }
  if (roster.entries_size() == 0) return UsageError("give --entries or --node_keys");
  std::ofstream file(out_path, std::ios::binary | std::ios::trunc);
  if (!SignRoster(root, roster).SerializeToOstream(&file)) return UsageError(absl::StrCat("cannot write ", out_path));
  if (auto pub = args.Get("root_pub_out")) {
    std::ofstream pub_file(*pub, std::ios::trunc);
    pub_file << absl::BytesToHexString(root.public_key) << "\n";
  }
  out << "signed roster version " << version << " with " << roster.entries_size() << " nodes into " << out_path
      << "\nroot public key (pin it on every node): " << absl::BytesToHexString(root.public_key) << "\n";
  return absl::OkStatus();
}

}  // namespace kentra::cli
