#include "common/config.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "tests/testing/test_util.h"

namespace kentra {
namespace {

using ::kentra::testing::SourceDir;
using ::kentra::testing::StatusIs;
using ::kentra::testing::TempDir;

TEST(ConfigTest, EveryFileUnderConfigsParses) {
  int centres = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(SourceDir() + "/configs")) {
    if (entry.path().extension() != ".textproto") continue;
    if (entry.path().parent_path().filename() == "centres") {
      auto c = LoadCentreConfig(entry.path().string());
      ASSERT_OK(c);
      EXPECT_EQ(c->id() + ".textproto", entry.path().filename().string()) << "file name must be the id";
      ++centres;
    } else if (entry.path().filename() == "federation.textproto") {
      EXPECT_OK(LoadFederationConfig(entry.path().string()));
    } else if (entry.path().filename() == "hub.textproto") {
      auto hub = LoadHubConfig(entry.path().string());
      ASSERT_OK(hub);
      EXPECT_EQ(hub->centres.size(), 5u);
      EXPECT_EQ(hub->hub.display_threshold(), 10);
    } else {
      ADD_FAILURE() << entry.path() << " is a config no loader knows";
    }
  }
  EXPECT_EQ(centres, 5);
}

TEST(ConfigTest, RevokedSerialsMustBeHex) {
  TempDir dir;
  const std::string path = dir.path() + "/federation.textproto";
  std::ofstream(path) << "revoked_certificates { serial: \"10AF\" }\nrevoked_certificates { serial: \"1z\" }\n";
  EXPECT_THAT(LoadFederationConfig(path),
              StatusIs(absl::StatusCode::kInvalidArgument, "revoked_certificates[1].serial: must be 1-40 hex digits"));
  std::ofstream(path) << "revoked_certificates { serial: \"10af\" reason: \"lost\" }\n";
  auto ok = LoadFederationConfig(path);
  ASSERT_OK(ok);
  EXPECT_EQ(RevokedSerials(*ok), std::set<std::string>{"10AF"});
}

TEST(ConfigTest, SeedFactsAreInTheConfigs) {
  auto thess = ::kentra::testing::CentreConfig("thessaloniki");
  EXPECT_EQ(thess.operation().mis_code(), "5002722");
  ASSERT_EQ(thess.sites_size(), 2);
  EXPECT_EQ(thess.sites(1).branches(0), config::v1::BRANCH_MIGRANT_INTEGRATION);
  auto ermionida = ::kentra::testing::CentreConfig("ermionida");
  EXPECT_EQ(ermionida.region(), "peloponnese");
  EXPECT_EQ(::kentra::testing::CentreConfig("chalkidona").operation().budget_eur_cents(), 19590714);
}

std::string Write(const TempDir& dir, const std::string& text) {
  std::string path = dir.path() + "/centre.textproto";
  std::ofstream(path) << text;
  return path;
}

constexpr char kGood[] = R"(id: "test-centre"
name { el: "Κέντρο" latin: "Centre" }
municipality { el: "Δήμος" }
region: "central-macedonia"
operation { programme_el: "Π" }
sites {
  id: "main"
  address_el: "Οδός 1"
  hours { first_weekday: 1 last_weekday: 5 opens: "09:00" closes: "14:00" }
}
services: [SERVICE_TYPE_COUNSELLING]
)";

TEST(ConfigTest, BadConfigsNameFileLineAndField) {
  TempDir dir;
  ASSERT_OK(LoadCentreConfig(Write(dir, kGood)));
  struct Case {
    std::string from, to, expected;
  };
  const Case cases[] = {
      {"opens: \"09:00\"", "opens: \"9am\"", ":9:44: sites[0].hours[0].opens: must be HH:MM"},
      {"closes: \"14:00\"", "closes: \"08:00\"", ":9:59: sites[0].hours[0].closes: must be after opens"},
      {"id: \"test-centre\"", "id: \"Test Centre\"", ":1:1: id: must be"},
      {"region: \"central-macedonia\"", "region: \"\"", "region: must be"},
      {"services: [SERVICE_TYPE_COUNSELLING]", "services: [SERVICE_TYPE_NOPE]", ":11:29: Unknown enumeration value"},
      {"address_el", "adress_el", ":8:12: Message type \"kentra.config.v1.Site\" has no field named \"adress_el\""},
  };
  for (const auto& c : cases) {
    std::string text = kGood;
    text.replace(text.find(c.from), c.from.size(), c.to);
    std::string path = Write(dir, text);
    auto result = LoadCentreConfig(path);
    EXPECT_THAT(result, StatusIs(absl::StatusCode::kInvalidArgument, path + ":"));
    EXPECT_NE(result.status().message().find(c.expected), absl::string_view::npos) << result.status().message();
  }
}

TEST(ConfigTest, LoginLimitsAreBoundedAndDefaulted) {
  TempDir dir;
  for (const auto& [setting, expected] : std::vector<std::pair<std::string, std::string>>{
           {"session_minutes: 2000", "node.session_minutes: must be 5 to 720"},
           {"lockout_failures: 1", "node.lockout_failures: must be 3 to 20"},
           {"lockout_minutes: -1", "node.lockout_minutes: must be 1 to 1440"},
           {"peer_failures_per_10_minutes: 2", "node.peer_failures_per_10_minutes: must be 5 to 1000"}}) {
    auto result = LoadCentreConfig(Write(dir, std::string(kGood) + "node { " + setting + " }\n"));
    EXPECT_THAT(result, StatusIs(absl::StatusCode::kInvalidArgument, expected));
  }
  auto good = LoadCentreConfig(Write(dir, kGood));
  ASSERT_OK(good);
  const auto settings = EffectiveNodeSettings(*good);
  EXPECT_EQ(settings.session_minutes(), 480);
  EXPECT_EQ(settings.lockout_failures(), 5);
  EXPECT_EQ(settings.lockout_minutes(), 15);
  EXPECT_EQ(settings.peer_failures_per_10_minutes(), 20);
}

TEST(ConfigTest, MissingFileIsNotFound) {
  EXPECT_THAT(LoadCentreConfig("/nonexistent/x.textproto"), StatusIs(absl::StatusCode::kNotFound, "cannot read"));
}

}  // namespace
}  // namespace kentra
