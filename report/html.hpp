// The report as one self-contained HTML file: the tables written here, the charts drawn in the
// browser by the inlined charting library from a JSON block of the same numbers.
#pragma once

#include <optional>
#include <string>

#include "report/report_model.hpp"

namespace strata::report {

// The whole HTML document. `chart_library` is the charting library's JavaScript text, inlined
// as it is. Deterministic: the same model and library give the same bytes (no clock is read).
// Every number a reader compares carries a stable element id or data attribute
// (docs/report.md lists them): each segment's row is
// `<tr data-segment="ID" data-path="PATH" data-customers="N" data-share="0.1234" …>`.
std::string render_report_html(const ReportModel& model, const std::string& chart_library);

// The charting library's file (ECharts' echarts.min.js): $STRATA_ECHARTS_JS when set (and then
// only it), else
// echarts.min.js beside the strata binary (`exe_dir`), else the copy npm installs into the
// source tree (report/node_modules/echarts/dist/echarts.min.js). Its text, or nullopt with
// `error` naming every place looked in and how to install it.
std::optional<std::string> read_chart_library(const std::string& exe_dir, std::string& error);

// The script that draws the charts from the JSON block (report/charts_js.cpp).
const std::string& charts_script();

}  // namespace strata::report
