#include "options.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/make_shared.hpp>
#include <cctype>
#include <cstdio>
#include <sstream>

#include "closest_match.hpp"
#include "core/error.hpp"
#include "io/json_io.hpp"
#include "io/system_json.hpp"

namespace tca::cli {

namespace {

// Catch-all for bare arguments beyond the declared positionals, so that they get our message.
constexpr const char* kExtraArgument = "unexpected-argument";

// Boost's unix style minus abbreviations: `--batch` must not silently mean `--batch-size`, and a
// script must not change meaning when an option is added.
constexpr int kStyle = po::command_line_style::unix_style ^ po::command_line_style::allow_guessing;

const char* group_title(Group g) {
  switch (g) {
    case Group::generic:
      return "generic options";
    case Group::data:
      return "data options";
    case Group::model:
      return "model options";
    case Group::optimisation:
      return "optimisation options";
    case Group::output:
      return "output options";
  }
  return "options";
}

std::string join(const std::vector<std::string>& items, const std::string& sep) {
  std::string s;
  for (const auto& x : items) s += (s.empty() ? "" : sep) + x;
  return s;
}

std::string json_scalar_token(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number_unsigned()) return std::to_string(v.get<uint64_t>());
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  return v.dump();  // floats: shortest round-trip text, "128.0" stays visibly non-integral
}

std::string value_text(const detail::OptionSpec& spec, const boost::any& a) {
  const nlohmann::json j = spec.to_json(a);
  if (j.is_number_float()) return detail::number_text(j.get<double>());  // "2", not "2.0"
  return j.is_string() ? j.get<std::string>() : j.dump();
}

}  // namespace

const char* source_name(Source source) {
  switch (source) {
    case Source::none:
      return "unset";
    case Source::built_in:
      return "built-in default";
    case Source::task_default:
      return "task default";
    case Source::config_file:
      return "config file";
    case Source::command_line:
      return "command line";
  }
  return "unset";
}

std::string dashed(std::string name) {
  std::replace(name.begin(), name.end(), '_', '-');
  return name;
}

std::string underscored(std::string name) {
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
}

std::string detail::number_text(double v) { return fmt::format("{}", v); }

Options::Options(std::string command, std::string summary)
    : command_(std::move(command)), summary_(std::move(summary)) {
  add_flag(Group::generic, "help", "show this help and exit").transient();
  add<std::string>(Group::generic, "config",
                   "read options from a flat JSON object keyed by the long option names (dashes "
                   "or underscores); command-line flags override it")
      .value_name("FILE")
      .transient();
  add_flag(Group::generic, "debug",
           "let unexpected errors propagate (stack trace) instead of one line")
      .transient();
  const auto& meta = io::config_metadata_keys();
  ignored_config_keys_.insert(meta.begin(), meta.end());
}

Options::~Options() = default;

detail::OptionSpec& Options::new_spec(Group group, const std::string& name,
                                      const std::string& help) {
  const bool well_formed = !name.empty() && name.front() != '-' && name.back() != '-' &&
                           std::all_of(name.begin(), name.end(), [](char c) {
                             return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
                           });
  if (!well_formed)
    throw std::logic_error("option name '" + name + "' must be lower-case-with-dashes");
  if (find(name)) throw std::logic_error("option --" + name + " declared twice");
  const auto& meta = io::config_metadata_keys();
  if (std::find(meta.begin(), meta.end(), underscored(name)) != meta.end() ||
      name == kExtraArgument) {
    throw std::logic_error("option --" + name + " collides with a reserved config.json key");
  }
  specs_.push_back(std::make_unique<detail::OptionSpec>());
  auto& s = *specs_.back();
  s.name = name;
  s.group = group;
  s.help = help;
  return s;
}

OptionRef<bool> Options::add_flag(Group group, const std::string& name, const std::string& help) {
  auto& s = declare<bool>(group, name, help);
  s.flag = true;
  s.has_default = true;
  s.default_text = "false";
  s.make_semantic = [](const detail::OptionSpec&) -> po::value_semantic* {
    return po::bool_switch();
  };
  return OptionRef<bool>(&s);
}

void Options::set_dependent_defaults(DependentDefaults defaults) {
  dependent_ = std::move(defaults);
}

void Options::ignore_config_keys(const std::vector<std::string>& keys) {
  for (const auto& k : keys) ignored_config_keys_.insert(underscored(k));
}

