// CentreRecords: opening, shared helpers, scanning, the audit log and the
// consistency check. Beneficiaries and cases live in records_*.cc.
#include "node/records.h"

#include <map>

#include <google/protobuf/unknown_field_set.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/anon/codebook.h"
#include "common/crypto.h"
#include "common/keys.h"
#include "common/status.h"
#include "common/time_util.h"
#include "kentra/storage/v1/records.pb.h"
#include "node/schema.h"
#include "node/validation.h"

namespace kentra::node {
namespace {

// A page examines at most this many entries, then returns what it has with a token.
constexpr int kMaxExaminedPerPage = 20000;

absl::StatusOr<std::string> GetOrCreateSecret(Store* store, absl::string_view key) {
  KENTRA_ASSIGN_OR_RETURN(auto existing, store->Get(kMeta, key));
  if (existing) return *existing;
  WriteBatch batch;
  std::string secret = RandomBytes(32);
  batch.Put(kMeta, key, secret);
  KENTRA_RETURN_IF_ERROR(store->Write(batch));
  return secret;
}

// Version 2 indexed each record a read returned under its own name; version 3
// indexes beneficiaries and cases by block. Rebuilds every "ar:" entry from the
// audit log, then records version 3. Stopped half-way, it starts over next time.
absl::Status MigrateAuditIndexToVersion3(Store* store) {
  MigrationWriter out(store);
  auto old = store->NewIterator(kIndexes);
  for (old->Seek(kIdxAuditResource); old->Valid() && absl::StartsWith(old->key(), kIdxAuditResource); old->Next()) {
    out.batch().Delete(kIndexes, old->key());
    KENTRA_RETURN_IF_ERROR(out.MaybeWrite());
  }
  KENTRA_RETURN_IF_ERROR(old->status());
  auto it = store->NewIterator(kAudit);
  for (it->Seek(""); it->Valid(); it->Next()) {
    v1::AuditEntry e;
    auto seq = keys::ParsePadded(it->key(), 20);
    if (!seq || !e.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return absl::DataLossError("an unreadable audit entry stops the migration to schema version 3");
    }
    for (const auto& [k, v] : IndexEntriesFor(*seq, e)) {
      if (absl::StartsWith(k, kIdxAuditResource)) out.batch().Put(kIndexes, k, v);
    }
    KENTRA_RETURN_IF_ERROR(out.MaybeWrite());
  }
  KENTRA_RETURN_IF_ERROR(it->status());
  return out.Finish("3");
}

// Version 4's case listing entries carry the case. Rewrites every case's index
// entries (same keys, the case as value), then records version 4. Stopped
// half-way, it starts over next time.
absl::Status MigrateCaseIndexToVersion4(Store* store) {
  MigrationWriter out(store);
  auto it = store->NewIterator(kCases);
  for (it->Seek(""); it->Valid(); it->Next()) {
    v1::Case c;
    auto id = keys::ParsePadded(it->key(), 16);
    if (!id || !c.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return absl::DataLossError("an unreadable case stops the migration to schema version 4");
    }
    for (const auto& [k, v] : IndexEntriesFor(*id, c, it->value())) out.batch().Put(kIndexes, k, v);
    KENTRA_RETURN_IF_ERROR(out.MaybeWrite());
  }
  KENTRA_RETURN_IF_ERROR(it->status());
  return out.Finish("4");
}

}  // namespace

absl::StatusOr<std::unique_ptr<CentreRecords>> CentreRecords::Open(Store* store, const Clock* clock,
                                                                   int max_page_size, int release_after_days,
                                                                   std::string centre_id,
                                                                   std::optional<std::string> federation_secret,
                                                                   const std::string& audit_journal_path) {
  KENTRA_RETURN_IF_ERROR(InitCrypto());
  KENTRA_ASSIGN_OR_RETURN(auto version, store->Get(kMeta, kMetaSchemaVersion));
  const std::string ours = absl::StrCat(kSchemaVersion);
  if (!version) {
    WriteBatch batch;
    batch.Put(kMeta, kMetaSchemaVersion, ours);
    KENTRA_RETURN_IF_ERROR(store->Write(batch));
  } else if (*version != "2" && *version != "3" && *version != "4" && *version != "5" && *version != ours) {
    return absl::FailedPreconditionError(absl::StrCat("the data directory has schema version ",
                                                      *version, "; this kentra-node reads version ",
                                                      ours));
  }
  KENTRA_ASSIGN_OR_RETURN(std::string page_key, GetOrCreateSecret(store, kMetaPageTokenKey));
  KENTRA_ASSIGN_OR_RETURN(std::string id_key, GetOrCreateSecret(store, kMetaIdentifierKey));
  KENTRA_ASSIGN_OR_RETURN(std::string noise_key, GetOrCreateSecret(store, kMetaSketchNoiseKey));
  // Without one (plaintext development), a stand-in derived from a node-local
  // key: nothing extra is stored, and opening the store for the bootstrap of a
  // production node writes nothing it will not use.
  if (!federation_secret) federation_secret = HmacSha256(page_key, "stand-in federation secret");
  const anon::AnonKeys keys = anon::AnonKeys::Derive(*federation_secret);
  if (version && (*version == "2" || *version == "3" || *version == "4")) {
    if (*version == "2") KENTRA_RETURN_IF_ERROR(MigrateAuditIndexToVersion3(store));
    if (*version != "4") KENTRA_RETURN_IF_ERROR(MigrateCaseIndexToVersion4(store));
    MigrationWriter out(store);
    KENTRA_RETURN_IF_ERROR(MigrateIndicatorBookkeepingToVersion5(store, kIndicators, out));
    KENTRA_RETURN_IF_ERROR(out.Finish("5"));
  }
  if (version && *version != ours) {
    MigrationWriter out(store);
    KENTRA_RETURN_IF_ERROR(MigrateSketchesToVersion6(store, kIndicators, kSketches, keys, noise_key, out));
    KENTRA_RETURN_IF_ERROR(out.Finish("6"));
  }
  auto indicators = std::make_unique<IndicatorCounters>(store, kIndicators, kSketches, clock, std::move(centre_id),
                                                        keys, std::move(noise_key), release_after_days);
  auto records = std::unique_ptr<CentreRecords>(new CentreRecords(
      store, clock, max_page_size, std::move(page_key), std::move(id_key), std::move(indicators)));
  // Entries still in the journal are moved first, so the counters see them.
  KENTRA_ASSIGN_OR_RETURN(
      records->journal_,
      AuditJournal::Open(audit_journal_path, store, &CentreRecords::PutAuditEntry));
  KENTRA_RETURN_IF_ERROR(records->LoadCounters());
  return records;
}

CentreRecords::CentreRecords(Store* store, const Clock* clock, int max_page_size,
                             std::string page_key, std::string identifier_key,
                             std::unique_ptr<IndicatorCounters> indicators)
    : store_(store),
      clock_(clock),
      max_page_size_(max_page_size),
      page_tokens_(std::move(page_key), clock),
      identifier_key_(std::move(identifier_key)),
      indicators_(std::move(indicators)) {}

absl::Status CentreRecords::LoadCounters() {
  // The highest id in use is the last key of each record family (or index).
  auto last = [&](int cf, absl::string_view prefix, size_t width) -> absl::StatusOr<uint64_t> {
    auto it = store_->NewIterator(cf);
    it->SeekForPrev(absl::StrCat(prefix, std::string(width, '9'), "\xff"));
    KENTRA_RETURN_IF_ERROR(it->status());
    if (!it->Valid() || !absl::StartsWith(it->key(), prefix)) return uint64_t{0};
    auto id = keys::ParsePadded(it->key().substr(prefix.size(), width), width);
    if (!id) return absl::DataLossError(absl::StrCat("unreadable key in ", ColumnFamilyNames()[cf]));
    return *id;
  };
  KENTRA_ASSIGN_OR_RETURN(uint64_t b, last(kBeneficiaries, "", 16));
  KENTRA_ASSIGN_OR_RETURN(uint64_t c, last(kCases, "", 16));
  KENTRA_ASSIGN_OR_RETURN(uint64_t e, last(kIndexes, kIdxEvent, 16));
  KENTRA_ASSIGN_OR_RETURN(uint64_t a, last(kAudit, "", 20));
  last_beneficiary_id_ = b;
  last_case_id_ = c;
  last_event_id_ = e;
  last_audit_seq_ = a;
  return absl::OkStatus();
}

template <typename T>
absl::StatusOr<std::optional<T>> CentreRecords::Read(int cf, absl::string_view key) const {
  KENTRA_ASSIGN_OR_RETURN(auto bytes, store_->Get(cf, key));
  if (!bytes) return std::optional<T>();
  T message;
  if (!message.ParseFromString(*bytes)) {
    return absl::DataLossError(absl::StrCat("a stored record in ", ColumnFamilyNames()[cf],
                                            " cannot be read; run the consistency check"));
  }
  return std::optional<T>(std::move(message));
}

absl::StatusOr<v1::Beneficiary> CentreRecords::LoadBeneficiary(uint64_t id,
                                                               absl::string_view field) const {
  KENTRA_ASSIGN_OR_RETURN(auto b, Read<v1::Beneficiary>(kBeneficiaries, BeneficiaryKey(id)));
  if (!b) return absl::NotFoundError(absl::StrCat(field, ": ", BeneficiaryName(id), " does not exist"));
  return *std::move(b);
}

absl::StatusOr<v1::Case> CentreRecords::LoadCase(uint64_t id, absl::string_view field) const {
  KENTRA_ASSIGN_OR_RETURN(auto c, Read<v1::Case>(kCases, CaseKey(id)));
  if (!c) return absl::NotFoundError(absl::StrCat(field, ": ", CaseName(id), " does not exist"));
  return *std::move(c);
}

absl::StatusOr<std::optional<std::string>> CentreRecords::PriorRequest(
    absl::string_view method, absl::string_view request_id, absl::string_view body_digest) const {
  if (request_id.empty()) return std::optional<std::string>();
  KENTRA_ASSIGN_OR_RETURN(auto prior, Read<kentra::storage::v1::RequestRecord>(
                                          kRequests, RequestKey(method, request_id)));
  if (!prior) return std::optional<std::string>();
  if (prior->body_digest() != body_digest) {
    return absl::InvalidArgumentError(absl::StrCat(
        "request_id: '", request_id, "' was already used for a different ", method,
        " request; use a new request_id for a new request"));
  }
  return std::optional<std::string>(prior->resource());
}

void CentreRecords::PutRequest(WriteBatch& batch, absl::string_view method,
                               absl::string_view request_id, absl::string_view body_digest,
                               absl::string_view resource) const {
  if (request_id.empty()) return;
  kentra::storage::v1::RequestRecord record;
  record.set_body_digest(std::string(body_digest));
  record.set_resource(std::string(resource));
  record.set_create_time_seconds(absl::ToUnixSeconds(clock_->Now()));
  batch.Put(kRequests, RequestKey(method, request_id), record.SerializeAsString());
}

v1::AuditEntry CentreRecords::NewAuditEntry(const Actor& actor, absl::string_view action,
                                            absl::string_view resource, absl::string_view detail,
                                            absl::string_view refusal, const std::vector<std::string>& read) {
  const uint64_t seq = ++last_audit_seq_;
  v1::AuditEntry entry;
  entry.set_name(AuditEntryName(seq));
  *entry.mutable_time() = ToTimestamp(clock_->Now());
  entry.set_actor(actor.name);
  entry.set_action(std::string(action));
  entry.set_resource(std::string(resource));
  entry.set_peer(actor.peer);
  entry.set_principal(actor.principal);
  entry.set_detail(std::string(detail));
  entry.set_refusal(std::string(refusal));
  for (const std::string& name : read) entry.add_resources_read(name);
  return entry;
}

void CentreRecords::PutAuditEntry(WriteBatch& batch, const v1::AuditEntry& entry, absl::string_view bytes) {
  const uint64_t seq = ParseAuditEntryName(entry.name()).value_or(0);
  batch.Put(kAudit, AuditKey(seq), std::string(bytes));
  for (const auto& [k, v] : IndexEntriesFor(seq, entry)) batch.Put(kIndexes, k, v);
}

void CentreRecords::PutAudit(WriteBatch& batch, const Actor& actor, absl::string_view action,
                             absl::string_view resource, absl::string_view detail,
                             absl::string_view refusal, const std::vector<std::string>& read) {
  const v1::AuditEntry entry = NewAuditEntry(actor, action, resource, detail, refusal, read);
  PutAuditEntry(batch, entry, entry.SerializeAsString());
}

void AddEncodedElement(google::protobuf::Message& response, int field_number, absl::string_view encoded) {
  response.GetReflection()->MutableUnknownFields(&response)->AddLengthDelimited(field_number)->assign(
      encoded.data(), encoded.size());
}

absl::Status CentreRecords::AuditRead(const Actor& actor, absl::string_view action, absl::string_view resource,
                                      const std::vector<std::string>& read, absl::string_view detail) {
  return journal_->Append(NewAuditEntry(actor, action, resource, detail, "", read));
}

absl::Status CentreRecords::CatchUpAudit() { return journal_->CatchUp(); }

absl::Status CentreRecords::AuditRefusal(const Actor& actor, absl::string_view action,
                                         const absl::Status& refusal) {
  return journal_->Append(NewAuditEntry(
      actor, action, "", "", absl::StrCat(absl::StatusCodeToString(refusal.code()), ": ", refusal.message()), {}));
}

absl::StatusOr<std::string> CentreRecords::Scan(int cf, const std::string& lo, const std::string& hi,
                                                const std::string& resume_after, int limit,
                                                const Visitor& visit) const {
  auto it = store_->NewIterator(cf);
  it->Seek(resume_after.empty() || resume_after < lo ? lo : resume_after);
  auto in_range = [&](absl::string_view k) { return k >= lo && (hi.empty() || k < hi); };
  if (it->Valid() && !resume_after.empty() && it->key() == resume_after) it->Next();
  int accepted = 0;
  int examined = 0;
  std::string last;
  while (it->Valid() && in_range(it->key())) {
    if (accepted == limit || examined == kMaxExaminedPerPage) return last;
    KENTRA_ASSIGN_OR_RETURN(bool took, visit(it->key(), it->value()));
    if (took) ++accepted;
    ++examined;
    last = std::string(it->key());
    it->Next();
  }
  KENTRA_RETURN_IF_ERROR(it->status());
  return std::string();  // nothing after this page
}

absl::StatusOr<v1::ListAuditEntriesResponse> CentreRecords::ListAuditEntries(
    const v1::ListAuditEntriesRequest& request) const {
  KENTRA_RETURN_IF_ERROR(journal_->CatchUp());
  KENTRA_ASSIGN_OR_RETURN(int page_size, EffectivePageSize(request.page_size(), max_page_size_));
  KENTRA_RETURN_IF_ERROR(ValidateText(request.resource(), kMaxFilterChars, "resource"));
  KENTRA_RETURN_IF_ERROR(ValidateText(request.actor(), kMaxFilterChars, "actor"));
  const std::string digest = PageTokens::FilterDigest(request);
  KENTRA_ASSIGN_OR_RETURN(std::string resume,
                          page_tokens_.Resume(request.page_token(), "ListAuditEntries", digest));
  v1::ListAuditEntriesResponse response;
  auto add = [&](absl::string_view seq_key) -> absl::StatusOr<bool> {
    KENTRA_ASSIGN_OR_RETURN(auto entry, Read<v1::AuditEntry>(kAudit, seq_key));
    if (!entry) return absl::DataLossError("the audit index names a missing entry");
    if (!request.actor().empty() && entry->actor() != request.actor()) return false;
    if (!request.resource().empty() && !AuditEntryNames(*entry, request.resource())) return false;
    *response.add_audit_entries() = *std::move(entry);
    return true;
  };
  std::string next;
  if (request.resource().empty() && request.actor().empty()) {
    KENTRA_ASSIGN_OR_RETURN(next, Scan(kAudit, "", "", resume, page_size,
                                       [&](absl::string_view k, absl::string_view) { return add(k); }));
  } else {
    const std::string prefix = request.resource().empty()
                                   ? absl::StrCat(kIdxAuditActor, request.actor(), std::string(1, '\0'))
                                   : AuditResourcePrefix(request.resource());
    KENTRA_ASSIGN_OR_RETURN(
        next, Scan(kIndexes, prefix, keys::PrefixSuccessor(prefix), resume, page_size,
                   [&](absl::string_view k, absl::string_view) { return add(k.substr(prefix.size())); }));
  }
  if (!next.empty()) response.set_next_page_token(page_tokens_.Issue("ListAuditEntries", digest, next));
  return response;
}

absl::StatusOr<kentra::anon::v1::PeriodCells> CentreRecords::GetIndicators(const Actor& actor,
                                                                           absl::string_view period) {
  absl::CivilMonth month;
  if (!anon::ParsePeriod(std::string(period), &month)) {
    return absl::InvalidArgumentError("period: must be a month as YYYY-MM, 2016 or later");
  }
  const absl::CivilMonth current(TodayAt(clock_->Now()));
  if (month > current) {
    return absl::InvalidArgumentError(absl::StrCat("period: ", period, " has not begun; the latest month is ",
                                                   anon::PeriodName(current)));
  }
  KENTRA_ASSIGN_OR_RETURN(auto cells, indicators_->Protected(month));
  KENTRA_RETURN_IF_ERROR(AuditRead(actor, "GetIndicators", absl::StrCat("indicators/", period), {}, ""));
  return cells;
}

absl::StatusOr<kentra::anon::v1::PeriodCells> CentreRecords::CloseMonth(const Actor& actor,
                                                                        absl::string_view period) {
  absl::CivilMonth month;
  if (!anon::ParsePeriod(std::string(period), &month)) {
    return absl::InvalidArgumentError("period: must be a month as YYYY-MM, 2016 or later");
  }
  auto guard = locks_.Lock({absl::StrCat("close/", period)});
  WriteBatch batch;
  KENTRA_RETURN_IF_ERROR(indicators_->PutClose(batch, month));
  PutAudit(batch, actor, "CloseMonth", absl::StrCat("indicators/", period), "final from now on");
  KENTRA_RETURN_IF_ERROR(store_->Write(batch));
  return indicators_->Protected(month);
}

absl::Status CentreRecords::CheckConsistency() const {
  KENTRA_RETURN_IF_ERROR(journal_->CatchUp());
  std::map<std::string, std::string> expected;
  auto expect = [&](const std::vector<IndexEntry>& entries) {
    for (const auto& [k, v] : entries) expected.emplace(k, v);
  };
  // Calls `fn` on every entry of `cf`.
  auto for_each = [&](int cf, const auto& fn) -> absl::Status {
    auto it = store_->NewIterator(cf);
    for (it->Seek(""); it->Valid(); it->Next()) KENTRA_RETURN_IF_ERROR(fn(it->key(), it->value()));
    return it->status();
  };
  auto unreadable = [](absl::string_view what, absl::string_view key) {
    return absl::DataLossError(absl::StrCat("unreadable ", what, " at key ", key));
  };
  KENTRA_RETURN_IF_ERROR(for_each(kBeneficiaries, [&](absl::string_view k, absl::string_view v) {
    v1::Beneficiary b;
    auto id = keys::ParsePadded(k, 16);
    if (!id || !b.ParseFromArray(v.data(), static_cast<int>(v.size()))) return unreadable("beneficiary", k);
    expect(IndexEntriesFor(identifier_key_, *id, b));
    return absl::OkStatus();
  }));
  KENTRA_RETURN_IF_ERROR(for_each(kCases, [&](absl::string_view k, absl::string_view v) {
    v1::Case c;
    auto id = keys::ParsePadded(k, 16);
    if (!id || !c.ParseFromArray(v.data(), static_cast<int>(v.size()))) return unreadable("case", k);
    expect(IndexEntriesFor(*id, c, v));
    return absl::OkStatus();
  }));
  KENTRA_RETURN_IF_ERROR(for_each(kServiceEvents, [&](absl::string_view k, absl::string_view) {
    if (k.size() < 16) return unreadable("service event", k);
    auto case_id = keys::ParsePadded(k.substr(0, 16), 16);
    auto event_id = keys::ParsePadded(k.substr(k.size() - 16), 16);
    if (!case_id || !event_id) return unreadable("service event", k);
    KENTRA_ASSIGN_OR_RETURN(auto owner, store_->Get(kCases, CaseKey(*case_id)));
    if (!owner) {
      return absl::DataLossError(absl::StrCat(ServiceEventName(*case_id, *event_id),
                                              " belongs to a case that does not exist"));
    }
    expect(IndexEntriesFor(*event_id, std::string(k)));
    return absl::OkStatus();
  }));
  KENTRA_RETURN_IF_ERROR(for_each(kAudit, [&](absl::string_view k, absl::string_view v) {
    v1::AuditEntry e;
    auto seq = keys::ParsePadded(k, 20);
    if (!seq || !e.ParseFromArray(v.data(), static_cast<int>(v.size()))) return unreadable("audit entry", k);
    expect(IndexEntriesFor(*seq, e));
    return absl::OkStatus();
  }));

  auto it = store_->NewIterator(kIndexes);
  size_t seen = 0;
  for (it->Seek(""); it->Valid(); it->Next()) {
    auto found = expected.find(std::string(it->key()));
    if (found == expected.end()) {
      return absl::DataLossError(absl::StrCat("index entry '", HexEncode(it->key().substr(0, 24)),
                                              "...' has no record behind it"));
    }
    if (found->second != it->value()) {
      return absl::DataLossError(absl::StrCat("index entry '", HexEncode(it->key().substr(0, 24)),
                                              "...' points to the wrong record"));
    }
    ++seen;
  }
  KENTRA_RETURN_IF_ERROR(it->status());
  if (seen != expected.size()) {
    return absl::DataLossError(absl::StrCat(expected.size() - seen, " index entries are missing"));
  }
  return absl::OkStatus();
}

// Explicit instantiations used by records_*.cc.
template absl::StatusOr<std::optional<v1::Beneficiary>> CentreRecords::Read(int, absl::string_view) const;
template absl::StatusOr<std::optional<v1::Case>> CentreRecords::Read(int, absl::string_view) const;
template absl::StatusOr<std::optional<v1::ServiceEvent>> CentreRecords::Read(int, absl::string_view) const;

}  // namespace kentra::node
