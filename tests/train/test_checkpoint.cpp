// Checkpoints: bit-exact round trips, resuming equals never stopping, mismatches named, atomic
// writes that never clobber a good checkpoint.
#include <dirent.h>
#include <doctest/doctest.h>
#include <hdf5.h>
#include <sys/resource.h>

#include <cmath>
#include <csignal>
#include <cstring>
#include <limits>
#include <memory>

#include "autograd/ops.hpp"
#include "core/error.hpp"
#include "io/hdf5_file.hpp"
#include "io/test_files.hpp"
#include "nn/mlp.hpp"
#include "train/adam.hpp"
#include "train/checkpoint.hpp"
#include "train/grad_clip.hpp"
#include "train/lr_schedule.hpp"
#include "train/parameter_hash.hpp"

using namespace tca;

namespace {

bool same_bits(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() &&
         std::memcmp(a.data(), b.data(), static_cast<size_t>(a.numel()) * sizeof(float)) == 0;
}

std::vector<std::string> directory_entries(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = opendir(dir.c_str());
  while (dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    if (name != "." && name != "..") out.push_back(name);
  }
  closedir(d);
  return out;
}

// A small regression run with everything a real one has: an MLP, dropout drawing from the model's
// generator, batches drawn from the data generator, clipping, Adam and the cosine schedule.
struct Run {
  static constexpr int64_t kTotalSteps = 8;
  Rng init_rng;
  nn::Mlp mlp;
  Rng model_rng, data_rng;
  Adam adam;
  CosineSchedule schedule{1e-2, kTotalSteps, 2};
  int64_t step = 0;

  Run(uint64_t init_seed, uint64_t model_seed, uint64_t data_seed)
      : init_rng(init_seed),
        mlp(3, 16, 1, 3, nn::Activation::relu, init_rng),
        model_rng(model_seed),
        data_rng(data_seed),
        adam(mlp.named_parameters(), AdamOptions{0.1, 0.999, 1e-8, 1e-3}) {}

  float train_step() {
    const int64_t B = 8;
    Tensor x = Tensor::empty({B, 3}), y = Tensor::empty({B, 1});
    for (int64_t r = 0; r < B; ++r) {
      double target = 0;
      for (int64_t c = 0; c < 3; ++c) {
        x[r * 3 + c] = static_cast<float>(data_rng.normal());
        target += std::sin(static_cast<double>(x[r * 3 + c]) * (c + 1));
      }
      y[r] = static_cast<float>(target);
    }
    Var loss = ops::mse(ops::dropout(mlp(Var(x)), 0.2f, model_rng, true), y);
    loss.backward();
    clip_grad_norm(adam.parameters(), 1.0);
    adam.step(schedule.lr(step));
    adam.zero_grad();
    ++step;
    return loss.item();
  }

  TrainingState training_state() const {
    return {step,
            {{"model", model_rng.state()}, {"data", data_rng.state()}},
            R"({"lr": 0.01})",
            {{"data_position", step + 3}}};
  }
  void restore(const CheckpointInfo& info) {
    step = info.state.step;
    model_rng.set_state(info.rng_state("model"));
    data_rng.set_state(info.rng_state("data"));
  }
};

void check_same_run(const Run& a, const Run& b) {
  const auto pa = a.mlp.named_parameters(), pb = b.mlp.named_parameters();
  REQUIRE(pa.size() == pb.size());
  for (size_t k = 0; k < pa.size(); ++k) {
    CHECK_MESSAGE(same_bits(pa[k].second.value(), pb[k].second.value()), pa[k].first);
    const AdamParamState &sa = a.adam.states()[k], &sb = b.adam.states()[k];
    CHECK_MESSAGE(same_bits(sa.exp_avg, sb.exp_avg), pa[k].first);
    CHECK_MESSAGE(same_bits(sa.exp_avg_sq, sb.exp_avg_sq), pa[k].first);
    CHECK(sa.step == sb.step);
  }
  CHECK(a.step == b.step);
  CHECK(a.model_rng.state() == b.model_rng.state());
  CHECK(a.data_rng.state() == b.data_rng.state());
}

// Two parameters saved as "enc.weight" [2, 3] and "enc.bias" [3].
struct SmallModel {
  Var weight = parameter(Tensor::from({1, 2, 3, 4, 5, 6}, {2, 3}));
  Var bias = parameter(Tensor::from({7, 8, 9}, {3}));
  nn::NamedParameters named() const { return {{"enc.weight", weight}, {"enc.bias", bias}}; }
};

}  // namespace

