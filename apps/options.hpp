// The option layer every `tca` command shares (conventions.md "Options, configs and defaults"):
// long flags in groups (generic / data / model / optimisation / output) with defaults and units in
// --help; --config FILE.json, a flat object keyed by flag names with dashes or underscores;
// precedence built-in defaults < task defaults < config file < command line (Boost stores the
// command line first, then the file, then the task defaults: store() keeps the first value);
// unknown keys and bad values are one-line UsageErrors naming the key and the closest known key;
// the resolved configuration as flat JSON with sorted, underscored keys for config.json.
#pragma once
#include <boost/program_options.hpp>
#include <cmath>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

namespace tca::cli {

namespace po = boost::program_options;

class Options;

enum class Group { generic, data, model, optimisation, output };

// Where an option's value came from, lowest precedence first (None: optional and not given).
enum class Source { none, built_in, task_default, config_file, command_line };
const char* source_name(Source source);

// "batch_size" <-> "batch-size".
std::string dashed(std::string name);
std::string underscored(std::string name);

// Defaults that depend on another option's value, e.g. per task (tca.md section 6): the row of
// `table` named by the selector's final value (command line, config file or built-in default) is
// applied below the config file and the command line. `table` has the config-file format:
// {"copy": {"batch_size": 128, "dropout": 0.1, "betas": [0.1, 0.999]}, "gp": {...}}.
struct DependentDefaults {
  std::string selector;  // "task"
  nlohmann::json table;
  // Optional: picks the row when the selector alone cannot (e.g. the task attribute of
  // --train FILE.h5). Called after the command line and config file are stored; "" = no row.
  std::function<std::string(const Options&)> select;
};

namespace detail {

// Everything known about one option; built by Options::add, turned into Boost descriptions at
// parse and help time (Boost's descriptions are immutable once added).
struct OptionSpec {
  std::string name;  // dashed long name: "batch-size"
  Group group = Group::generic;
  std::string help;
  std::string unit;        // shown as "[unit]" after the help
  std::string value_name;  // placeholder in --help: N, X, STR, FILE, ca|tca|perceiver
  std::string expected;    // "an integer", for error messages
  bool has_default = false;
  std::string default_text;
  bool flag = false;        // takes no value on the command line; true/false in a config file
  bool multitoken = false;  // a list: several values on the command line, an array in a file
  bool required = false;
  bool recorded = true;  // part of resolved_json()
  int positional = 0;    // bare-argument slots (-1 = all remaining)
  std::vector<std::string> choices;
  std::function<po::value_semantic*(const OptionSpec&)> make_semantic;
  std::function<nlohmann::json(const boost::any&)> to_json;
  std::function<bool(const std::string&)> token_ok;  // rejects what Boost would wrongly accept
  std::vector<std::function<std::string(const boost::any&)>> checks;  // "" or the reason
};

template <class T>
struct OptionTraits {
  static_assert(
      std::is_arithmetic_v<T> || std::is_same_v<T, std::string>,
      "options are integers, floating-point numbers, bool, std::string or vectors of them");
  static std::string expected() {
    if constexpr (std::is_same_v<T, bool>)
      return "true or false";
    else if constexpr (std::is_integral_v<T> && std::is_unsigned_v<T>)
      return "a non-negative integer";
    else if constexpr (std::is_integral_v<T>)
      return "an integer";
    else if constexpr (std::is_floating_point_v<T>)
      return "a number";
    else
      return "a string";
  }
  static std::string placeholder() {
    if constexpr (std::is_same_v<T, bool>)
      return "BOOL";
    else if constexpr (std::is_integral_v<T>)
      return "N";
    else if constexpr (std::is_floating_point_v<T>)
      return "X";
    else
      return "STR";
  }
  static std::string text(const T& v);
  static bool token_ok(const std::string& token) {
    // lexical_cast<unsigned>("-1") wraps around instead of failing.
    if constexpr (std::is_integral_v<T> && std::is_unsigned_v<T> && !std::is_same_v<T, bool>) {
      return token.find('-') == std::string::npos;
    }
    (void)token;
    return true;
  }
};

template <class T>
struct OptionTraits<std::vector<T>> {
  static std::string expected() { return "a list of values, each " + OptionTraits<T>::expected(); }
  static std::string placeholder() { return OptionTraits<T>::placeholder() + "..."; }
  static std::string text(const std::vector<T>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : " ") + OptionTraits<T>::text(x);
    return s;
  }
  static bool token_ok(const std::string& token) { return OptionTraits<T>::token_ok(token); }
};

std::string number_text(double v);  // shortest text that reads back as v ("0.0005", "1e-08")

template <class T>
std::string OptionTraits<T>::text(const T& v) {
  if constexpr (std::is_same_v<T, bool>)
    return v ? "true" : "false";
  else if constexpr (std::is_same_v<T, std::string>)
    return v;
  else if constexpr (std::is_integral_v<T>)
    return std::to_string(v);
  else
    return number_text(static_cast<double>(v));
}

template <class T>
struct is_vector : std::false_type {};
template <class T>
struct is_vector<std::vector<T>> : std::true_type {};

}  // namespace detail

