// Whole forward passes of the two baselines recomputed naively in double from their parameters
// (the reference files cover CA; Perceiver IO is our own design, tca.md 3, so nothing else checks
// its wiring), and the tokens each query attends to (CA: N, Perceiver IO: L).
#include <doctest/doctest.h>

#include "models/cross_attention_model.hpp"
#include "models/model_test_util.hpp"
#include "models/perceiver_io_model.hpp"
#include "nn/encoder_layer.hpp"
#include "nn/naive_reference.hpp"

using namespace tca;
using namespace tca::testing;
namespace nv = tca::naive;

namespace {

constexpr int64_t kHeads = 2;

nv::Mat ln(const nn::LayerNorm& n, const nv::Mat& x) {
  return nv::layer_norm(x, nv::to_vec(n.weight), nv::to_vec(n.bias));
}

nv::Mat mha(const nn::MultiHeadAttention& a, const nv::Mat& q, const nv::Mat& kv) {
  return nv::attention(q, kv, nv::weight_of(a.to_q.weight), nv::weight_of(a.to_k.weight),
                       nv::weight_of(a.to_v.weight), nv::weight_of(a.to_out.weight),
                       nv::to_vec(a.to_out.bias), kHeads)
      .out;
}

// Pre-norm blocks (tca.md 1): attention LN(x) + MHA(LN(x), c, c); feed-forward LN(x) + FF(LN(x)).
nv::Mat attention_block(const nn::AttentionBlock& blk, const nv::Mat& x, const nv::Mat& ctx) {
  const nv::Mat n = ln(blk.norm, x);
  return nv::add(mha(blk.attn, n, ctx), n);
}
nv::Mat ff_block(const nn::FeedForwardBlock& blk, const nv::Mat& x) {
  const nv::Mat n = ln(blk.norm, x);
  return nv::add(
      nv::feed_forward(n, nv::weight_of(blk.linear1.weight), nv::to_vec(blk.linear1.bias),
                       nv::weight_of(blk.linear2.weight), nv::to_vec(blk.linear2.bias)),
      n);
}
nv::Mat encoder(const nn::Encoder& enc, nv::Mat x) {
  for (size_t i = 0; i < enc.num_layers(); ++i)
    x = ff_block(enc.layer(i).ff, attention_block(enc.layer(i).self_attn, x, x));
  return x;
}
nv::Mat mlp(const nn::Mlp& m, nv::Mat x, bool elu) {
  for (size_t i = 0; i < m.depth(); ++i) {
    if (i > 0) x = nv::map(x, elu ? nv::elu : nv::relu);
    x = nv::linear(x, nv::weight_of(m.layer(i).weight), nv::to_vec(m.layer(i).bias));
  }
  return x;
}

// Context tokens [x, y] of task b, queries x of task b.
nv::Mat context_of(const Batch& batch, int64_t b) {
  const int64_t N = batch.num_context();
  nv::Mat m(N, 2);
  for (int64_t i = 0; i < N; ++i) {
    m(i, 0) = batch.xc[b * N + i];
    m(i, 1) = batch.yc[b * N + i];
  }
  return m;
}

// Gaussian head: mean = out[0], std = exp(out[1]) (dim_y = 1).
void check_gaussian(const Predictions& p, const nv::Mat& out, int64_t b) {
  for (int64_t m = 0; m < out.rows; ++m) {
    const int64_t i = b * out.rows + m;
    CHECK(p.mean[i] == doctest::Approx(out(m, 0)).epsilon(1e-5).scale(1.0));
    CHECK(p.std[i] == doctest::Approx(std::exp(out(m, 1))).epsilon(1e-5));
  }
}

}  // namespace

