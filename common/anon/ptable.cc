#include "common/anon/ptable.h"

#include <cstddef>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace kentra::anon {

const PerturbationTable& PerturbationTableV1() {
  static const PerturbationTable table = {{
#include "ptable_v1.inc"
  }};
  return table;
}

int64_t Protect(int64_t count, uint64_t cell_key) {
  if (count <= 0) return 0;
  const int row = count < kTableRows ? static_cast<int>(count) : kTableRows - 1;
  return count + PerturbationTableV1()[static_cast<size_t>(row)][cell_key % kCellKeyModulus];
}

std::string DisclosureTableMarkdown(const PerturbationTable& table, int k) {
  const int max_shown = k + 3;
  const int max_true = max_shown + 3;  // noise is at most 3 either way
  // published[t][v]: how many of the cell keys publish a true count t as v.
  std::vector<std::vector<int>> published(static_cast<size_t>(max_true) + 1,
                                          std::vector<int>(static_cast<size_t>(max_true) + 4, 0));
  for (int t = 0; t <= max_true; ++t) {
    const int row = t < kTableRows ? t : kTableRows - 1;
    for (uint32_t key = 0; key < kCellKeyModulus; ++key) {
      const int v = t == 0 ? 0 : t + table[static_cast<size_t>(row)][key];
      ++published[static_cast<size_t>(t)][static_cast<size_t>(v)];
    }
  }
  auto percent = [](int n) { return absl::StrFormat("%.1f%%", 100.0 * n / kCellKeyModulus); };
  std::string out = absl::StrCat(
      "# What a published count can stand for\n\n"
      "Generated from the perturbation table `configs/anon/ptable-v1.csv` (kentra-anon/v2 cells) for the display "
      "threshold k = ", k, " by `kentractl stats disclosure-table --threshold=", k,
      "`; a test checks that this file is what the table gives.\n\n"
      "Before any count leaves a centre it gets the stable noise of the cell key method: a whole number from -3 "
      "to +3 chosen by the cell's key (the sum of its people's keys, so the same people always get the same "
      "noise). A true 0 stays 0, and no count is ever published as 1 or 2. The hub only adds up such protected "
      "counts and shows a sum under k as \"<", k, "\"; that is a reading aid, not the protection: a hidden sum "
      "can be worked out from the totals beside it, and is still only a sum of protected counts.\n\n"
      "For each value a centre can publish for one cell, the true counts it can come from, each with the chance "
      "that a cell with that true count is published as this value (over the 256 cell keys, which are equally "
      "likely). The last column says which true count is likeliest if, before looking, every true count from 0 to ",
      max_true, " were thought equally likely, and how likely it then is.\n\n"
      "| published | can come from a true count of | likeliest true count |\n|---:|---|---|\n");
  for (int v = 0; v <= max_shown; ++v) {
    if (v == 1 || v == 2) continue;  // never published
    std::vector<std::string> sources;
    int total = 0, best = -1;
    for (int t = 0; t <= max_true; ++t) {
      const int n = published[static_cast<size_t>(t)][static_cast<size_t>(v)];
      if (n == 0) continue;
      sources.push_back(absl::StrCat(t, " (", percent(n), ")"));
      total += n;
      if (best < 0 || n > published[static_cast<size_t>(best)][static_cast<size_t>(v)]) best = t;
    }
    absl::StrAppend(&out, "| ", v, " | ", absl::StrJoin(sources, ", "), " | ", best, " (",
                    absl::StrFormat("%.0f%%", 100.0 * published[static_cast<size_t>(best)][static_cast<size_t>(v)] / total),
                    ") |\n");
  }
  absl::StrAppend(&out, "\nValues 1 and 2 are never published. A published value above ", max_shown,
                  " comes from a true count within 3 of it, in the same way as the last rows.\n");
  return out;
}

}  // namespace kentra::anon
