#include "eval/reference_check.hpp"

#include <cmath>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "eval/reference_comparer.hpp"
#include "io/hdf5_file.hpp"
#include "models/cross_attention_model.hpp"
#include "models/official_names.hpp"
#include "models/retreever_model.hpp"
#include "train/memory_estimate.hpp"

namespace tca {
using io::H5File;

const char* to_string(Tolerance t) {
  switch (t) {
    case Tolerance::activation:
      return "activation";
    case Tolerance::scalar:
      return "scalar";
    case Tolerance::gradient:
      return "gradient";
    case Tolerance::exact:
      return "exact";
  }
  return "?";
}

double ReferenceRow::relative_error() const {
  double floor = 0;
  switch (tolerance) {
    case Tolerance::activation:
      floor = 1e-6 / 1e-4;
      break;
    case Tolerance::scalar:
      floor = 1e-5 / 1e-4;
      break;
    case Tolerance::gradient:
      floor = 1e-7 / 1e-3;
      break;
    case Tolerance::exact:
      floor = 1;
      break;
  }
  return max_abs_error / std::max(max_abs_ref, floor);
}

bool ReferenceReport::ok() const { return failures() == 0 && !rows.empty(); }
int ReferenceReport::failures() const {
  int n = 0;
  for (auto& r : rows) n += !r.ok;
  return n;
}
double ReferenceReport::worst(Tolerance t) const {
  double w = 0;
  for (auto& r : rows)
    if (r.tolerance == t) w = std::max(w, r.relative_error());
  return w;
}

namespace {

Tensor tensor_from(const std::vector<double>& v, const Shape& s) {
  Tensor t = Tensor::empty(s);
  for (size_t i = 0; i < v.size(); ++i) t[static_cast<int64_t>(i)] = static_cast<float>(v[i]);
  return t;
}

ModelConfig config_from_file(const H5File& f, const std::string& path) {
  const std::string cfg_text = f.attr_string("config_json");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(cfg_text);
  } catch (const nlohmann::json::exception& e) {
    throw InputError(path, "config_json", "unreadable attribute", "JSON", e.what());
  }
  auto need = [&](const char* key) -> const nlohmann::json& {
    if (!j.contains(key))
      throw InputError(path, std::string("config_json.") + key, "missing key", "present", "absent");
    return j.at(key);
  };
  // A name from the file, as one of `table`'s values (InputError naming the key otherwise).
  auto named = [&](const char* key, const auto& table) {
    const std::string name = need(key).template get<std::string>();
    const auto value = find_named(table, name);
    if (!value)
      throw InputError(path, std::string("config_json.") + key, "unknown value", names_list(table),
                       "\"" + name + "\"");
    return *value;
  };
  ModelConfig c;
  const std::string decoder = need("decoder_type").get<std::string>();
  if (decoder != "tca" && decoder != "ca")
    throw InputError(path, "config_json.decoder_type", "unsupported decoder", "tca or ca", decoder);
  c.model = model_kind_from_string(decoder);
  c.d_model = need("d_model").get<int64_t>();
  c.heads = need("nhead").get<int64_t>();
  c.dim_feedforward = need("dim_feedforward").get<int64_t>();
  c.num_layers =
      need("encoder_type").get<std::string>() == "constant" ? 0 : need("num_layers").get<int>();
  c.emb_depth = need("emb_depth").get<int>();
  c.dropout = need("dropout").get<float>();
  c.norm_first = need("norm_first").get<bool>();
  c.branch_factor = need("branch_factor").get<int64_t>();
  c.aggregation_layers = need("num_aggregation_layers").get<int>();
  c.bptt = need("bptt").get<bool>();
  c.ca_loss_weight = need("ca_loss_weight").get<float>();
  c.rl_loss_weight = need("rl_loss_weight").get<float>();
  c.entropy_bonus = need("entropy_bonus_weight").get<float>();
  c.reward = named("classification_rew_type", kClassificationRewardNames);
  c.heuristic = named("heuristic", kContextOrderingNames);
  c.dim_x = need("dim_x").get<int64_t>();
  c.dim_y = need("dim_y").get<int64_t>();
  c.is_metalearning = need("is_metalearning").get<bool>();
  c.is_sequential = need("is_sequential_data").get<bool>();
  c.bound_std = need("bound_std").get<bool>();
  const std::string loss = need("loss").get<std::string>();
  if (loss == "ce") {
    c.loss = TaskLoss::classification;
    c.num_classes = c.dim_y;  // one-hot targets
  } else if (loss == "nll") {
    c.loss = TaskLoss::gaussian_nll;
  } else if (loss == "mse") {
    c.loss = TaskLoss::mse;
  } else {
    throw InputError(path, "config_json.loss", "unsupported loss", "ce, nll or mse", loss);
  }
  return c;
}

// Labels = argmax of one-hot rows [B, M, C].
Tensor argmax_labels(const Tensor& onehot) {
  const int64_t C = onehot.dim(-1), R = onehot.numel() / C;
  Tensor lab = Tensor::empty({onehot.dim(0), onehot.dim(1)}, DType::i32);
  for (int64_t r = 0; r < R; ++r) {
    int64_t best = 0;
    for (int64_t c = 1; c < C; ++c)
      if (onehot[r * C + c] > onehot[r * C + best]) best = c;
    lab.data_i32()[r] = static_cast<int32_t>(best);
  }
  return lab;
}

// [B, H, M, X] -> [B, M, H, X]
Tensor swap_heads_queries(const Tensor& t) {
  const int64_t B = t.dim(0), H = t.dim(1), M = t.dim(2), X = t.dim(3);
  Tensor out = Tensor::empty({B, M, H, X});
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t m = 0; m < M; ++m)
        for (int64_t x = 0; x < X; ++x)
          out[((b * M + m) * H + h) * X + x] = t[((b * H + h) * M + m) * X + x];
  return out;
}

