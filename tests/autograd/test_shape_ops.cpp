#include <doctest/doctest.h>

#include "gradcheck.hpp"

using namespace tca;
using tca::testing::compare;
using tca::testing::gradcheck;
using tca::testing::random_tensor;

namespace {

std::vector<int64_t> unravel(int64_t o, const Shape& s) {
  std::vector<int64_t> idx(s.size());
  for (size_t k = s.size(); k-- > 0;) {
    idx[k] = o % s[k];
    o /= s[k];
  }
  return idx;
}

int64_t ravel(const std::vector<int64_t>& idx, const Shape& s) {
  int64_t o = 0;
  for (size_t k = 0; k < s.size(); ++k) o = o * s[k] + idx[k];
  return o;
}

// out[i_0, ..., i_r] = x[j] with j[perm[k]] = i_k.
std::vector<double> naive_permute(const Tensor& x, const std::vector<int>& perm) {
  const Shape& s = x.shape();
  Shape os;
  for (int p : perm) os.push_back(s[static_cast<size_t>(p)]);
  std::vector<double> out(static_cast<size_t>(x.numel()));
  for (int64_t o = 0; o < x.numel(); ++o) {
    auto i = unravel(o, os);
    std::vector<int64_t> j(s.size());
    for (size_t k = 0; k < perm.size(); ++k) j[static_cast<size_t>(perm[k])] = i[k];
    out[static_cast<size_t>(o)] = x[ravel(j, s)];
  }
  return out;
}

}  // namespace

TEST_CASE("reshape is a view of the same values and passes gradients through") {
  Rng rng(51);
  Tensor x = random_tensor({2, 3, 4}, rng);
  Var y = ops::reshape(Var(x), {4, -1});
  REQUIRE(y.shape() == Shape{4, 6});
  CHECK(y.value().same_buffer(x));
  CHECK(gradcheck(
            [](const std::vector<Var>& v) {
              return ops::reshape(v[0], {6, 4});
            },
            {x}) <= 1.0);
  CHECK(gradcheck([](const std::vector<Var>& v) { return ops::reshape(v[0], {-1}); },
                  {random_tensor({3, 1, 5}, rng)}) <= 1.0);
}

TEST_CASE("permute and transpose forward equal a naive index permutation, ranks 2 to 4") {
  Rng rng(52);
  struct Case {
    Shape s;
    std::vector<int> perm;
  };
  for (const Case& c : std::vector<Case>{{{3, 4}, {1, 0}},
                                         {{2, 3, 4}, {2, 0, 1}},
                                         {{2, 3, 4, 5}, {0, 2, 1, 3}},
                                         {{2, 3, 4, 5}, {3, 1, 0, 2}},
                                         {{2, 3, 4, 5}, {-1, -2, -3, -4}},
                                         {{16, 40, 8, 8}, {0, 2, 1, 3}}}) {
    CAPTURE(to_string(c.s));
    Tensor x = random_tensor(c.s, rng);
    std::vector<int> p;
    for (int a : c.perm) p.push_back(a < 0 ? a + static_cast<int>(c.s.size()) : a);
    CHECK(compare(ops::permute(Var(x), c.perm).value(), naive_permute(x, p), 0, 0) <= 1.0);
  }
  Tensor x = random_tensor({2, 3, 4}, rng);
  CHECK(compare(ops::transpose(Var(x), 0, -1).value(), naive_permute(x, {2, 1, 0}), 0, 0) <= 1.0);
}

TEST_CASE("permute of rank 4 and transpose backward match finite differences") {
  Rng rng(53);
  for (std::vector<int> perm : {std::vector<int>{0, 2, 1, 3}, std::vector<int>{3, 1, 0, 2}}) {
    auto f = [perm](const std::vector<Var>& v) { return ops::permute(v[0], perm); };
    CHECK(gradcheck(f, {random_tensor({2, 3, 4, 5}, rng)}) <= 1.0);
  }
  CHECK(gradcheck([](const std::vector<Var>& v) { return ops::transpose(v[0], 1, 2); },
                  {random_tensor({3, 4, 5}, rng)}) <= 1.0);
}

TEST_CASE("permute rejects a repeated or missing axis") {
  Var x(Tensor::zeros({2, 3}));
  CHECK_THROWS_AS(ops::permute(x, {0, 0}), ShapeError);
  CHECK_THROWS_AS(ops::permute(x, {0}), ShapeError);
}

