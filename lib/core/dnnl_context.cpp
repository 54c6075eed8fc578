#include "core/dnnl_context.hpp"

namespace tca {

dnnl::engine& dnnl_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
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
