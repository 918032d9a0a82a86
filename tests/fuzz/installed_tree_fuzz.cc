// The installed-tree record DEST/airlock/installed.json, as `unpacker
// verify-tree` reads it back: TreeRecord::parse, the round trip through
// dump(), the comparison of a record with itself, and the search of an
// audit log's text for the record's event (find_record_event).
#include "tests/fuzz/harness.h"
#include "unpacker/install/installed_tree.h"

using namespace airlock;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view s = fuzz::text(data, size);
  try {
    (void)unpacker::find_record_event(s, "/dest");
  } catch (const Error&) {
  }
  unpacker::TreeRecord r;
  try {
    r = unpacker::TreeRecord::parse(s);
  } catch (const Error&) {
    return 0;
  }
  // What the unpacker writes for a parsed record reads back the same.
  auto again = unpacker::TreeRecord::parse(r.dump());
  if (again.entries.size() != r.entries.size()) std::abort();
  if (!unpacker::compare_trees(r.entries, again.entries).empty()) std::abort();
  return 0;
}
