// Tensor: a contiguous, row-major, any-rank array of float32 (or int32 for indices and labels)
// over a 64-byte aligned, reference-counted buffer. Reshape and leading-axis slices are views that
// share the buffer; everything else copies. No strides: ops that need a transposed operand
// describe it to oneDNN with strides instead (platform.md).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/shape.hpp"

namespace tca {

enum class DType { f32, i32 };
inline const char* dtype_name(DType t) { return t == DType::f32 ? "float32" : "int32"; }

class Tensor {
 public:
  Tensor() = default;  // undefined (no buffer)

  static Tensor empty(const Shape& shape, DType dtype = DType::f32);  // uninitialised
  // Uninitialised, but every page already faulted in by all OpenMP threads together: for buffers
  // of hundreds of MB that serial code fills later (the inference index). A first touch costs
  // ~0.37 s per GB on one thread in this VM and halves on two.
  static Tensor empty_prefaulted(const Shape& shape, DType dtype = DType::f32);
  static Tensor zeros(const Shape& shape, DType dtype = DType::f32);
  static Tensor full(const Shape& shape, float value);
  static Tensor from(const std::vector<float>& values, const Shape& shape);
  static Tensor from_i32(const std::vector<int32_t>& values, const Shape& shape);
  static Tensor scalar(float value) { return full({}, value); }

  bool defined() const { return static_cast<bool>(buffer_); }
  const Shape& shape() const { return shape_; }
  int rank() const { return static_cast<int>(shape_.size()); }
  int64_t dim(int axis) const;  // negative axes count from the end
  int64_t numel() const { return tca::numel(shape_); }
  DType dtype() const { return dtype_; }

  float* data();
  const float* data() const;
  int32_t* data_i32();
  const int32_t* data_i32() const;
  void* raw() { return static_cast<char*>(buffer_.get()) + offset_ * 4; }
  const void* raw() const { return static_cast<const char*>(buffer_.get()) + offset_ * 4; }

  float& operator[](int64_t i) { return data()[i]; }
  float operator[](int64_t i) const { return data()[i]; }
  float item() const;  // the single value of a one-element tensor

  // Views sharing the buffer.
  Tensor reshape(const Shape& shape) const;             // one extent may be -1
  Tensor narrow0(int64_t start, int64_t length) const;  // rows [start, start+length) of axis 0

  Tensor clone() const;
  void fill(float value);
  void zero();
  // Copies values from `src` of the same number of elements and dtype.
  void copy_from(const Tensor& src);
  // Adds `src` (same number of elements) into this.
  void add_(const Tensor& src);

  std::vector<float> to_vector() const;
  bool same_buffer(const Tensor& other) const { return buffer_ == other.buffer_; }

 private:
  std::shared_ptr<void> buffer_;
  int64_t offset_ = 0;  // in elements (both dtypes are 4 bytes)
  Shape shape_;
  DType dtype_ = DType::f32;
};

// Throws ShapeError "<op>: <what> <shape a> vs <shape b>" unless a == b.
void check_same_shape(const char* op, const Tensor& a, const Tensor& b);
void check_dtype(const char* op, const Tensor& t, DType expected);

}  // namespace tca
