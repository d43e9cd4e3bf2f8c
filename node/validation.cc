#include "node/validation.h"

#include <map>

#include <set>

#include "absl/strings/str_cat.h"
#include "common/national_id.h"
#include "common/text_fold.h"
#include "common/time_util.h"

namespace kentra::node {
namespace {

using kentra::node::v1::Beneficiary;
using kentra::node::v1::Case;
using kentra::node::v1::Consent;
using kentra::node::v1::ServiceEvent;
namespace tv1 = kentra::type::v1;
namespace nv1 = kentra::node::v1;

absl::Status Invalid(absl::string_view field, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", problem));
}

std::string Sub(absl::string_view parent, absl::string_view child) {
  return parent.empty() ? std::string(child) : absl::StrCat(parent, ".", child);
}

absl::Status RequiredText(absl::string_view text, size_t max, absl::string_view field) {
  if (text.empty()) return Invalid(field, "is required");
  return ValidateText(text, max, field);
}

absl::Status ValidateBirthDate(const tv1::Date& date, absl::Time now, absl::string_view field) {
  absl::Status s = ValidateDate(date);
  if (!s.ok()) return Invalid(field, s.message());
  if (ToCivilDay(date) > TodayAt(now)) return Invalid(field, "is in the future");
  return absl::OkStatus();
}

absl::Status ValidatePhone(absl::string_view phone, absl::string_view field) {
  if (phone.size() > kMaxPhoneChars) return Invalid(field, absl::StrCat("at most ", kMaxPhoneChars, " characters"));
  for (size_t i = 0; i < phone.size(); ++i) {
    char c = phone[i];
    if (!((c >= '0' && c <= '9') || c == ' ' || (c == '+' && i == 0))) {
      return Invalid(field, "digits and spaces only, with an optional leading +");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateEmail(absl::string_view email, absl::string_view field) {
  if (email.empty()) return absl::OkStatus();
  absl::Status s = ValidateText(email, kMaxEmailChars, field);
  if (!s.ok()) return s;
  size_t at = email.find('@');
  if (at == 0 || at == absl::string_view::npos || at + 1 >= email.size() ||
      email.find('@', at + 1) != absl::string_view::npos || email.find(' ') != absl::string_view::npos) {
    return Invalid(field, "is not an e-mail address");
  }
  return absl::OkStatus();
}

}  // namespace

tv1::Axis AxisOf(tv1::ServiceType type) {
  switch (type) {
    case tv1::SERVICE_TYPE_INFORMATION_LINKAGE:
    case tv1::SERVICE_TYPE_BENEFIT_INFORMATION:
    case tv1::SERVICE_TYPE_BENEFIT_APPLICATION_SUPPORT:
    case tv1::SERVICE_TYPE_MOBILE_UNIT_VISIT:
      return tv1::AXIS_RECEPTION_INFORMATION_SUPPORT;
    case tv1::SERVICE_TYPE_INTERAGENCY_COOPERATION:
    case tv1::SERVICE_TYPE_REFERRAL_OUT:
      return tv1::AXIS_COOPERATION_REFERRAL;
    case tv1::SERVICE_TYPE_COUNSELLING:
    case tv1::SERVICE_TYPE_LEARNING_SUPPORT:
    case tv1::SERVICE_TYPE_EVENT_PARTICIPATION:
    case tv1::SERVICE_TYPE_MIGRANT_INTEGRATION_SUPPORT:
    case tv1::SERVICE_TYPE_ROMA_SUPPORT:
      return tv1::AXIS_SOCIAL_INCLUSION;
    default:
      return tv1::AXIS_UNSPECIFIED;
  }
}

absl::Status ValidateText(absl::string_view text, size_t max_chars, absl::string_view field) {
  if (!IsCleanUtf8(text)) return Invalid(field, "must be UTF-8 text without control characters");
  if (CodePointCount(text) > max_chars) {
    return Invalid(field, absl::StrCat("is longer than ", max_chars, " characters"));
  }
  return absl::OkStatus();
}

absl::Status ValidateUserName(absl::string_view name, absl::string_view field) {
  if (name.empty()) return Invalid(field, "is required");
  if (name.size() > 64) return Invalid(field, "is longer than 64 characters");
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-')) {
      return Invalid(field, "must be a user name of [a-z0-9._-]");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateRequestId(absl::string_view request_id) {
  if (request_id.size() > kMaxRequestIdChars) {
    return Invalid("request_id", absl::StrCat("is longer than ", kMaxRequestIdChars, " characters"));
  }
  for (char c : request_id) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '_')) {
      return Invalid("request_id", "must be letters, digits, '-' and '_' (a UUID)");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<int> EffectivePageSize(int page_size, int max) {
  if (page_size < 0) return Invalid("page_size", "must not be negative");
  if (page_size > max) return Invalid("page_size", absl::StrCat("must be at most ", max));
  return page_size == 0 ? std::min(kDefaultPageSize, max) : page_size;
}

absl::Status ValidateConsent(const Consent& c, absl::string_view field) {
  if (!nv1::ConsentPurpose_IsValid(c.purpose()) || c.purpose() == nv1::CONSENT_PURPOSE_UNSPECIFIED) {
    return Invalid(Sub(field, "purpose"), "must be one of the CONSENT_PURPOSE_ values");
  }
  if (!nv1::ConsentState_IsValid(c.state()) || c.state() == nv1::CONSENT_STATE_UNSPECIFIED) {
    return Invalid(Sub(field, "state"), "must be CONSENT_STATE_GIVEN or CONSENT_STATE_WITHDRAWN");
  }
  return ValidateText(c.evidence(), kMaxEvidenceChars, Sub(field, "evidence"));
}

absl::Status ValidateBeneficiary(const Beneficiary& b, absl::Time now, absl::string_view field) {
  absl::Status s = RequiredText(b.given_name(), kMaxNameChars, Sub(field, "given_name"));
  if (s.ok()) s = RequiredText(b.family_name(), kMaxNameChars, Sub(field, "family_name"));
  if (!s.ok()) return s;
  if (FoldForSearch(b.given_name()).empty()) return Invalid(Sub(field, "given_name"), "has no letters");
  if (FoldForSearch(b.family_name()).empty()) return Invalid(Sub(field, "family_name"), "has no letters");
  if (!b.has_birth_date()) return Invalid(Sub(field, "birth_date"), "is required");
  s = ValidateBirthDate(b.birth_date(), now, Sub(field, "birth_date"));
  if (!s.ok()) return s;
  if (!tv1::Gender_IsValid(b.gender()) || b.gender() == tv1::GENDER_UNSPECIFIED) {
    return Invalid(Sub(field, "gender"), "must be GENDER_FEMALE, GENDER_MALE or GENDER_NON_BINARY");
  }
  s = RequiredText(b.municipality(), kMaxMunicipalityChars, Sub(field, "municipality"));
  if (!s.ok()) return s;
  if (b.household_size() < 0 || b.household_size() > kMaxHouseholdSize) {
    return Invalid(Sub(field, "household_size"),
                   absl::StrCat("must be 1 to ", kMaxHouseholdSize, ", or 0 when not recorded"));
  }
  s = ValidatePhone(b.contact().phone(), Sub(field, "contact.phone"));
  if (s.ok()) s = ValidateEmail(b.contact().email(), Sub(field, "contact.email"));
  if (s.ok()) s = ValidateText(b.contact().address(), kMaxAddressChars, Sub(field, "contact.address"));
  if (!s.ok()) return s;
  if (b.has_national_id()) {
    const auto& id = b.national_id();
    std::string id_field = Sub(field, "national_id");
    if (id.value().empty()) return Invalid(id_field + ".value", "is required when national_id is set");
    switch (id.type()) {
      case nv1::NATIONAL_ID_TYPE_AMKA:
        s = ValidateAmka(id.value());
        break;
      case nv1::NATIONAL_ID_TYPE_PERSONAL_NUMBER:
        s = ValidatePersonalNumber(id.value());
        break;
      default:
        return Invalid(id_field + ".type", "must be NATIONAL_ID_TYPE_AMKA or NATIONAL_ID_TYPE_PERSONAL_NUMBER");
    }
    if (!s.ok()) return Invalid(id_field + ".value", s.message());
  }
  std::set<int> seen;
  for (int i = 0; i < b.target_groups_size(); ++i) {
    int g = b.target_groups(i);
    std::string f = absl::StrCat(Sub(field, "target_groups"), "[", i, "]");
    if (!tv1::TargetGroup_IsValid(g) || g == tv1::TARGET_GROUP_UNSPECIFIED) {
      return Invalid(f, "must be one of the TARGET_GROUP_ values");
    }
    if (!seen.insert(g).second) return Invalid(f, "is listed twice");
  }
  std::map<int, int> purpose_at;
  for (int i = 0; i < b.consents_size(); ++i) {
    const std::string f = absl::StrCat(Sub(field, "consents"), "[", i, "]");
    s = ValidateConsent(b.consents(i), f);
    if (!s.ok()) return s;
    auto [at, fresh] = purpose_at.emplace(b.consents(i).purpose(), i);
    if (!fresh) {
      return Invalid(f + ".purpose", absl::StrCat("repeats ", Sub(field, "consents"), "[", at->second,
                                                  "]'s; a new person has one consent per purpose"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateNewCase(const Case& c, absl::string_view field) {
  if (c.beneficiary().empty()) return Invalid(Sub(field, "beneficiary"), "is required");
  absl::Status s = ValidateUserName(c.assigned_worker(), Sub(field, "assigned_worker"));
  if (!s.ok()) return s;
  if (c.needs_size() == 0) return Invalid(Sub(field, "needs"), "name at least one need");
  std::set<int> seen;
  for (int i = 0; i < c.needs_size(); ++i) {
    std::string f = absl::StrCat(Sub(field, "needs"), "[", i, "]");
    if (!nv1::Need_IsValid(c.needs(i)) || c.needs(i) == nv1::NEED_UNSPECIFIED) {
      return Invalid(f, "must be one of the NEED_ values");
    }
    if (!seen.insert(c.needs(i)).second) return Invalid(f, "is listed twice");
  }
  return ValidateText(c.notes(), kMaxNotesChars, Sub(field, "notes"));
}

absl::Status ValidateServiceEvent(const ServiceEvent& e, absl::Time now, absl::string_view field) {
  if (!e.has_service_date()) return Invalid(Sub(field, "service_date"), "is required");
  absl::Status s = ValidateDate(e.service_date());
  if (!s.ok()) return Invalid(Sub(field, "service_date"), s.message());
  if (ToCivilDay(e.service_date()) > TodayAt(now)) {
    return Invalid(Sub(field, "service_date"), "is in the future");
  }
  if (ToCivilDay(e.service_date()) < absl::CivilDay(2016, 1, 1)) {
    return Invalid(Sub(field, "service_date"), "is before the Community Centres existed (2016)");
  }
  if (!tv1::ServiceType_IsValid(e.service_type()) || e.service_type() == tv1::SERVICE_TYPE_UNSPECIFIED) {
    return Invalid(Sub(field, "service_type"), "must be one of the SERVICE_TYPE_ values");
  }
  const bool needs_programme = e.service_type() == tv1::SERVICE_TYPE_BENEFIT_APPLICATION_SUPPORT;
  if (!tv1::Programme_IsValid(e.programme())) {
    return Invalid(Sub(field, "programme"), "must be one of the PROGRAMME_ values");
  }
  if (needs_programme && e.programme() == tv1::PROGRAMME_UNSPECIFIED) {
    return Invalid(Sub(field, "programme"), "is required for benefit-application support (e.g. PROGRAMME_KEA)");
  }
  if (!needs_programme && e.programme() != tv1::PROGRAMME_UNSPECIFIED) {
    return Invalid(Sub(field, "programme"), "is only for SERVICE_TYPE_BENEFIT_APPLICATION_SUPPORT");
  }
  const bool needs_topic = e.service_type() == tv1::SERVICE_TYPE_COUNSELLING;
  if (!tv1::CounsellingTopic_IsValid(e.counselling_topic())) {
    return Invalid(Sub(field, "counselling_topic"), "must be one of the COUNSELLING_TOPIC_ values");
  }
  if (needs_topic && e.counselling_topic() == tv1::COUNSELLING_TOPIC_UNSPECIFIED) {
    return Invalid(Sub(field, "counselling_topic"), "is required for counselling");
  }
  if (e.confidential() && !needs_topic) {
    return Invalid(Sub(field, "confidential"), "only counselling notes can be confidential");
  }
  if (!needs_topic && e.counselling_topic() != tv1::COUNSELLING_TOPIC_UNSPECIFIED) {
    return Invalid(Sub(field, "counselling_topic"), "is only for SERVICE_TYPE_COUNSELLING");
  }
  s = ValidateUserName(e.worker(), Sub(field, "worker"));
  if (!s.ok()) return s;
  return ValidateText(e.notes(), kMaxNotesChars, Sub(field, "notes"));
}

}  // namespace kentra::node