void compare_common(ReferenceComparer& c, const Var& ctx, const Var& q,
                    const std::vector<Var>& layers, const Var& E, const Var& qn) {
  c.compare("activations/context_embeddings", ctx, Tolerance::activation);
  c.compare("activations/query_embeddings", q, Tolerance::activation);
  for (size_t i = 0; i < layers.size(); ++i)
    c.compare("activations/encoder/layer" + std::to_string(i) + "_out", layers[i],
              Tolerance::activation);
  c.compare("activations/encoder_output", E, Tolerance::activation);
  c.compare("activations/query_normed", qn, Tolerance::activation);
}

// The task-specific prediction datasets of a branch ("eval/", "train/" or "train/leaf_").
void compare_task(ReferenceComparer& c, const std::string& prefix, const TaskOutput& t,
                  const ModelConfig& cfg) {
  c.compare(prefix + "predictor_out", t.output, Tolerance::activation);
  const int64_t R = t.per_target.numel();
  std::vector<double> per(static_cast<size_t>(R));
  if (cfg.loss == TaskLoss::classification) {
    c.compare(prefix + "logits", t.logits, Tolerance::activation);
    for (int64_t r = 0; r < R; ++r) per[static_cast<size_t>(r)] = t.per_target[r];
    c.compare(prefix + "ce_per_target", per, Tolerance::activation);
  } else {
    c.compare(prefix + "mean", t.mean, Tolerance::activation);
    c.compare(prefix + "std", t.std, Tolerance::activation);
    for (int64_t r = 0; r < R; ++r) per[static_cast<size_t>(r)] = -t.per_target[r];
    c.compare(prefix + "tar_ll_per_target", per, Tolerance::activation);
  }
}

void compare_task_scalars(ReferenceComparer& c, const std::string& prefix, const TaskOutput& t,
                          const ModelConfig& cfg) {
  if (cfg.loss == TaskLoss::classification) {
    c.compare_scalar(prefix + "ce", t.loss.item());
    c.compare_scalar(prefix + "acc", t.metric);
  } else {
    c.compare_scalar(prefix + "tar_ll", t.metric);
  }
}

