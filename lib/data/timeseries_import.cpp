// import_timeseries (timeseries_task.hpp): CSV or HDF5 rows (sequence_id, t, features..., label).
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include "core/error.hpp"
#include "data/timeseries_task.hpp"
#include "io/hdf5_file.hpp"

namespace tca::data {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::vector<std::string> split_csv(const std::string& line) {
  std::vector<std::string> fields;
  std::string field;
  std::istringstream in(line);
  while (std::getline(in, field, ',')) {
    const size_t a = field.find_first_not_of(" \t\r"), b = field.find_last_not_of(" \t\r");
    fields.push_back(a == std::string::npos ? "" : field.substr(a, b - a + 1));
  }
  if (!line.empty() && line.back() == ',') fields.push_back("");
  return fields;
}

// A number that float32 holds: the task file stores x as float32, and a value beyond its range
// (1e39) became inf in a file our own reader then rejected. strtod rather than std::stod, which
// throws on underflow and so refused valid denormals (1e-310); underflow is accepted (the value
// rounds towards zero), overflow is not.
double parse_number(const std::string& text, const std::string& file, const std::string& where,
                    const char* column) {
  errno = 0;
  char* end = nullptr;
  const double v = text.empty() ? 0.0 : std::strtod(text.c_str(), &end);
  const bool parsed = !text.empty() && end == text.c_str() + text.size() &&
                      !std::isspace(static_cast<unsigned char>(text[0]));
  if (!parsed || !std::isfinite(v) || (errno == ERANGE && std::abs(v) > 1.0)) {
    throw InputError(file, where, std::string("bad ") + column, "a finite number",
                     quoted_bytes(text));
  }
  if (std::abs(v) > static_cast<double>(std::numeric_limits<float>::max())) {
    throw InputError(file, where, std::string("bad ") + column,
                     "a number within float32 range (|x| <= 3.4e38)", quoted_bytes(text));
  }
  return v;
}

// Adds one row to `data`, checking contiguity, time order and labels.
void add_row(TimeseriesData& data, std::set<std::string>& finished, const std::string& file,
             const std::string& where, const std::string& id, double t, const float* features,
             double label) {
  // Below kMaxTaskWidth classes: the task file's num_classes is bounded by its reader.
  if (label < 0 || label != std::floor(label) || label >= static_cast<double>(kMaxTaskWidth)) {
    throw InputError(file, where, "bad label",
                     "an integer in [0, " + std::to_string(kMaxTaskWidth - 1) + "]",
                     std::to_string(label));
  }
  if (data.sequences.empty() || data.sequences.back().id != id) {
    if (!data.sequences.empty()) finished.insert(data.sequences.back().id);
    if (finished.count(id)) {
      throw InputError(file, where, "rows of a sequence are not contiguous",
                       "all rows of sequence " + quoted_bytes(id) + " together",
                       "it again after another sequence");
    }
    data.sequences.push_back(TimeseriesSequence{id, {}, {}, {}});
  }
  TimeseriesSequence& seq = data.sequences.back();
  if (!seq.t.empty() && !(t > seq.t.back())) {
    throw InputError(file, where, "time not increasing",
                     "t > " + std::to_string(seq.t.back()) + " in sequence " + quoted_bytes(id),
                     std::to_string(t));
  }
  seq.t.push_back(t);
  seq.features.insert(seq.features.end(), features, features + data.channels);
  seq.labels.push_back(static_cast<int32_t>(label));
  data.num_classes = std::max<int64_t>(data.num_classes, static_cast<int64_t>(label) + 1);
}

TimeseriesData import_csv(const std::string& path) {
  std::ifstream in(path);
  if (!in)
    throw InputError(path, "", "cannot open time-series file", "an existing CSV file",
                     "no such file");
  std::string line;
  if (!std::getline(in, line))
    throw InputError(path, "line 1", "empty time-series file", "a header line", "nothing");
  const auto header = split_csv(line);
  if (header.size() < 4 || header[0] != "sequence_id" || header[1] != "t" ||
      header.back() != "label") {
    throw InputError(path, "line 1", "bad header", "sequence_id,t,<feature columns>,label",
                     quoted_bytes(line));
  }
  TimeseriesData data;
  data.channels = static_cast<int64_t>(header.size()) - 3;
  std::set<std::string> finished;
  std::vector<float> features(static_cast<size_t>(data.channels));
  int64_t line_number = 1;
  while (std::getline(in, line)) {
    ++line_number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = "line " + std::to_string(line_number);
    const auto fields = split_csv(line);
    if (fields.size() != header.size()) {
      throw InputError(path, where, "wrong number of columns", std::to_string(header.size()),
                       std::to_string(fields.size()));
    }
    for (int64_t c = 0; c < data.channels; ++c) {
      features[static_cast<size_t>(c)] = static_cast<float>(
          parse_number(fields[static_cast<size_t>(2 + c)], path, where, "feature"));
    }
    add_row(data, finished, path, where, fields[0], parse_number(fields[1], path, where, "t"),
            features.data(), parse_number(fields.back(), path, where, "label"));
  }
  return data;
}

TimeseriesData import_hdf5(const std::string& path) {
  io::H5File file = io::H5File::open_read(path);
  Shape shape;
  const std::vector<double> rows =
      file.read<double>("rows", {io::kAnyExtent, io::kAnyExtent}, &shape);
  if (shape[1] < 4)
    throw InputError(path, "/rows", "wrong shape", "[rows, C + 3] with C >= 1",
                     tca::to_string(shape));
  io::require_finite(path, "rows", rows.data(), static_cast<int64_t>(rows.size()), shape[1]);
  TimeseriesData data;
  data.channels = shape[1] - 3;
  std::set<std::string> finished;
  std::vector<float> features(static_cast<size_t>(data.channels));
  for (int64_t r = 0; r < shape[0]; ++r) {
    const double* row = rows.data() + r * shape[1];
    const std::string where = "/rows row " + std::to_string(r);
    if (row[0] != std::floor(row[0]))
      throw InputError(path, where, "bad sequence id", "an integer", std::to_string(row[0]));
    for (int64_t c = 1; c < shape[1] - 1; ++c) {  // t and the features become float32 columns
      if (std::abs(row[c]) > static_cast<double>(std::numeric_limits<float>::max())) {
        throw InputError(path, where + " column " + std::to_string(c),
                         "value outside float32 range", "|x| <= 3.4e38", std::to_string(row[c]));
      }
    }
    for (int64_t c = 0; c < data.channels; ++c)
      features[static_cast<size_t>(c)] = static_cast<float>(row[2 + c]);
    add_row(data, finished, path, where, std::to_string(static_cast<int64_t>(row[0])), row[1],
            features.data(), row[shape[1] - 1]);
  }
  return data;
}

}  // namespace

TimeseriesData import_timeseries(const std::string& path) {
  TimeseriesData data =
      ends_with(path, ".h5") || ends_with(path, ".hdf5") ? import_hdf5(path) : import_csv(path);
  if (data.sequences.empty())
    throw InputError(path, "", "no time-series rows", "at least one sequence", "none");
  if (data.num_classes < 2) data.num_classes = 2;  // a classification head needs two outputs
  for (const auto& seq : data.sequences) {
    if (seq.t.size() < 2) {
      throw InputError(path, "sequence " + quoted_bytes(seq.id), "sequence too short",
                       "at least 2 time points", std::to_string(seq.t.size()));
    }
  }
  return data;
}

}  // namespace tca::data
