#include <catch2/catch.hpp>

#include "common/progress.h"

using namespace airlock;

TEST_CASE("progress: files, bytes, rate and time left once the totals are known", "[progress]") {
  Progress p("packing", false, 10, 4000000);
  p.add(3, 1000000);
  CHECK(p.line(2.0) == "packing: 3/10 files, 1.0 MB/4.0 MB, 500.0 KB/s, 6 s left");
  // In the first second there is no rate to speak of yet.
  CHECK(p.line(0.01) == "packing: 3/10 files, 1.0 MB/4.0 MB");
}

TEST_CASE("progress: while the totals still grow they are shown as 'at least' and no time left is guessed",
          "[progress]") {
  Progress p("packing", false, 100, 2000000, false);
  p.add(50, 1000000);
  std::string l = p.line(1.0);
  CHECK(l == "packing: 50/100+ files, 1.0 MB/2.0 MB+, 1.0 MB/s, counting");
  CHECK(l.find("left") == std::string::npos);
  p.set_totals(400, 9000000, true);
  CHECK(p.line(1.0) == "packing: 50/400 files, 1.0 MB/9.0 MB, 1.0 MB/s, 8 s left");
}