// Compares the gradients stored under `group` ("grads" or "grads_by_term/<term>").
void compare_grads(ReferenceComparer& c, const H5File& f, const Model& model, bool sequential,
                   const std::string& group = "grads") {
  std::map<std::string, Var> ours;
  for (auto& [name, v] : model.named_parameters()) ours[name] = v;
  for (const std::string& official : f.list("/" + group)) {
    const std::string key = group + "/" + official;
    const std::string mine = official_to_our_name(official, sequential);
    if (mine.empty()) {  // a parameter the official model never uses: its gradient must be zero
      c.compare(key, std::vector<double>(static_cast<size_t>(f.dataset_info(key).numel()), 0.0),
                Tolerance::gradient);
      continue;
    }
    auto it = ours.find(mine);
    if (it == ours.end())
      throw InputError(f.path(), key, "no parameter of ours for this gradient", mine, "absent");
    Tensor g = it->second.grad().defined() ? it->second.grad() : Tensor::zeros(it->second.shape());
    c.compare(key, g, Tolerance::gradient);
  }
}

// The descent's per-decision data laid out as the reference stores it ([B, M, k, ...]).
void compare_descent(ReferenceComparer& c, const std::string& prefix, const TcaTree& tree,
                     const Descent& d, const Var& set_weights, int64_t H) {
  const TreeShape& s = tree.shape;
  const int64_t Q = d.actions.dim(0), k = s.k, b = s.b, L = s.set_slots();
  const int64_t Ntot = s.memory_size(), D = tree.keys.dim(1), M = Q / tree.batch;
  std::vector<double> probs, per_head, children, child_mask, path, leaf, logp_level, entropy,
      s_index, s_emb;
  const float* mem = tree.memory.value().data();  // levels 1..k then leaves: rebuilds S_emb
  for (int64_t q = 0; q < Q; ++q) {
    int64_t node = 0;
    for (int64_t i = 0; i < k; ++i) {
      const float* pi = d.policy[static_cast<size_t>(i)].value().data() + q * b;
      const float* w = d.policy_per_head[static_cast<size_t>(i)].value().data() + q * H * b;
      const int64_t a = d.actions.data_i32()[q * k + i];
      for (int64_t j = 0; j < b; ++j) {
        probs.push_back(pi[j]);
        children.push_back(static_cast<double>(node * b + j));
        const int64_t bi = q / M;
        child_mask.push_back(
            tree.level_masks[static_cast<size_t>(i + 1)][bi * s.nodes_at(i + 1) + node * b + j]);
      }
      for (int64_t h = 0; h < H; ++h)
        for (int64_t j = 0; j < b; ++j) per_head.push_back(w[h * b + j]);
      logp_level.push_back(std::log(static_cast<double>(pi[a])));
      node = node * b + a;
      path.push_back(static_cast<double>(node));
    }
    leaf.push_back(static_cast<double>(node));
    for (int64_t h = 0; h < H; ++h)
      for (int64_t i = 0; i < k; ++i) {
        const float* w = d.policy_per_head[static_cast<size_t>(i)].value().data() + (q * H + h) * b;
        double e = 0;
        for (int64_t j = 0; j < b; ++j) e -= w[j] * std::log(static_cast<double>(w[j]) + 1e-9);
        entropy.push_back(e);
      }
    for (int64_t slot = 0; slot < L; ++slot) {
      const int64_t row = d.set_rows.data_i32()[q * L + slot];
      const int64_t within = row % Ntot;
      const int64_t level = slot < k * b ? slot / b + 1 : k + 1;
      s_index.push_back(static_cast<double>(within - s.memory_offset(level)));
      for (int64_t x = 0; x < D; ++x) s_emb.push_back(mem[row * D + x]);
    }
  }
  c.compare(prefix + "policy_probs", probs, Tolerance::activation);
  c.compare(prefix + "policy_probs_per_head", per_head, Tolerance::activation);
  c.compare(prefix + "policy_children", children, Tolerance::exact);
  c.compare(prefix + "policy_children_mask", child_mask, Tolerance::exact);
  c.compare(prefix + "actions", d.actions, Tolerance::exact);
  c.compare(prefix + "path_nodes", path, Tolerance::exact);
  c.compare(prefix + "leaf", leaf, Tolerance::exact);
  c.compare(prefix + "S_index", s_index, Tolerance::exact);
  c.compare(prefix + "S_mask", d.set_mask, Tolerance::exact);
  c.compare(prefix + "S_emb", s_emb, Tolerance::activation);
  std::vector<double> count(static_cast<size_t>(Q), 0.0);
  for (int64_t q = 0; q < Q; ++q)
    for (int64_t j = 0; j < L; ++j) count[static_cast<size_t>(q)] += d.set_mask[q * L + j];
  c.compare(prefix + "num_tokens_attended", count, Tolerance::exact);
  if (set_weights.defined())
    c.compare(prefix + "S_attn_per_head", set_weights, Tolerance::activation);
  if (prefix == "train/") {
    c.compare(prefix + "log_action_probs_per_level", logp_level, Tolerance::activation);
    c.compare(prefix + "log_action_probs", d.log_prob, Tolerance::activation);
    double mean_lp = 0;
    for (int64_t q = 0; q < Q; ++q) mean_lp += d.log_prob.value()[q];
    c.compare_scalar(prefix + "log_action_probs_mean", mean_lp / static_cast<double>(Q));
    c.compare(prefix + "entropy_per_head_level", entropy, Tolerance::activation);
    c.compare_scalar(prefix + "entropy_bonus", d.entropy.item());
  }
}