// Returned by Options::add to refine the option just declared; every call returns *this.
template <class T>
class OptionRef {
 public:
  explicit OptionRef(detail::OptionSpec* spec) : spec_(spec) {}

  OptionRef& unit(const std::string& u) {
    spec_->unit = u;
    return *this;
  }
  OptionRef& value_name(const std::string& n) {
    spec_->value_name = n;
    return *this;
  }
  // Parsing fails with "missing required option --NAME" when no source gives it a value.
  OptionRef& required() {
    spec_->required = true;
    return *this;
  }
  // Not written to config.json: run control such as --resume, --overwrite, --progress.
  OptionRef& transient() {
    spec_->recorded = false;
    return *this;
  }
  // Also accepted as a bare argument (`tca make-dataset gp`); positionals fill in declaration
  // order.
  OptionRef& positional(int count = 1) {
    spec_->positional = count;
    return *this;
  }

  OptionRef& choices(std::vector<std::string> allowed) {
    static_assert(std::is_same_v<T, std::string>, "choices() is for string options");
    spec_->choices = allowed;
    std::string list;
    for (const auto& c : allowed) list += (list.empty() ? "" : "|") + c;
    if (spec_->value_name == detail::OptionTraits<T>::placeholder()) spec_->value_name = list;
    return *this;
  }
  OptionRef& min(T lo) {
    static_assert(std::is_arithmetic_v<T>, "min() is for numeric options");
    return check([lo](const T& v) {
      return v >= lo ? std::string() : "expected a value >= " + detail::OptionTraits<T>::text(lo);
    });
  }
  OptionRef& max(T hi) {
    static_assert(std::is_arithmetic_v<T>, "max() is for numeric options");
    return check([hi](const T& v) {
      return v <= hi ? std::string() : "expected a value <= " + detail::OptionTraits<T>::text(hi);
    });
  }
  OptionRef& range(T lo, T hi) { return min(lo).max(hi); }
  // Any rule: returns "" when the value is fine, else the reason ("expected a power of two").
  OptionRef& check(std::function<std::string(const T&)> rule) {
    spec_->checks.push_back(
        [rule](const boost::any& a) { return rule(boost::any_cast<const T&>(a)); });
    return *this;
  }

 private:
  detail::OptionSpec* spec_;
};

class Options {
 public:
  // `command` as typed after `tca` ("train", "sweep plan"); `summary` is the line under the usage.
  // Declares the generic options --help/-h, --config FILE and --debug.
  Options(std::string command, std::string summary);
  ~Options();

  // An option with a built-in default.
  template <class T>
  OptionRef<T> add(Group group, const std::string& name, const T& default_value,
                   const std::string& help) {
    auto& s = declare<T>(group, name, help);
    s.has_default = true;
    s.default_text = detail::OptionTraits<T>::text(default_value);
    s.make_semantic = [default_value](const detail::OptionSpec& spec) -> po::value_semantic* {
      auto* v = po::value<T>()
                    ->value_name(spec.value_name)
                    ->default_value(default_value, spec.default_text);
      if constexpr (detail::is_vector<T>::value) v->multitoken();
      return v;
    };
    return OptionRef<T>(&s);
  }
  // An option without a default: absent unless given (or .required()). Read it with maybe<T>().
  template <class T>
  OptionRef<T> add(Group group, const std::string& name, const std::string& help) {
    auto& s = declare<T>(group, name, help);
    s.make_semantic = [](const detail::OptionSpec& spec) -> po::value_semantic* {
      auto* v = po::value<T>()->value_name(spec.value_name);
      if constexpr (detail::is_vector<T>::value) v->multitoken();
      return v;
    };
    return OptionRef<T>(&s);
  }
  // A switch: `--resume` on the command line, "resume": true|false in a config file; default false.
  OptionRef<bool> add_flag(Group group, const std::string& name, const std::string& help);

  void set_dependent_defaults(DependentDefaults defaults);
  // Keys a config file may hold that are not options: skipped. By default the metadata keys of a
  // run's config.json (io/system_json.hpp), so that file can be passed back as --config.
  void ignore_config_keys(const std::vector<std::string>& keys);

