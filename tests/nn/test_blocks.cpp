// The norm-wrapped blocks against naive double computations (tca.md 1; reference README 4):
//   attention, pre-norm:  out = MHA(LN(x), c, c) + LN(x)  (keys/values NOT normalised; the
//                         residual is the normalised query); in self-attention c = raw x;
//   attention, post-norm: out = LN(x + MHA(x, c, c));
//   feed-forward (GEGLU), pre-norm: FF(LN(x)) + LN(x); post-norm: LN(x + FF(x));
//   encoder layer = self-attention block then feed-forward block; encoder = independent layers.
#include <doctest/doctest.h>

#include "nn/encoder_layer.hpp"
#include "nn/naive_reference.hpp"

using namespace tca;
namespace nv = tca::naive;

namespace {

constexpr int64_t B = 2, M = 3, N = 4, D = 8, H = 2, F = 6;

nv::Mat naive_attention_block(const nn::AttentionBlock& blk, const nv::Mat& x, const nv::Mat& ctx,
                              const nv::Mat* mask, bool norm_first) {
  const auto& a = blk.attn;
  auto mha = [&](const nv::Mat& q, const nv::Mat& kv) {
    return nv::attention(q, kv, nv::weight_of(a.to_q.weight), nv::weight_of(a.to_k.weight),
                         nv::weight_of(a.to_v.weight), nv::weight_of(a.to_out.weight),
                         nv::to_vec(a.to_out.bias), H, mask)
        .out;
  };
  auto ln = [&](const nv::Mat& v) {
    return nv::layer_norm(v, nv::to_vec(blk.norm.weight), nv::to_vec(blk.norm.bias));
  };
  if (norm_first) {
    const nv::Mat n = ln(x);
    return nv::add(mha(n, ctx), n);
  }
  return ln(nv::add(x, mha(x, ctx)));
}

nv::Mat naive_ff_block(const nn::FeedForwardBlock& blk, const nv::Mat& x, bool norm_first) {
  auto ff = [&](const nv::Mat& v) {
    return nv::feed_forward(v, nv::weight_of(blk.linear1.weight), nv::to_vec(blk.linear1.bias),
                            nv::weight_of(blk.linear2.weight), nv::to_vec(blk.linear2.bias));
  };
  auto ln = [&](const nv::Mat& v) {
    return nv::layer_norm(v, nv::to_vec(blk.norm.weight), nv::to_vec(blk.norm.bias));
  };
  if (norm_first) {
    const nv::Mat n = ln(x);
    return nv::add(ff(n), n);
  }
  return ln(nv::add(x, ff(x)));
}

nv::Mat naive_encoder_layer(const nn::EncoderLayer& layer, const nv::Mat& x, const nv::Mat* mask,
                            bool norm_first) {
  return naive_ff_block(layer.ff, naive_attention_block(layer.self_attn, x, x, mask, norm_first),
                        norm_first);
}

}  // namespace

TEST_CASE("pre-norm attention block normalises only the query and adds LN(x) as the residual") {
  Rng rng(31);
  nn::AttentionBlock blk(D, H, 0.0f, true, rng);
  nv::randomize_parameters(blk, rng);
  Tensor x = nv::random_tensor({B, M, D}, rng, -2, 2);
  Tensor ctx = nv::random_tensor({B, N, D}, rng, -2, 2);
  Var out = blk(Var(x), Var(ctx), Tensor(), nn::ForwardContext::inference());
  for (int64_t b = 0; b < B; ++b) {
    const nv::Mat ref = naive_attention_block(blk, nv::to_mat(x, M, D, b * M),
                                              nv::to_mat(ctx, N, D, b * N), nullptr, true);
    CHECK(nv::relative_error(ref, out.value(), b * M * D) < 1e-5);
  }
  // Self-attention: keys and values are the raw x, not LN(x) (reference README 4, 9.3).
  Var self = blk(Var(x), Var(x), Tensor(), nn::ForwardContext::inference());
  const nv::Mat x0 = nv::to_mat(x, M, D);
  CHECK(nv::relative_error(naive_attention_block(blk, x0, x0, nullptr, true), self.value()) < 1e-5);
  // The alternative reading (keys/values normalised too) is measurably different.
  const nv::Mat n0 = nv::layer_norm(x0, nv::to_vec(blk.norm.weight), nv::to_vec(blk.norm.bias));
  const nv::Mat kv_normalised = nv::add(
      nv::attention(n0, n0, nv::weight_of(blk.attn.to_q.weight),
                    nv::weight_of(blk.attn.to_k.weight), nv::weight_of(blk.attn.to_v.weight),
                    nv::weight_of(blk.attn.to_out.weight), nv::to_vec(blk.attn.to_out.bias), H)
          .out,
      n0);
  CHECK(nv::relative_error(kv_normalised, self.value()) > 1e-3);
}

