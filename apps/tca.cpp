// `tca <command> [options]`: dispatch to the registered subcommands; every error becomes one line
// on stderr ("tca <command>: error: ...") and the exit code of conventions.md.
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>
#include <new>
#include <string>
#include <vector>

#include "closest_match.hpp"
#include "command.hpp"
#include "core/error.hpp"

namespace tca::cli {

std::map<std::string, Command>& command_registry() {
  static std::map<std::string, Command> registry;
  return registry;
}

static void print_commands(std::FILE* out) {
  std::vector<const Command*> cmds;
  for (auto& [name, c] : command_registry()) cmds.push_back(&c);
  std::sort(cmds.begin(), cmds.end(), [](auto* a, auto* b) { return a->order < b->order; });
  std::fprintf(out,
               "tca: Tree Cross Attention experiment toolkit (TCA vs Cross Attention vs Perceiver "
               "IO)\n\nusage: tca <command> [options]     tca <command> --help\n\ncommands:\n");
  for (auto* c : cmds) std::fprintf(out, "  %-16s %s\n", c->name.c_str(), c->summary.c_str());
}

// Errors are one line on a terminal: control bytes in a message (a hostile CSV's escape
// sequences, libhdf5's newlines, a file name) are shown as \xNN instead of being sent to the
// terminal. Bytes >= 0x80 pass, so UTF-8 file names stay readable.
static std::string printable(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (c < 0x20 || c == 0x7f) {
      char esc[8];
      std::snprintf(esc, sizeof esc, "\\x%02x", c);
      out += esc;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

}  // namespace tca::cli

int main(int argc, char** argv) {
  using namespace tca::cli;
  // ulimit -f: without this, the first write past the limit kills the process with SIGXFSZ, no
  // message and status.json left "running". Ignored, the write fails with EFBIG, which every
  // writer reports as an I/O error (exit 1) after removing its temp file.
  std::signal(SIGXFSZ, SIG_IGN);
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") ||
      !std::strcmp(argv[1], "help")) {
    // Asked for, the list is the result (stdout, exit 0); without a command it is a usage error
    // (stderr, exit 2), so that `tca >file` in a script leaves no usage text in the file.
    print_commands(argc < 2 ? stderr : stdout);
    return argc < 2 ? tca::kExitUsage : 0;
  }
  if (!std::strcmp(argv[1], "--version")) argv[1] = const_cast<char*>("version");
  auto it = command_registry().find(argv[1]);
  if (it == command_registry().end()) {
    std::vector<std::string> names;
    for (auto& [name, c] : command_registry()) names.push_back(name);
    const std::string guess = tca::cli::closest_match(argv[1], names);
    std::fprintf(stderr, "tca: error: unknown command '%s'%s (see tca --help)\n",
                 printable(argv[1]).c_str(),
                 guess.empty() ? "" : (" (did you mean '" + guess + "'?)").c_str());
    return tca::kExitUsage;
  }
  bool debug = false;
  for (int i = 2; i < argc; ++i) debug |= !std::strcmp(argv[i], "--debug");
  try {
    return it->second.run(argc - 1, argv + 1);
  } catch (const tca::Error& e) {
    std::fprintf(stderr, "tca %s: error: %s\n", argv[1], printable(e.what()).c_str());
    return e.exit_code();
  } catch (const std::bad_alloc& e) {
    if (debug) throw;
    std::fprintf(stderr, "tca %s: error: out of memory (%s)\n", argv[1], e.what());
    return tca::kExitFailure;
  } catch (const std::exception& e) {
    if (debug) throw;
    std::fprintf(stderr, "tca %s: error: %s\n", argv[1], printable(e.what()).c_str());
    return tca::kExitFailure;
  }
}
