// The one name map from the official PyTorch implementation's state-dict names
// (BorealisAI/tree-cross-attention; reference README section 3) to our parameter names.
// Both use PyTorch's layouts (Linear weight [out, in]), so loading is a rename, never a transpose.
//
//   official                                              ours
//   embedder.{2j}.*               (GP, images)            context_embedder.mlp.layer{j}.*
//   embedder.0.{2j}.* / embedder.2.{2j}.*  (copy task)    context_embedder.mlp.layer{j}.* /
//   .seq_mlp.layer{j}.* query_embedder.*              (same rules)            query_embedder.*
//   encoder.layers.{i}.dataset_self_attn.norm.*           encoder.layer{i}.self_attn.norm.*
//   encoder.layers.{i}.dataset_self_attn.fn.to_{q,k,v,out}.* encoder.layer{i}.self_attn.attn.to_*.*
//   encoder.layers.{i}.ff.norm.*                          encoder.layer{i}.ff.norm.*
//   encoder.layers.{i}.ff.fn.net.0.* / net.2.*            encoder.layer{i}.ff.linear1.* / linear2.*
//   processor.memory_block.aggregator.encoder.layers.{j}.<as encoder>
//   decoder.aggregator.layer{j}.<...> processor.memory_block.query_model.{norm,fn.to_*}.*
//   decoder.query_attn.{norm,attn.to_*}.*
//   processor.memory_block.query_ff.{norm,fn.net.0,fn.net.2}.*
//   decoder.query_ff.{norm,linear1,linear2}.* processor.memory_block.cross_attention.*    (CA)
//   decoder.cross_attn.*  (as query_model) processor.memory_block.cross_attention_ff.* (CA)
//   decoder.cross_ff.*    (as query_ff) predictor.0.* / predictor.2.* predictor.layer0.* /
//   predictor.layer1.* norm.*  (built but never applied by the official model)   -- no counterpart
//   (returns "")
#pragma once
#include <string>

namespace tca {

// Our name for an official parameter name; "" for parameters we do not have (norm.*).
// Throws InputError for a name that fits no rule. `sequential`: the copy task's embedder layout.
std::string official_to_our_name(const std::string& official, bool sequential);

}  // namespace tca
