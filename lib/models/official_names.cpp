#include "models/official_names.hpp"

#include <regex>

#include "core/error.hpp"

namespace tca {
namespace {

// Sequential index 2j (Linear layers between activations) -> j.
std::string seq_index(const std::string& s) { return std::to_string(std::stoi(s) / 2); }

// Sub-names inside an attention block / feed-forward block / encoder layer.
std::string attention_block(const std::string& rest) {
  std::smatch m;
  if (std::regex_match(rest, m, std::regex(R"(norm\.(weight|bias))"))) return "norm." + m[1].str();
  if (std::regex_match(rest, m, std::regex(R"(fn\.(to_q|to_k|to_v|to_out)\.(weight|bias))")))
    return "attn." + m[1].str() + "." + m[2].str();
  return "";
}
std::string ff_block(const std::string& rest) {
  std::smatch m;
  if (std::regex_match(rest, m, std::regex(R"(norm\.(weight|bias))"))) return "norm." + m[1].str();
  if (std::regex_match(rest, m, std::regex(R"(fn\.net\.([02])\.(weight|bias))")))
    return (m[1].str() == "0" ? "linear1." : "linear2.") + m[2].str();
  return "";
}
std::string encoder_layer(const std::string& rest) {
  std::smatch m;
  if (std::regex_match(rest, m, std::regex(R"(dataset_self_attn\.(.*))"))) {
    auto r = attention_block(m[1].str());
    return r.empty() ? "" : "self_attn." + r;
  }
  if (std::regex_match(rest, m, std::regex(R"(ff\.(.*))"))) {
    auto r = ff_block(m[1].str());
    return r.empty() ? "" : "ff." + r;
  }
  return "";
}

}  // namespace

std::string official_to_our_name(const std::string& name, bool sequential) {
  std::smatch m;
  std::string out;
  if (std::regex_match(name, std::regex(R"(norm\.(weight|bias))"))) return "";
  if (std::regex_match(name, m, std::regex(R"((embedder|query_embedder)\.(.*))"))) {
    const std::string who = m[1].str() == "embedder" ? "context_embedder" : "query_embedder";
    const std::string rest = m[2].str();
    std::smatch r;
    if (!sequential && std::regex_match(rest, r, std::regex(R"((\d+)\.(weight|bias))")))
      out = who + ".mlp.layer" + seq_index(r[1].str()) + "." + r[2].str();
    else if (sequential && std::regex_match(rest, r, std::regex(R"(([02])\.(\d+)\.(weight|bias))")))
      out = who + (r[1].str() == "0" ? ".mlp.layer" : ".seq_mlp.layer") + seq_index(r[2].str()) +
            "." + r[3].str();
  } else if (std::regex_match(name, m, std::regex(R"(encoder\.layers\.(\d+)\.(.*))"))) {
    auto r = encoder_layer(m[2].str());
    if (!r.empty()) out = "encoder.layer" + m[1].str() + "." + r;
  } else if (std::regex_match(
                 name, m,
                 std::regex(
                     R"(processor\.memory_block\.aggregator\.encoder\.layers\.(\d+)\.(.*))"))) {
    auto r = encoder_layer(m[2].str());
    if (!r.empty()) out = "decoder.aggregator.layer" + m[1].str() + "." + r;
  } else if (std::regex_match(
                 name, m,
                 std::regex(R"(processor\.memory_block\.(query_model|cross_attention)\.(.*))"))) {
    auto r = attention_block(m[2].str());
    if (!r.empty())
      out = (m[1].str() == "query_model" ? "decoder.query_attn." : "decoder.cross_attn.") + r;
  } else if (std::regex_match(
                 name, m,
                 std::regex(R"(processor\.memory_block\.(query_ff|cross_attention_ff)\.(.*))"))) {
    auto r = ff_block(m[2].str());
    if (!r.empty())
      out = (m[1].str() == "query_ff" ? "decoder.query_ff." : "decoder.cross_ff.") + r;
  } else if (std::regex_match(name, m, std::regex(R"(predictor\.(\d+)\.(weight|bias))"))) {
    out = "predictor.layer" + seq_index(m[1].str()) + "." + m[2].str();
  }
  if (out.empty()) throw InputError("unknown official parameter name '" + name + "'");
  return out;
}

}  // namespace tca