void check_tca(ReferenceComparer& c, const H5File& f, ReferenceCase& rc) {
  auto& model = dynamic_cast<ReTreeverModel&>(*rc.model);
  const ModelConfig& cfg = rc.config;
  // Eval mode: the greedy descent.
  RetreeverTrace ev;
  {
    NoGradGuard no_grad;
    model.forward(rc.batch, nn::ForwardContext::inference(), TcaPath::greedy(), &ev);
  }
  compare_common(c, ev.context_embeddings, ev.query_embeddings, ev.encoder_layers,
                 ev.encoder_output, ev.decoder.query_normed);
  c.compare("activations/tree/leaves", ev.decoder.tree.leaves, Tolerance::activation);
  c.compare("activations/tree/leaves_mask", ev.decoder.tree.leaves_mask, Tolerance::exact);
  for (int64_t l = 0; l <= ev.decoder.tree.shape.k; ++l) {
    c.compare("activations/tree/level_" + std::to_string(l),
              ev.decoder.tree.levels[static_cast<size_t>(l)], Tolerance::activation);
    c.compare("activations/tree/level_" + std::to_string(l) + "_mask",
              ev.decoder.tree.level_masks[static_cast<size_t>(l)], Tolerance::exact);
  }
  if (ev.decoder.tree.shape.k > 0)
    compare_descent(c, "eval/", ev.decoder.tree, ev.decoder.descent, Var(), cfg.heads);
  c.compare("eval/pred_emb", ev.decoder.pred_emb, Tolerance::activation);
  c.compare("eval/encoding", ev.decoder.encoding, Tolerance::activation);
  compare_task(c, "eval/", ev.tca, cfg);
  compare_task_scalars(c, "eval/", ev.tca, cfg);
  c.compare_scalar("eval/tca_loss", ev.tca.loss.item());
  c.compare_scalar("eval/loss", ev.tca.loss.item());
  // The inference path users run (build the index once, answer from it) must agree too.
  Predictions fast = model.predict(rc.batch);
  const std::string tag = " [index path]";
  if (cfg.loss == TaskLoss::classification) {
    c.compare("eval/logits", fast.logits, Tolerance::activation, "eval/logits" + tag);
  } else {
    c.compare("eval/mean", fast.mean, Tolerance::activation, "eval/mean" + tag);
    c.compare("eval/std", fast.std, Tolerance::activation, "eval/std" + tag);
  }
  c.compare("eval/num_tokens_attended", fast.tokens_unmasked, Tolerance::exact,
            "eval/num_tokens_attended" + tag);

  // Train mode: the recorded path, every loss term and the gradients.
  model.zero_grad();
  RetreeverTrace tr;
  Rng rng(0);
  LossOutput out = model.forward(rc.batch, nn::ForwardContext::training(rng),
                                 TcaPath::given(rc.forced_actions), &tr);
  out.total.backward();
  compare_descent(c, "train/", tr.decoder.tree, tr.decoder.descent, tr.decoder.set_weights,
                  cfg.heads);
  c.compare("train/pred_emb", tr.decoder.pred_emb, Tolerance::activation);
  c.compare("train/encoding", tr.decoder.encoding, Tolerance::activation);
  compare_task(c, "train/", tr.tca, cfg);
  compare_task_scalars(c, "train/", tr.tca, cfg);
  c.compare("train/leaf_pred_emb", tr.decoder.leaf_pred_emb, Tolerance::activation);
  c.compare("train/leaf_encoding", tr.decoder.leaf_encoding, Tolerance::activation);
  c.compare("train/leaf_attn_per_head", swap_heads_queries(tr.decoder.leaf_weights.value()),
            Tolerance::activation);
  compare_task(c, "train/leaf_", tr.leaf, cfg);
  c.compare("train/rl_reward", tr.tca.reward, Tolerance::activation);
  c.compare_scalar("train/rl_baseline", tr.tca.baseline);
  c.compare_scalar("train/tca_loss", out.terms.at("tca_loss"));
  c.compare_scalar("train/tca_leaf_loss", out.terms.at("ca_loss"));
  c.compare_scalar("train/rl_reinforce", out.terms.at("rl_reinforce"));
  c.compare_scalar("train/rl_loss", out.terms.at("rl_loss"));
  c.compare_scalar("train/loss", out.terms.at("loss"));
  compare_grads(c, f, model, cfg.is_sequential);

  // The gradient of each loss term alone (grads_by_term), which localises a mismatch.
  const char* terms[] = {"tca_loss", "tca_leaf_loss", "rl_loss", "rl_reinforce", "entropy_bonus"};
  for (const char* term : terms) {
    if (!f.is_group(std::string("/grads_by_term/") + term)) continue;
    model.zero_grad();
    RetreeverTrace t;
    Rng r(0);
    model.forward(rc.batch, nn::ForwardContext::training(r), TcaPath::given(rc.forced_actions), &t);
    const std::string name = term;
    Var v = name == "tca_loss"        ? t.tca.loss
            : name == "tca_leaf_loss" ? t.leaf.loss
            : name == "rl_loss"       ? t.rl_loss
            : name == "rl_reinforce"  ? t.rl_reinforce
                                      : t.decoder.descent.entropy;
    v.backward();
    compare_grads(c, f, model, cfg.is_sequential, "grads_by_term/" + name);
  }
}

