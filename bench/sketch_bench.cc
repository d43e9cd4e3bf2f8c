// kentra-bench-sketch: what the private persons sketches cost in accuracy, and
// what they give an attacker, beside the plain HyperLogLog sketch they replace
// (lg_k 12: 4096 registers, with linear counting for small counts), in one run.
//
// For 50, 500 and 5,000 distinct persons, over --trials random populations: the
// relative root-mean-square error of the estimate and how often the hub would
// release it, for one centre's month (1 sketch), four centres' month with some
// people shared (4 sketches), and a region's quarter (4 centres x 3 months, 12
// sketches, most people coming back each month); then the membership test of
// the issue on one release, plain and private.
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "common/anon/sketch.h"
#include "common/crypto.h"

ABSL_FLAG(int, trials, 100, "random populations per figure");

namespace kentra::anon {
namespace {

const AnonKeys& Keys() {
  static const AnonKeys keys = AnonKeys::Derive(std::string(32, 'b'));
  return keys;
}

// The plain sketch the private ones replace: HyperLogLog, 4096 one-byte registers.
class PlainHll {
 public:
  void Add(const std::string& pseudonym) {
    const std::string mac = HmacSha256(Keys().sketch, pseudonym);
    uint64_t h = 0;
    for (int i = 0; i < 8; ++i) h = (h << 8) | static_cast<unsigned char>(mac[static_cast<size_t>(i)]);
    const size_t index = h >> 52;
    const uint64_t rest = h << 12;
    uint8_t rank = 1;
    for (uint64_t bit = uint64_t{1} << 63; rank <= 52 && (rest & bit) == 0; bit >>= 1) ++rank;
    registers_[index] = std::max(registers_[index], rank);
  }
  double Estimate() const {
    const double m = static_cast<double>(registers_.size());
    double sum = 0;
    int zeros = 0;
    for (uint8_t r : registers_) {
      sum += std::ldexp(1.0, -r);
      zeros += r == 0;
    }
    const double raw = 0.7213 / (1 + 1.079 / m) * m * m / sum;
    return raw <= 2.5 * m && zeros > 0 ? m * std::log(m / zeros) : raw;
  }
  bool Holds(const std::string& pseudonym) const {
    PlainHll alone;
    alone.Add(pseudonym);
    for (size_t i = 0; i < registers_.size(); ++i) {
      if (alone.registers_[i] != 0) return registers_[i] >= alone.registers_[i];
    }
    return false;
  }

