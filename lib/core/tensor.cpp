#include "core/tensor.hpp"

#include <malloc.h>

#include <cstdlib>
#include <cstring>

#include "core/buffer_pool.hpp"
#include "core/error.hpp"

namespace tca {

// glibc serves blocks above 128 KB with mmap and returns them to the OS on free, so every op's
// output of that size page-faults afresh (measured: ~30% of a GP training step in the kernel,
// page faults and page clearing). Keeping freed memory in the heap removes that. The heap is
// never trimmed either: a 2^20-token TCA index (1.5 GB) freed and rebuilt for the next context
// set otherwise goes back to the OS and is faulted in afresh, which in this VM varied the build
// from 1.9 to 3.5 s (tca bench, N = 2^20; never trimming: 1.94 s, p75 2.37 s). The cost: the
// process keeps its peak footprint until it exits.
static const bool g_heap_tuned = [] {
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TRIM_THRESHOLD, -1);
  return true;
}();

static std::shared_ptr<void> allocate(int64_t count) {
  (void)g_heap_tuned;
  // 64-byte aligned (cache line / AVX-512 vector); size rounded up as aligned_alloc requires.
  size_t bytes = static_cast<size_t>(count > 0 ? count : 1) * 4;
  bytes = (bytes + 63) / 64 * 64;
  void* p = pooled_allocate(bytes);
  if (!p) throw RuntimeFailure("out of memory allocating " + std::to_string(bytes) + " bytes");
  return std::shared_ptr<void>(p, [bytes](void* q) { pooled_release(q, bytes); });
}

Tensor Tensor::empty(const Shape& shape, DType dtype) {
  for (auto d : shape)
    if (d < 0) throw ShapeError("Tensor::empty: negative extent in " + to_string(shape));
  Tensor t;
  t.buffer_ = allocate(tca::numel(shape));
  t.shape_ = shape;
  t.dtype_ = dtype;
  return t;
}

Tensor Tensor::empty_prefaulted(const Shape& shape, DType dtype) {
  Tensor t = empty(shape, dtype);
  char* p = static_cast<char*>(t.raw());
  const int64_t bytes = t.numel() * 4, page = 4096;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < bytes; i += page) p[i] = 0;
  return t;
}

Tensor Tensor::zeros(const Shape& shape, DType dtype) {
  Tensor t = empty(shape, dtype);
  t.zero();
  return t;
}

Tensor Tensor::full(const Shape& shape, float value) {
  Tensor t = empty(shape);
  t.fill(value);
  return t;
}

Tensor Tensor::from(const std::vector<float>& values, const Shape& shape) {
  if (static_cast<int64_t>(values.size()) != tca::numel(shape))
    throw ShapeError("Tensor::from: " + std::to_string(values.size()) + " values for shape " +
                     to_string(shape));
  Tensor t = empty(shape);
  if (!values.empty()) std::memcpy(t.data(), values.data(), values.size() * 4);
  return t;
}

Tensor Tensor::from_i32(const std::vector<int32_t>& values, const Shape& shape) {
  if (static_cast<int64_t>(values.size()) != tca::numel(shape))
    throw ShapeError("Tensor::from_i32: " + std::to_string(values.size()) + " values for shape " +
                     to_string(shape));
  Tensor t = empty(shape, DType::i32);
  if (!values.empty()) std::memcpy(t.data_i32(), values.data(), values.size() * 4);
  return t;
}

int64_t Tensor::dim(int axis) const {
  int r = rank();
  int a = axis < 0 ? axis + r : axis;
  if (a < 0 || a >= r)
    throw ShapeError("axis " + std::to_string(axis) + " out of range for shape " +
                     to_string(shape_));
  return shape_[static_cast<size_t>(a)];
}

