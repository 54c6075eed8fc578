// `tca show --run RUN_DIR --data FILE.h5 [--task-index I] [--queries ...] [--compare RUN_DIR ...]
// --out FILE.png|svg [--tree-out FILE] [--json FILE]` (issue 22): what a TCA run's queries
// attended to, drawn for one task of a task file: image completion (context, target, prediction;
// per query TCA's retrieved set on the image beside CA's attention map), GP regression (context,
// targets, each method's mean +/- 2 std, the context points TCA retrieved for a query x), copy and
// time series (a tokens x queries grid of the retrieved sets), and the tree of the context set
// (one query's path and the policy at each level). --json writes the retrieved sets drawn (the
// context tokens of each query's leaf and siblings) and each query's policy at every level, so
// they can be checked as data.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>
#include <sstream>

#include "command.hpp"
#include "core/error.hpp"
#include "data/task_file_reader.hpp"
#include "io/hdf5_file.hpp"
#include "io/json_io.hpp"
#include "models/cross_attention_model.hpp"
#include "models/retreever_model.hpp"
#include "models/retrieved_set.hpp"
#include "models/tree_ordering.hpp"
#include "options.hpp"
#include "run_model.hpp"
#include "viz/retrieval_pictures.hpp"

namespace tca::cli {

namespace {

using nlohmann::json;

// Row `t` of every tensor of a batch: a batch of one task.
Tensor row_of(const Tensor& x, int64_t t) {
  if (!x.defined()) return Tensor();
  Shape s = x.shape();
  const int64_t per = x.numel() / s[0];
  s[0] = 1;
  Tensor out = Tensor::empty(s, x.dtype());
  std::copy_n(reinterpret_cast<const char*>(x.raw()) + t * per * 4, per * 4,
              reinterpret_cast<char*>(out.raw()));
  return out;
}

Batch task_of(const data::TaskFileReader& reader, int64_t task) {
  int64_t first = 0;
  for (int64_t j = 0; j < reader.num_batches(); ++j) {
    const int64_t n = reader.batch_size(j);
    if (task < first + n) {
      const Batch b = reader.read_batch(j);
      return Batch{row_of(b.xc, task - first), row_of(b.yc, task - first),
                   row_of(b.xt, task - first), row_of(b.yt, task - first),
                   row_of(b.labels, task - first)};
    }
    first += n;
  }
  throw UsageError(fmt::format("--task-index {}: {} holds tasks 0..{}", task, reader.path(),
                               reader.num_tasks() - 1));
}

// The same context with other queries (xt [1, M, dim_x]); targets zero (only predictions are used).
Batch with_queries(const Batch& b, const Tensor& xt) {
  Batch q = b;
  q.xt = xt;
  const int64_t m = xt.dim(1);
  if (b.yt.defined()) q.yt = Tensor::zeros({1, m, b.yt.dim(2)});
  if (b.labels.defined()) q.labels = Tensor::zeros({1, m}, DType::i32);
  return q;
}

// The retrieved sets of every query of `batch` (one task) on TCA's greedy path, and the policy.
struct TcaView {
  TreeShape shape;
  std::vector<RetrievedSet> sets;
  // Per query, per level 1..k: the policy over the b children (what the greedy descent took the
  // argmax of); empty when the trace has none. A probability near 1 on the wrong child is a
  // policy that sampling will not correct (results/copy/diagnostics).
  std::vector<std::vector<std::vector<double>>> policy;
  Predictions predictions;
};

// On the inference path users run (tca.md 4.5): the index of the context set, then the queries
// answered from it with the retrieval traced; the context order is the one the index was built on.
TcaView tca_view(ReTreeverModel& model, const Batch& batch) {
  RetreeverAnswerTrace trace;
  TcaView v;
  v.predictions = model.answer(model.index(batch), batch, TcaReadout::greedy, &trace);
  v.shape = TreeShape(batch.num_context(), model.config().branch_factor);
  std::vector<int64_t> order;
  if (model.config().heuristic != ContextOrdering::none) {
    const Tensor perm = context_order(batch.xc, model.config().heuristic);
    for (int64_t i = 0; i < perm.numel(); ++i) order.push_back(perm.data_i32()[i]);
  }
  const int64_t m = batch.num_targets(), k = v.shape.k, b = v.shape.b;
  const Retrieval& r = trace.retrieval;
  for (int64_t q = 0; q < m; ++q) {
    std::vector<int64_t> path;
    for (int64_t l = 0; l < k; ++l) path.push_back(r.actions.data_i32()[q * k + l]);
    v.sets.push_back(describe_retrieved_set(v.shape, path, order));
  }
  if (r.policy.defined()) {
    for (int64_t q = 0; q < m; ++q) {
      std::vector<std::vector<double>> levels;
      for (int64_t l = 0; l < k; ++l) {
        std::vector<double> p;
        for (int64_t c = 0; c < b; ++c) p.push_back(r.policy[(q * k + l) * b + c]);  // [Q, k, b]
        levels.push_back(p);
      }
      v.policy.push_back(levels);
    }
  }
  return v;
}

viz::RetrievalMarks marks_of(const RetrievedSet& s) {
  viz::RetrievalMarks m;
  m.leaf = s.leaf_tokens;
  for (const auto& sib : s.siblings) m.siblings.push_back(sib.tokens);
  return m;
}

json sets_json(const TcaView& view, const std::vector<std::string>& labels) {
  json out = json::array();
  for (size_t i = 0; i < view.sets.size(); ++i) {
    const RetrievedSet& set = view.sets[i];
    json sibs = json::array();
    for (const auto& s : set.siblings)
      sibs.push_back({{"level", s.level}, {"node", s.node}, {"tokens", s.tokens}});
    json q = {{"query", labels[i]},
              {"path", set.path},
              {"leaf", set.leaf},
              {"leaf_tokens", set.leaf_tokens},
              {"siblings", sibs}};
    if (i < view.policy.size()) q["policy"] = view.policy[i];
    out.push_back(q);
  }
  return out;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  std::stringstream in(s);
  for (std::string p; std::getline(in, p, sep);) {
    if (!p.empty()) parts.push_back(p);
  }
  return parts;
}

int64_t parse_int(const std::string& s, const std::string& what) {
  try {
    size_t used = 0;
    const long long v = std::stoll(s, &used);
    if (used == s.size()) return v;
  } catch (const std::exception&) {
  }
  throw UsageError("--queries: " + what + ": expected an integer, found '" + s + "'");
}

// Image size from the file's source attribute, else from the spacing of the coordinates.
std::pair<int64_t, int64_t> image_size(const data::TaskFileReader& reader, const Batch& b) {
  const io::H5File f = io::H5File::open_read(reader.path());
  if (f.has_attr("source")) {
    const std::string src = f.attr_string("source");
    if (src == "fashion-mnist" || src == "emnist") return {28, 28};
    if (src == "celeba") return {32, 32};
  }
  // x = 2 r / (H - 1) - 1: the smallest gap between distinct coordinates is 2 / (H - 1).
  auto side = [&](int axis) {
    std::set<float> v;
    for (const Tensor* t : {&b.xc, &b.xt}) {
      for (int64_t i = 0; i < t->dim(1); ++i) v.insert((*t)[i * 2 + axis]);
    }
    double gap = 2;
    for (auto it = std::next(v.begin()); it != v.end() && v.size() > 1; ++it)
      gap = std::min(gap, static_cast<double>(*it - *std::prev(it)));
    return static_cast<int64_t>(std::llround(2 / gap)) + 1;
  };
  return {side(0), side(1)};
}

int64_t pixel_of(const Tensor& x, int64_t row, int64_t h, int64_t w) {
  const int64_t r = std::llround((x[row * 2] + 1) / 2 * static_cast<double>(h - 1));
  const int64_t c = std::llround((x[row * 2 + 1] + 1) / 2 * static_cast<double>(w - 1));
  return std::clamp<int64_t>(r, 0, h - 1) * w + std::clamp<int64_t>(c, 0, w - 1);
}

std::vector<LoadedRun> compare_runs(const Options& o, const data::TaskFileReader& reader) {
  std::vector<LoadedRun> runs;
  for (const auto& dir :
       o.maybe<std::vector<std::string>>("compare").value_or(std::vector<std::string>{})) {
    LoadedRun r = load_run(dir);
    check_task_matches(r.config, r.dir + "/config.json", reader.info(), reader.path());
    runs.push_back(std::move(r));
  }
  return runs;
}

int run_show(int argc, char** argv) {
  Options o("show",
            "Draw what a TCA run's queries attended to on one task of a task file (PNG or SVG by "
            "the --out "
            "extension): image completion, GP regression, copy / time-series grids, and with "
            "--tree-out the "
            "tree of the context set with one query's path and policy. --compare adds CA / "
            "Perceiver IO runs "
            "(their GP curves, CA's attention map).");
  o.add<std::string>(Group::data, "run", "a TCA run directory").value_name("RUN_DIR").required();
  o.add<std::string>(Group::data, "data", "task file (an eval set)")
      .value_name("FILE.h5")
      .required();
  o.add<int64_t>(Group::data, "task-index", int64_t{0}, "the task to draw").min(0);
  o.add<std::string>(
       Group::data, "queries",
       "image: target indices (default 0, middle, last); gp: x values (default the first target); "
       "copy/timeseries: ignored (every query)")
      .value_name("LIST");
  o.add<std::vector<std::string>>(Group::data, "compare", "CA or Perceiver IO runs drawn alongside")
      .value_name("RUN_DIR...");
  o.add<std::string>(Group::output, "out", "the picture").value_name("FILE.png|svg").required();
  o.add<std::string>(Group::output, "tree-out", "also draw the tree with the first query's path")
      .value_name("FILE.png|svg");
  o.add<std::string>(Group::output, "json",
                     "write the drawn retrieved sets and each query's policy per level as JSON")
      .value_name("FILE.json");
  if (!o.parse(argc, argv)) return 0;

  const data::TaskFileReader reader(o.get<std::string>("data"));
  LoadedRun run = load_run(o.get<std::string>("run"));
  check_task_matches(run.config, run.dir + "/config.json", reader.info(), reader.path());
  ReTreeverModel& tca = retreever_of(run, "tca show --run");
  const std::vector<LoadedRun> others = compare_runs(o, reader);
  const int64_t task = o.get<int64_t>("task-index");
  const Batch batch = task_of(reader, task);
  const std::string kind = reader.info().task;
  const std::string out = o.get<std::string>("out");
  const std::string title = fmt::format("{}: task {} of {}", kind, task, reader.path());
  std::vector<std::string> query_labels;
  TcaView view;

  if (kind == "gp") {
    std::vector<double> qx;
    if (o.has("queries")) {
      for (const auto& s : split(o.get<std::string>("queries"), ',')) qx.push_back(std::stod(s));
    } else {
      qx.push_back(batch.xt[0]);
    }
    viz::GpPicture p;
    p.title = title;
    for (int64_t i = 0; i < batch.num_context(); ++i) {
      p.context_x.push_back(batch.xc[i]);
      p.context_y.push_back(batch.yc[i]);
    }
    for (int64_t i = 0; i < batch.num_targets(); ++i) {
      p.target_x.push_back(batch.xt[i]);
      p.target_y.push_back(batch.yt[i]);
    }
    constexpr int64_t kGrid = 200;
    Tensor grid = Tensor::empty({1, kGrid, 1});
    for (int64_t i = 0; i < kGrid; ++i)
      grid[i] = static_cast<float>(-2.0 + 4.0 * static_cast<double>(i) / (kGrid - 1));
    auto curve = [&](Model& m, const std::string& method) {
      const Predictions pr = m.predict(with_queries(batch, grid));
      viz::GpPicture::Curve c;
      c.method = method;
      for (int64_t i = 0; i < kGrid; ++i) {
        c.x.push_back(grid[i]);
        c.mean.push_back(pr.mean[i]);
        c.std.push_back(pr.std.defined() ? pr.std[i] : 0.0);
      }
      p.curves.push_back(c);
    };
    for (const auto& r : others) curve(*r.model, to_string(r.model_config.model));
    curve(tca, "tca");
    Tensor qt = Tensor::empty({1, static_cast<int64_t>(qx.size()), 1});
    for (size_t i = 0; i < qx.size(); ++i) qt[static_cast<int64_t>(i)] = static_cast<float>(qx[i]);
    view = tca_view(tca, with_queries(batch, qt));
    p.query_x = qx[0];
    p.tca = marks_of(view.sets[0]);
    for (double x : qx) query_labels.push_back(fmt::format("x = {}", x));
    viz::gp_figure(p).save(out);
  } else if (kind == "image") {
    const auto [h, w] = image_size(reader, batch);
    viz::ImagePicture p;
    p.title = title;
    p.height = h;
    p.width = w;
    p.channels = batch.yc.dim(2);
    p.truth.assign(static_cast<size_t>(h * w * p.channels), 0.0f);
    for (int64_t i = 0; i < batch.num_context(); ++i) {
      const int64_t px = pixel_of(batch.xc, i, h, w);
      p.context_pixel.push_back(px);
      for (int64_t c = 0; c < p.channels; ++c)
        p.truth[static_cast<size_t>(px * p.channels + c)] = batch.yc[i * p.channels + c];
    }
    for (int64_t i = 0; i < batch.num_targets(); ++i) {
      const int64_t px = pixel_of(batch.xt, i, h, w);
      p.target_pixel.push_back(px);
      for (int64_t c = 0; c < p.channels; ++c)
        p.truth[static_cast<size_t>(px * p.channels + c)] = batch.yt[i * p.channels + c];
    }
    // The prediction at every pixel.
    Tensor all = Tensor::empty({1, h * w, 2});
    for (int64_t r = 0; r < h; ++r) {
      for (int64_t c = 0; c < w; ++c) {
        all[(r * w + c) * 2] = static_cast<float>(2.0 * r / static_cast<double>(h - 1) - 1);
        all[(r * w + c) * 2 + 1] = static_cast<float>(2.0 * c / static_cast<double>(w - 1) - 1);
      }
    }
    const Predictions full = tca.predict(with_queries(batch, all));
    p.mean.assign(full.mean.data(), full.mean.data() + full.mean.numel());
    if (full.std.defined()) p.std.assign(full.std.data(), full.std.data() + full.std.numel());
    // The queries: target rows.
    std::vector<int64_t> rows;
    if (o.has("queries")) {
      for (const auto& s : split(o.get<std::string>("queries"), ',')) {
        const int64_t r = parse_int(s, "a target index");
        if (r < 0 || r >= batch.num_targets())
          throw UsageError(fmt::format("--queries: target {} of a task with {} targets", r,
                                       batch.num_targets()));
        rows.push_back(r);
      }
    } else {
      rows = {0, batch.num_targets() / 2, batch.num_targets() - 1};
    }
    Tensor qt = Tensor::empty({1, static_cast<int64_t>(rows.size()), 2});
    for (size_t i = 0; i < rows.size(); ++i) {
      qt[static_cast<int64_t>(i) * 2] = batch.xt[rows[i] * 2];
      qt[static_cast<int64_t>(i) * 2 + 1] = batch.xt[rows[i] * 2 + 1];
    }
    const Batch queries = with_queries(batch, qt);
    view = tca_view(tca, queries);
    std::vector<std::vector<float>> ca_weights(rows.size());
    for (const auto& r : others) {
      auto* ca = dynamic_cast<CrossAttentionModel*>(r.model.get());
      if (!ca) continue;
      CrossAttentionTrace tr;
      ca->forward(queries, nn::ForwardContext::inference(), &tr);
      const Tensor& wt = tr.attn_weights_per_head.value();  // [1, H, M, N]
      const int64_t heads = wt.dim(1), m = wt.dim(2), n = wt.dim(3);
      for (int64_t q = 0; q < m; ++q) {
        ca_weights[static_cast<size_t>(q)].assign(static_cast<size_t>(n), 0.0f);
        for (int64_t hh = 0; hh < heads; ++hh) {
          for (int64_t t = 0; t < n; ++t)
            ca_weights[static_cast<size_t>(q)][static_cast<size_t>(t)] +=
                wt[(hh * m + q) * n + t] / static_cast<float>(heads);
        }
      }
    }
    for (size_t i = 0; i < rows.size(); ++i) {
      viz::ImagePicture::Query q;
      q.pixel = p.target_pixel[static_cast<size_t>(rows[i])];
      q.tca = marks_of(view.sets[i]);
      q.ca_weights = ca_weights[i];
      p.queries.push_back(q);
      query_labels.push_back(fmt::format("target {}", rows[i]));
    }
    viz::image_figure(p).save(out);
  } else {
    // Copy task and time series: every query of the task, on a tokens x queries grid.
    view = tca_view(tca, batch);
    viz::CopyPicture p;
    p.title = title;
    const int64_t n = batch.num_context(), dx = batch.xc.dim(2);
    for (int64_t i = 0; i < n; ++i) {
      if (kind == "copy") {
        const float* row = batch.xc.data() + i * dx;
        p.tokens.push_back(std::max_element(row, row + dx) - row);  // one-hot token id
      } else {
        p.tokens.push_back(i);
      }
    }
    for (size_t q = 0; q < view.sets.size(); ++q) {
      p.queries.push_back(marks_of(view.sets[q]));
      query_labels.push_back(fmt::format("query {}", q));
    }
    viz::copy_figure(p).save(out);
  }
  std::printf("%s\n", out.c_str());
  if (o.has("tree-out")) {
    viz::TreePicture t;
    t.title = fmt::format("TCA tree of task {} ({}), {}", task, kind,
                          query_labels.empty() ? "" : query_labels[0]);
    t.branch_factor = view.shape.b;
    t.depth = view.shape.k;
    t.leaf_size = view.shape.leaf_size;
    t.tokens = view.shape.n;
    if (!view.sets.empty()) t.path = view.sets[0].path;
    if (!view.policy.empty()) t.policy = view.policy[0];
    viz::tree_figure(t).save(o.get<std::string>("tree-out"));
    std::printf("%s\n", o.get<std::string>("tree-out").c_str());
  }
  if (o.has("json")) {
    io::write_json_atomically(o.get<std::string>("json"),
                              {{"run", run.dir},
                               {"data", reader.path()},
                               {"task_index", task},
                               {"task", kind},
                               {"branch_factor", view.shape.b},
                               {"depth", view.shape.k},
                               {"leaf_size", view.shape.leaf_size},
                               {"num_context", view.shape.n},
                               {"queries", sets_json(view, query_labels)}});
  }
  return 0;
}

}  // namespace

TCA_COMMAND("show", "draw what each query of a TCA run attended to (PNG or SVG)", run_show, 42);

}  // namespace tca::cli
