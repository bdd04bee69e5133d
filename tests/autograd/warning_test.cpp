#include "autograd/warning.h"

#include <gtest/gtest.h>

namespace shrink {
namespace {

TEST(Warning, DefaultHandlerPrintsOneLineOnStderr) {
  ::testing::internal::CaptureStderr();
  warn("config_list[0]: something to know");
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "shrink warning: config_list[0]: something to know\n");
}

TEST(Warning, CollectorCapturesAndRestoresThePreviousHandler) {
  std::vector<std::string> outer;
  set_warning_handler([&](const std::string& m) { outer.push_back(m); });
  {
    WarningCollector collector;
    warn("inner");
    EXPECT_EQ(collector.messages(), std::vector<std::string>{"inner"});
  }
  warn("outer");
  EXPECT_EQ(outer, std::vector<std::string>{"outer"});
  set_warning_handler(nullptr);
}

}  // namespace
}  // namespace shrink
