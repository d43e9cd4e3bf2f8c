// CentreRecords: beneficiaries (create, get, update, list, search, consent).
#include <set>

#include <google/protobuf/util/field_mask_util.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/crypto.h"
#include "common/keys.h"
#include "common/national_id.h"
#include "common/proto_util.h"
#include "common/status.h"
#include "common/text_fold.h"
#include "common/time_util.h"
#include "node/records.h"
#include "node/schema.h"
#include "node/validation.h"

namespace kentra::node {
namespace {

using google::protobuf::util::FieldMaskUtil;

// The fields UpdateBeneficiary may change.
const std::set<std::string>& UpdatableFields() {
  static const auto* fields = new std::set<std::string>{
      "given_name", "family_name", "birth_date", "gender", "municipality", "household_size",
      "contact", "contact.phone", "contact.email", "contact.address", "national_id", "target_groups"};
  return *fields;
}

}  // namespace

absl::StatusOr<v1::Beneficiary> CentreRecords::CreateBeneficiary(
    const Actor& actor, const v1::CreateBeneficiaryRequest& request) {
  KENTRA_RETURN_IF_ERROR(ValidateRequestId(request.request_id()));
  if (!request.has_beneficiary()) return absl::InvalidArgumentError("beneficiary: is required");
  const absl::Time now = clock_->Now();
  v1::Beneficiary b = request.beneficiary();
  b.clear_name();
  b.clear_create_time();
  b.clear_update_time();
  KENTRA_RETURN_IF_ERROR(ValidateBeneficiary(b, now, "beneficiary"));
  const std::string digest = DigestWithout(request, {"request_id"});
  const std::string id_key =
      b.has_national_id() ? IdentifierIndexKey(identifier_key_, b.national_id()) : std::string();

  auto guard = locks_.Lock({RequestKey("CreateBeneficiary", request.request_id()), id_key});
  KENTRA_ASSIGN_OR_RETURN(auto prior, PriorRequest("CreateBeneficiary", request.request_id(), digest));
  if (prior) return LoadBeneficiary(ParseBeneficiaryName(*prior).value_or(0), "request_id");
  if (!id_key.empty()) {
    KENTRA_ASSIGN_OR_RETURN(auto holder, store_->Get(kIndexes, id_key));
    if (holder) {
      auto holder_id = keys::ParsePadded(*holder, 16);
      return absl::AlreadyExistsError(absl::StrCat(
          "beneficiary.national_id: this identifier is already registered to ",
          BeneficiaryName(holder_id.value_or(0))));
    }
  }
  const uint64_t id = ++last_beneficiary_id_;
  b.set_name(BeneficiaryName(id));
  *b.mutable_create_time() = ToTimestamp(now);
  *b.mutable_update_time() = ToTimestamp(now);
  for (auto& consent : *b.mutable_consents()) {
    *consent.mutable_record_time() = ToTimestamp(now);
    consent.set_recorded_by(actor.name);
  }

  WriteBatch batch;
  batch.Put(kBeneficiaries, BeneficiaryKey(id), b.SerializeAsString());
  for (const auto& [k, v] : IndexEntriesFor(identifier_key_, id, b)) batch.Put(kIndexes, k, v);
  PutRequest(batch, "CreateBeneficiary", request.request_id(), digest, b.name());
  PutAudit(batch, actor, "CreateBeneficiary", b.name(),
           absl::StrCat("registered with ", b.target_groups_size(), " target group(s)"));
  KENTRA_RETURN_IF_ERROR(store_->Write(batch));
  return b;
}

absl::StatusOr<v1::Beneficiary> CentreRecords::GetBeneficiary(const Actor& actor, absl::string_view name) {
  auto id = ParseBeneficiaryName(name);
  if (!id) {
    return absl::InvalidArgumentError(
        absl::StrCat("name: '", name, "' is not a beneficiary name (beneficiaries/{id})"));
  }
  KENTRA_ASSIGN_OR_RETURN(v1::Beneficiary b, LoadBeneficiary(*id, "name"));
  KENTRA_RETURN_IF_ERROR(AuditRead(actor, "GetBeneficiary", b.name(), {}, ""));
  return b;
}

absl::StatusOr<v1::Beneficiary> CentreRecords::UpdateBeneficiary(
    const Actor& actor, const v1::UpdateBeneficiaryRequest& request) {
  auto id = ParseBeneficiaryName(request.beneficiary().name());
  if (!id) {
    return absl::InvalidArgumentError(
        "beneficiary.name: must name the beneficiary to update (beneficiaries/{id})");
  }
  if (request.update_mask().paths_size() == 0) {
    return absl::InvalidArgumentError("update_mask: name the fields to change");
  }
  for (const auto& path : request.update_mask().paths()) {
    if (!UpdatableFields().count(path)) {
      return absl::InvalidArgumentError(absl::StrCat("update_mask: '", path, "' cannot be changed"));
    }
  }
  const absl::Time now = clock_->Now();
  const auto& incoming = request.beneficiary();
  std::string new_id_key;
  if (incoming.has_national_id() && !incoming.national_id().value().empty()) {
    new_id_key = IdentifierIndexKey(identifier_key_, incoming.national_id());
  }
  auto guard = locks_.Lock({BeneficiaryKey(*id), new_id_key});
  KENTRA_ASSIGN_OR_RETURN(v1::Beneficiary before, LoadBeneficiary(*id, "beneficiary.name"));
  v1::Beneficiary after = before;
  FieldMaskUtil::MergeOptions options;
  options.set_replace_message_fields(true);
  options.set_replace_repeated_fields(true);
  FieldMaskUtil::MergeMessageTo(incoming, request.update_mask(), options, &after);
  KENTRA_RETURN_IF_ERROR(ValidateBeneficiary(after, now, "beneficiary"));

  const bool id_changed = after.national_id().SerializeAsString() != before.national_id().SerializeAsString();
  if (id_changed && !new_id_key.empty()) {
    KENTRA_ASSIGN_OR_RETURN(auto holder, store_->Get(kIndexes, new_id_key));
    if (holder && *holder != BeneficiaryKey(*id)) {
      auto holder_id = keys::ParsePadded(*holder, 16);
      return absl::AlreadyExistsError(absl::StrCat(
          "beneficiary.national_id: this identifier is already registered to ",
          BeneficiaryName(holder_id.value_or(0))));
    }
  }
  *after.mutable_update_time() = ToTimestamp(now);
  WriteBatch batch;
  batch.Put(kBeneficiaries, BeneficiaryKey(*id), after.SerializeAsString());
  ApplyIndexChanges(batch, IndexEntriesFor(identifier_key_, *id, before),
                    IndexEntriesFor(identifier_key_, *id, after));
  PutAudit(batch, actor, "UpdateBeneficiary", after.name(),
           absl::StrCat("changed: ", absl::StrJoin(request.update_mask().paths(), ", ")));
  KENTRA_RETURN_IF_ERROR(store_->Write(batch));
  return after;
}

absl::StatusOr<v1::ListBeneficiariesResponse> CentreRecords::ListBeneficiaries(
    const Actor& actor, const v1::ListBeneficiariesRequest& request) {
  KENTRA_ASSIGN_OR_RETURN(int page_size, EffectivePageSize(request.page_size(), max_page_size_));
  const auto group = request.target_group();
  if (!kentra::type::v1::TargetGroup_IsValid(group)) {
    return absl::InvalidArgumentError("target_group: must be one of the TARGET_GROUP_ values");
  }
  KENTRA_RETURN_IF_ERROR(ValidateText(request.municipality(), kMaxFilterChars, "municipality"));
  const std::string municipality = FoldForSearch(request.municipality());
  const std::string digest = PageTokens::FilterDigest(request);
  KENTRA_ASSIGN_OR_RETURN(std::string resume,
                          page_tokens_.Resume(request.page_token(), "ListBeneficiaries", digest));
  const bool filtered = group != kentra::type::v1::TARGET_GROUP_UNSPECIFIED || !municipality.empty();
  v1::ListBeneficiariesResponse response;
  std::vector<std::string> listed;
  KENTRA_ASSIGN_OR_RETURN(
      std::string next,
      Scan(kBeneficiaries, "", "", resume, page_size,
           [&](absl::string_view key, absl::string_view value) -> absl::StatusOr<bool> {
             auto id = keys::ParsePadded(key, 16);
             if (!id) return absl::DataLossError("a stored beneficiary's key cannot be read");
             if (filtered) {
               v1::Beneficiary b;
               if (!b.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
                 return absl::DataLossError("a stored beneficiary cannot be read");
               }
               if (group != kentra::type::v1::TARGET_GROUP_UNSPECIFIED &&
                   std::find(b.target_groups().begin(), b.target_groups().end(), group) ==
                       b.target_groups().end()) {
                 return false;
               }
               if (!municipality.empty() && FoldForSearch(b.municipality()) != municipality) return false;
             }
             AddEncodedElement(response, v1::ListBeneficiariesResponse::kBeneficiariesFieldNumber, value);
             listed.push_back(BeneficiaryName(*id));
             return true;
           }));
  if (!next.empty()) response.set_next_page_token(page_tokens_.Issue("ListBeneficiaries", digest, next));
  KENTRA_RETURN_IF_ERROR(AuditRead(actor, "ListBeneficiaries", "", listed, ""));
  return response;
}

absl::StatusOr<v1::SearchBeneficiariesResponse> CentreRecords::SearchBeneficiaries(
    const Actor& actor, const v1::SearchBeneficiariesRequest& request) {
  KENTRA_ASSIGN_OR_RETURN(int page_size, EffectivePageSize(request.page_size(), max_page_size_));
  const bool by_id = !request.national_id().empty();
  if (by_id == !request.name_prefix().empty()) {
    return absl::InvalidArgumentError("national_id: give exactly one of national_id and name_prefix");
  }
  v1::SearchBeneficiariesResponse response;
  if (by_id) {
    v1::NationalId id;
    id.set_value(absl::AsciiStrToUpper(request.national_id()));
    if (id.value().size() == 11) {
      id.set_type(v1::NATIONAL_ID_TYPE_AMKA);
      absl::Status s = ValidateAmka(id.value());
      if (!s.ok()) return absl::InvalidArgumentError(absl::StrCat("national_id: ", s.message()));
    } else {
      id.set_type(v1::NATIONAL_ID_TYPE_PERSONAL_NUMBER);
      absl::Status s = ValidatePersonalNumber(id.value());
      if (!s.ok()) return absl::InvalidArgumentError(absl::StrCat("national_id: ", s.message()));
    }
    KENTRA_ASSIGN_OR_RETURN(auto holder, store_->Get(kIndexes, IdentifierIndexKey(identifier_key_, id)));
    if (holder) {
      auto holder_id = keys::ParsePadded(*holder, 16);
      KENTRA_ASSIGN_OR_RETURN(*response.add_beneficiaries(),
                              LoadBeneficiary(holder_id.value_or(0), "national_id"));
    }
    KENTRA_RETURN_IF_ERROR(AuditRead(actor, "SearchBeneficiaries", "", NamesOf(response.beneficiaries()),
                                     "by national identifier"));
    return response;
  }
  KENTRA_RETURN_IF_ERROR(ValidateText(request.name_prefix(), kMaxNameChars, "name_prefix"));
  const std::string folded = FoldForSearch(request.name_prefix());
  if (CodePointCount(folded) < 2) {
    return absl::InvalidArgumentError("name_prefix: give at least 2 letters");
  }
  const std::string digest = PageTokens::FilterDigest(request);
  KENTRA_ASSIGN_OR_RETURN(std::string resume,
                          page_tokens_.Resume(request.page_token(), "SearchBeneficiaries", digest));
  const std::string prefix = absl::StrCat(kIdxName, folded);
  KENTRA_ASSIGN_OR_RETURN(
      std::string next,
      Scan(kIndexes, prefix, keys::PrefixSuccessor(prefix), resume, page_size,
           [&](absl::string_view key, absl::string_view) -> absl::StatusOr<bool> {
             auto id = keys::ParsePadded(key.substr(key.size() - 16), 16);
             if (!id) return absl::DataLossError("a name index entry cannot be read");
             KENTRA_ASSIGN_OR_RETURN(v1::Beneficiary b, LoadBeneficiary(*id, "name_prefix"));
             // A person whose two name orders both match is listed once, at the smaller key.
             for (const auto& [k, v] : IndexEntriesFor(identifier_key_, *id, b)) {
               if (absl::StartsWith(k, prefix) && k < key) return false;
             }
             *response.add_beneficiaries() = std::move(b);
             return true;
           }));
  if (!next.empty()) response.set_next_page_token(page_tokens_.Issue("SearchBeneficiaries", digest, next));
  KENTRA_RETURN_IF_ERROR(AuditRead(actor, "SearchBeneficiaries", "", NamesOf(response.beneficiaries()),
                                   "by name prefix"));
  return response;
}

absl::StatusOr<v1::Beneficiary> CentreRecords::ReadBeneficiary(absl::string_view name,
                                                               absl::string_view field) const {
  auto id = ParseBeneficiaryName(name);
  if (!id) return absl::InvalidArgumentError(absl::StrCat(field, ": must be a beneficiary name (beneficiaries/{id})"));
  return LoadBeneficiary(*id, field);
}

absl::StatusOr<std::optional<std::string>> CentreRecords::BeneficiaryWithNationalId(
    const v1::NationalId& national_id) const {
  KENTRA_ASSIGN_OR_RETURN(auto holder, store_->Get(kIndexes, IdentifierIndexKey(identifier_key_, national_id)));
  if (!holder) return std::optional<std::string>();
  auto holder_id = keys::ParsePadded(*holder, 16);
  if (!holder_id) return absl::DataLossError("the national identifier index holds a corrupt key");
  return std::optional<std::string>(BeneficiaryName(*holder_id));
}

absl::StatusOr<v1::Beneficiary> CentreRecords::RecordConsent(const Actor& actor,
                                                             const v1::RecordConsentRequest& request) {
  auto id = ParseBeneficiaryName(request.name());
  if (!id) return absl::InvalidArgumentError("name: must be a beneficiary name (beneficiaries/{id})");
  if (!request.has_consent()) return absl::InvalidArgumentError("consent: is required");
  KENTRA_RETURN_IF_ERROR(ValidateConsent(request.consent(), "consent"));
  auto guard = locks_.Lock({BeneficiaryKey(*id)});
  KENTRA_ASSIGN_OR_RETURN(v1::Beneficiary b, LoadBeneficiary(*id, "name"));
  // Only a change is recorded: the same consent again (the same state and
  // evidence as the person's latest for that purpose) would grow the record for
  // nothing.
  for (int i = b.consents_size() - 1; i >= 0; --i) {
    const v1::Consent& latest = b.consents(i);
    if (latest.purpose() != request.consent().purpose()) continue;
    if (latest.state() == request.consent().state() && latest.evidence() == request.consent().evidence()) {
      return absl::FailedPreconditionError(
          absl::StrCat("consent: ", b.name(), "'s ", v1::ConsentPurpose_Name(latest.purpose()), " consent is already ",
                       v1::ConsentState_Name(latest.state()), " with that evidence (recorded ",
                       FormatLocalMinute(FromTimestamp(latest.record_time())), "); record only a change"));
    }
    break;
  }
  if (b.consents_size() >= kMaxConsentsPerPerson) {
    return absl::ResourceExhaustedError(absl::StrCat("consent: ", b.name(), " has ", kMaxConsentsPerPerson,
                                                     " consent records already, the most a person may have"));
  }
  const absl::Time now = clock_->Now();
  v1::Consent* consent = b.add_consents();
  *consent = request.consent();
  *consent->mutable_record_time() = ToTimestamp(now);
  consent->set_recorded_by(actor.name);
  *b.mutable_update_time() = ToTimestamp(now);
  WriteBatch batch;
  batch.Put(kBeneficiaries, BeneficiaryKey(*id), b.SerializeAsString());
  if (consent_hook_.before_commit) KENTRA_RETURN_IF_ERROR(consent_hook_.before_commit(batch, actor, b, *consent));
  PutAudit(batch, actor, "RecordConsent", b.name(),
           absl::StrCat(v1::ConsentPurpose_Name(consent->purpose()), " ",
                        v1::ConsentState_Name(consent->state())));
  KENTRA_RETURN_IF_ERROR(store_->Write(batch));
  if (consent_hook_.after_commit) consent_hook_.after_commit();
  return b;
}

}  // namespace kentra::node
