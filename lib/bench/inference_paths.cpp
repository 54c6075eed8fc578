#include "bench/inference_paths.hpp"

#include <algorithm>
#include <vector>

#include "autograd/ops.hpp"

namespace tca::bench {

int64_t CaKeyValues::bytes() const { return 4 * (keys.numel() + values.numel()); }

CaKeyValues ca_key_values(const CrossAttentionModel& model, const Var& encoded) {
  NoGradGuard no_grad;
  const auto& a = model.cross_attn.attn;
  return {a.split_heads(a.project_k(encoded)), a.split_heads(a.project_v(encoded))};
}

int64_t ca_query_chunk(int64_t heads, int64_t n, int64_t m, int64_t max_weights) {
  if (max_weights <= 0) return m;
  return std::clamp<int64_t>(max_weights / std::max<int64_t>(1, heads * n), 1,
                             std::max<int64_t>(1, m));
}

TaskOutput ca_answer(const CrossAttentionModel& model, const CaKeyValues& kv, const Batch& queries,
                     int64_t max_weights) {
  // CrossAttentionModel::forward after the encoder (lib/models/cross_attention_model.cpp), with
  // nn::MultiHeadAttention::operator()'s steps over the cached keys and values (no dropout at
  // inference).
  NoGradGuard no_grad;
  const auto ctx = nn::ForwardContext::inference();
  const auto& a = model.cross_attn.attn;
  Var q = model.query_embedder(Var(queries.xt), ctx);
  Var q_in = model.cross_attn.query_input(q);
  Var qh = a.split_heads(a.project_q(q_in));  // [B, H, M, dh]
  const int64_t M = qh.dim(2), N = kv.keys.dim(2);
  const int64_t chunk = ca_query_chunk(a.heads(), N, M, max_weights);
  std::vector<Var> parts;
  for (int64_t start = 0; start < M; start += chunk) {
    Var qc = chunk >= M ? qh : ops::slice(qh, 2, start, std::min(M, start + chunk));
    Var w = a.attention_weights(qc, kv.keys, Tensor());
    parts.push_back(ops::matmul(w, kv.values));
  }
  Var heads_out = parts.size() == 1 ? parts[0] : ops::concat(parts, 2);
  Var attn_out = a.output(a.merge_heads(heads_out));
  Var u = model.cross_attn.residual(q, q_in, attn_out);
  return model.predictor.task(model.cross_ff(u, ctx), queries);
}

Var perceiver_latents(const PerceiverIoModel& model, const Var& encoded) {
  NoGradGuard no_grad;
  return model.encode_embedded(encoded, nn::ForwardContext::inference());
}

}  // namespace tca::bench
