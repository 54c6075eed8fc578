#include "bench/bench_reference.hpp"

namespace tca::bench {

double reference_train_ms(const std::string& method, const std::string& task, long seq_len) {
  if (task == "gp") return method == "ca" ? 29 : method == "tca" ? 104 : 0;
  if (task != "copy") return 0;
  if (seq_len == 128) return method == "ca" ? 236 : method == "tca" ? 839 : 0;
  if (seq_len == 256) return method == "ca" ? 524 : method == "tca" ? 1786 : 0;
  return 0;
}

double reference_infer_us(const std::string& method, int log2_n) {
  if (method == "tca") return log2_n == 12 ? 37 : log2_n == 16 ? 58 : log2_n == 18 ? 93 : 0;
  if (method == "ca") return log2_n == 12 ? 159 : log2_n == 16 ? 1150 : log2_n == 18 ? 16200 : 0;
  return 0;
}

double reference_build_ms(int log2_n) { return log2_n == 16 ? 390 : log2_n == 18 ? 2070 : 0; }

}  // namespace tca::bench
