// CentreRegistry: the centres and regions the hub serves, from the hub config and
// the centres' own config files, with the lookups the services need.
#ifndef KENTRA_HUB_CENTRE_REGISTRY_H_
#define KENTRA_HUB_CENTRE_REGISTRY_H_

#include <map>
#include <string>
#include <vector>

#include "common/config.h"

namespace kentra::hub {

class CentreRegistry {
 public:
  explicit CentreRegistry(HubSetup setup);

  const kentra::config::v1::HubConfig& hub() const { return setup_.hub; }
  // The centre `id`, or null if the federation has none.
  const kentra::config::v1::CentreConfig* Centre(absl::string_view id) const;
  // The centres of `region`, by id (empty for an unknown region).
  const std::vector<const kentra::config::v1::CentreConfig*>& CentresOf(absl::string_view region) const;
  // Every centre, by id.
  const std::vector<const kentra::config::v1::CentreConfig*>& All() const { return all_; }

 private:
  HubSetup setup_;
  std::vector<const kentra::config::v1::CentreConfig*> all_;
  std::map<std::string, std::vector<const kentra::config::v1::CentreConfig*>, std::less<>> by_region_;
};

}  // namespace kentra::hub

#endif  // KENTRA_HUB_CENTRE_REGISTRY_H_
