// The federation directory built from the centre configs: what the operator
// signs (kentractl directory sign), the hub publishes and nodes resolve referral
// targets from. Only public facts of each centre go in: names, region, sites,
// services and areas served; no staff counts, budgets or node settings.
#ifndef KENTRA_COMMON_DIRECTORY_H_
#define KENTRA_COMMON_DIRECTORY_H_

#include <vector>

#include "absl/time/time.h"
#include "kentra/config/v1/centre.pb.h"
#include "kentra/referral/v1/directory.pb.h"

namespace kentra {

// A directory of `centres` (ordered by id) at `version`, issued at `issue_time`.
kentra::referral::v1::Directory BuildDirectory(const std::vector<kentra::config::v1::CentreConfig>& centres,
                                               int64_t version, absl::Time issue_time);

}  // namespace kentra

#endif  // KENTRA_COMMON_DIRECTORY_H_