TEST_CASE("checkpoint round trip is bit-exact for parameters, Adam state, step and RNG states") {
  test::TempDir dir;
  const std::string path = dir.file("checkpoint.h5");
  Run original(1, 2, 3);
  for (int s = 0; s < 3; ++s) original.train_step();
  save_checkpoint(path, original.mlp.named_parameters(), &original.adam, original.training_state());

  Run restored(10, 20, 30);  // different initial weights and streams
  const CheckpointInfo info =
      load_checkpoint(path, restored.mlp.named_parameters(), &restored.adam);
  restored.restore(info);
  check_same_run(original, restored);
  CHECK(info.state.config_json == R"({"lr": 0.01})");
  CHECK(info.state.counters ==
        std::map<std::string, int64_t>{{"data_position", original.step + 3}});
  CHECK(info.optimizer == "adam");
  CHECK(info.parameters_hash == parameters_hash(original.mlp.named_parameters()));
  CHECK(info.parameters.size() == 6);

  // Same content, same bytes (object time tracking is off).
  const std::string again = dir.file("again.h5");
  save_checkpoint(again, restored.mlp.named_parameters(), &restored.adam,
                  restored.training_state());
  CHECK(test::read_bytes(again) == test::read_bytes(path));
}

TEST_CASE("training resumed from a checkpoint gives the numbers of an uninterrupted run") {
  test::TempDir dir;
  const std::string path = dir.file("checkpoint.h5");
  Run uninterrupted(1, 2, 3);
  std::vector<float> losses;
  for (int64_t s = 0; s < Run::kTotalSteps; ++s) losses.push_back(uninterrupted.train_step());

  Run first_half(1, 2, 3);
  for (int64_t s = 0; s < Run::kTotalSteps / 2; ++s) first_half.train_step();
  save_checkpoint(path, first_half.mlp.named_parameters(), &first_half.adam,
                  first_half.training_state());

  Run resumed(10, 20, 30);
  resumed.restore(load_checkpoint(path, resumed.mlp.named_parameters(), &resumed.adam));
  CHECK(resumed.step == Run::kTotalSteps / 2);
  for (int64_t s = Run::kTotalSteps / 2; s < Run::kTotalSteps; ++s) {
    const float loss = resumed.train_step();
    CHECK(std::memcmp(&loss, &losses[static_cast<size_t>(s)], sizeof loss) == 0);
  }
  check_same_run(uninterrupted, resumed);
}

TEST_CASE("checkpoint load names a renamed parameter and what the file has instead") {
  test::TempDir dir;
  const std::string path = dir.file("checkpoint.h5");
  SmallModel saved;
  save_checkpoint(path, saved.named(), nullptr, {});
  Var w = parameter(Tensor::zeros({2, 3})), b = parameter(Tensor::zeros({3}));
  const nn::NamedParameters renamed{{"enc.w", w}, {"enc.bias", b}};
  CHECK_ERROR(load_checkpoint(path, renamed, nullptr), InputError,
              "checkpoint lacks the model's parameter 'enc.w' (" + path +
                  ":/parameters/enc.w): expected float32 [2, 3], found no such dataset; the "
                  "checkpoint has instead: 'enc.weight'");
  CHECK(b.value()[0] == 0.0f);  // nothing loaded when anything is wrong
}

TEST_CASE("checkpoint load names a parameter the checkpoint lacks") {
  test::TempDir dir;
  const std::string path = dir.file("checkpoint.h5");
  SmallModel saved;
  save_checkpoint(path, saved.named(), nullptr, {});
  SmallModel bigger;
  Var extra = parameter(Tensor::zeros({4}));
  nn::NamedParameters params = bigger.named();
  params.emplace_back("dec.weight", extra);
  bigger.weight.mutable_value().zero();
  CHECK_ERROR(load_checkpoint(path, params, nullptr), InputError,
              "lacks the model's parameter 'dec.weight'");
  CHECK(bigger.weight.value()[0] == 0.0f);
}

