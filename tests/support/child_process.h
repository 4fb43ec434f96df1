#pragma once
// What the end-to-end tests do with the daemons they spawn: stop one and collect its exit status,
// and read what it logged.
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace aisle::testing {

// Sends `sig` to the child, waits for it to end and forgets it (pid becomes -1). Returns its
// waitpid status, or -1 when there was no child.
inline int killAndReap(pid_t& pid, int sig) {
  if (pid <= 0) return -1;
  ::kill(pid, sig);
  int status = 0;
  waitpid(pid, &status, 0);
  pid = -1;
  return status;
}

// The whole file as text ("" when it cannot be read).
inline std::string fileText(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace aisle::testing
