#include "core/dnnl_context.hpp"

#include <cstdlib>

namespace tca {

dnnl::engine& dnnl_engine() {
  static dnnl::engine engine = [] {
    // oneDNN tags every primitive execution for Intel VTune (ITT) by default; that bookkeeping
    // (__itt_pt_write) was ~6% of a small-model training step. Users can still turn it on.
    setenv("ONEDNN_ITT_TASK_LEVEL", "0", /*overwrite=*/0);
    setenv("DNNL_ITT_TASK_LEVEL", "0", 0);
    return dnnl::engine(dnnl::engine::kind::cpu, 0);
  }();
  return engine;
}

dnnl::stream& dnnl_stream() {
  static dnnl::stream stream(dnnl_engine());
  return stream;
}

static int64_t g_primitives_created = 0;
int64_t primitives_created() { return g_primitives_created; }
void count_primitive_created() { ++g_primitives_created; }

}  // namespace tca