TEST_CASE("checkpoint load names a parameter the model lacks") {
  test::TempDir dir;
  const std::string path = dir.file("checkpoint.h5");
  SmallModel saved;
  save_checkpoint(path, saved.named(), nullptr, {});
  Var w = parameter(Tensor::zeros({2, 3}));
  CHECK_ERROR(load_checkpoint(path, {{"enc.weight", w}}, nullptr), InputError,
              "checkpoint has parameter 'enc.bias' that the model lacks (" + path +
                  ":/parameters/enc.bias)");
  CHECK(w.value()[0] == 0.0f);
}

TEST_CASE("checkpoint load names a reshaped parameter with both shapes") {
  test::TempDir dir;
  const std::string path = dir.file("checkpoint.h5");
  SmallModel saved;
  save_checkpoint(path, saved.named(), nullptr, {});
  Var w = parameter(Tensor::zeros({3, 2})), b = parameter(Tensor::zeros({3}));
  CHECK_ERROR(
      load_checkpoint(path, {{"enc.weight", w}, {"enc.bias", b}}, nullptr), InputError,
      "parameter 'enc.weight' differs from the model's (" + path +
          ":/parameters/enc.weight): expected float32 [3, 2] (the model's), found float32 [2, 3]");
  CHECK(b.value()[0] == 0.0f);
}

TEST_CASE(
    "checkpoint load without an optimiser reads parameters only and with one needs its state") {
  test::TempDir dir;
  const std::string path = dir.file("checkpoint.h5");
  SmallModel saved;
  TrainingState state;
  state.step = 42;
  state.rng_states["data"] = Rng(9).state();
  save_checkpoint(path, saved.named(), nullptr, state);
  SmallModel target;
  target.weight.mutable_value().zero();
  const CheckpointInfo info = load_checkpoint(path, target.named(), nullptr);
  CHECK(same_bits(target.weight.value(), saved.weight.value()));
  CHECK(info.state.step == 42);
  CHECK(info.optimizer == "none");
  CHECK(info.rng_state("data") == Rng(9).state());
  CHECK_ERROR(info.rng_state("model"), InputError, "lacks the generator state 'model'");
  Adam adam(target.named());
  CHECK_ERROR(load_checkpoint(path, target.named(), &adam), InputError, "no optimiser state");
}

TEST_CASE("checkpoint whose values do not match its stored hash is rejected") {
  test::TempDir dir;
  const std::string path = dir.file("forged.h5");
  {
    io::H5File f = io::H5File::create(path);
    f.set_attr("format", std::string("tca-checkpoint"));
    f.set_attr("format_version", int64_t{1});
    f.set_attr("step", int64_t{0});
    f.set_attr("config", std::string("{}"));
    f.set_attr("parameters_hash", std::string("fnv1a64:0000000000000000"));
    f.set_attr("optimizer", std::string("none"));
    f.create_group("/rng");
    f.write<float>("/parameters/w", {2}, std::vector<float>{1.0f, 2.0f});
    f.close();
  }
  Var w = parameter(Tensor::zeros({2}));
  CHECK_ERROR(load_checkpoint(path, {{"w", w}}, nullptr), InputError,
              "do not match the stored content hash");
  CHECK(w.value()[0] == 0.0f);
  const std::string other = dir.file("other.h5");
  {
    io::H5File f = io::H5File::create(other);
    f.write<float>("x", {1}, std::vector<float>{1.0f});
    f.close();
  }
  CHECK_ERROR(read_checkpoint_info(other), InputError, "not a tca checkpoint");
}

TEST_CASE("parameters hash changes with any value, name or shape but not with order") {
  SmallModel m;
  const std::string h = parameters_hash(m.named());
  CHECK(h.rfind("fnv1a64:", 0) == 0);
  CHECK(h.size() == 8 + 16);
  CHECK(parameters_hash({{"enc.bias", m.bias}, {"enc.weight", m.weight}}) == h);
  CHECK(parameters_hash({{"enc.weight2", m.weight}, {"enc.bias", m.bias}}) != h);
  Var reshaped = parameter(m.weight.value().reshape({3, 2}));
  CHECK(parameters_hash({{"enc.weight", reshaped}, {"enc.bias", m.bias}}) != h);
  uint32_t bits;
  std::memcpy(&bits, m.bias.value().data() + 2, 4);
  bits ^= 1u;  // the lowest mantissa bit
  std::memcpy(m.bias.mutable_value().data() + 2, &bits, 4);
  CHECK(parameters_hash(m.named()) != h);
}

