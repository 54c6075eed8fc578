// Git-style subcommands: each apps/<command>.cpp registers itself with TCA_COMMAND, so adding a
// command touches no other file. tca.cpp dispatches and turns errors into exit codes.
#pragma once
#include <map>
#include <string>
#include <vector>

namespace tca::cli {

// argv[0] is the command name ("train"); returns the exit code.
using CommandFn = int (*)(int argc, char** argv);

struct Command {
  std::string name;
  std::string summary;
  CommandFn run;
  int order;  // position in `tca --help`
};

std::map<std::string, Command>& command_registry();

struct CommandRegistrar {
  CommandRegistrar(const char* name, const char* summary, CommandFn run, int order) {
    command_registry()[name] = Command{name, summary, run, order};
  }
};

}  // namespace tca::cli

#define TCA_COMMAND(name, summary, fn, order) \
  static ::tca::cli::CommandRegistrar tca_command_registrar_##fn(name, summary, fn, order)
