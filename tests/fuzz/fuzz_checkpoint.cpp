// The checkpoint loader (lib/train/checkpoint.hpp) on arbitrary bytes: the header, then a full
// load (parameters, Adam state) into a small fixed model, as a resume does.
#include <memory>

#include "fuzz/fuzz_util.hpp"
#include "models/model.hpp"
#include "train/adam.hpp"
#include "train/checkpoint.hpp"

namespace {

tca::Model& fixed_model() {
  static std::unique_ptr<tca::Model> model = [] {
    tca::ModelConfig c;
    c.model = tca::ModelKind::ca;
    c.loss = tca::TaskLoss::classification;
    c.dim_x = c.num_classes = 4;
    c.dim_y = 1;
    c.is_sequential = true;
    c.is_metalearning = false;
    c.d_model = 8;
    c.heads = 2;
    c.dim_feedforward = 8;
    c.num_layers = 0;
    c.emb_depth = 1;
    tca::Rng init(0);
    return tca::make_model(c, init);
  }();
  return *model;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = tca::fuzz::write_input(data, size, ".h5");
  tca::fuzz::expect_clean([&] {
    tca::read_checkpoint_info(path);
    tca::Adam adam(fixed_model().named_parameters());
    tca::load_checkpoint(path, fixed_model().named_parameters(), &adam);
  });
  return 0;
}
