#include "hub/centre_registry.h"

#include <algorithm>

namespace kentra::hub {

CentreRegistry::CentreRegistry(HubSetup setup) : setup_(std::move(setup)) {
  for (const auto& c : setup_.centres) all_.push_back(&c);
  std::sort(all_.begin(), all_.end(), [](const auto* a, const auto* b) { return a->id() < b->id(); });
  for (const auto& r : setup_.hub.regions()) by_region_[r.id()];
  for (const auto* c : all_) by_region_[c->region()].push_back(c);
}

const kentra::config::v1::CentreConfig* CentreRegistry::Centre(absl::string_view id) const {
  auto it = std::lower_bound(all_.begin(), all_.end(), id, [](const auto* c, absl::string_view v) { return c->id() < v; });
  return it != all_.end() && (*it)->id() == id ? *it : nullptr;
}

const std::vector<const kentra::config::v1::CentreConfig*>& CentreRegistry::CentresOf(absl::string_view region) const {
  static const auto* none = new std::vector<const kentra::config::v1::CentreConfig*>;
  auto it = by_region_.find(region);
  return it == by_region_.end() ? *none : it->second;
}

}  // namespace kentra::hub
