// The inference paths of the three methods split at the same point, "encoded context given"
// (issue 12 (b), (c)): what each method builds once per context set from the encoded tokens E
// [B, N, D], and how it then answers a batch of queries. Each mirrors the model's own code after
// its encoder (tests/eval/test_bench.cpp checks that the answers equal Model::predict):
//   TCA        TreeCrossAttention::build_index (aggregation + key/value projections into the
//              index), what ReTreeverModel::index does after the encoder; then
//              ReTreeverModel::answer;
//   CA         the key/value projections of E, split into heads, kept like a serving KV cache;
//              answering = CrossAttentionModel::forward after the encoder, attending in chunks of
//              queries so that the [H, queries, N] weights stay within a memory bound;
//   Perceiver  PerceiverIoModel::encode_embedded (the latents attend to E, then the latent
//              layers), then PerceiverIoModel::decode.
#pragma once
#include <cstdint>

#include "autograd/variable.hpp"
#include "core/batch.hpp"
#include "models/cross_attention_model.hpp"
#include "models/perceiver_io_model.hpp"
#include "models/retreever_model.hpp"

namespace tca::bench {

// TCA: the index of encoded context sets is TreeCrossAttention::build_index.

// CA: keys and values of E per head, [B, H, N, dh] each.
struct CaKeyValues {
  Var keys, values;
  int64_t bytes() const;
};
CaKeyValues ca_key_values(const CrossAttentionModel& model, const Var& encoded);
// The predictions for `queries` (xt, and yt or labels for the loss): query embedder, cross
// attention over the cached keys/values `max_weights` floats of attention weights at a time (0 =
// all queries at once), the FF block and the predictor.
TaskOutput ca_answer(const CrossAttentionModel& model, const CaKeyValues& kv, const Batch& queries,
                     int64_t max_weights = 0);
// The bound `tca bench` uses: 2^26 floats (256 MiB) per weights buffer, so 16 queries per chunk at
// N = 2^20 (all 256 queries at once would need 4 GiB per buffer) and no chunking up to N = 2^16.
constexpr int64_t kCaBenchMaxWeights = int64_t{1} << 26;
// Queries per chunk for that bound: max_weights / (H N), at least 1, at most M.
int64_t ca_query_chunk(int64_t heads, int64_t n, int64_t m, int64_t max_weights);

// Perceiver IO: the encoded latents [B, L, D] given the context embeddings E (no grad).
Var perceiver_latents(const PerceiverIoModel& model, const Var& encoded);

}  // namespace tca::bench