TEST_CASE("a failed checkpoint write leaves no temp file and keeps the existing checkpoint") {
  test::TempDir dir;
  const std::string path = dir.file("checkpoint.h5");
  SmallModel small;
  save_checkpoint(path, small.named(), nullptr, {});
  const std::string before = test::read_bytes(path);

  // A disk that fills up mid-write: cap the process's file size (as root, permissions would not
  // stop the write) so that the big parameter's data cannot be written.
  Var big = parameter(Tensor::full({256, 1024}, 0.5f));
  rlimit saved_limit{};
  getrlimit(RLIMIT_FSIZE, &saved_limit);
  auto* saved_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit capped = saved_limit;
  capped.rlim_cur = 64 * 1024;
  REQUIRE(setrlimit(RLIMIT_FSIZE, &capped) == 0);
  std::string message;
  try {
    save_checkpoint(path, {{"big", big}}, nullptr, {});
  } catch (const RuntimeFailure& e) {
    message = e.what();
  }
  setrlimit(RLIMIT_FSIZE, &saved_limit);
  std::signal(SIGXFSZ, saved_handler);
  CHECK(message.find("cannot write checkpoint " + path) != std::string::npos);
  CHECK(message.find('\n') == std::string::npos);  // one line on stderr
  CHECK(test::read_bytes(path) == before);
  CHECK(directory_entries(dir.path()) == std::vector<std::string>{"checkpoint.h5"});

  CHECK_ERROR(save_checkpoint(dir.file("missing/checkpoint.h5"), small.named(), nullptr, {}),
              RuntimeFailure, "cannot write checkpoint " + dir.file("missing/checkpoint.h5"));
  CHECK_ERROR(save_checkpoint(path, {{"a/b", big}}, nullptr, {}), RuntimeFailure, "'a/b'");
  CHECK(test::read_bytes(path) == before);
}

TEST_CASE("checkpoint load names optimiser state that does not match the optimiser") {
  test::TempDir dir;
  const std::string path = dir.file("checkpoint.h5");
  SmallModel saved;
  Adam saved_adam(saved.named());
  save_checkpoint(path, saved.named(), &saved_adam, {});
  SmallModel target;
  target.weight.mutable_value().zero();
  Adam weight_only({{"enc.weight", target.weight}});  // the bias is frozen in this run
  CHECK_ERROR(load_checkpoint(path, target.named(), &weight_only), InputError,
              "checkpoint has exp_avg 'enc.bias' that the optimiser lacks (" + path +
                  ":/optimizer/exp_avg/enc.bias)");
  CHECK(target.weight.value()[0] == 0.0f);  // nothing loaded
}

// Issue 20: a corrupt Adam state used to be accepted and surfaced steps later as a NaN loss.
TEST_CASE(
    "checkpoint with a NaN or negative Adam second moment is rejected before anything changes") {
  for (const float bad : {std::numeric_limits<float>::quiet_NaN(), -1.0f}) {
    test::TempDir dir;
    const std::string path = dir.file("checkpoint.h5");
    Run original(1, 2, 3);
    original.train_step();
    save_checkpoint(path, original.mlp.named_parameters(), &original.adam,
                    original.training_state());
    const std::string name = original.adam.parameters().front().first;
    {
      std::vector<float> v =
          io::H5File::open_read(path).read<float>("/optimizer/exp_avg_sq/" + name);
      v[1] = bad;
      hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
      hid_t ds = H5Dopen2(file, ("/optimizer/exp_avg_sq/" + name).c_str(), H5P_DEFAULT);
      REQUIRE(H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()) >= 0);
      H5Dclose(ds);
      H5Fclose(file);
    }
    Run restored(10, 20, 30);
    const Tensor before = restored.mlp.named_parameters().front().second.value().clone();
    const std::string needle = std::isnan(bad) ? "non-finite value" : "negative second moment";
    CHECK_ERROR(load_checkpoint(path, restored.mlp.named_parameters(), &restored.adam), InputError,
                needle);
    CHECK_ERROR(load_checkpoint(path, restored.mlp.named_parameters(), &restored.adam), InputError,
                path + ":/optimizer/exp_avg_sq/" + name);
    CHECK(same_bits(restored.mlp.named_parameters().front().second.value(), before));
  }
}
