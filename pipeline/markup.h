#pragma once
/// \file
/// Text for the report's markup (svg_chart.h, html_report.h): escaping user text (layer and stage
/// names come from user files) and the fixed number format of coordinates, so that the same
/// record always gives the same bytes.

#include <string>

namespace shrink::pipeline {

/// `text` made safe as XML/HTML character data and as a quoted attribute value: & < > " ' become
/// entities; bytes that are not valid UTF-8 and the control characters U+0000-U+001F (but tab,
/// newline and carriage return; XML 1.0 allows no others) and U+007F become U+FFFD.
std::string xml_escape(const std::string& text);

/// A coordinate with two decimals ("12.50", never "-0.00"); NaN and infinities give "0.00".
std::string svg_number(double value);

}  // namespace shrink::pipeline