const detail::OptionSpec* Options::find(const std::string& dashed_name) const {
  for (const auto& s : specs_) {
    if (s->name == dashed_name) return s.get();
  }
  return nullptr;
}

const po::variable_value& Options::value(const std::string& name) const {
  static const po::variable_value kNone;
  const std::string d = dashed(name);
  if (!find(d)) throw std::logic_error("no option --" + d + " declared for tca " + command_);
  auto it = vm_.find(d);
  return it == vm_.end() ? kNone : it->second;
}

Source Options::source(const std::string& name) const {
  value(name);  // rejects undeclared names
  auto it = sources_.find(dashed(name));
  return it == sources_.end() ? Source::none : it->second;
}

void Options::build_descriptions() {
  all_ = std::make_unique<po::options_description>();
  positional_ = po::positional_options_description();
  bool trailing = false;
  for (const auto& s : specs_) {
    const std::string boost_name = s->name == "help" ? "help,h" : s->name;
    all_->add(boost::make_shared<po::option_description>(boost_name.c_str(), s->make_semantic(*s),
                                                         s->help.c_str()));
    if (s->positional != 0 && !trailing) {
      positional_.add(s->name.c_str(), s->positional);
      trailing = s->positional < 0;
    }
  }
  if (!trailing) {
    all_->add_options()(kExtraArgument, po::value<std::vector<std::string>>());
    positional_.add(kExtraArgument, -1);
  }
}

bool Options::parse(int argc, const char* const* argv) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  return parse(args);
}

bool Options::parse(const std::vector<std::string>& args) {
  if (std::any_of(args.begin(), args.end(),
                  [](const std::string& a) { return a == "--help" || a == "-h"; })) {
    std::fputs(help_text().c_str(), stdout);
    return false;
  }
  build_descriptions();
  vm_ = po::variables_map();
  sources_.clear();
  origins_.clear();
  config_file_.clear();
  dependent_row_.clear();

  po::parsed_options command_line(all_.get());
  try {
    command_line =
        po::command_line_parser(args).options(*all_).positional(positional_).style(kStyle).run();
  } catch (const po::unknown_option& e) {
    throw UsageError(unknown_key_error(e.get_option_name(), Source::command_line, ""));
  } catch (const po::error& e) {
    throw UsageError(std::string(e.what()) + " (see tca " + command_ + " --help)");
  }
  store_layer(command_line, Source::command_line, "");

  if (has("config")) {
    config_file_ = get<std::string>("config");
    const nlohmann::json config = io::read_json_file(config_file_);
    if (!config.is_object()) {
      throw InputError(config_file_, "", "invalid config file",
                       "a flat JSON object keyed by option names", config.type_name());
    }
    store_layer(options_from_json(config, Source::config_file, config_file_), Source::config_file,
                config_file_);
  }
  apply_dependent_defaults();
  for (const auto& s : specs_) {
    if (has(s->name) && !sources_.count(s->name)) {
      sources_[s->name] = Source::built_in;
      origins_[s->name] = "--" + s->name + " (built-in default)";
    }
  }
  check_final_values();
  return true;
}

std::vector<std::string> Options::names() const {
  std::vector<std::string> out;
  for (const auto& s : specs_) out.push_back(s->name);
  return out;
}

std::string Options::unknown_key_error(const std::string& key, Source source,
                                       const std::string& origin) const {
  const std::vector<std::string> names = this->names();
  if (source == Source::command_line) {
    const std::string bare = key.substr(
        key.find_first_not_of('-') == std::string::npos ? key.size() : key.find_first_not_of('-'));
    return "unknown option '" + key + "' (did you mean '--" + closest_match(dashed(bare), names) +
           "'? see tca " + command_ + " --help)";
  }
  std::string best = closest_match(dashed(key), names);
  if (key.find('-') == std::string::npos) best = underscored(best);
  return "unknown key '" + key + "' in config file " + origin + " (did you mean '" + best + "'?)";
}

