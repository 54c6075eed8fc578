#include "data/task_file_format.hpp"

#include "core/error.hpp"
#include "core/system_info.hpp"

namespace tca::data {

std::string created_by() {
  return std::string("tca ") + tca_version() + " (git " + tca_git_sha() + ")";
}

void write_format_attributes(io::H5File& file, const std::string& layout) {
  file.set_attr("format", std::string(kFileFormat));
  file.set_attr("format_version", kFileFormatVersion);
  file.set_attr("layout", layout);
}

std::string read_layout(const io::H5File& file) {
  if (!file.has_attr("format")) {
    throw InputError(file.path(), "format", "not a tca data file",
                     "root attribute format = \"tca-tasks\"", "no format attribute");
  }
  const std::string format = file.attr_string("format");
  if (format != kFileFormat) {
    throw InputError(file.path(), "format", "not a tca data file", "\"tca-tasks\"",
                     "\"" + format + "\"");
  }
  const int64_t version = file.attr_int("format_version");
  if (version != kFileFormatVersion) {
    throw InputError(file.path(), "format_version", "unsupported format version",
                     std::to_string(kFileFormatVersion),
                     std::to_string(version) +
                         (version > kFileFormatVersion ? " (written by a newer tca)" : ""));
  }
  const std::string layout = file.attr_string("layout");
  if (layout != kLayoutTasks && layout != kLayoutImages) {
    throw InputError(file.path(), "layout", "unknown layout", "tasks or images", layout);
  }
  return layout;
}

}  // namespace tca::data
