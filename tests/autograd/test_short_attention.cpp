// The fused attention over few keys against the composition of general ops it replaces (permutes,
// batched matmuls, masked softmax, dropout), and its finite-difference gradients.
#include <doctest/doctest.h>

#include <cmath>

#include "attention_reference.hpp"
#include "autograd/ops.hpp"
#include "gradcheck.hpp"

using namespace tca;
using tca::testing::composed_attention;
using tca::testing::gradcheck;
using tca::testing::max_diff;
using tca::testing::pair_mask;
using tca::testing::random_tensor;

TEST_CASE(
    "short_attention equals the general composition, forward and backward, with masks and "
    "dropout") {
  const int64_t B = 3, M = 4, D = 8, H = 2;
  for (int64_t N : {1, 3, 8}) {
    for (float p : {0.0f, 0.3f}) {
      CAPTURE(N);
      CAPTURE(p);
      Rng rng(static_cast<uint64_t>(N * 10 + (p > 0)));
      const Tensor qt = random_tensor({B, M, D}, rng), kvt = random_tensor({B, N, 2 * D}, rng);
      const Tensor mask = pair_mask(B, M, N, rng), g = random_tensor({B, M, D}, rng);
      for (const Tensor& m : {mask, Tensor()}) {
        Var q1 = parameter(qt.clone()), kv1 = parameter(kvt.clone()), q2 = parameter(qt.clone()),
            kv2 = parameter(kvt.clone());
        Rng r1(99), r2(99);  // the same stream: the same dropped weights
        Var a = ops::short_attention(q1, kv1, m, H, 0.35f, p, r1, true);
        Var b = composed_attention(q2, kv2, m, H, 0.35f, p, r2, true);
        CHECK(max_diff(a.value(), b.value()) < 1e-5);
        ops::sum_all(ops::mul(a, Var(g))).backward();
        ops::sum_all(ops::mul(b, Var(g))).backward();
        CHECK(max_diff(q1.grad(), q2.grad()) < 1e-5);
        CHECK(max_diff(kv1.grad(), kv2.grad()) < 1e-5);
      }
    }
  }
}

TEST_CASE(
    "short_attention gradients match finite differences (mask with a fully masked row, dropout)") {
  const int64_t B = 2, M = 3, N = 4, D = 8, H = 2;
  Rng rng(5);
  const Tensor mask = pair_mask(B, M, N, rng);
  for (float p : {0.0f, 0.25f}) {
    CAPTURE(p);
    auto f = [&](const std::vector<Var>& x) {
      Rng drop(17);  // every evaluation drops the same weights
      return ops::short_attention(x[0], x[1], mask, H, 0.5f, p, drop, true);
    };
    CHECK(gradcheck(f, {random_tensor({B, M, D}, rng), random_tensor({B, N, 2 * D}, rng)}) <= 1.0);
  }
}

TEST_CASE("short_attention rejects what it does not take") {
  Rng rng(1);
  Var q(random_tensor({2, 3, 8}, rng)), kv(random_tensor({2, 9, 16}, rng)),
      kv_bad(random_tensor({2, 4, 8}, rng));
  CHECK_THROWS_AS(ops::short_attention(q, kv, Tensor(), 2, 1.0f, 0.0f, rng, false),
                  ShapeError);  // 9 keys
  CHECK_THROWS_AS(ops::short_attention(q, kv_bad, Tensor(), 2, 1.0f, 0.0f, rng, false),
                  ShapeError);  // kv not 2D wide
  CHECK_FALSE(
      ops::short_attention_applies(2, 3, 4, Tensor::zeros({2, 2, 3, 4})));  // a mask per head
  CHECK(ops::short_attention_applies(2, 3, 4, Tensor::zeros({2, 1, 3, 4})));
}
