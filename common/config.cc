#include "common/config.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status.h"

namespace kentra {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::TextFormat;
using kentra::config::v1::CentreConfig;

class FirstErrorCollector final : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, int column, const std::string& message) override {
    if (error_.empty()) error_ = absl::StrCat(line + 1, ":", column + 1, ": ", message);
  }
  const std::string& error() const { return error_; }

 private:
  std::string error_;
};

// Finds where `path` ("a[1].b.c[0]") was written, as "LINE:COL", or "" if unknown.
std::string LocateField(const TextFormat::ParseInfoTree* tree, const Descriptor* descriptor,
                        absl::string_view path) {
  std::string location;
  for (absl::string_view segment : absl::StrSplit(path, '.')) {
    if (tree == nullptr || descriptor == nullptr) break;
    int index = -1;
    size_t bracket = segment.find('[');
    absl::string_view name = segment.substr(0, bracket);
    if (bracket != absl::string_view::npos) {
      if (!absl::SimpleAtoi(segment.substr(bracket + 1, segment.size() - bracket - 2), &index)) break;
    }
    const FieldDescriptor* field = descriptor->FindFieldByName(std::string(name));
    if (field == nullptr) break;
    if (!field->is_repeated()) index = -1;
    auto loc = tree->GetLocation(field, index);
    if (loc.line >= 0) location = absl::StrCat(loc.line + 1, ":", loc.column + 1);
    if (field->type() != FieldDescriptor::TYPE_MESSAGE) break;
    tree = tree->GetTreeForNested(field, index);
    descriptor = field->message_type();
  }
  return location;
}

absl::Status Invalid(absl::string_view field, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", problem));
}

bool IsHourMinute(absl::string_view s, int* minutes) {
  int h, m;
  if (s.size() != 5 || s[2] != ':' || !absl::SimpleAtoi(s.substr(0, 2), &h) ||
      !absl::SimpleAtoi(s.substr(3, 2), &m) || h < 0 || h > 23 || m < 0 || m > 59) {
    return false;
  }
  *minutes = h * 60 + m;
  return true;
}

absl::Status ValidateCentreMessage(const google::protobuf::Message& m) {
  return ValidateCentreConfig(static_cast<const CentreConfig&>(m));
}

