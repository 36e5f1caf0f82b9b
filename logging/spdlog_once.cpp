// spdlog's implementation, compiled once for the whole program (see README.md). Every other
// file of strata includes spdlog's headers with SPDLOG_COMPILED_LIB, which leaves the
// definitions of its non-template functions to this file; here they are included from spdlog's
// own `-inl.h` headers, and the classes and factories strata uses (the colour sinks on the
// console, behind `spdlog::stderr_color_mt` and the default logger) are instantiated.
#ifndef SPDLOG_COMPILED_LIB
#error "logging/spdlog_once.cpp is compiled with SPDLOG_COMPILED_LIB (logging/CMakeLists.txt)"
#endif

#include <spdlog/common-inl.h>
#include <spdlog/details/backtracer-inl.h>
#include <spdlog/details/log_msg-inl.h>
#include <spdlog/details/log_msg_buffer-inl.h>
#include <spdlog/details/null_mutex.h>
#include <spdlog/details/os-inl.h>
#include <spdlog/details/periodic_worker-inl.h>
#include <spdlog/details/registry-inl.h>
#include <spdlog/logger-inl.h>
#include <spdlog/pattern_formatter-inl.h>
#include <spdlog/sinks/ansicolor_sink-inl.h>
#include <spdlog/sinks/base_sink-inl.h>
#include <spdlog/sinks/sink-inl.h>
#include <spdlog/sinks/stdout_color_sinks-inl.h>
#include <spdlog/sinks/stdout_sinks-inl.h>
#include <spdlog/spdlog-inl.h>
#include <memory>
#include <mutex>
#include <string>

template class spdlog::sinks::base_sink<std::mutex>;
template class spdlog::sinks::base_sink<spdlog::details::null_mutex>;
template class spdlog::sinks::ansicolor_sink<spdlog::details::console_mutex>;
template class spdlog::sinks::ansicolor_stdout_sink<spdlog::details::console_mutex>;
template class spdlog::sinks::ansicolor_stderr_sink<spdlog::details::console_mutex>;
template std::shared_ptr<spdlog::logger> spdlog::stderr_color_mt<spdlog::synchronous_factory>(
    const std::string& logger_name, spdlog::color_mode mode);
