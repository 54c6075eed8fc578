// The fused tiled attention (issue 23) against the composition of general ops it replaces
// (permutes, batched matmul, masked softmax, dropout, matmul), forward and backward, on sizes that
// are not multiples of its tiles; its finite-difference gradients; its independence of the thread
// count.
#include <doctest/doctest.h>
#include <omp.h>

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

namespace {

// Any 0/1 mask of this shape, some rows fully masked at random (rank 2: [M, N] shared by every
// batch element and head; [B, H, M, N]: one per head; [B, 1, M, 1]: whole query rows).
Tensor random_mask(const Shape& s, Rng& rng) {
  Tensor m = Tensor::empty(s);
  for (int64_t i = 0; i < m.numel(); ++i) m[i] = rng.uniform() < 0.8 ? 1.0f : 0.0f;
  return m;
}

// [B, 1, 1, N]: a padding mask over keys (the last third of batch 1's keys masked).
Tensor key_mask(int64_t B, int64_t N) {
  Tensor m = Tensor::full({B, 1, 1, N}, 1.0f);
  for (int64_t j = 2 * N / 3; j < N; ++j) m[(B - 1) * N + j] = 0.0f;
  return m;
}

struct Extents {
  int64_t M, N, dh;
};

}  // namespace

TEST_CASE(
    "flash_attention equals the general composition, forward and backward, with masks and the "
    "same dropped weights") {
  const int64_t B = 2, H = 2;
  // Odd extents: a partial 64-row tile, keys not a multiple of 16, heads not a multiple of 8, and
  // [M, N] planes that straddle the dropout stream's 4096-element blocks.
  for (const Extents e : {Extents{9, 9, 16}, Extents{37, 53, 12}, Extents{70, 130, 16},
                          Extents{65, 17, 64}, Extents{3, 200, 40}}) {
    for (float p : {0.0f, 0.3f}) {
      CAPTURE(e.M);
      CAPTURE(e.N);
      CAPTURE(e.dh);
      CAPTURE(p);
      const int64_t D = H * e.dh;
      Rng rng(static_cast<uint64_t>(e.M * 1000 + e.N * 10 + (p > 0)));
      const Tensor qt = random_tensor({B, e.M, D}, rng, -2, 2);
      const Tensor kvt = random_tensor({B, e.N, 2 * D}, rng, -2, 2);
      const Tensor g = random_tensor({B, e.M, D}, rng);
      const float scale = 1.0f / std::sqrt(static_cast<float>(e.dh));
      for (const Tensor& m :
           {Tensor(), pair_mask(B, e.M, e.N, rng), key_mask(B, e.N), random_mask({e.M, e.N}, rng),
            random_mask({B, H, e.M, e.N}, rng), random_mask({B, 1, e.M, 1}, rng)}) {
        CAPTURE(m.defined() ? to_string(m.shape()) : std::string("none"));
        Var q1 = parameter(qt.clone()), kv1 = parameter(kvt.clone()), q2 = parameter(qt.clone()),
            kv2 = parameter(kvt.clone());
        Rng r1(99), r2(99);  // the same stream: the same dropped weights
        Var a = ops::flash_attention(q1, kv1, m, H, scale, p, r1, true);
        Var b = composed_attention(q2, kv2, m, H, scale, p, r2, true);
        CHECK(r1.next_u64() == r2.next_u64());  // one draw each
        CHECK(max_diff(a.value(), b.value()) < 2e-5);
        ops::sum_all(ops::mul(a, Var(g))).backward();
        ops::sum_all(ops::mul(b, Var(g))).backward();
        CHECK(max_diff(q1.grad(), q2.grad()) < 5e-5);
        CHECK(max_diff(kv1.grad(), kv2.grad()) < 5e-5);
      }
    }
  }
}

TEST_CASE("flash_attention adds into gradients that other uses of its inputs already gave") {
  const int64_t B = 2, H = 2, M = 11, N = 19, D = 16;
  Rng rng(3);
  const Tensor qt = random_tensor({B, M, D}, rng), kvt = random_tensor({B, N, 2 * D}, rng);
  Var q1 = parameter(qt.clone()), kv1 = parameter(kvt.clone()), q2 = parameter(qt.clone()),
      kv2 = parameter(kvt.clone());
  Rng r1(5), r2(5);
  Var a = ops::add(ops::flash_attention(q1, kv1, Tensor(), H, 0.5f, 0.2f, r1, true), q1);
  Var b = ops::add(composed_attention(q2, kv2, Tensor(), H, 0.5f, 0.2f, r2, true), q2);
  ops::add(ops::sum_all(ops::mul(a, a)), ops::sum_all(ops::mul(kv1, kv1))).backward();
  ops::add(ops::sum_all(ops::mul(b, b)), ops::sum_all(ops::mul(kv2, kv2))).backward();
  CHECK(max_diff(q1.grad(), q2.grad()) < 5e-5);
  CHECK(max_diff(kv1.grad(), kv2.grad()) < 5e-5);
}

