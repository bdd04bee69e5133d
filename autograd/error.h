#pragma once
/// \file
/// The error hierarchy of Shrink and the SHRINK_CHECK macros.
///
/// Every user-facing failure is an exception derived from shrink::Error (itself a
/// std::runtime_error); the library never aborts and never returns error codes. Messages follow
/// "<where>: expected <x>, got <y>" with shapes and names in full, plus a hint where a mistake is
/// common.

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace shrink {

/// Base class of every exception Shrink throws.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
/// Shapes that do not fit together (broadcasting, matmul, conv, reshape...).
class ShapeError : public Error { public: using Error::Error; };
/// An index or dimension out of range.
class IndexError : public Error { public: using Error::Error; };
/// A bad argument value (negative stride, unknown option, wrong dtype...).
class ValueError : public Error { public: using Error::Error; };
/// An operation that is invalid in the current state (backward twice, in-place on a leaf...).
class StateError : public Error { public: using Error::Error; };
/// Reading or writing a file failed or the file is malformed.
class IOError : public Error { public: using Error::Error; };
/// A feature that is deliberately not supported (the message says what to do instead).
class NotImplementedError : public Error { public: using Error::Error; };
/// A broken internal invariant: a bug in Shrink, please report it.
class InternalError : public Error { public: using Error::Error; };

namespace detail {
/// Concatenates every argument with operator<< into one string.
template <typename... Parts>
std::string concat(Parts&&... parts) {
  std::ostringstream os;
  (os << ... << std::forward<Parts>(parts));
  return os.str();
}
}  // namespace detail

}  // namespace shrink

/// Throws `Type` with the concatenated message parts when `cond` is false.
#define SHRINK_CHECK_T(Type, cond, ...)                                  \
  do {                                                                   \
    if (!(cond)) [[unlikely]]                                            \
      throw Type(::shrink::detail::concat(__VA_ARGS__));                 \
  } while (0)

/// Generic argument check: throws ValueError.
#define SHRINK_CHECK(cond, ...) SHRINK_CHECK_T(::shrink::ValueError, cond, __VA_ARGS__)
/// Shape check: throws ShapeError.
#define SHRINK_CHECK_SHAPE(cond, ...) SHRINK_CHECK_T(::shrink::ShapeError, cond, __VA_ARGS__)
/// Index check: throws IndexError.
#define SHRINK_CHECK_INDEX(cond, ...) SHRINK_CHECK_T(::shrink::IndexError, cond, __VA_ARGS__)
/// State check: throws StateError.
#define SHRINK_CHECK_STATE(cond, ...) SHRINK_CHECK_T(::shrink::StateError, cond, __VA_ARGS__)
/// Internal invariant: throws InternalError.
#define SHRINK_ASSERT(cond, ...) SHRINK_CHECK_T(::shrink::InternalError, cond, "internal error: ", __VA_ARGS__)