  // Parses the command's arguments (argv[0] is the command name, as TCA_COMMAND passes it).
  // Returns false when --help was printed to stdout: the command then returns 0.
  // Throws UsageError (exit 2) for unknown options or keys, bad values, a missing required
  // option or unexpected arguments; InputError for an unreadable or invalid config file.
  bool parse(int argc, const char* const* argv);
  bool parse(const std::vector<std::string>& args);  // without the command name

  // Values after parse(); names with dashes or underscores. get() on an option without a value
  // or with a different type is a logic error (a bug in the command, not the user's mistake).
  template <class T>
  T get(const std::string& name) const {
    const auto& v = value(name);
    if (v.empty()) throw std::logic_error("option --" + dashed(name) + " has no value");
    return cast<T>(name, v);
  }
  template <class T>
  std::optional<T> maybe(const std::string& name) const {
    const auto& v = value(name);
    if (v.empty()) return std::nullopt;
    return cast<T>(name, v);
  }
  bool has(const std::string& name) const { return !value(name).empty(); }
  // Whether an option of this name (dashes or underscores) is declared (sweep grids check keys).
  bool declared(const std::string& name) const { return find(dashed(name)) != nullptr; }
  // Every declared option's name, dashed ("batch-size"), in declaration order.
  std::vector<std::string> names() const;
  Source source(const std::string& name) const;
  bool given(const std::string& name) const { return source(name) >= Source::config_file; }
  const std::string& config_file() const { return config_file_; }      // "" without --config
  const std::string& dependent_row() const { return dependent_row_; }  // "copy", or ""

  // Every recorded option -> its final value (null for an optional option without one); keys
  // underscored and sorted. This is config.json's content (plus the metadata the run adds).
  nlohmann::json resolved_json() const;

  std::string usage() const;
  std::string help_text() const;
  const po::variables_map& values() const { return vm_; }

 private:
  template <class T>
  detail::OptionSpec& declare(Group group, const std::string& name, const std::string& help) {
    auto& s = new_spec(group, name, help);
    s.expected = detail::OptionTraits<T>::expected();
    s.value_name = detail::OptionTraits<T>::placeholder();
    s.multitoken = detail::is_vector<T>::value;
    s.to_json = [](const boost::any& a) { return nlohmann::json(boost::any_cast<const T&>(a)); };
    s.token_ok = [](const std::string& t) { return detail::OptionTraits<T>::token_ok(t); };
    // No option means anything by inf or nan, and they pass min() (inf >= 0): --lr inf used to be
    // found only at step 1, after the run directory existed. Checked first, so it is the reason.
    if constexpr (std::is_floating_point_v<T>) {
      s.checks.push_back([](const boost::any& a) {
        return std::isfinite(boost::any_cast<const T&>(a))
                   ? std::string()
                   : std::string("expected a finite number");
      });
    }
    return s;
  }
  template <class T>
  T cast(const std::string& name, const po::variable_value& v) const {
    try {
      return v.as<T>();
    } catch (const boost::bad_any_cast&) {
      throw std::logic_error("option --" + dashed(name) + " read with the wrong type");
    }
  }
  detail::OptionSpec& new_spec(Group group, const std::string& name, const std::string& help);
  const detail::OptionSpec* find(const std::string& dashed_name) const;
  const po::variable_value& value(const std::string& name) const;

  // Parsing steps (options.cpp).
  void build_descriptions();
  po::parsed_options options_from_json(const nlohmann::json& object, Source source,
                                       const std::string& origin);
  void check_values(const po::parsed_options& parsed, Source source,
                    const std::string& origin) const;
  void store_layer(const po::parsed_options& parsed, Source source, const std::string& origin);
  void apply_dependent_defaults();
  void check_final_values() const;
  std::string where(const std::string& name) const;  // "--lr" / "'lr' in config file F"
  std::string unknown_key_error(const std::string& key, Source source,
                                const std::string& origin) const;

  std::string command_;
  std::string summary_;
  std::vector<std::unique_ptr<detail::OptionSpec>> specs_;
  std::optional<DependentDefaults> dependent_;
  std::set<std::string> ignored_config_keys_;  // underscored
  std::unique_ptr<po::options_description> all_;
  po::positional_options_description positional_;
  po::variables_map vm_;
  std::map<std::string, Source> sources_;
  std::map<std::string, std::string> origins_;  // dashed name -> config file / task row
  std::string config_file_;
  std::string dependent_row_;
};

}  // namespace tca::cli