float* Tensor::data() {
  if (dtype_ != DType::f32) throw ShapeError("Tensor::data(): tensor is int32, expected float32");
  return static_cast<float*>(buffer_.get()) + offset_;
}
const float* Tensor::data() const { return const_cast<Tensor*>(this)->data(); }
int32_t* Tensor::data_i32() {
  if (dtype_ != DType::i32)
    throw ShapeError("Tensor::data_i32(): tensor is float32, expected int32");
  return static_cast<int32_t*>(buffer_.get()) + offset_;
}
const int32_t* Tensor::data_i32() const { return const_cast<Tensor*>(this)->data_i32(); }

float Tensor::item() const {
  if (numel() != 1)
    throw ShapeError("item(): expected one element, found shape " + to_string(shape_));
  return dtype_ == DType::f32 ? data()[0] : static_cast<float>(data_i32()[0]);
}

Tensor Tensor::reshape(const Shape& shape) const {
  Shape s = shape;
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == -1) {
      if (infer >= 0) throw ShapeError("reshape: two -1 extents in " + to_string(shape));
      infer = static_cast<int64_t>(i);
    } else {
      known *= s[i];
    }
  }
  if (infer >= 0) s[static_cast<size_t>(infer)] = known ? numel() / known : 0;
  if (tca::numel(s) != numel())
    throw ShapeError("reshape: cannot view " + to_string(shape_) + " as " + to_string(shape));
  Tensor t = *this;
  t.shape_ = s;
  return t;
}

Tensor Tensor::narrow0(int64_t start, int64_t length) const {
  if (rank() == 0 || start < 0 || length < 0 || start + length > shape_[0])
    throw ShapeError("narrow0: rows [" + std::to_string(start) + ", " +
                     std::to_string(start + length) + ") out of range for shape " +
                     to_string(shape_));
  Tensor t = *this;
  t.offset_ += start * (shape_[0] ? numel() / shape_[0] : 0);
  t.shape_[0] = length;
  return t;
}

Tensor Tensor::clone() const {
  Tensor t = empty(shape_, dtype_);
  if (numel()) std::memcpy(t.raw(), raw(), static_cast<size_t>(numel()) * 4);
  return t;
}

void Tensor::fill(float value) {
  if (dtype_ == DType::f32) {
    float* p = data();
    for (int64_t i = 0, n = numel(); i < n; ++i) p[i] = value;
  } else {
    int32_t* p = data_i32();
    for (int64_t i = 0, n = numel(); i < n; ++i) p[i] = static_cast<int32_t>(value);
  }
}

void Tensor::zero() {
  if (numel()) std::memset(raw(), 0, static_cast<size_t>(numel()) * 4);
}

void Tensor::copy_from(const Tensor& src) {
  if (src.numel() != numel() || src.dtype() != dtype_)
    throw ShapeError("copy_from: " + to_string(src.shape()) + " " + dtype_name(src.dtype()) +
                     " into " + to_string(shape_) + " " + dtype_name(dtype_));
  if (numel()) std::memcpy(raw(), src.raw(), static_cast<size_t>(numel()) * 4);
}

void Tensor::add_(const Tensor& src) {
  if (src.numel() != numel())
    throw ShapeError("add_: " + to_string(src.shape()) + " into " + to_string(shape_));
  float* p = data();
  const float* q = src.data();
  for (int64_t i = 0, n = numel(); i < n; ++i) p[i] += q[i];
}

std::vector<float> Tensor::to_vector() const {
  std::vector<float> v(static_cast<size_t>(numel()));
  if (dtype_ == DType::f32) {
    if (!v.empty()) std::memcpy(v.data(), data(), v.size() * 4);
  } else {
    const int32_t* p = data_i32();
    for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(p[i]);
  }
  return v;
}

void check_same_shape(const char* op, const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape())
    throw ShapeError(std::string(op) + ": shapes differ: " + to_string(a.shape()) + " vs " +
                     to_string(b.shape()));
}

void check_dtype(const char* op, const Tensor& t, DType expected) {
  if (t.dtype() != expected)
    throw ShapeError(std::string(op) + ": expected " + dtype_name(expected) + ", found " +
                     dtype_name(t.dtype()));
}

}  // namespace tca
