// Starting and killing real kentra processes from tests and benchmarks.
#ifndef KENTRA_TESTS_TESTING_PROCESS_H_
#define KENTRA_TESTS_TESTING_PROCESS_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/time/time.h"

namespace kentra::testing {

// A child process whose stdout is read for its "listening on port N" line.
class ChildProcess {
 public:
  // Starts `argv` and waits (up to `timeout`) for it to print its port.
  ChildProcess(const std::vector<std::string>& argv, absl::Duration timeout = absl::Seconds(20));
  ~ChildProcess();  // SIGKILLs the child if it still runs

  // 0 if the port line never came.
  int port() const { return port_; }
  // The child's process id (-1 once stopped).
  pid_t pid() const { return pid_; }
  // Sends `signal` and waits for the exit; returns the wait status.
  int Stop(int signal);

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

// Runs `argv` to completion; returns its exit code (-1 if it did not exit normally).
int RunToExit(const std::vector<std::string>& argv);

}  // namespace kentra::testing

#endif  // KENTRA_TESTS_TESTING_PROCESS_H_