void check_ca(ReferenceComparer& c, const H5File& f, ReferenceCase& rc) {
  auto& model = dynamic_cast<CrossAttentionModel&>(*rc.model);
  const ModelConfig& cfg = rc.config;
  model.zero_grad();
  CrossAttentionTrace tr;
  Rng rng(0);
  // Dropout is 0 in the reference files, so the training forward is also the eval forward.
  TaskOutput t = model.forward(rc.batch, nn::ForwardContext::training(rng), &tr);
  t.loss.backward();
  compare_common(c, tr.context_embeddings, tr.query_embeddings, tr.encoder_layers,
                 tr.encoder_output, tr.query_normed);
  c.compare("activations/ca_attn_out", tr.attn_out, Tolerance::activation);
  c.compare("activations/ca_attn_per_head", swap_heads_queries(tr.attn_weights_per_head.value()),
            Tolerance::activation);
  c.compare("activations/encoding", tr.encoding, Tolerance::activation);
  compare_task(c, "eval/", t, cfg);
  compare_task_scalars(c, "eval/", t, cfg);
  c.compare_scalar("eval/loss", t.loss.item());
  compare_task_scalars(c, "train/", t, cfg);
  c.compare_scalar("train/loss", t.loss.item());
  compare_grads(c, f, model, cfg.is_sequential);
}

}  // namespace