po::parsed_options Options::options_from_json(const nlohmann::json& object, Source source,
                                              const std::string& origin) {
  po::parsed_options parsed(all_.get());
  std::set<std::string> seen;
  for (const auto& [key, val] : object.items()) {
    if (source == Source::config_file && ignored_config_keys_.count(underscored(key))) continue;
    const std::string name = dashed(key);
    const detail::OptionSpec* spec = find(name);
    if (!spec) throw UsageError(unknown_key_error(key, source, origin));
    const std::string where = source == Source::config_file
                                  ? "'" + key + "' in config file " + origin
                                  : "--" + name + " (default for " + origin + ")";
    if (name == "config" || name == "help")
      throw UsageError(where + ": not allowed in a config file");
    if (!seen.insert(name).second) {
      throw UsageError(where + ": given twice (once with dashes, once with underscores)");
    }
    if (val.is_null()) continue;  // null = not set, as resolved_json() writes unset options
    std::vector<std::string> tokens;
    const bool list = val.is_array();
    if (val.is_object() || (list && !spec->multitoken)) {
      throw UsageError("invalid value " + val.dump() + " for " + where + ": expected " +
                       spec->expected + " (config files are flat)");
    }
    for (const auto& item : list ? val : nlohmann::json::array({val})) {
      if (item.is_structured() || item.is_null()) {
        throw UsageError("invalid value " + val.dump() + " for " + where + ": expected " +
                         spec->expected);
      }
      tokens.push_back(json_scalar_token(item));
    }
    po::option o(name, tokens);
    o.original_tokens = {key};
    parsed.options.push_back(o);
  }
  return parsed;
}

void Options::check_values(const po::parsed_options& parsed, Source source,
                           const std::string& origin) const {
  for (const auto& o : parsed.options) {
    if (o.string_key == kExtraArgument) {
      throw UsageError("unexpected argument '" + (o.value.empty() ? std::string() : o.value[0]) +
                       "' (usage: " + usage() + ")");
    }
    const detail::OptionSpec* spec = find(o.string_key);
    if (!spec) throw std::logic_error("parsed an undeclared option " + o.string_key);
    // Boost takes the next token as the value even when it is an option (`--out --resume`).
    for (const auto& token : o.value) {
      if (source == Source::command_line && token.rfind("--", 0) == 0 && token.size() > 2) {
        throw UsageError("missing value for --" + spec->name + " (found the option '" + token +
                         "'; see tca " + command_ + " --help)");
      }
    }
    boost::any parsed_value;
    bool ok = std::all_of(o.value.begin(), o.value.end(), spec->token_ok);
    if (ok) {
      try {
        all_->find(o.string_key, false).semantic()->parse(parsed_value, o.value, true);
      } catch (const std::exception&) {
        ok = false;
      }
    }
    if (!ok) {
      std::string where = "--" + spec->name;
      if (source == Source::config_file)
        where = "'" + o.original_tokens.at(0) + "' in config file " + origin;
      if (source == Source::task_default) where += " (default for " + origin + ")";
      throw UsageError("invalid value '" + join(o.value, " ") + "' for " + where + ": expected " +
                       spec->expected);
    }
  }
}

void Options::store_layer(const po::parsed_options& parsed, Source source,
                          const std::string& origin) {
  check_values(parsed, source, origin);
  try {
    po::store(parsed, vm_);
  } catch (const po::error& e) {
    throw UsageError(std::string(e.what()) + " (see tca " + command_ + " --help)");
  }
  // store() keeps the first explicit value, so the first layer naming an option is its source.
  for (const auto& o : parsed.options) {
    if (sources_.count(o.string_key)) continue;
    sources_[o.string_key] = source;
    const detail::OptionSpec* spec = find(o.string_key);
    if (source == Source::command_line) {
      origins_[o.string_key] =
          o.position_key >= 0 ? "argument " + spec->value_name : "--" + spec->name;
    } else if (source == Source::config_file) {
      origins_[o.string_key] = "'" + o.original_tokens.at(0) + "' in config file " + origin;
    } else {
      origins_[o.string_key] = "--" + spec->name + " (default for " + origin + ")";
    }
  }
}

void Options::apply_dependent_defaults() {
  if (!dependent_) return;
  const DependentDefaults& d = *dependent_;
  const std::string selector = dashed(d.selector);
  if (!find(selector)) throw std::logic_error("dependent defaults: no option --" + selector);
  if (!d.table.is_object())
    throw std::logic_error("dependent defaults: the table must be an object");
  // Check every row, not only the one in use, so that a typo in any row fails every test.
  for (const auto& [row_name, row] : d.table.items()) {
    if (!row.is_object())
      throw std::logic_error("dependent defaults: row '" + row_name + "' is not an object");
    for (const auto& [key, unused] : row.items()) {
      if (!find(dashed(key)) || dashed(key) == selector || dashed(key) == "config") {
        throw std::logic_error("dependent defaults: row '" + row_name + "' sets '" + key +
                               "', which is not a declared option other than --" + selector);
      }
    }
  }
  if (d.select) {
    dependent_row_ = d.select(*this);
  } else if (has(selector)) {
    try {
      dependent_row_ = vm_[selector].as<std::string>();
    } catch (const boost::bad_any_cast&) {
      throw std::logic_error("dependent defaults: --" + selector + " must be a string option");
    }
  }
  if (dependent_row_.empty() || !d.table.contains(dependent_row_)) return;
  const std::string origin = d.selector + " '" + dependent_row_ + "'";
  store_layer(options_from_json(d.table[dependent_row_], Source::task_default, origin),
              Source::task_default, origin);
}

