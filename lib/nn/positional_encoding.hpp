// Sinusoidal positional encoding (tca.md 1): PE[t, 2i] = sin(t * exp(-2i ln(10000) / D)),
// PE[t, 2i+1] = cos(same). Computed for any length (the reference's 5000-position table is a
// limit we do not copy, tca.md 8).
#pragma once
#include <cmath>

#include "core/tensor.hpp"

namespace tca::nn {

inline Tensor positional_encoding(int64_t length, int64_t dim) {
  Tensor pe = Tensor::empty({length, dim});
  for (int64_t t = 0; t < length; ++t)
    for (int64_t i = 0; i < dim; i += 2) {
      const double angle =
          static_cast<double>(t) *
          std::exp(-static_cast<double>(i) * std::log(10000.0) / static_cast<double>(dim));
      pe[t * dim + i] = static_cast<float>(std::sin(angle));
      if (i + 1 < dim) pe[t * dim + i + 1] = static_cast<float>(std::cos(angle));
    }
  return pe;
}

}  // namespace tca::nn
