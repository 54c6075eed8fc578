#include <doctest/doctest.h>
#include <omp.h>

#include "core/tensor.hpp"

using namespace tca;

TEST_CASE(
    "empty_prefaulted gives a writable tensor of the shape, for every size and thread count") {
  // The pre-touch loop steps a page at a time: sizes around a page and an odd multiple of it.
  const int threads = omp_get_max_threads();
  for (int t : {1, 2, 3}) {
    omp_set_num_threads(t);
    for (int64_t n : {int64_t{0}, int64_t{1}, int64_t{1023}, int64_t{1024}, int64_t{1025},
                      int64_t{3 * 1024 + 7}}) {
      CAPTURE(n);
      Tensor x = Tensor::empty_prefaulted({n, 1});
      CHECK(x.shape() == Shape{n, 1});
      CHECK(x.numel() == n);
      for (int64_t i = 0; i < n; ++i) x[i] = static_cast<float>(i);
      float sum = 0;
      for (int64_t i = 0; i < n; ++i) sum += x[i] == static_cast<float>(i) ? 1.0f : 0.0f;
      CHECK(sum == static_cast<float>(n));
    }
    Tensor y = Tensor::empty_prefaulted({2, 3}, DType::i32);
    CHECK(y.dtype() == DType::i32);
  }
  omp_set_num_threads(threads);
}
