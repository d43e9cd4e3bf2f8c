// The perturbation table of kentra-anon/v1 (cell key method): the integer noise a
// node adds to each true count before it leaves the building. The same set of
// people (the same cell key) always gets the same noise, so repeating a query
// cannot average it away.
#ifndef KENTRA_COMMON_ANON_PTABLE_H_
#define KENTRA_COMMON_ANON_PTABLE_H_

#include <array>
#include <cstdint>
#include <string>

namespace kentra::anon {

// Cell keys are sums of record keys modulo this.
inline constexpr uint32_t kCellKeyModulus = 256;
// Rows of the table: true counts 0..kTableRows-1; larger counts use the last row.
inline constexpr int kTableRows = 16;

using PerturbationTable = std::array<std::array<int8_t, kCellKeyModulus>, kTableRows>;

// The v1 table (configs/anon/ptable-v1.csv).
const PerturbationTable& PerturbationTableV1();

// The protected value of a cell: `count` plus the table's noise at (count,
// cell_key mod 256). Never negative, never 1 or 2; 0 stays 0.
int64_t Protect(int64_t count, uint64_t cell_key);

// What a published value can stand for, from `table` itself, for readers of the
// statistics with display threshold `k`, as Markdown (docs/disclosure-table.md):
// for each published value 0 to k+3, the true counts it can come from with the
// probability that each is published as it (over the cell keys, which are
// uniform), and which true count it most likely came from if every true count
// were equally likely.
std::string DisclosureTableMarkdown(const PerturbationTable& table, int k);

}  // namespace kentra::anon

#endif  // KENTRA_COMMON_ANON_PTABLE_H_
