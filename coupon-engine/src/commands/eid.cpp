#include <ostream>

#include "aisle/common/cli.h"
#include "aisle/common/hmac.h"
#include "aisle/common/parse.h"
#include "aisle/engine/eid.h"
#include "commands.h"

namespace aisle::engine {

// `eid --identity-key HEX --k K --time SECONDS` prints the EID;
// `eid --resolver-private HEX --beacon-public HEX` prints the identity key of that exchange.
int cmdEid(const Args& args, Io io) {
  auto cl = CommandLine::parse(args, {"identity-key", "k", "time", "resolver-private", "beacon-public"}, {});
  if (!cl) {
    io.err << "eid: " << cl.message() << "\n";
    return 2;
  }
  if (cl->has("resolver-private") || cl->has("beacon-public")) {
    auto priv = fromHex(cl->valueOr("resolver-private", ""));
    auto pub = fromHex(cl->valueOr("beacon-public", ""));
    if (!priv || !pub) {
      io.err << "eid: --resolver-private and --beacon-public take 64 hex digits each\n";
      return 2;
    }
    auto ik = deriveIdentityKey(*priv, *pub);
    if (!ik) {
      io.err << "eid: " << ik.message() << "\n";
      return 1;
    }
    io.out << toHex(std::string(ik->begin(), ik->end())) << "\n";
    return 0;
  }
  auto ik = parseIdentityKey(cl->valueOr("identity-key", ""));
  auto k = parseNumber<int>(cl->valueOr("k", ""), 0, 15);
  auto t = parseNumber<std::uint32_t>(cl->valueOr("time", ""));
  if (!ik || !k || !t) {
    io.err << "eid: usage: eid --identity-key HEX32 --k 0..15 --time SECONDS ("
           << (!ik ? ik.message() : !k ? "--k: " + k.message() : "--time: " + t.message()) << ")\n";
    return 2;
  }
  io.out << eidHex(eidToU64(EidComputer().compute(*ik, *k, *t))) << "\n";
  return 0;
}

}  // namespace aisle::engine
