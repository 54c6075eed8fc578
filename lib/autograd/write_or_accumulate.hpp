// The one branch every gradient loop has: write a fresh gradient, or add into one that other uses
// of the input already gave (GradTarget::accumulate, grad_sink.hpp). The loop is written once, as
// a body taking the choice as a compile-time constant, and instantiated for both (as adam.cpp's
// update<Decay, SmallWeight>): each instance stays a plain loop that vectorises, with no branch
// inside it.
//   with_accumulate(t.accumulate, [&](auto acc) {
//     for (i ...) store(acc, dx[i], g[i] * d[i]);
//   });
#pragma once
#include <type_traits>

namespace tca::ops {

template <class Body>
void with_accumulate(bool accumulate, Body&& body) {
  if (accumulate)
    body(std::true_type{});
  else
    body(std::false_type{});
}

// dst += v or dst = v.
template <bool Accumulate>
inline void store(std::bool_constant<Accumulate>, float& dst, float v) {
  if constexpr (Accumulate)
    dst += v;
  else
    dst = v;
}

}  // namespace tca::ops
