// `evaluate`: offline next-basket evaluation (DESIGN.md). Reads the paper's history/future/keyset
// files, or a dated purchase CSV (groceries-members) split in time, and prints one JSON object.
#include <chrono>
#include <fstream>
#include <ostream>

#include "aisle/common/cli.h"
#include "aisle/common/parse.h"
#include "aisle/engine/evaluate.h"
#include "aisle/engine/history.h"
#include "aisle/engine/next_basket.h"
#include "commands.h"

namespace aisle::engine {
namespace {

Result<std::vector<std::size_t>> parseKs(const std::string& text) {
  std::vector<std::size_t> ks;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t comma = text.find(',', pos);
    if (comma == std::string::npos) comma = text.size();
    auto k = parseNumber<std::size_t>(std::string_view(text).substr(pos, comma - pos), 1, 1000);
    if (!k) return fail("--k: " + k.message());
    ks.push_back(*k);
    pos = comma + 1;
  }
  return ks;
}

struct Input {
  BasketDataset data;
  Keyset keyset;
};

Result<Input> loadInput(const CommandLine& cl) {
  Input in;
  if (auto csv = cl.value("groceries")) {
    if (cl.has("history") || cl.has("future") || cl.has("keyset"))
      return fail("--groceries replaces --history, --future and --keyset");
    auto text = readFileContents(*csv);
    if (!text) return text.error();
    std::vector<std::string> products;
    auto lines = parseGroceriesCsv(*text, products);
    if (!lines) return fail(*csv + ": " + lines.message());
    in.data = timeSplit(std::move(*lines));
    auto seed = parseNumber<std::uint64_t>(cl.valueOr("seed", "0"));
    if (!seed) return fail("--seed: " + seed.message());
    in.keyset = hashKeyset(in.data, *seed);
    return in;
  }
  const auto history = cl.value("history"), future = cl.value("future"),
             keyset = cl.value("keyset");
  if (!history || !future || !keyset)
    return fail("needs --history H.json --future F.json --keyset K.json (or --groceries FILE.csv)");
  auto data = loadBasketDataset(*history, *future);
  if (!data) return data.error();
  in.data = std::move(*data);
  auto text = readFileContents(*keyset);
  if (!text) return text.error();
  auto ks = parseKeyset(*text);
  if (!ks) return fail(*keyset + ": " + ks.message());
  in.keyset = std::move(*ks);
  return in;
}

}  // namespace

int cmdEvaluate(const Args& args, Io io) {
  const auto start = std::chrono::steady_clock::now();
  auto cl = CommandLine::parse(
      args,
      {"history", "future", "keyset", "split", "k", "predictions", "model", "groceries", "seed"},
      {});
  if (!cl) {
    io.err << "evaluate: " << cl.message() << "\n";
    return 2;
  }
  auto ks = parseKs(cl->valueOr("k", "10,20"));
  auto kind = modelKindByName(cl->valueOr("model", "blend"));
  const std::string split = cl->valueOr("split", "test");
  if (!ks || !kind) {
    io.err << "evaluate: " << (!ks ? ks.message() : kind.message()) << "\n";
    return 2;
  }
  if (split != "train" && split != "val" && split != "test" && split != "all") {
    io.err << "evaluate: --split must be train, val, test or all\n";
    return 2;
  }
  auto input = loadInput(*cl);
  if (!input) {
    io.err << "evaluate: " << input.message() << "\n";
    return 1;
  }
  const double loadSeconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const BasketDataset& data = input->data;

  // Future baskets of training members are labels to learn from, except when they are the split
  // being evaluated (train, all).
  std::vector<MemberIndex> train, eval;
  std::size_t unknown = 0;
  if (split == "all") {
    for (MemberIndex m = 0; m < data.members.size(); ++m) eval.push_back(m);
  } else {
    eval = membersOf(data, *input->keyset.split(split), &unknown);
    if (split != "train") train = membersOf(data, input->keyset.train);
  }

  EvaluationOptions options;
  options.ks = *ks;
  options.keepPredictions = cl->has("predictions");
  NextBasketModel model(*kind);
  const Evaluation ev = evaluateModel(data, model, train, eval, options, split);

  if (auto path = cl->value("predictions")) {
    std::ofstream out(*path, std::ios::binary);
    out << predictionsJson(data, ev);
    if (!out) {
      io.err << "evaluate: cannot write " << *path << "\n";
      return 1;
    }
  }
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::string json = ev.report.toJson();
  json.pop_back();  // reopen the object to add the command's own figures
  io.out << json << ",\"unknown_users\":" << unknown << ",\"items\":" << data.items.size()
         << ",\"load_s\":" << loadSeconds << ",\"total_wall_s\":" << wall << "}\n";
  return 0;
}

}  // namespace aisle::engine
