#include "node/schema.h"

#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/anon/sketch.h"
#include "common/crypto.h"
#include "common/keys.h"
#include "common/status.h"
#include "common/text_fold.h"
#include "common/time_util.h"

namespace kentra::node {
namespace {

using kentra::node::v1::AuditEntry;
using kentra::node::v1::Beneficiary;
using kentra::node::v1::Case;

std::optional<uint64_t> ParseIdAfter(absl::string_view name, absl::string_view prefix) {
  if (!absl::StartsWith(name, prefix)) return std::nullopt;
  absl::string_view digits = name.substr(prefix.size());
  if (digits.empty() || digits.size() > 15 || digits[0] == '0') return std::nullopt;
  uint64_t id = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    id = id * 10 + static_cast<uint64_t>(c - '0');
  }
  return id;
}

int64_t OpenMicros(const Case& c) { return absl::ToUnixMicros(FromTimestamp(c.open_time())); }

}  // namespace

const std::vector<std::string>& ColumnFamilyNames() {
  static const auto* names = new std::vector<std::string>{
      "meta", "beneficiaries", "cases", "service_events", "indexes", "requests", "audit",
                                   "users",  "sessions", "indicators", "sketches", "referrals", "outbox", "posted"};
  return *names;
}

Store::Options NodeStoreOptions() {
  Store::Options options;
  options.register_families = {kSketches};
  options.register_count = anon::kSketchBits;
  // The audit log and the outbox grow at their ends; the audit index grows at
  // the end of each actor's run and each block's of beneficiaries or cases (the
  // keys end in the entry's sequence number, after a NUL). Other resources have
  // a run each, too many to keep a hint for (each costs the memtable some 250 B).
  const auto at_the_end = [](absl::string_view) -> std::optional<size_t> { return 0; };
  options.insert_runs[kAudit] = at_the_end;
  options.insert_runs[kOutbox] = at_the_end;
  options.insert_runs[kPosted] = at_the_end;
  options.insert_runs[kIndexes] = [](absl::string_view key) -> std::optional<size_t> {
    const bool block = absl::StartsWith(key, kIdxAuditResource) && key.find('*') != absl::string_view::npos;
    if (!block && !absl::StartsWith(key, kIdxAuditActor)) return std::nullopt;
    const size_t nul = key.rfind('\0');
    if (nul == absl::string_view::npos) return std::nullopt;
    return nul + 1;
  };
  return options;
}

absl::Status MigrationWriter::MaybeWrite() {
  if (batch_->Count() < 1000) return absl::OkStatus();
  KENTRA_RETURN_IF_ERROR(store_->Write(*batch_, Store::Durability::kProcessCrashed));
  batch_ = std::make_unique<WriteBatch>();
  return absl::OkStatus();
}

absl::Status MigrationWriter::Finish(absl::string_view version) {
  batch_->Put(kMeta, kMetaSchemaVersion, version);
  return store_->Write(*batch_);
}

std::string BeneficiaryName(uint64_t id) { return absl::StrCat("beneficiaries/", id); }
std::string CaseName(uint64_t id) { return absl::StrCat("cases/", id); }
std::string ServiceEventName(uint64_t case_id, uint64_t event_id) {
  return absl::StrCat("cases/", case_id, "/serviceEvents/", event_id);
}
std::string AuditEntryName(uint64_t seq) { return absl::StrCat("auditEntries/", keys::PaddedSequence(seq)); }

std::optional<uint64_t> ParseBeneficiaryName(absl::string_view name) {
  return ParseIdAfter(name, "beneficiaries/");
}
std::optional<uint64_t> ParseCaseName(absl::string_view name) { return ParseIdAfter(name, "cases/"); }
std::optional<uint64_t> ParseAuditEntryName(absl::string_view name) {
  constexpr absl::string_view kPrefix = "auditEntries/";
  if (!absl::StartsWith(name, kPrefix)) return std::nullopt;
  return keys::ParsePadded(name.substr(kPrefix.size()), 20);
}

std::string BeneficiaryKey(uint64_t id) { return keys::PaddedId(id); }
std::string CaseKey(uint64_t id) { return keys::PaddedId(id); }

std::string EventPrefix(uint64_t case_id) { return keys::PaddedId(case_id) + "/"; }

std::string EventKey(uint64_t case_id, int32_t yyyymmdd, uint64_t event_id) {
  return absl::StrCat(EventPrefix(case_id), yyyymmdd, "/", keys::PaddedId(event_id));
}

std::string AuditKey(uint64_t seq) { return keys::PaddedSequence(seq); }

std::string AuditJournalPath(const std::string& data_dir) { return data_dir + "/kentra-audit.journal"; }

std::string RequestKey(absl::string_view method, absl::string_view request_id) {
  return absl::StrCat(method, "/", request_id);
}

