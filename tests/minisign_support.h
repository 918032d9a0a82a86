// Helpers shared by the minisign tests.
#pragma once

#include <catch2/catch.hpp>

#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

#include "common/minisign/minisign.h"
#include "tests/support.h"

namespace airlock::test {

// Runs f, which must throw a MinisignError, and returns it.
template <class F>
minisign::MinisignError expect_minisign_error(F&& f) {
  try {
    f();
  } catch (const minisign::MinisignError& e) {
    return e;
  }
  FAIL("expected a MinisignError");
  throw std::logic_error("unreachable");
}

inline std::span<const uint8_t> bytes_of(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

inline SecureBytes secret(std::string_view s) { return SecureBytes(bytes_of(s)); }

inline std::string vector_path(const std::string& name) {
  return source_dir() + "/tests/vectors/minisign/" + name;
}

}  // namespace airlock::test
