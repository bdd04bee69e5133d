#pragma once
/// \file
/// error_of<E>(f): the message of the exception of type E that f throws, for pinning messages.

#include <gtest/gtest.h>

#include <exception>
#include <string>

namespace shrink::testing {

/// The message of the exception of type E that `f` throws (fails the test if none or another).
template <typename E, typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "threw another exception type: " << e.what();
    return "";
  }
  ADD_FAILURE() << "did not throw";
  return "";
}

}  // namespace shrink::testing
