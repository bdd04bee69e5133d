#pragma once
/// \file
/// Pipeline files for the PipelineSpec tests: a valid document around a list of stages, and the
/// message a document fails with.

#include <string>

#include "autograd/error.h"
#include "pipeline/pipeline_spec.h"
#include "tests/support/errors.h"

namespace shrink::testing {

/// `{"model": {"zoo": "naive"}, "stages": <stages>}`.
inline std::string with_stages(const std::string& stages) {
  return R"({"model": {"zoo": "naive"}, "stages": )" + stages + "}";
}

/// PipelineSpec::parse_text(text, "demo.json").
inline pipeline::PipelineSpec parse_demo(const std::string& text) {
  return pipeline::PipelineSpec::parse_text(text, "demo.json");
}

/// Expects parse_demo(text) to throw ValueError with exactly `message`.
inline void expect_spec_error(const std::string& text, const std::string& message) {
  expect_message<ValueError>([&] { parse_demo(text); }, message.c_str());
}

}  // namespace shrink::testing
