#include "core/dnnl_context.hpp"

#include <omp.h>

#include <atomic>
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
  thread_local dnnl::stream stream(dnnl_engine());
  return stream;
}

int primitive_threads() { return omp_get_max_threads(); }

// Relaxed: a tally read between steps, never a synchronisation point.
static std::atomic<int64_t> g_primitives_created{0};
int64_t primitives_created() { return g_primitives_created.load(std::memory_order_relaxed); }
void count_primitive_created() { g_primitives_created.fetch_add(1, std::memory_order_relaxed); }

}  // namespace tca
