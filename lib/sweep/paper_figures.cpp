#include "sweep/paper_figures.hpp"

#include <fmt/format.h>

#include <filesystem>

#include "core/error.hpp"
#include "io/json_io.hpp"

namespace tca::sweep {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

std::string string_field(const json& j, const std::string& key, const std::string& file,
                         const std::string& where, bool required) {
  if (!j.contains(key)) {
    if (required)
      throw InputError(file, where + key, "missing paper figure field", "a string", "none");
    return "";
  }
  if (!j[key].is_string())
    throw InputError(file, where + key, "invalid paper figure field", "a string", j[key].dump());
  return j[key].get<std::string>();
}

json object_field(const json& j, const std::string& key, const std::string& file,
                  const std::string& where) {
  if (!j.contains(key)) return json::object();
  if (!j[key].is_object())
    throw InputError(file, where + key, "invalid paper figure field", "an object", j[key].dump());
  return j[key];
}

bool contains_all(const json& group, const json& wanted) {
  for (auto& [k, v] : wanted.items())
    if (!group.contains(k) || group[k] != v) return false;
  return true;
}

}  // namespace

std::string PaperFigure::cell() const {
  return value + " [" + tag + "]" + (note.empty() ? "" : " (" + note + ")");
}

std::string PaperFigures::cell(const std::string& eval_set, const json& group,
                               const std::string& method, const json& setting) const {
  const json plain_setting = setting.is_object() ? setting : json::object();
  for (const auto& f : figures) {
    if (f.method != method || f.setting != plain_setting) continue;
    if (!f.eval_set.empty() && f.eval_set != eval_set) continue;
    if (!contains_all(group, f.group)) continue;
    return f.cell();
  }
  return "";
}

PaperFigures read_paper_figures(const std::string& sweep_dir) {
  PaperFigures p;
  const std::string file = (fs::path(sweep_dir) / kPaperFile).string();
  if (!fs::exists(file)) return p;
  const json j = io::read_json_file(file);
  if (!j.is_object())
    throw InputError(file, "", "invalid paper figures", "a JSON object", j.type_name());
  p.present = true;
  p.note = string_field(j, "note", file, "", true);
  if (!j.contains("figures") || !j["figures"].is_array())
    throw InputError(file, "figures", "invalid paper figures", "a list of figures",
                     j.contains("figures") ? j["figures"].dump() : "none");
  for (size_t i = 0; i < j["figures"].size(); ++i) {
    const json& f = j["figures"][i];
    const std::string where = fmt::format("figures[{}].", i);
    if (!f.is_object())
      throw InputError(file, where, "invalid paper figure", "an object", f.dump());
    PaperFigure pf;
    pf.method = string_field(f, "method", file, where, true);
    if (pf.method != "ca" && pf.method != "tca" && pf.method != "perceiver")
      throw InputError(file, where + "method", "invalid paper figure field", "ca, tca or perceiver",
                       pf.method);
    pf.eval_set = string_field(f, "eval_set", file, where, false);
    pf.group = object_field(f, "group", file, where);
    pf.setting = object_field(f, "setting", file, where);
    pf.value = string_field(f, "value", file, where, true);
    pf.tag = string_field(f, "tag", file, where, true);
    pf.note = string_field(f, "note", file, where, false);
    for (auto& [k, v] : f.items()) {
      if (k != "method" && k != "eval_set" && k != "group" && k != "setting" && k != "value" &&
          k != "tag" && k != "note")
        throw InputError(file, where + k, "unknown paper figure field",
                         "method, eval_set, group, setting, value, tag or note", "'" + k + "'");
    }
    p.figures.push_back(pf);
  }
  return p;
}

}  // namespace tca::sweep