std::string Options::where(const std::string& name) const {
  auto it = origins_.find(name);
  return it == origins_.end() ? "--" + name : it->second;
}

void Options::check_final_values() const {
  for (const auto& s : specs_) {
    if (!has(s->name)) {
      if (!s->required) continue;
      throw UsageError((s->positional ? "missing argument " + s->value_name
                                      : "missing required option --" + s->name) +
                       " (usage: " + usage() + ")");
    }
    const boost::any& a = vm_[s->name].value();
    if (!s->choices.empty()) {
      const auto& v = boost::any_cast<const std::string&>(a);
      if (std::find(s->choices.begin(), s->choices.end(), v) == s->choices.end()) {
        throw UsageError("invalid value '" + v + "' for " + where(s->name) + ": expected one of " +
                         join(s->choices, ", ") + " (did you mean '" +
                         closest_match(v, s->choices) + "'?)");
      }
    }
    for (const auto& check : s->checks) {
      const std::string reason = check(a);
      if (!reason.empty()) {
        throw UsageError("invalid value '" + value_text(*s, a) + "' for " + where(s->name) + ": " +
                         reason);
      }
    }
  }
}

nlohmann::json Options::resolved_json() const {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& s : specs_) {
    if (!s->recorded) continue;
    auto it = vm_.find(s->name);
    j[underscored(s->name)] = it != vm_.end() && !it->second.empty()
                                  ? s->to_json(it->second.value())
                                  : nlohmann::json(nullptr);
  }
  return j;
}

std::string Options::usage() const {
  std::string u = "tca " + command_;
  for (const auto& s : specs_) {
    if (!s->positional) continue;
    const std::string arg = s->value_name + (s->positional < 0 ? "..." : "");
    u += s->required ? " " + arg : " [" + arg + "]";
  }
  for (const auto& s : specs_) {
    if (s->required && !s->positional) u += " --" + s->name + " " + s->value_name;
  }
  return u + " [options]";
}

std::string Options::help_text() const {
  std::ostringstream out;
  out << "usage: " << usage() << "\n" << summary_ << "\n";
  // One parent description so that every group shares the name column (at most 100 - 64 = 36
  // wide; a longer name gets its description on the next line).
  po::options_description all("", 100, 64);
  for (Group g : {Group::generic, Group::data, Group::model, Group::optimisation, Group::output}) {
    po::options_description desc(group_title(g), 100, 64);
    bool any = false;
    for (const auto& s : specs_) {
      if (s->group != g) continue;
      any = true;
      const std::string boost_name = s->name == "help" ? "help,h" : s->name;
      std::string help = s->help + (s->unit.empty() ? "" : " [" + s->unit + "]");
      if (s->required) help += " (required)";
      desc.add(boost::make_shared<po::option_description>(boost_name.c_str(), s->make_semantic(*s),
                                                          help.c_str()));
    }
    if (any) all.add(desc);
  }
  out << all;
  if (dependent_ && dependent_->table.is_object() && !dependent_->table.empty()) {
    out << "\ndefaults that depend on --" << dashed(dependent_->selector)
        << " (they replace the built-in defaults above):\n";
    for (const auto& [row_name, row] : dependent_->table.items()) {
      std::string line = "  " + row_name + ":";
      for (const auto& [key, val] : row.items()) {
        std::string text = val.is_string() ? val.get<std::string>() : val.dump();
        if (val.is_array()) {
          std::vector<std::string> parts;
          for (const auto& x : val)
            parts.push_back(x.is_string() ? x.get<std::string>() : x.dump());
          text = join(parts, " ");
        }
        line += " --" + dashed(key) + " " + text;
      }
      out << line << "\n";
    }
  }
  out << "\nprecedence: built-in defaults < "
      << (dependent_ ? "--" + dashed(dependent_->selector) + " defaults < " : "")
      << "--config file < command-line flags\n";
  return out.str();
}

}  // namespace tca::cli