TEST_CASE(
    "flash_attention gradients match finite differences (mask with a fully masked row, dropout)") {
  const int64_t B = 2, M = 5, N = 11, D = 8, H = 2;
  Rng rng(5);
  const Tensor mask = pair_mask(B, M, N, rng);
  for (float p : {0.0f, 0.25f}) {
    for (const Tensor& m : {mask, Tensor()}) {
      CAPTURE(p);
      CAPTURE(m.defined());
      auto f = [&](const std::vector<Var>& x) {
        Rng drop(17);  // every evaluation drops the same weights
        return ops::flash_attention(x[0], x[1], m, H, 0.5f, p, drop, true);
      };
      CHECK(gradcheck(f, {random_tensor({B, M, D}, rng), random_tensor({B, N, 2 * D}, rng)}) <=
            1.0);
    }
  }
}

TEST_CASE("flash_attention gives the same bits with one and with two threads") {
  const int64_t B = 3, H = 2, M = 70, N = 130, D = 32;
  Rng rng(8);
  const Tensor qt = random_tensor({B, M, D}, rng), kvt = random_tensor({B, N, 2 * D}, rng);
  const Tensor mask = pair_mask(B, M, N, rng), g = random_tensor({B, M, D}, rng);
  Tensor out[2], dq[2], dkv[2];
  const int before = omp_get_max_threads();
  for (int t = 0; t < 2; ++t) {
    omp_set_num_threads(t + 1);
    Var q = parameter(qt.clone()), kv = parameter(kvt.clone());
    Rng drop(11);
    Var o = ops::flash_attention(q, kv, mask, H, 0.25f, 0.1f, drop, true);
    ops::sum_all(ops::mul(o, Var(g))).backward();
    out[t] = o.value(), dq[t] = q.grad(), dkv[t] = kv.grad();
  }
  omp_set_num_threads(before);
  CHECK(max_diff(out[0], out[1]) == 0.0);
  CHECK(max_diff(dq[0], dq[1]) == 0.0);
  CHECK(max_diff(dkv[0], dkv[1]) == 0.0);
}

TEST_CASE("flash_attention is inference-safe and rejects what it does not take") {
  Rng rng(1);
  Var q(random_tensor({2, 3, 8}, rng)), kv(random_tensor({2, 9, 16}, rng));
  {
    NoGradGuard no_grad;  // no tape, no statistics kept
    Rng r1(2), r2(2);
    const Var a = ops::flash_attention(q, kv, Tensor(), 2, 0.5f, 0.3f, r1, false);
    const Var b = composed_attention(q, kv, Tensor(), 2, 0.5f, 0.3f, r2, false);
    CHECK(max_diff(a.value(), b.value()) < 1e-5);
    CHECK(r1.next_u64() == r2.next_u64());  // no draw when not training
  }
  Var kv_bad(random_tensor({2, 4, 8}, rng));
  CHECK_THROWS_AS(ops::flash_attention(q, kv_bad, Tensor(), 2, 1.0f, 0.0f, rng, false),
                  ShapeError);  // kv not 2D wide
  CHECK_THROWS_AS(
      ops::flash_attention(q, kv, Tensor::zeros({2, 1, 3, 4}), 2, 1.0f, 0.0f, rng, false),
      ShapeError);  // mask of 4 keys for 9
  CHECK(ops::flash_attention_applies(2, 2, 3, 9, 4, Tensor::zeros({2, 2, 3, 9})));  // per head
  CHECK(ops::flash_attention_applies(2, 2, 3, 9, 4, Tensor::zeros({1, 1, 3, 9})));
  CHECK(ops::flash_attention_applies(2, 2, 3, 9, 4, Tensor::zeros({9})));
  CHECK_FALSE(ops::flash_attention_applies(2, 2, 3, 9, 4, Tensor::zeros({2, 2, 3, 8})));
  CHECK_FALSE(ops::flash_attention_applies(2, 2, 3, 9, 65, Tensor()));  // head too wide
}
