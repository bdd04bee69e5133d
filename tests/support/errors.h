#pragma once
/// \file
/// error_of<E>(f) and expect_message<E>(f, message): pinning the messages of exceptions.

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

/// Expects `f` to throw E with exactly `message`.
template <typename E, typename F>
void expect_message(F f, const char* message) {
  try {
    f();
    ADD_FAILURE() << "no exception, expected: " << message;
  } catch (const E& e) {
    EXPECT_STREQ(e.what(), message);
  }
}

}  // namespace shrink::testing