TEST_CASE(
    "concat forward places every input on each axis and backward matches finite differences") {
  Rng rng(54);
  for (int axis : {0, 1, 2, -1}) {
    CAPTURE(axis);
    const int a = axis < 0 ? axis + 3 : axis;
    std::vector<Tensor> in;
    for (int64_t extent : {1, 3, 2}) {
      Shape s{2, 3, 4};
      s[static_cast<size_t>(a)] = extent;
      in.push_back(random_tensor(s, rng));
    }
    Var y = ops::concat({Var(in[0]), Var(in[1]), Var(in[2])}, axis);
    // Naive: walk the output and find which input each index belongs to.
    std::vector<double> want;
    for (int64_t o = 0; o < y.numel(); ++o) {
      auto idx = unravel(o, y.shape());
      size_t k = 0;
      while (idx[static_cast<size_t>(a)] >= in[k].shape()[static_cast<size_t>(a)])
        idx[static_cast<size_t>(a)] -= in[k++].shape()[static_cast<size_t>(a)];
      want.push_back(in[k][ravel(idx, in[k].shape())]);
    }
    CHECK(compare(y.value(), want, 0, 0) <= 1.0);
    auto f = [axis](const std::vector<Var>& v) { return ops::concat(v, axis); };
    CHECK(gradcheck(f, in) <= 1.0);
  }
}

TEST_CASE("slice and split on different axes equal naive copies and match finite differences") {
  Rng rng(55);
  Tensor x = random_tensor({4, 5, 6}, rng);
  for (int axis : {0, 1, 2}) {
    CAPTURE(axis);
    const int64_t n = x.shape()[static_cast<size_t>(axis)];
    Var y = ops::slice(Var(x), axis, 1, n - 1);
    std::vector<double> want;
    for (int64_t o = 0; o < y.numel(); ++o) {
      auto idx = unravel(o, y.shape());
      idx[static_cast<size_t>(axis)] += 1;
      want.push_back(x[ravel(idx, x.shape())]);
    }
    CHECK(compare(y.value(), want, 0, 0) <= 1.0);
    CHECK(
        gradcheck([axis, n](const std::vector<Var>& v) { return ops::slice(v[0], axis, 1, n - 1); },
                  {x}) <= 1.0);
    // split gives the same pieces as slices of the same bounds
    auto pieces = ops::split(Var(x), axis, {1, n - 3, 2});
    REQUIRE(pieces.size() == 3);
    int64_t at = 0;
    for (auto& p : pieces) {
      const int64_t len = p.shape()[static_cast<size_t>(axis)];
      std::vector<double> piece;
      for (int64_t o = 0; o < p.numel(); ++o) {
        auto idx = unravel(o, p.shape());
        idx[static_cast<size_t>(axis)] += at;
        piece.push_back(x[ravel(idx, x.shape())]);
      }
      CHECK(compare(p.value(), piece, 0, 0) <= 1.0);
      at += len;
    }
    // split into three parts, recombined with different weights so each part's gradient differs
    auto g = [axis, n](const std::vector<Var>& v) {
      auto parts = ops::split(v[0], axis, {1, n - 3, 2});
      return ops::concat(
          {ops::mul_scalar(parts[2], 3.0f), parts[0], ops::mul_scalar(parts[1], -2.0f)}, axis);
    };
    CHECK(gradcheck(g, {x}) <= 1.0);
  }
}

TEST_CASE("slice and split reject out-of-range bounds and sizes that do not sum to the axis") {
  Var x(Tensor::zeros({4, 5}));
  CHECK_THROWS_AS(ops::slice(x, 1, 3, 6), ShapeError);
  CHECK_THROWS_AS(ops::slice(x, 2, 0, 1), ShapeError);
  CHECK_THROWS_WITH_AS(ops::split(x, 1, {2, 2}), doctest::Contains("sum to 4"), ShapeError);
}

TEST_CASE("permute, concat and slice add into the gradient of an input used several times") {
  Rng rng(56);
  // Each op's backward runs after the input already holds a gradient from another use.
  auto permuted = [](const std::vector<Var>& v) {
    return ops::add(ops::transpose(v[0], 0, 1), ops::mul(v[0], v[0]));
  };
  CHECK(gradcheck(permuted, {random_tensor({4, 4}, rng)}) <= 1.0);
  auto concatenated = [](const std::vector<Var>& v) {
    return ops::concat({v[0], ops::exp(v[0]), v[0]}, 1);
  };
  CHECK(gradcheck(concatenated, {random_tensor({3, 4}, rng)}) <= 1.0);
  auto overlapping = [](const std::vector<Var>& v) {
    return ops::add(ops::slice(v[0], 0, 0, 3), ops::square(ops::slice(v[0], 0, 1, 4)));
  };
  CHECK(gradcheck(overlapping, {random_tensor({4, 5}, rng)}) <= 1.0);
}
