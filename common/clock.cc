#include "common/clock.h"

namespace kentra {

SystemClock* SystemClock::Get() {
  static SystemClock* clock = new SystemClock();
  return clock;
}

}  // namespace kentra
