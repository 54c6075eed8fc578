// A content hash of a model's parameter values: tree files built with a checkpoint record it
// (conventions.md "HDF5 datasets": `--checkpoint` trees carry the checkpoint's content hash), and
// the checkpoint stores it so that loading can detect values that do not match their file.
//
// FNV-1a 64 over the parameters in name order (byte-wise sorted, so the hash does not depend on
// registration order): for each, the name's bytes and a 0 byte, the rank and each extent as
// 8-byte little-endian integers, then the float32 values as 4-byte little-endian IEEE words. It
// identifies content (any changed bit, name or shape changes it); it is not a cryptographic hash.
#pragma once
#include <string>

#include "nn/module.hpp"

namespace tca {

// "fnv1a64:" followed by 16 lower-case hex digits.
std::string parameters_hash(const nn::NamedParameters& params);

}  // namespace tca
