// The task options shared by `tca make-dataset` and `tca train --task` (conventions.md "Command
// synopsis": copy --seq-len --num-chars; gp --kernel --max-points; image --source --path --classes
// --max-points; timeseries --classes --length --channels), declared once so that both commands
// spell, document and check them the same way.
#pragma once
#include <string>
#include <vector>

#include "data/task_params.hpp"
#include "options.hpp"

namespace tca::cli {

// Declares the task options in the data group.
void declare_task_options(Options& options);

// True when the option is one of the task options above.
bool is_task_option(const std::string& name);
// True when the task option applies to `task` (max-points: gp and image; ...).
bool task_option_applies(const std::string& name, const std::string& task);
// The config keys (underscored) of every task option.
std::vector<std::string> task_option_keys();

// The TaskParams of `task` from the parsed options (not yet resolved). An option of another task
// given on the command line or in a config file is a UsageError ("--kernel applies to task gp,
// not copy").
data::TaskParams task_params_from(const Options& options, const std::string& task);

// UsageError naming the first task option that was given (a --train file carries its own
// generator parameters): "--seq-len applies to --task, not to --train FILE.h5".
void refuse_task_options(const Options& options, const std::string& why);

}  // namespace tca::cli
