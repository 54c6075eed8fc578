// H5File attributes: int64, float64 and variable-length UTF-8 string values on any group or
// dataset; reads also accept the other integer and float widths and fixed-length strings (the
// reference files and h5py write those).
#include <algorithm>

#include "core/error.hpp"
#include "io/hdf5_error.hpp"
#include "io/hdf5_file.hpp"
#include "io/hdf5_handle.hpp"

namespace tca::io {

using namespace detail;

namespace {

Handle open_object(int64_t file, const std::string& file_path, const std::string& object) {
  clear_hdf5_error();
  Handle obj = object_handle(H5Oopen(file, absolute(object).c_str(), H5P_DEFAULT));
  if (!obj.valid()) {
    clear_hdf5_error();
    throw InputError(file_path, absolute(object), "missing object", "a group or dataset",
                     "nothing at that path");
  }
  return obj;
}

AttrValue read_attribute(hid_t attr, const std::string& file, const std::string& key) {
  Handle type = type_handle(H5Aget_type(attr));
  Handle space = space_handle(H5Aget_space(attr));
  const H5S_class_t space_class = H5Sget_simple_extent_type(space.get());
  const hssize_t count = H5Sget_simple_extent_npoints(space.get());
  if (space_class == H5S_NULL || count != 1) {
    throw InputError(file, key, "wrong attribute shape", "a single value",
                     std::to_string(space_class == H5S_NULL ? 0 : count) + " values");
  }
  const H5T_class_t cls = H5Tget_class(type.get());
  clear_hdf5_error();
  if (cls == H5T_INTEGER) {
    if (H5Tget_sign(type.get()) == H5T_SGN_NONE && H5Tget_size(type.get()) >= 8) {
      throw InputError(file, key, "wrong attribute type", "an integer that fits int64", "uint64");
    }
    int64_t v = 0;
    if (H5Aread(attr, H5T_NATIVE_INT64, &v) >= 0) return v;
  } else if (cls == H5T_FLOAT) {
    double v = 0;
    if (H5Aread(attr, H5T_NATIVE_DOUBLE, &v) >= 0) return v;
  } else if (cls == H5T_STRING) {
    if (H5Tis_variable_str(type.get()) > 0) {
      Handle mem = type_handle(H5Tcopy(H5T_C_S1));
      H5Tset_size(mem.get(), H5T_VARIABLE);
      H5Tset_cset(mem.get(), H5Tget_cset(type.get()));
      char* text = nullptr;
      if (H5Aread(attr, mem.get(), &text) >= 0) {
        std::string value = text ? text : "";
        H5free_memory(text);
        return value;
      }
    } else {
      const size_t size = H5Tget_size(type.get());
      Handle mem = type_handle(H5Tcopy(type.get()));
      std::string buffer(size, '\0');
      if (H5Aread(attr, mem.get(), buffer.data()) >= 0) {
        buffer.resize(std::min(buffer.find('\0'), buffer.size()));
        if (H5Tget_strpad(type.get()) == H5T_STR_SPACEPAD) {
          buffer.erase(buffer.find_last_not_of(' ') + 1);
        }
        return buffer;
      }
    }
  } else {
    throw InputError(file, key, "wrong attribute type", "an integer, a real or a string",
                     cls == H5T_ENUM ? "an enum (e.g. bool)" : "type class " + std::to_string(cls));
  }
  throw InputError(file, key, "cannot read attribute", "a readable value", take_hdf5_error());
}

const char* kind_name(const AttrValue& value) {
  return std::holds_alternative<int64_t>(value)  ? "an integer"
         : std::holds_alternative<double>(value) ? "a real number"
                                                 : "a string";
}

}  // namespace

bool H5File::has_attr(const std::string& name, const std::string& object) const {
  capture_hdf5_errors();
  if (!exists(object)) return false;
  Handle obj = open_object(id_, path_, object);
  const htri_t found = H5Aexists(obj.get(), name.c_str());
  clear_hdf5_error();
  return found > 0;
}

AttrValue H5File::attr(const std::string& name, const std::string& object) const {
  capture_hdf5_errors();
  const std::string key = attr_key(object, name);
  if (!exists(object)) {
    throw InputError(path_, absolute(object), "missing object", "a group or dataset",
                     "nothing at that path");
  }
  Handle obj = open_object(id_, path_, object);
  if (H5Aexists(obj.get(), name.c_str()) <= 0) {
    clear_hdf5_error();
    throw InputError(path_, key, "missing attribute", "attribute '" + name + "'", "none");
  }
  Handle attr = attr_handle(H5Aopen(obj.get(), name.c_str(), H5P_DEFAULT));
  if (!attr.valid()) {
    throw InputError(path_, key, "cannot open attribute", "a readable attribute",
                     take_hdf5_error());
  }
  return read_attribute(attr.get(), path_, key);
}

int64_t H5File::attr_int(const std::string& name, const std::string& object) const {
  const AttrValue value = attr(name, object);
  if (auto* i = std::get_if<int64_t>(&value)) return *i;
  throw InputError(path_, attr_key(object, name), "wrong attribute type", "an integer",
                   std::string(kind_name(value)) + " (" + to_string(value) + ")");
}

double H5File::attr_double(const std::string& name, const std::string& object) const {
  const AttrValue value = attr(name, object);
  if (auto* d = std::get_if<double>(&value)) return *d;
  if (auto* i = std::get_if<int64_t>(&value)) return static_cast<double>(*i);
  throw InputError(path_, attr_key(object, name), "wrong attribute type", "a number",
                   std::string(kind_name(value)) + " (" + to_string(value) + ")");
}

std::string H5File::attr_string(const std::string& name, const std::string& object) const {
  const AttrValue value = attr(name, object);
  if (auto* s = std::get_if<std::string>(&value)) return *s;
  throw InputError(path_, attr_key(object, name), "wrong attribute type", "a string",
                   std::string(kind_name(value)) + " (" + to_string(value) + ")");
}

static herr_t collect_attr_name(hid_t, const char* name, const H5A_info_t*, void* out) {
  static_cast<std::vector<std::string>*>(out)->push_back(name);
  return 0;
}

std::vector<std::string> H5File::attr_names(const std::string& object) const {
  capture_hdf5_errors();
  if (!exists(object)) {
    throw InputError(path_, absolute(object), "missing object", "a group or dataset",
                     "nothing at that path");
  }
  Handle obj = open_object(id_, path_, object);
  std::vector<std::string> names;
  clear_hdf5_error();
  if (H5Aiterate2(obj.get(), H5_INDEX_NAME, H5_ITER_INC, nullptr, collect_attr_name, &names) < 0) {
    throw InputError(path_, absolute(object), "cannot list attributes", "readable attributes",
                     take_hdf5_error());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::map<std::string, AttrValue> H5File::attrs(const std::string& object) const {
  std::map<std::string, AttrValue> values;
  for (const std::string& name : attr_names(object)) values.emplace(name, attr(name, object));
  return values;
}

void H5File::set_attr(const std::string& name, const AttrValue& value, const std::string& object) {
  capture_hdf5_errors();
  const std::string where = attr_key(object, name) + " in " + path_;
  if (!writable_)
    throw RuntimeFailure("cannot write attribute " + where + ": file is open read-only");
  Handle obj = open_object(id_, path_, object);
  clear_hdf5_error();
  if (H5Aexists(obj.get(), name.c_str()) > 0) H5Adelete(obj.get(), name.c_str());
  Handle space = space_handle(H5Screate(H5S_SCALAR));
  Handle type;
  const void* data = nullptr;
  const char* text = nullptr;
  if (auto* i = std::get_if<int64_t>(&value)) {
    type = type_handle(H5Tcopy(H5T_STD_I64LE));
    data = i;
  } else if (auto* d = std::get_if<double>(&value)) {
    type = type_handle(H5Tcopy(H5T_IEEE_F64LE));
    data = d;
  } else {
    type = type_handle(H5Tcopy(H5T_C_S1));
    H5Tset_size(type.get(), H5T_VARIABLE);
    H5Tset_cset(type.get(), H5T_CSET_UTF8);
    text = std::get<std::string>(value).c_str();
    data = &text;
  }
  Handle attr = attr_handle(
      H5Acreate2(obj.get(), name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT));
  hid_t mem_type = type.get();
  if (std::holds_alternative<int64_t>(value)) mem_type = H5T_NATIVE_INT64;
  if (std::holds_alternative<double>(value)) mem_type = H5T_NATIVE_DOUBLE;
  if (!attr.valid() || H5Awrite(attr.get(), mem_type, data) < 0) {
    throw RuntimeFailure("cannot write attribute " + where + ": " + take_hdf5_error());
  }
}

}  // namespace tca::io