std::string IdentifierIndexKey(absl::string_view identifier_key,
                               const kentra::node::v1::NationalId& national_id) {
  return absl::StrCat(kIdxIdentifier,
                      HmacSha256(identifier_key, absl::StrCat(static_cast<int>(national_id.type()),
                                                              ":", national_id.value())));
}

std::string NewestFirstKey(int64_t unix_micros) {
  std::string out;
  keys::AppendInt64(&out, ~unix_micros);  // ~x == -x - 1: reverses the order, never overflows
  return out;
}

std::string CaseOrderSuffix(int64_t open_micros, uint64_t case_id) {
  std::string out = NewestFirstKey(open_micros);
  keys::AppendUint64(&out, ~case_id);
  return out;
}

std::optional<uint64_t> CaseIdOfOrderKey(absl::string_view key) {
  if (key.size() < 8) return std::nullopt;
  auto inverted = keys::ReadUint64(key, key.size() - 8);
  if (!inverted) return std::nullopt;
  return ~*inverted;
}

std::string CaseStatePrefix(kentra::node::v1::CaseState state) {
  return absl::StrCat(kIdxCaseState, std::string(1, static_cast<char>('0' + state)));
}

std::string CaseWorkerPrefix(absl::string_view worker) {
  return absl::StrCat(kIdxCaseWorker, worker, std::string(1, '\0'));
}

std::vector<IndexEntry> IndexEntriesFor(absl::string_view identifier_key, uint64_t id,
                                        const Beneficiary& b) {
  std::vector<IndexEntry> out;
  const std::string key = BeneficiaryKey(id);
  if (!b.national_id().value().empty()) {
    out.emplace_back(IdentifierIndexKey(identifier_key, b.national_id()), key);
  }
  const std::string family = FoldForSearch(b.family_name());
  const std::string given = FoldForSearch(b.given_name());
  const std::string nul(1, '\0');
  out.emplace_back(absl::StrCat(kIdxName, family, " ", given, nul, key), "");
  out.emplace_back(absl::StrCat(kIdxName, given, " ", family, nul, key), "");
  return out;
}

std::vector<IndexEntry> IndexEntriesFor(uint64_t id, const Case& c, absl::string_view encoded) {
  const std::string key = CaseKey(id);
  const std::string order = CaseOrderSuffix(OpenMicros(c), id);
  std::vector<IndexEntry> out;
  out.emplace_back(absl::StrCat(CaseStatePrefix(c.state()), order), std::string(encoded));
  out.emplace_back(absl::StrCat(CaseWorkerPrefix(c.assigned_worker()), order), std::string(encoded));
  out.emplace_back(absl::StrCat(kIdxCaseOpened, order), std::string(encoded));
  auto ben = ParseBeneficiaryName(c.beneficiary());
  out.emplace_back(absl::StrCat(kIdxCaseOfBen, BeneficiaryKey(ben.value_or(0)), key), "");
  return out;
}

std::vector<IndexEntry> IndexEntriesFor(uint64_t event_id, const std::string& event_key) {
  return {IndexEntry(absl::StrCat(kIdxEvent, keys::PaddedId(event_id)), event_key)};
}

std::string AuditResourcePrefix(absl::string_view resource) {
  for (absl::string_view collection : {"beneficiaries/", "cases/"}) {
    if (auto id = ParseIdAfter(resource, collection)) {
      return absl::StrCat(kIdxAuditResource, collection, "*", keys::PaddedId(*id / kAuditBlockIds), std::string(1, '\0'));
    }
  }
  return absl::StrCat(kIdxAuditResource, resource, std::string(1, '\0'));
}

bool AuditEntryNames(const AuditEntry& e, absl::string_view resource) {
  if (e.resource() == resource) return true;
  for (const std::string& read : e.resources_read()) {
    if (read == resource) return true;
  }
  return false;
}

std::vector<IndexEntry> IndexEntriesFor(uint64_t seq, const AuditEntry& e) {
  std::set<std::string> prefixes;
  if (!e.resource().empty()) prefixes.insert(AuditResourcePrefix(e.resource()));
  for (const std::string& read : e.resources_read()) prefixes.insert(AuditResourcePrefix(read));
  std::vector<IndexEntry> out;
  for (const std::string& prefix : prefixes) out.emplace_back(absl::StrCat(prefix, AuditKey(seq)), "");
  out.emplace_back(absl::StrCat(kIdxAuditActor, e.actor(), std::string(1, '\0'), AuditKey(seq)), "");
  return out;
}

void ApplyIndexChanges(WriteBatch& batch, const std::vector<IndexEntry>& before,
                       const std::vector<IndexEntry>& after) {
  std::set<std::string> keep;
  for (const auto& [k, v] : after) keep.insert(k);
  for (const auto& [k, v] : before) {
    if (!keep.count(k)) batch.Delete(kIndexes, k);
  }
  for (const auto& [k, v] : after) batch.Put(kIndexes, k, v);
}

}  // namespace kentra::node
