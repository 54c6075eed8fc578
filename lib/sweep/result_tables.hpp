// The collected tables in four formats (issue 18): Markdown (README-ready), LaTeX with booktabs,
// CSV (one line per row, no markup) and JSON (every aggregate with its runs). The best mean of
// each column of a table is bold in Markdown and LaTeX and listed under "best" in JSON.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "sweep/collect.hpp"

namespace tca::sweep {

std::string tables_markdown(const Collected& c);
std::string tables_latex(const Collected& c);
std::string tables_csv(const Collected& c);
nlohmann::json tables_json(const Collected& c);

}  // namespace tca::sweep
