#include "common/directory.h"

#include <algorithm>

#include "common/time_util.h"

namespace kentra {

namespace rv1 = kentra::referral::v1;

rv1::Directory BuildDirectory(const std::vector<kentra::config::v1::CentreConfig>& centres, int64_t version,
                              absl::Time issue_time) {
  rv1::Directory directory;
  directory.set_version(version);
  *directory.mutable_issue_time() = ToTimestamp(issue_time);
  for (const auto& c : centres) {
    rv1::DirectoryCentre* entry = directory.add_centres();
    entry->set_id(c.id());
    *entry->mutable_name() = c.name();
    *entry->mutable_municipality() = c.municipality();
    entry->set_region(c.region());
    *entry->mutable_sites() = c.sites();
    *entry->mutable_services() = c.services();
    *entry->mutable_areas_served() = c.areas_served();
  }
  std::sort(directory.mutable_centres()->begin(), directory.mutable_centres()->end(),
            [](const auto& a, const auto& b) { return a.id() < b.id(); });
  return directory;
}

}  // namespace kentra
