#include <doctest/doctest.h>

#include "gradcheck.hpp"

using namespace tca;
using tca::testing::gradcheck;
using tca::testing::random_tensor;

TEST_CASE("matmul forward equals a naive double-precision product for every transpose flag") {
  Rng rng(1);
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb) {
      const int64_t B = 3, M = 4, K = 5, N = 6;
      Tensor a = random_tensor(ta ? Shape{B, K, M} : Shape{B, M, K}, rng);
      Tensor b = random_tensor(tb ? Shape{B, N, K} : Shape{B, K, N}, rng);
      Var c = ops::matmul(Var(a), Var(b), ta, tb);
      REQUIRE(c.shape() == Shape{B, M, N});
      for (int64_t z = 0; z < B; ++z)
        for (int64_t i = 0; i < M; ++i)
          for (int64_t j = 0; j < N; ++j) {
            double s = 0;
            for (int64_t k = 0; k < K; ++k) {
              double av = ta ? a[(z * K + k) * M + i] : a[(z * M + i) * K + k];
              double bv = tb ? b[(z * N + j) * K + k] : b[(z * K + k) * N + j];
              s += av * bv;
            }
            CHECK(c.value()[(z * M + i) * N + j] == doctest::Approx(s).epsilon(1e-5));
          }
    }
}

TEST_CASE("matmul backward matches finite differences for every transpose flag and broadcast") {
  Rng rng(2);
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb)
      for (int bcast = 0; bcast < 3; ++bcast) {  // 0 none, 1 b broadcast, 2 a broadcast
        const int64_t B = 2, M = 3, K = 4, N = 5;
        Shape sa = ta ? Shape{K, M} : Shape{M, K};
        Shape sb = tb ? Shape{N, K} : Shape{K, N};
        if (bcast != 2) sa.insert(sa.begin(), B);
        if (bcast != 1) sb.insert(sb.begin(), B);
        auto f = [&](const std::vector<Var>& v) { return ops::matmul(v[0], v[1], ta, tb); };
        CAPTURE(ta);
        CAPTURE(tb);
        CAPTURE(bcast);
        CHECK(gradcheck(f, {random_tensor(sa, rng), random_tensor(sb, rng)}) <= 1.0);
      }
}

TEST_CASE("linear backward matches finite differences with and without bias") {
  Rng rng(3);
  for (int bias = 0; bias < 2; ++bias) {
    auto f = [&](const std::vector<Var>& v) {
      return ops::linear(v[0], v[1], bias ? v[2] : Var());
    };
    CHECK(gradcheck(f, {random_tensor({2, 3, 4}, rng), random_tensor({5, 4}, rng),
                        random_tensor({5}, rng)}) <= 1.0);
  }
}
