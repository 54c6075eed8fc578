// `tca check-reference FILE.h5 [FILE.h5 ...]`: compares our float32 models with the official
// implementation's float64 reference data (issue 11), one line per quantity, then a summary.
// Exit 0 when every quantity is within tolerance, 1 otherwise, 2 for a file that is not a
// reference file.
#include <fmt/format.h>

#include <cstdio>

#include "command.hpp"
#include "core/error.hpp"
#include "eval/reference_check.hpp"
#include "options.hpp"

namespace tca::cli {

static int run_check_reference(int argc, char** argv) {
  Options options(
      "check-reference",
      "Compare CA/TCA with the official implementation's reference files (tolerances of "
      "the reference README, section 7).");
  options.add<std::vector<std::string>>(Group::data, "files", "reference files (.h5)")
      .positional(-1)
      .required()
      .value_name("FILE.h5");
  options.add_flag(Group::output, "failures-only", "print only the quantities out of tolerance");
  if (!options.parse(argc, argv)) return 0;
  const bool failures_only = options.get<bool>("failures-only");
  int failed_files = 0;
  for (const std::string& file : options.get<std::vector<std::string>>("files")) {
    ReferenceReport r = check_reference_file(file);  // InputError (exit 2) if not a reference file
    std::printf("== %s (%s)\n", file.c_str(), r.model.c_str());
    std::printf("%-96s %12s %10s %-10s %s\n", "quantity", "max abs err", "rel err", "tolerance",
                "");
    for (const auto& row : r.rows) {
      if (failures_only && row.ok) continue;
      std::printf("%-96s %12.3e %10.3e %-10s %s%s\n", row.name.c_str(), row.max_abs_error,
                  row.relative_error(), to_string(row.tolerance), row.ok ? "ok" : "FAIL",
                  row.note.empty() ? "" : (" " + row.note).c_str());
    }
    std::printf(
        "summary %s: %zu quantities, %d out of tolerance; worst relative error: activations %.2e, "
        "scalars %.2e, gradients %.2e; integers and masks %s\n\n",
        file.c_str(), r.rows.size(), r.failures(), r.worst(Tolerance::activation),
        r.worst(Tolerance::scalar), r.worst(Tolerance::gradient),
        r.worst(Tolerance::exact) == 0 ? "exact" : "DIFFER");
    failed_files += !r.ok();
  }
  return failed_files ? kExitFailure : kExitOk;
}

TCA_COMMAND("check-reference",
            "compare our models with the official implementation's reference data",
            run_check_reference, 70);

}  // namespace tca::cli
