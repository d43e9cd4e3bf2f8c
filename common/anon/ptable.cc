#include "common/anon/ptable.h"

#include <cstddef>

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

}  // namespace kentra::anon
