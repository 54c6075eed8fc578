#include "fuzz/fuzz_util.hpp"

#include <unistd.h>

#include <fstream>

#include "io/hdf5_error.hpp"

namespace tca::fuzz {

std::string write_input(const uint8_t* data, size_t size, const std::string& suffix) {
  static const std::string dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
  const std::string path = dir + "/tca-fuzz-" + std::to_string(getpid()) + suffix;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  out.close();
  io::capture_hdf5_errors();  // libhdf5 never prints; its errors become our messages
  return path;
}

}  // namespace tca::fuzz