 private:
  std::vector<uint8_t> registers_ = std::vector<uint8_t>(4096, 0);
};

// People of one sketch (a centre's month) as pseudonyms.
using Group = std::vector<std::string>;

// `sketches` groups whose union is `n` people: a centre holds its share of the
// people; each of its months serves 80% of them (so most come back).
std::vector<Group> Population(int n, int centres, int months, std::mt19937_64& rng, int* union_size) {
  std::vector<Group> groups;
  std::vector<std::string> people;
  for (int i = 0; i < n; ++i) people.push_back(absl::StrCat("p", rng()));
  std::vector<int> seen(static_cast<size_t>(n), 0);
  for (int c = 0; c < centres; ++c) {
    // Each centre: a slice of the people, plus 10% shared with the next centre.
    const int from = n * c / centres, to = n * (c + 1) / centres;
    const int shared = centres > 1 ? (to - from) / 10 : 0;
    for (int m = 0; m < months; ++m) {
      Group g;
      for (int i = from; i < to + shared && i < n; ++i) {
        if (months == 1 || rng() % 10 < 8) {
          g.push_back(people[static_cast<size_t>(i)]);
          seen[static_cast<size_t>(i)] = 1;
        }
      }
      groups.push_back(std::move(g));
    }
  }
  *union_size = 0;
  for (int s : seen) *union_size += s;
  return groups;
}

struct Figure {
  double plain_rmse = 0, private_rmse = 0;
  int released = 0;
};

Figure Measure(int n, int centres, int months, int trials) {
  std::mt19937_64 rng(static_cast<uint64_t>(n) * 7919 + static_cast<uint64_t>(centres * months));
  double plain_sq = 0, private_sq = 0;
  Figure f;
  for (int t = 0; t < trials; ++t) {
    int truth = 0;
    const auto groups = Population(n, centres, months, rng, &truth);
    PlainHll plain;
    SketchMerger merger(absl::StrCat("trial ", t));
    for (size_t g = 0; g < groups.size(); ++g) {
      std::string bits(kSketchBits, '\0');
      for (const auto& p : groups[g]) {
        plain.Add(p);
        bits[SketchBitFor(Keys(), p)] = 1;
      }
      merger.Add(PrivateSketch(bits, absl::StrCat("node ", g % static_cast<size_t>(centres), " ", rng()),
                               absl::StrCat("month ", g)));
    }
    const DistinctEstimate e = EstimateDistinct(merger.merged());
    plain_sq += std::pow((plain.Estimate() - truth) / truth, 2);
    private_sq += std::pow((e.estimate - truth) / truth, 2);
    f.released += ReleasedEstimate(e) >= 0;
  }
  f.plain_rmse = std::sqrt(plain_sq / trials);
  f.private_rmse = std::sqrt(private_sq / trials);
  return f;
}

int Run() {
  const int trials = std::max(1, absl::GetFlag(FLAGS_trials));
  std::printf("persons sketches: relative RMS error of the estimate over %d random populations each\n", trials);
  std::printf("  (plain: today's HyperLogLog, lg_k 12; private: kentra-anon/v2, eps = ln 7 = %.2f a release)\n\n",
              SketchEpsilon());
  std::printf("%-38s %8s %10s %10s %10s\n", "scope", "persons", "plain", "private", "released");
  const struct {
    const char* name;
    int centres, months;
  } scopes[] = {{"one centre, one month (1 sketch)", 1, 1},
                {"4 centres, one month (4 sketches)", 4, 1},
                {"4 centres, a quarter (12 sketches)", 4, 3}};
  for (const auto& scope : scopes) {
    for (int n : {50, 500, 5000}) {
      const Figure f = Measure(n, scope.centres, scope.months, trials);
      std::printf("%-38s %8d %9.1f%% %9.1f%% %9.0f%%\n", scope.name, n, 100 * f.plain_rmse, 100 * f.private_rmse,
                  100.0 * f.released / trials);
    }
  }

  // The attack on one release: 4 people in a centre's month, a planted
  // person present or absent, tested with the nodes' hash key.
  std::mt19937_64 rng(2026);
  constexpr int kAttacks = 2000;
  int plain_right = 0, private_right = 0;
  for (int t = 0; t < kAttacks; ++t) {
    const bool present = t % 2 == 0;
    const std::string target = absl::StrCat("planted ", t);
    PlainHll plain;
    std::string bits(kSketchBits, '\0');
    for (int k = 0; k < 4; ++k) {
      const std::string other = absl::StrCat("other ", rng());
      plain.Add(other);
      bits[SketchBitFor(Keys(), other)] = 1;
    }
    if (present) {
      plain.Add(target);
      bits[SketchBitFor(Keys(), target)] = 1;
    }
    const std::string released = PrivateSketch(bits, absl::StrCat("node ", rng()), "2026-10");
    const uint16_t bit = SketchBitFor(Keys(), target);
    private_right += (((static_cast<unsigned char>(released[bit / 8]) >> (bit % 8)) & 1) != 0) == present;
    plain_right += plain.Holds(target) == present;
  }
  const double bound = std::exp(SketchEpsilon()) / (1 + std::exp(SketchEpsilon()));
  std::printf("\nmembership test on one release (%d trials, half present): right %.1f%% of the time on the plain "
              "sketch, %.1f%% on the private one (bound %.1f%%, advantage bound %.2f)\n",
              kAttacks, 100.0 * plain_right / kAttacks, 100.0 * private_right / kAttacks, 100 * bound, 2 * bound - 1);
  std::printf("a year of monthly releases at one centre: eps = 12 ln 7 = %.1f\n", 12 * SketchEpsilon());
  return 0;
}

}  // namespace
}  // namespace kentra::anon

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return kentra::anon::Run();
}
