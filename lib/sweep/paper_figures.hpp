// The paper's figures set beside a sweep's tables (issue 19: "each table beside the paper's").
// An optional DIR/paper.json lists them, each with its source tag, as
// ../shared/spec/paper-results.md quotes them (the paper's own tables could not be read):
//
//   {"note": "what the column is and where its figures come from (printed under the tables)",
//    "figures": [
//      {"method": "tca", "eval_set": "rbf", "value": "~1.25", "tag": "3p"},
//      {"method": "perceiver", "setting": {"num_latents": "match-tca"}, "group": {"seq_len": 256},
//       "value": "15.2", "tag": "3p", "note": "the smallest N"}]}
//
// A figure applies to the rows of its method whose setting equals "setting" (default {}: the
// method's plain row), in the tables of "eval_set" (default: every eval set) whose group contains
// "group" (default: every group). The figures are the paper's, typed from that page; nothing of
// ours is.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace tca::sweep {

struct PaperFigure {
  std::string method, eval_set;  // eval_set "" = any
  nlohmann::json group = nlohmann::json::object();
  nlohmann::json setting = nlohmann::json::object();
  std::string value, tag, note;
  std::string cell() const;  // "15.2 [3p] (the smallest N)"
};

struct PaperFigures {
  bool present = false;  // DIR/paper.json exists
  std::string note;
  std::vector<PaperFigure> figures;
  // The cell for a row: the first matching figure's, or "" when none matches.
  std::string cell(const std::string& eval_set, const nlohmann::json& group,
                   const std::string& method, const nlohmann::json& setting) const;
};

inline constexpr const char* kPaperFile = "paper.json";

// Reads DIR/paper.json; absent = no figures. InputError naming the file and key when malformed.
PaperFigures read_paper_figures(const std::string& sweep_dir);

}  // namespace tca::sweep
