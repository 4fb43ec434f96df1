// The deployment files: the systemd unit passes `systemd-analyze verify` and carries the hardening
// the gateway relies on; the D-Bus policy lets only the gateway's user talk to BlueZ.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "test_util.h"

namespace {

namespace fs = std::filesystem;
using aisle::fwconfig::testing::readText;
using aisle::fwconfig::testing::sourcePath;
using aisle::fwconfig::testing::TempDir;

const fs::path kUnit = sourcePath("firmware-config/deploy/systemd/aisleone-gateway.service");
const fs::path kPolicy = sourcePath("firmware-config/deploy/dbus/aisleone-gateway.conf");

std::string runCapturing(const std::string& command, int& status) {
  std::string out;
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (!p) {
    status = -1;
    return out;
  }
  char buf[512];
  while (std::fgets(buf, sizeof buf, p)) out += buf;
  status = ::pclose(p);
  return out;
}

bool haveTool(const std::string& name) {
  int status = 0;
  runCapturing("command -v " + name + " >/dev/null", status);
  return status == 0;
}

TEST(DeployUnit, PassesSystemdAnalyzeVerify) {
  if (!haveTool("systemd-analyze")) GTEST_SKIP() << "systemd-analyze is not installed here";
  // verify checks that ExecStart's binary exists: put a stand-in where the unit expects it.
  TempDir dir;
  const std::string unit = readText(kUnit);
  const std::string execLine = "ExecStart=/usr/bin/aisleone-gateway";
  ASSERT_NE(unit.find(execLine), std::string::npos);
  std::string patched = unit;
  const std::string fakeBinary = dir / "aisleone-gateway";
  aisle::fwconfig::testing::writeText(fakeBinary, "#!/bin/sh\nexit 0\n");
  fs::permissions(fakeBinary, fs::perms::owner_all);
  patched.replace(patched.find(execLine), execLine.size(), "ExecStart=" + fakeBinary);
  aisle::fwconfig::testing::writeText(dir / "aisleone-gateway.service", patched);
  int status = 0;
  const std::string out =
      runCapturing("SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no " +
                       (dir / "aisleone-gateway.service"),
                   status);
  EXPECT_EQ(status, 0) << out;
  // verify exits 0 on some warnings; an unknown directive or section must still fail the test.
  EXPECT_EQ(out.find("Unknown"), std::string::npos) << out;
  EXPECT_EQ(out.find("ignoring"), std::string::npos) << out;
}

TEST(DeployUnit, CarriesTheHardeningTheGatewayRelies) {
  const std::string unit = readText(kUnit);
  for (const char* line :
       {"Type=notify", "ProtectSystem=strict", "NoNewPrivileges=yes", "PrivateTmp=yes",
        "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6", "StateDirectory=aisleone-gateway",
        "Restart=on-failure", "StartLimitBurst=", "User=aisleone-gateway", "NotifyAccess=main"}) {
    EXPECT_NE(unit.find(std::string("\n") + line), std::string::npos) << "missing " << line;
  }
}

TEST(DeployPolicy, IsWellFormedAndScopedToTheGatewayUser) {
  const std::string policy = readText(kPolicy);
  EXPECT_NE(policy.find("<policy user=\"aisleone-gateway\">"), std::string::npos);
  EXPECT_NE(policy.find("send_destination=\"org.bluez\""), std::string::npos);
  if (!haveTool("xmllint")) GTEST_SKIP() << "xmllint is not installed here (content checked above)";
  int status = 0;
  const std::string out = runCapturing("xmllint --noout " + kPolicy.string(), status);
  EXPECT_EQ(status, 0) << out;
}

TEST(DeployPolicy, IsAcceptedByARealDbusDaemon) {
  if (!haveTool("dbus-daemon")) GTEST_SKIP() << "dbus-daemon is not installed here";
  // A private bus that includes the policy: dbus-daemon refuses to start on a malformed policy.
  TempDir dir;
  const std::string config =
      "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
      " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
      "<busconfig><type>custom</type><listen>unix:path=" +
      (dir / "bus") +
      "</listen>\n"
      "<policy context=\"default\"><allow send_destination=\"*\"/><allow own=\"*\"/></policy>\n"
      "<include>" +
      kPolicy.string() + "</include></busconfig>\n";
  aisle::fwconfig::testing::writeText(dir / "bus.conf", config);
  int status = 0;
  // With --fork the daemon has parsed its configuration before it prints its pid; then it is
  // killed.
  const std::string out = runCapturing(
      "dbus-daemon --config-file=" + (dir / "bus.conf") + " --fork --print-pid=1 --nosyslog",
      status);
  ASSERT_EQ(status, 0) << out;
  // Warnings (e.g. the policy's user not existing on this machine) come first; the pid is last.
  const auto lastLine = out.find_last_of('\n', out.size() >= 2 ? out.size() - 2 : 0);
  const int pid = std::atoi(out.c_str() + (lastLine == std::string::npos ? 0 : lastLine + 1));
  ASSERT_GT(pid, 0) << out;
  int killStatus = 0;
  runCapturing("kill " + std::to_string(pid), killStatus);
  EXPECT_EQ(killStatus, 0);
}

}  // namespace