ReferenceCase load_reference_case(const std::string& path) {
  H5File f = H5File::open_read(path);
  for (const char* attr : {"config_json", "B", "N", "M"})
    if (!f.has_attr(attr))
      throw InputError(path, std::string("attribute ") + attr, "not a reference file", "present",
                       "absent");
  for (const char* group : {"/params", "/inputs", "/grads", "/eval", "/train"})
    if (!f.is_group(group))
      throw InputError(path, group, "not a reference file", "a group", "absent");
  ReferenceCase rc;
  try {
    rc.config = config_from_file(f, path);
  } catch (const nlohmann::json::exception& e) {
    // A key of the wrong JSON type (a string for d_model) is malformed input, not exit 1.
    throw InputError(path, "config_json", "bad value in the model config",
                     "the official config's types", e.what());
  }
  try {
    rc.config.validate();
  } catch (const UsageError& e) {
    throw InputError(path, "config_json", e.what(), "", "");
  }
  require_memory(model_parameter_bytes(rc.config), "the model of " + path + ":config_json",
                 "d_model " + std::to_string(rc.config.d_model) + ", num_layers " +
                     std::to_string(rc.config.num_layers) + ", dim_feedforward " +
                     std::to_string(rc.config.dim_feedforward));
  Rng init(0);
  rc.model = make_model(rc.config, init);
  // Weights: every official parameter through the name map; every one of ours must be loaded.
  std::map<std::string, Var> ours;
  for (auto& [name, v] : rc.model->named_parameters()) ours[name] = v;
  size_t loaded = 0;
  for (const std::string& official : f.list("/params")) {
    const std::string mine = official_to_our_name(official, rc.config.is_sequential);
    if (mine.empty()) continue;
    auto it = ours.find(mine);
    if (it == ours.end())
      throw InputError(path, "params/" + official, "no parameter of ours for this name", mine,
                       "absent");
    Shape shape;
    std::vector<double> v = f.read<double>("params/" + official, &shape);
    if (shape != it->second.shape())
      throw InputError(path, "params/" + official, "parameter shape differs",
                       to_string(it->second.shape()), to_string(shape));
    it->second.mutable_value().copy_from(tensor_from(v, shape));
    ++loaded;
  }
  if (loaded != ours.size())
    throw InputError(path, "params", "not every parameter of the model is in the file",
                     std::to_string(ours.size()) + " parameters", std::to_string(loaded));
  // Inputs.
  auto read = [&](const std::string& name) {
    Shape s;
    std::vector<double> v = f.read<double>(name, &s);
    return tensor_from(v, s);
  };
  rc.batch.xc = read("inputs/xc");
  rc.batch.xt = read("inputs/xt");
  if (rc.config.loss == TaskLoss::classification) {
    rc.batch.labels = argmax_labels(read("inputs/yt"));
  } else {
    rc.batch.yc = read("inputs/yc");
    rc.batch.yt = read("inputs/yt");
  }
  if (rc.config.model == ModelKind::tca) {
    Shape s;
    std::vector<int64_t> a = f.read<int64_t>("train/actions", &s);
    rc.forced_actions = Tensor::empty(s, DType::i32);
    for (size_t i = 0; i < a.size(); ++i)
      rc.forced_actions.data_i32()[i] = static_cast<int32_t>(a[i]);
  }
  return rc;
}

ReferenceReport check_reference_file(const std::string& path) {
  ReferenceCase rc = load_reference_case(path);
  H5File f = H5File::open_read(path);
  ReferenceReport report;
  report.file = path;
  report.model = to_string(rc.config.model);
  ReferenceComparer c(f, report);
  if (rc.config.model == ModelKind::tca)
    check_tca(c, f, rc);
  else
    check_ca(c, f, rc);
  return report;
}

}  // namespace tca
