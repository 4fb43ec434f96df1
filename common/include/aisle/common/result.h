#pragma once
// A small result type: std::expected needs C++23 and clang 14 (fuzzing, clang-tidy) lacks it.
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>

namespace aisle {

struct Error {
  std::string message;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return checked(); }
  const T& value() const& { return const_cast<Result*>(this)->checked(); }
  T&& value() && { return std::move(checked()); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const { return std::get<1>(v_); }
  const std::string& message() const { return error().message; }

  T valueOr(T fallback) const { return ok() ? std::get<0>(v_) : std::move(fallback); }

 private:
  T& checked() {
    // Reading a failed result's value is a programming error: fail loudly with the reason.
    if (!ok()) throw std::logic_error("Result holds an error: " + std::get<1>(v_).message);
    return std::get<0>(v_);
  }
  std::variant<T, Error> v_;
};

struct Ok {};
using Status = Result<Ok>;
inline Status okStatus() { return Ok{}; }

inline Error fail(std::string message) { return Error{std::move(message)}; }

}  // namespace aisle