TEST_CASE("post-norm attention block computes LN(x + MHA(x c c))") {
  Rng rng(32);
  nn::AttentionBlock blk(D, H, 0.0f, false, rng);
  nv::randomize_parameters(blk, rng);
  Tensor x = nv::random_tensor({B, M, D}, rng, -2, 2);
  Tensor ctx = nv::random_tensor({B, N, D}, rng, -2, 2);
  Tensor mask = Tensor::from({1, 0, 1, 1, 0, 1, 1, 0}, {B, 1, 1, N});
  Var out = blk(Var(x), Var(ctx), mask, nn::ForwardContext::inference());
  for (int64_t b = 0; b < B; ++b) {
    nv::Mat m(M, N);
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) m(i, j) = mask[b * N + j];
    const nv::Mat ref = naive_attention_block(blk, nv::to_mat(x, M, D, b * M),
                                              nv::to_mat(ctx, N, D, b * N), &m, false);
    CHECK(nv::relative_error(ref, out.value(), b * M * D) < 1e-5);
  }
}

TEST_CASE(
    "GEGLU feed-forward block is FF(LN(x)) + LN(x) in pre-norm and LN(x + FF(x)) in post-norm") {
  for (bool norm_first : {true, false}) {
    Rng rng(norm_first ? 33 : 34);
    nn::FeedForwardBlock blk(D, F, 0.0f, norm_first, rng);
    nv::randomize_parameters(blk, rng);
    REQUIRE(blk.linear1.out_features() == 2 * F);
    REQUIRE(blk.linear2.in_features() == F);
    Tensor x = nv::random_tensor({B, M, D}, rng, -2, 2);
    Var out = blk(Var(x), nn::ForwardContext::inference());
    const nv::Mat ref = naive_ff_block(blk, nv::to_mat(x, B * M, D), norm_first);
    CHECK(nv::relative_error(ref, out.value()) < 1e-5);
  }
}

TEST_CASE(
    "encoder layer is self-attention then feed-forward with a key mask in pre-norm and post-norm") {
  for (bool norm_first : {true, false}) {
    Rng rng(norm_first ? 35 : 36);
    nn::TransformerConfig cfg{D, H, F, 0.0f, norm_first};
    nn::EncoderLayer layer(cfg, rng);
    nv::randomize_parameters(layer, rng);
    Tensor x = nv::random_tensor({B, N, D}, rng, -2, 2);
    // The aggregator's kind of mask: m_i m_j, so padding rows are fully masked (uniform).
    const float real[B][N] = {{1, 1, 1, 0}, {1, 0, 0, 0}};
    Tensor mask = Tensor::empty({B, 1, N, N});
    for (int64_t b = 0; b < B; ++b)
      for (int64_t i = 0; i < N; ++i)
        for (int64_t j = 0; j < N; ++j) mask[(b * N + i) * N + j] = real[b][i] * real[b][j];
    Var out = layer(Var(x), mask, nn::ForwardContext::inference());
    for (int64_t b = 0; b < B; ++b) {
      const nv::Mat m = nv::to_mat(mask, N, N, b * N);
      const nv::Mat ref = naive_encoder_layer(layer, nv::to_mat(x, N, D, b * N), &m, norm_first);
      CHECK(nv::relative_error(ref, out.value(), b * N * D) < 1e-5);
    }
  }
}

TEST_CASE(
    "encoder stacks independent layers and reports the output of each layer and zero layers is the "
    "identity") {
  Rng rng(37);
  nn::TransformerConfig cfg{D, H, F, 0.0f, true};
  nn::Encoder enc(cfg, 2, rng);
  nv::randomize_parameters(enc, rng);
  Tensor x = nv::random_tensor({1, N, D}, rng, -2, 2);
  std::vector<Var> outs = enc.forward_all(Var(x), Tensor(), nn::ForwardContext::inference());
  REQUIRE(outs.size() == 2);
  nv::Mat h = nv::to_mat(x, N, D);
  for (size_t i = 0; i < 2; ++i) {
    h = naive_encoder_layer(enc.layer(i), h, nullptr, true);
    CHECK(nv::relative_error(h, outs[i].value()) < 1e-5);
  }
  CHECK(nv::relative_error(h, enc(Var(x), Tensor(), nn::ForwardContext::inference()).value()) <
        1e-5);
  // Two layers have distinct parameters (not one shared layer).
  const bool shared = enc.layer(0).self_attn.attn.to_q.weight.node() ==
                      enc.layer(1).self_attn.attn.to_q.weight.node();
  CHECK_FALSE(shared);
  nn::Encoder none(cfg, 0, rng);
  Var id = none(Var(x), Tensor(), nn::ForwardContext::inference());
  CHECK(nv::relative_error(nv::to_mat(x, N, D), id.value()) == 0.0);
}