TEST_CASE(
    "CA forward equals embedder then encoder then LN(q) + MHA(LN(q) E E) then FF block then "
    "predictor in double") {
  Rng init(701), data(702);
  CrossAttentionModel model(tiny_gp_config("ca"), init);
  nv::randomize_parameters(model, init, -0.7, 0.7);
  const int64_t B = 2, N = 6, M = 4;
  Batch batch = gp_batch(B, N, M, data);
  Predictions p = model.predict(batch);
  for (int64_t b = 0; b < B; ++b) {
    const nv::Mat E =
        encoder(model.encoder, mlp(model.context_embedder.mlp, context_of(batch, b), true));
    const nv::Mat q = mlp(model.query_embedder.mlp, nv::to_mat(batch.xt, M, 1, b * M), true);
    const nv::Mat enc = ff_block(model.cross_ff, attention_block(model.cross_attn, q, E));
    check_gaussian(p, mlp(model.predictor, enc, false), b);
  }
  for (int64_t i = 0; i < B * M; ++i) {
    CHECK(p.tokens_attended[i] == static_cast<float>(N));
    CHECK(p.tokens_unmasked[i] == static_cast<float>(N));
  }
}

TEST_CASE(
    "Perceiver IO forward equals latents attending to the context then latent layers then queries "
    "attending to the latents then predictor in double") {
  ModelConfig cfg = tiny_gp_config("perceiver");
  cfg.num_latents = 5;
  cfg.num_latent_layers = 2;
  Rng init(703), data(704);
  PerceiverIoModel model(cfg, init);
  nv::randomize_parameters(model, init, -0.7, 0.7);
  const int64_t B = 2, N = 7, M = 3;
  Batch batch = gp_batch(B, N, M, data);
  Predictions p = model.predict(batch);
  const nv::Mat latents = nv::to_mat(model.latents, cfg.num_latents, cfg.d_model);
  for (int64_t b = 0; b < B; ++b) {
    const nv::Mat ctx = mlp(model.context_embedder.mlp, context_of(batch, b), true);
    const nv::Mat z =
        encoder(model.latent_encoder,
                ff_block(model.encode_ff, attention_block(model.encode_attn, latents, ctx)));
    const nv::Mat q = mlp(model.query_embedder.mlp, nv::to_mat(batch.xt, M, 1, b * M), true);
    const nv::Mat enc = ff_block(model.decode_ff, attention_block(model.decode_attn, q, z));
    check_gaussian(p, mlp(model.predictor, enc, false), b);
  }
  for (int64_t i = 0; i < B * M; ++i) {
    CHECK(p.tokens_attended[i] == 5.0f);
    CHECK(p.tokens_unmasked[i] == 5.0f);
  }
}

TEST_CASE(
    "Perceiver IO latents start as N(0 0.02^2) draws and are shared by every task of a batch") {
  ModelConfig cfg = tiny_gp_config("perceiver");
  cfg.num_latents = 64;
  cfg.d_model = 32;
  cfg.heads = 4;
  Rng init(705);
  PerceiverIoModel model(cfg, init);
  double sum = 0, sum_sq = 0;
  const int64_t n = model.latents.numel();
  for (int64_t i = 0; i < n; ++i) {
    sum += model.latents.value()[i];
    sum_sq += model.latents.value()[i] * model.latents.value()[i];
  }
  const double mean = sum / static_cast<double>(n),
               sd = std::sqrt(sum_sq / static_cast<double>(n) - mean * mean);
  CHECK(std::abs(mean) < 0.002);
  CHECK(sd == doctest::Approx(0.02).epsilon(0.05));
  // Two identical tasks in one batch get identical predictions (no per-task latent state).
  Rng data(706);
  Batch one = gp_batch(1, 5, 2, data);
  Batch two;
  for (auto [dst, src] :
       {std::pair{&two.xc, &one.xc}, {&two.yc, &one.yc}, {&two.xt, &one.xt}, {&two.yt, &one.yt}}) {
    Shape s = src->shape();
    s[0] = 2;
    *dst = Tensor::empty(s);
    for (int64_t i = 0; i < src->numel(); ++i) (*dst)[i] = (*dst)[src->numel() + i] = (*src)[i];
  }
  Predictions p = model.predict(two);
  for (int64_t i = 0; i < 2; ++i) CHECK(p.mean[i] == p.mean[2 + i]);
}
