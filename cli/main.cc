// kentractl: thin main over the kentractl library.
#include <iostream>
#include <string>
#include <vector>

#include "cli/kentractl.h"
#include "common/crypto.h"

int main(int argc, char** argv) {
  (void)kentra::InitCrypto();
  std::vector<std::string> args(argv + 1, argv + argc);
  return kentra::cli::RunKentractl(args, std::cout, std::cerr);
}
