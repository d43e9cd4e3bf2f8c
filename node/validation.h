// Input rules of the staff API. Each check returns INVALID_ARGUMENT whose message
// starts with the offending field's path ("beneficiary.birth_date: ...").
#ifndef KENTRA_NODE_VALIDATION_H_
#define KENTRA_NODE_VALIDATION_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "kentra/node/v1/beneficiary.pb.h"
#include "kentra/node/v1/case.pb.h"
#include "kentra/node/v1/service_event.pb.h"
#include "kentra/type/v1/vocabulary.pb.h"

namespace kentra::node {

// Length limits, in Unicode code points.
inline constexpr size_t kMaxNameChars = 100;
inline constexpr size_t kMaxMunicipalityChars = 100;
inline constexpr size_t kMaxPhoneChars = 32;
inline constexpr size_t kMaxEmailChars = 254;
inline constexpr size_t kMaxAddressChars = 200;
inline constexpr size_t kMaxNotesChars = 4000;
inline constexpr size_t kMaxEvidenceChars = 500;
inline constexpr size_t kMaxRequestIdChars = 64;
inline constexpr size_t kMaxFilterChars = 100;
inline constexpr int kMaxHouseholdSize = 30;
// Consent records one person may have (every change is kept).
inline constexpr int kMaxConsentsPerPerson = 100;
inline constexpr int kDefaultPageSize = 50;

// The axis a service type belongs to.
kentra::type::v1::Axis AxisOf(kentra::type::v1::ServiceType type);

// A whole beneficiary as it would be stored (create, or after an update's mask).
absl::Status ValidateBeneficiary(const kentra::node::v1::Beneficiary& b, absl::Time now,
                                 absl::string_view field);
// A consent as given to RecordConsent or in a create.
absl::Status ValidateConsent(const kentra::node::v1::Consent& c, absl::string_view field);
// A case as given to OpenCase.
absl::Status ValidateNewCase(const kentra::node::v1::Case& c, absl::string_view field);
// A service event as given to RecordServiceEvent.
absl::Status ValidateServiceEvent(const kentra::node::v1::ServiceEvent& e, absl::Time now,
                                  absl::string_view field);
// A staff user name: 1 to 64 of [a-z0-9._-].
absl::Status ValidateUserName(absl::string_view name, absl::string_view field);
// request_id: empty, or 1 to 64 of [A-Za-z0-9_-].
absl::Status ValidateRequestId(absl::string_view request_id);
// Free text: valid UTF-8, no control characters, at most `max_chars`.
absl::Status ValidateText(absl::string_view text, size_t max_chars, absl::string_view field);
// The page size to use: 0 means kDefaultPageSize; negative or over `max` is an error.
absl::StatusOr<int> EffectivePageSize(int page_size, int max);

}  // namespace kentra::node

#endif  // KENTRA_NODE_VALIDATION_H_
