#include "autograd/strided_copy.hpp"

#include "autograd/bound_primitive.hpp"

namespace tca::ops {

Shape contiguous_strides(const Shape& dims) {
  Shape s(dims.size());
  int64_t st = 1;
  for (size_t i = dims.size(); i-- > 0;) {
    s[i] = st;
    st *= dims[i];
  }
  return s;
}

namespace {

// Drops unit axes and merges an axis into the next one when both views are contiguous across
// them: fewer, longer axes and fewer distinct primitives (a slice of [B, T, H, d] along T is
// the 3D copy [B, t, H*d]).
void simplify(Shape& dims, Shape& a, Shape& b) {
  Shape d2, a2, b2;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] == 1) continue;
    if (!d2.empty() && a2.back() == a[i] * dims[i] && b2.back() == b[i] * dims[i]) {
      d2.back() *= dims[i];
      a2.back() = a[i];
      b2.back() = b[i];
    } else {
      d2.push_back(dims[i]);
      a2.push_back(a[i]);
      b2.push_back(b[i]);
    }
  }
  if (d2.empty()) d2 = a2 = b2 = Shape{1};
  dims = d2;
  a = a2;
  b = b2;
}

}  // namespace

void strided_copy(const float* src, const Shape& dims_in, const Shape& src_strides_in, float* dst,
                  const Shape& dst_strides_in, bool accumulate) {
  if (numel(dims_in) == 0) return;
  Shape dims = dims_in, ss = src_strides_in, ds = dst_strides_in;
  simplify(dims, ss, ds);
  thread_local PrimitiveCache<BoundPrimitive> cache;
  PrimitiveKey key{{accumulate, static_cast<int64_t>(dims.size())}};
  for (const Shape* s : {&dims, &ss, &ds}) key.v.insert(key.v.end(), s->begin(), s->end());
  const BoundPrimitive& p = cache.get(key, [&] {
    return create_primitive(
        "reorder " + to_string(dims) + " strides " + to_string(ss) + " -> " + to_string(ds), [&] {
          using dnnl::memory;
          const memory::dims d(dims.begin(), dims.end());
          const memory::desc src_md(d, memory::data_type::f32, memory::dims(ss.begin(), ss.end()));
          const memory::desc dst_md(d, memory::data_type::f32, memory::dims(ds.begin(), ds.end()));
          dnnl::primitive_attr attr;
          if (accumulate) {
            dnnl::post_ops po;
            po.append_sum(1.0f);
            attr.set_post_ops(po);
          }
          dnnl::reorder::primitive_desc pd(dnnl_engine(), src_md, dnnl_engine(), dst_md, attr);
          return BoundPrimitive(dnnl::reorder(pd),
                                {{DNNL_ARG_FROM, src_md}, {DNNL_ARG_TO, dst_md}});
        });
  });
  p.run({{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, dst}});
}

}  // namespace tca::ops
