#include <catch2/catch.hpp>
#include <random>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/io.h"
#include "common/write_behind.h"

using namespace airlock;

namespace {

// Records what reaches it, from whichever thread; throws on write number
// `fail_at` (1-based; 0 never).
class Recorder : public Writer {
 public:
  explicit Recorder(int fail_at = 0) : fail_at_(fail_at) {}
  void write(std::span<const uint8_t> data) override {
    if (++writes == fail_at_) throw Error(Exit::kUsage, "disk full (test)");
    out.insert(out.end(), data.begin(), data.end());
  }
  using Writer::write;
  void finish() override { ++finished; }
  std::vector<uint8_t> out;
  int writes = 0, finished = 0;

 private:
  int fail_at_;
};

}  // namespace

TEST_CASE("write-behind: every byte reaches the next writer, in order, then finish") {
  std::mt19937 rng(11);
  Recorder rec;
  std::vector<uint8_t> want;
  {
    WriteBehind wb(rec);
    for (int i = 0; i < 200; ++i) {
      // Mostly small pieces, some larger than a buffer.
      size_t n = (i % 17 == 0) ? rng() % (3 * WriteBehind::kBufferSize) : rng() % 70000;
      std::vector<uint8_t> piece(n);
      for (auto& b : piece) b = static_cast<uint8_t>(rng());
      wb.write(piece);
      want.insert(want.end(), piece.begin(), piece.end());
    }
    wb.finish();
    CHECK(rec.finished == 1);
    CHECK(rec.out == want);  // all written before finish() returned
  }
  CHECK(rec.writes > 1);
}

TEST_CASE("write-behind: a failure of the next writer comes back to the caller, and nothing after it is written") {
  Recorder rec(3);
  {
    WriteBehind wb(rec);
    std::vector<uint8_t> mib(WriteBehind::kBufferSize, 'x');
    bool thrown = false;
    try {
      for (int i = 0; i < 64; ++i) wb.write(mib);  // far more than the buffers hold
      wb.finish();
    } catch (const Error& e) {
      thrown = true;
      CHECK(std::string(e.what()) == "disk full (test)");
    }
    CHECK(thrown);
    // Asked again, it says so again, and hands nothing more on.
    CHECK_THROWS_AS(wb.write(mib), Error);
    CHECK_THROWS_AS(wb.finish(), Error);
  }  // joined: whatever the thread had left is done
  CHECK(rec.finished == 0);
  CHECK(rec.writes == 3);  // the third failed; no fourth was tried
}

TEST_CASE("write-behind: dropped without finish, it stops without waiting for the rest") {
  Recorder rec;
  {
    WriteBehind wb(rec);
    std::vector<uint8_t> mib(WriteBehind::kBufferSize, 'y');
    for (int i = 0; i < 3; ++i) wb.write(mib);
  }
  CHECK(rec.finished == 0);
  CHECK(rec.out.size() <= 3 * WriteBehind::kBufferSize);
}
