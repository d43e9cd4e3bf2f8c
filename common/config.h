// Loading of kentra's configuration: protobuf text format parsed into messages of
// kentra.config.v1, then validated. Errors name the file, line and field.
#ifndef KENTRA_COMMON_CONFIG_H_
#define KENTRA_COMMON_CONFIG_H_

#include <set>
#include <string>
#include <vector>

#include <google/protobuf/message.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kentra/config/v1/centre.pb.h"
#include "kentra/config/v1/hub.pb.h"
#include "kentra/config/v1/federation.pb.h"

namespace kentra {

// Validates a message; on failure returns INVALID_ARGUMENT whose message starts with
// the field path and a colon, e.g. "sites[1].hours[0].opens: must be HH:MM".
using ConfigValidator = absl::Status (*)(const google::protobuf::Message&);

// Parses `path` into `message` and validates it with `validate` (may be null).
// INVALID_ARGUMENT "FILE:LINE:COL: field: problem" for syntax and validation errors,
// NOT_FOUND if the file cannot be read.
absl::Status LoadTextProtoFile(const std::string& path, google::protobuf::Message* message,
                               ConfigValidator validate);

// The rules every centre config must follow (ids, region, sites, hours, limits).
absl::Status ValidateCentreConfig(const kentra::config::v1::CentreConfig& config);

// Loads and validates one centre config.
absl::StatusOr<kentra::config::v1::CentreConfig> LoadCentreConfig(const std::string& path);

// Loads and validates the federation-wide config (serials must be hex).
absl::StatusOr<kentra::config::v1::FederationConfig> LoadFederationConfig(const std::string& path);

// The hub's config with defaults filled in, and the centre configs it names.
struct HubSetup {
  kentra::config::v1::HubConfig hub;
  std::vector<kentra::config::v1::CentreConfig> centres;  // sorted by file name
};
// Loads and validates the hub config and every centre config in its centres_dir;
// each centre's region must be one of the hub's regions.
absl::StatusOr<HubSetup> LoadHubConfig(const std::string& path);

// The revoked serials of `federation`, upper-case.
std::set<std::string> RevokedSerials(const kentra::config::v1::FederationConfig& federation);

// Node settings with defaults filled in for unset fields.
kentra::config::v1::NodeSettings EffectiveNodeSettings(const kentra::config::v1::CentreConfig& c);

// Whether `id` is a valid centre, region or site id: 1-64 of [a-z0-9-], starting with a letter.
bool IsValidSlug(absl::string_view id);

}  // namespace kentra

#endif  // KENTRA_COMMON_CONFIG_H_
