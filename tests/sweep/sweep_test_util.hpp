// Helpers shared by the sweep tests: a grid expanded as `tca sweep plan` would (every key accepted
// as a train flag) and a sweep planned from it in a temporary directory.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "io/test_files.hpp"
#include "sweep/grid.hpp"
#include "sweep/sweep_plan.hpp"

namespace tca::sweep::test_util {

inline Grid expand(const std::string& grid_text) {
  return expand_grid(nlohmann::json::parse(grid_text), "grid.json",
                     [](const std::string&) { return true; });
}

// Plans `grid_text` into TMP/s and reads it back.
inline Sweep plan_sweep(const test::TempDir& tmp, const std::string& grid_text) {
  const std::string dir = tmp.file("s");
  write_plan(dir, expand(grid_text), grid_text, {"tca", "/tca", dir});
  return read_sweep(dir);
}

}  // namespace tca::sweep::test_util