absl::Status ValidateFederationMessage(const google::protobuf::Message& m) {
  const auto& f = static_cast<const kentra::config::v1::FederationConfig&>(m);
  for (int i = 0; i < f.revoked_certificates_size(); ++i) {
    const std::string& serial = f.revoked_certificates(i).serial();
    const bool hex = !serial.empty() && serial.size() <= 40 &&
                     std::all_of(serial.begin(), serial.end(), [](char c) { return absl::ascii_isxdigit(c); });
    if (!hex) {
      return absl::InvalidArgumentError(
          absl::StrCat("revoked_certificates[", i, "].serial: must be 1-40 hex digits"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

bool IsValidSlug(absl::string_view id) {
  if (id.empty() || id.size() > 64 || !(id[0] >= 'a' && id[0] <= 'z')) return false;
  for (char c : id) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

absl::Status LoadTextProtoFile(const std::string& path, google::protobuf::Message* message,
                               ConfigValidator validate) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot read the file"));
  std::stringstream buffer;
  buffer << in.rdbuf();

  TextFormat::Parser parser;
  FirstErrorCollector errors;
  TextFormat::ParseInfoTree tree;
  parser.RecordErrorsTo(&errors);
  parser.WriteLocationsTo(&tree);
  if (!parser.ParseFromString(buffer.str(), message)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ":", errors.error()));
  }
  if (validate == nullptr) return absl::OkStatus();
  absl::Status status = validate(*message);
  if (status.ok()) return status;
  std::string text(status.message());
  std::string field = text.substr(0, text.find(':'));
  std::string where = LocateField(&tree, message->GetDescriptor(), field);
  if (where.empty()) where = "1:1";
  return absl::Status(status.code(), absl::StrCat(path, ":", where, ": ", text));
}

absl::Status ValidateCentreConfig(const CentreConfig& c) {
  if (!IsValidSlug(c.id())) {
    return Invalid("id", "must be 1-64 of [a-z0-9-] starting with a letter (e.g. \"kassandra\")");
  }
  if (c.name().el().empty()) return Invalid("name", "the Greek name (el) is required");
  if (c.name().latin().empty()) return Invalid("name", "the Latin-script name (latin) is required");
  if (c.municipality().el().empty()) return Invalid("municipality", "the Greek name (el) is required");
  if (!IsValidSlug(c.region())) {
    return Invalid("region", "must be a region id such as \"central-macedonia\"");
  }
  if (c.operation().programme_el().empty()) {
    return Invalid("operation", "programme_el (the operational programme) is required");
  }
  const auto& mis = c.operation().mis_code();
  for (char ch : mis) {
    if (ch < '0' || ch > '9') return Invalid("operation.mis_code", "must be digits only");
  }
  if (c.operation().budget_eur_cents() < 0 || c.operation().amended_budget_eur_cents() < 0) {
    return Invalid("operation.budget_eur_cents", "must not be negative");
  }
  if (c.sites_size() == 0) return Invalid("sites", "a centre needs at least one site");
  std::vector<std::string> site_ids;
  for (int i = 0; i < c.sites_size(); ++i) {
    const auto& site = c.sites(i);
    std::string at = absl::StrCat("sites[", i, "]");
    if (!IsValidSlug(site.id())) return Invalid(at + ".id", "must be 1-64 of [a-z0-9-]");
    for (const auto& seen : site_ids) {
      if (seen == site.id()) return Invalid(at + ".id", absl::StrCat("duplicate site id '", site.id(), "'"));
    }
    site_ids.push_back(site.id());
    if (site.address_el().empty()) return Invalid(at + ".address_el", "is required");
    for (int h = 0; h < site.hours_size(); ++h) {
      const auto& hours = site.hours(h);
      std::string hat = absl::StrCat(at, ".hours[", h, "]");
      if (hours.first_weekday() < 1 || hours.first_weekday() > 7 ||
          hours.last_weekday() < hours.first_weekday() || hours.last_weekday() > 7) {
        return Invalid(hat + ".first_weekday", "weekdays must be 1 (Monday) to 7, first <= last");
      }
      int opens, closes;
      if (!IsHourMinute(hours.opens(), &opens)) return Invalid(hat + ".opens", "must be HH:MM");
      if (!IsHourMinute(hours.closes(), &closes)) return Invalid(hat + ".closes", "must be HH:MM");
      if (closes <= opens) return Invalid(hat + ".closes", "must be after opens");
    }
    for (int b = 0; b < site.branches_size(); ++b) {
      if (site.branches(b) == kentra::config::v1::BRANCH_UNSPECIFIED) {
        return Invalid(absl::StrCat(at, ".branches[", b, "]"), "BRANCH_UNSPECIFIED is not a branch");
      }
    }
  }
  if (c.services_size() == 0) return Invalid("services", "list the services the centre offers");
  for (int i = 0; i < c.services_size(); ++i) {
    if (c.services(i) == kentra::type::v1::SERVICE_TYPE_UNSPECIFIED) {
      return Invalid(absl::StrCat("services[", i, "]"), "SERVICE_TYPE_UNSPECIFIED is not a service");
    }
  }
  for (int i = 0; i < c.staff_size(); ++i) {
    if (c.staff(i).count() < 0) return Invalid(absl::StrCat("staff[", i, "].count"), "must not be negative");
  }
  const auto& node = c.node();
  if (node.max_page_size() < 0 || node.max_page_size() > 1000) {
    return Invalid("node.max_page_size", "must be 1 to 1000 (0 for the default, 200)");
  }
  if (node.max_request_bytes() < 0 || node.max_request_bytes() > (16 << 20)) {
    return Invalid("node.max_request_bytes", "must be at most 16 MiB (0 for the default, 1 MiB)");
  }
  if (node.max_request_bytes() != 0 && node.max_request_bytes() < 4096) {
    return Invalid("node.max_request_bytes", "must be at least 4096");
  }
  // Each login limit: 0 for the default, else within [lo, hi].
  auto in_range = [](int v, int lo, int hi) { return v == 0 || (v >= lo && v <= hi); };
  if (!in_range(node.session_minutes(), 5, 720)) {
    return Invalid("node.session_minutes", "must be 5 to 720 (0 for the default, 480)");
  }
  if (!in_range(node.lockout_failures(), 3, 20)) {
    return Invalid("node.lockout_failures", "must be 3 to 20 (0 for the default, 5)");
  }
  if (!in_range(node.lockout_minutes(), 1, 1440)) {
    return Invalid("node.lockout_minutes", "must be 1 to 1440 (0 for the default, 15)");
  }
  if (!in_range(node.sync_minute_of_day(), 1, 24 * 60 - 1)) {
    return Invalid("node.sync_minute_of_day", "must be 1 to 1439 (0 for the default, 150 = 02:30)");
  }
  if (!in_range(node.sync_jitter_minutes(), 1, 180)) {
    return Invalid("node.sync_jitter_minutes", "must be 1 to 180 (0 for the default, 30)");
  }
  if (!in_range(node.referral_accept_working_days(), 1, 60)) {
    return Invalid("node.referral_accept_working_days", "must be 1 to 60 (0 for the default, 10)");
  }
  if (!in_range(node.peer_failures_per_10_minutes(), 5, 1000)) {
    return Invalid("node.peer_failures_per_10_minutes", "must be 5 to 1000 (0 for the default, 20)");
  }
  if (!in_range(node.release_after_days(), 1, 90)) {
    return Invalid("node.release_after_days", "must be 1 to 90 (0 for the default, 10)");
  }
  return absl::OkStatus();
}

absl::StatusOr<CentreConfig> LoadCentreConfig(const std::string& path) {
  CentreConfig config;
  absl::Status status = LoadTextProtoFile(path, &config, &ValidateCentreMessage);
  if (!status.ok()) return status;
  return config;
}

absl::Status ValidateHubMessage(const google::protobuf::Message& m) {
  const auto& h = static_cast<const kentra::config::v1::HubConfig&>(m);
  if (h.regions_size() == 0) return Invalid("regions", "list at least one region");
  std::set<std::string> ids;
  for (int i = 0; i < h.regions_size(); ++i) {
    if (!IsValidSlug(h.regions(i).id())) {
      return Invalid(absl::StrCat("regions[", i, "].id"), "must be 1-64 of [a-z0-9-] starting with a letter");
    }
    if (!ids.insert(h.regions(i).id()).second) return Invalid(absl::StrCat("regions[", i, "].id"), "is listed twice");
  }
  if (h.centres_dir().empty()) return Invalid("centres_dir", "is required (e.g. \"centres\")");
  if (h.display_threshold() != 0 && (h.display_threshold() < 5 || h.display_threshold() > 1000)) {
    return Invalid("display_threshold", "must be 5 to 1000 (0 for the default, 10)");
  }
  if (!h.codebook().empty() && h.codebook() != "kentra-anon/v2") {
    return Invalid("codebook", "this hub knows only \"kentra-anon/v2\"");
  }
  if (h.staleness_hours() < 0 || h.staleness_hours() > 24 * 31) {
    return Invalid("staleness_hours", "must be 1 to 744 (0 for the default, 36)");
  }
  if (h.max_request_bytes() < 0 || h.max_request_bytes() > (64 << 20)) {
    return Invalid("max_request_bytes", "must be at most 64 MiB (0 for the default, 4 MiB)");
  }
  if (h.mailbox_ttl_days() < 0 || h.mailbox_ttl_days() > 90) {
    return Invalid("mailbox_ttl_days", "must be 1 to 90 (0 for the default, 30)");
  }
  if (h.release_after_days() < 0 || h.release_after_days() > 90) {
    return Invalid("release_after_days", "must be 1 to 90 (0 for the default, 12)");
  }
  if (h.query_budget().per_minute() < 0 || h.query_budget().per_minute() > 1000000) {
    return Invalid("query_budget.per_minute", "must be 1 to 1000000 (0 for the default, 30)");
  }
  if (h.query_budget().per_day() < 0 || h.query_budget().per_day() > 10000000) {
    return Invalid("query_budget.per_day", "must be 1 to 10000000 (0 for the default, 1000)");
  }
  return absl::OkStatus();
}

absl::StatusOr<HubSetup> LoadHubConfig(const std::string& path) {
  HubSetup setup;
  KENTRA_RETURN_IF_ERROR(LoadTextProtoFile(path, &setup.hub, &ValidateHubMessage));
  kentra::config::v1::HubConfig& h = setup.hub;
  if (h.display_threshold() == 0) h.set_display_threshold(10);
  if (h.codebook().empty()) h.set_codebook("kentra-anon/v2");
  if (h.staleness_hours() == 0) h.set_staleness_hours(36);
  if (h.max_request_bytes() == 0) h.set_max_request_bytes(4 << 20);
  if (h.mailbox_ttl_days() == 0) h.set_mailbox_ttl_days(30);
  if (h.release_after_days() == 0) h.set_release_after_days(12);
  if (h.query_budget().per_minute() == 0) h.mutable_query_budget()->set_per_minute(30);
  if (h.query_budget().per_day() == 0) h.mutable_query_budget()->set_per_day(1000);
  const std::filesystem::path dir = std::filesystem::path(path).parent_path() / h.centres_dir();
  std::error_code ec;
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.path().extension() == ".textproto") files.push_back(entry.path());
  }
  if (ec) return absl::InvalidArgumentError(absl::StrCat(path, ": centres_dir: cannot read ", dir.string()));
  std::sort(files.begin(), files.end());
  std::set<std::string> regions;
  for (const auto& r : h.regions()) regions.insert(r.id());
  for (const auto& file : files) {
    KENTRA_ASSIGN_OR_RETURN(CentreConfig c, LoadCentreConfig(file.string()));
    if (!regions.count(c.region())) {
      return absl::InvalidArgumentError(
          absl::StrCat(file.string(), ": region: '", c.region(), "' is not a region of ", path));
    }
    for (const auto& other : setup.centres) {
      if (other.id() == c.id()) return absl::InvalidArgumentError(absl::StrCat(file.string(), ": id: '", c.id(), "' twice"));
    }
    setup.centres.push_back(std::move(c));
  }
  return setup;
}

absl::StatusOr<kentra::config::v1::FederationConfig> LoadFederationConfig(const std::string& path) {
  kentra::config::v1::FederationConfig config;
  absl::Status status = LoadTextProtoFile(path, &config, &ValidateFederationMessage);
  if (!status.ok()) return status;
  return config;
}

std::set<std::string> RevokedSerials(const kentra::config::v1::FederationConfig& federation) {
  std::set<std::string> serials;
  for (const auto& r : federation.revoked_certificates()) serials.insert(absl::AsciiStrToUpper(r.serial()));
  return serials;
}

kentra::config::v1::NodeSettings EffectiveNodeSettings(const CentreConfig& c) {
  kentra::config::v1::NodeSettings s = c.node();
  if (s.max_page_size() == 0) s.set_max_page_size(200);
  if (s.max_request_bytes() == 0) s.set_max_request_bytes(1 << 20);
  if (s.session_minutes() == 0) s.set_session_minutes(480);
  if (s.lockout_failures() == 0) s.set_lockout_failures(5);
  if (s.lockout_minutes() == 0) s.set_lockout_minutes(15);
  if (s.peer_failures_per_10_minutes() == 0) s.set_peer_failures_per_10_minutes(20);
  if (s.sync_minute_of_day() == 0) s.set_sync_minute_of_day(150);
  if (s.sync_jitter_minutes() == 0) s.set_sync_jitter_minutes(30);
  if (s.referral_accept_working_days() == 0) s.set_referral_accept_working_days(10);
  if (s.release_after_days() == 0) s.set_release_after_days(10);
  return s;
}

}  // namespace kentra
