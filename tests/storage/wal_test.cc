// WAL writer/reader tests: round trips, and recovery from every truncation point and every
// single-byte corruption of a small log (leveldb's log_test and corruption_test style).
#include <doctest/doctest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "testing/test_util.h"
#include "storage/file_util.h"
#include "storage/wal_format.h"
#include "storage/wal_reader.h"
#include "storage/wal_writer.h"

using kv::Status;
using kv::storage::read_wal;
using kv::storage::Record;
using kv::storage::RecordType;
using kv::storage::WalRecoveryInfo;
using kv::storage::WalWriter;

using kv::testing::read_file;
using kv::testing::TempDir;
using kv::testing::write_file;

namespace {

struct Recovered {
  Status status;
  std::vector<Record> records;
  WalRecoveryInfo info;
};

Recovered recover(const std::string& path) {
  Recovered r;
  r.status = read_wal(
      path,
      [&](const Record& rec) {
        r.records.push_back(rec);
        return Status::OK();
      },
      &r.info);
  return r;
}

std::string payload_for(uint64_t index, size_t size) {
  std::string p(size, '\0');
  for (size_t i = 0; i < size; ++i) p[i] = static_cast<char>((index * 131 + i * 7) & 0xff);
  return p;
}

// Appends records first_index .. first_index + n - 1 (payload sizes vary, some empty) and
// syncs. Returns the file offset at which each record ends.
std::vector<uint64_t> write_log(const std::string& path, uint64_t first_index, int n,
                                size_t payload_size = 0) {
  auto writer = WalWriter::open(path, 0);
  REQUIRE(writer.ok());
  std::vector<uint64_t> ends;
  for (int i = 0; i < n; ++i) {
    const uint64_t index = first_index + static_cast<uint64_t>(i);
    const size_t size = payload_size ? payload_size : static_cast<size_t>(index * 3 % 11);
    const RecordType type = size == 0 ? RecordType::kNoop : RecordType::kCommand;
    (*writer)->append(1 + index / 3, index, type, payload_for(index, size));
    ends.push_back((*writer)->size());
  }
  (*writer)->sync();
  return ends;
}

void check_records(const std::vector<Record>& records, uint64_t first_index, size_t n) {
  REQUIRE(records.size() == n);
  for (size_t i = 0; i < n; ++i) {
    const uint64_t index = first_index + i;
    CHECK(records[i].index == index);
    CHECK(records[i].term == 1 + index / 3);
    CHECK(records[i].payload == payload_for(index, index * 3 % 11));
  }
}

}  // namespace

TEST_CASE("wal: the worked example in wal_format.h is what the writer produces") {
  TempDir dir;
  const std::string path = dir.file("wal.bin");
  auto writer = WalWriter::open(path, 0);
  REQUIRE(writer.ok());
  const std::string payload("\x01\x00\x00\x00\x04\x00\x00\x00PING", 12);
  (*writer)->append(2, 7, RecordType::kCommand, payload);
  (*writer)->sync();
  const std::string expected(
      "\x9d\xe5\x36\x88\x0c\x00\x00\x00\x01\x02\x00\x00\x00\x00\x00\x00\x00\x07\x00\x00\x00\x00"
      "\x00\x00\x00",
      25);
  CHECK(read_file(path) == expected + payload);
}

TEST_CASE("wal: writer and reader round-trip records of every type and size") {
  TempDir dir;
  const std::string path = dir.file("wal.bin");
  std::vector<Record> written = {
      {1, 1, RecordType::kNoop, ""},
      {1, 2, RecordType::kCommand, std::string("SET\0k\r\nv", 8)},
      {2, 3, RecordType::kConfig, "members"},
      // Larger than the reader's 1 MiB chunk: must be read across window refills.
      {2, 4, RecordType::kCommand, payload_for(4, 3 << 20)},
      {3, 5, RecordType::kCommand, "x"},
  };
  {
    auto writer = WalWriter::open(path, 0);
    REQUIRE(writer.ok());
    WalWriter& w = **writer;
    CHECK(w.path() == path);
    uint64_t expected_size = 0;
    for (const Record& r : written) {
      w.append(r.term, r.index, r.type, r.payload);
      expected_size += kv::storage::encoded_record_size(r.payload.size());
    }
    CHECK(w.size() == expected_size);
    CHECK(w.buffered_bytes() == expected_size);
    CHECK(w.synced_size() == 0);
    w.flush();
    CHECK(w.buffered_bytes() == 0);
    CHECK(w.size() == expected_size);
    CHECK(w.synced_size() == 0);
    w.sync();
    CHECK(w.synced_size() == expected_size);
  }
  Recovered r = recover(path);
  REQUIRE(r.status.ok());
  REQUIRE(r.records.size() == written.size());
  for (size_t i = 0; i < written.size(); ++i) {
    CHECK(r.records[i].term == written[i].term);
    CHECK(r.records[i].index == written[i].index);
    CHECK(r.records[i].type == written[i].type);
    CHECK(r.records[i].payload == written[i].payload);
  }
  CHECK(r.info.records == 5);
  CHECK(r.info.last_term == 3);
  CHECK(r.info.last_index == 5);
  CHECK_FALSE(r.info.torn_tail);
  CHECK(r.info.valid_bytes == r.info.file_bytes);
  CHECK(r.info.file_bytes == read_file(path).size());
}

TEST_CASE("wal: a missing file is an empty log and the callback can stop the read") {
  TempDir dir;
  Recovered empty = recover(dir.file("absent.bin"));
  CHECK(empty.status.ok());
  CHECK(empty.records.empty());
  CHECK(empty.info.valid_bytes == 0);
  CHECK_FALSE(empty.info.torn_tail);

  const std::string path = dir.file("wal.bin");
  write_log(path, 1, 5);
  int calls = 0;
  WalRecoveryInfo info;
  Status s = read_wal(
      path,
      [&](const Record& rec) {
        ++calls;
        return rec.index == 3 ? Status::InvalidArgument("stop") : Status::OK();
      },
      &info);
  CHECK(s.is_invalid_argument());
  CHECK(calls == 3);
  CHECK(info.last_index == 3);
}

TEST_CASE("wal: truncation at every byte offset recovers exactly the whole records") {
  TempDir dir;
  const std::string path = dir.file("wal.bin");
  const std::vector<uint64_t> ends = write_log(path, 1, 5);
  const std::string full = read_file(path);
  REQUIRE(full.size() == ends.back());

  for (uint64_t cut = 0; cut <= full.size(); ++cut) {
    CAPTURE(cut);
    write_file(path, full.substr(0, cut));
    size_t whole = 0;
    while (whole < ends.size() && ends[whole] <= cut) ++whole;
    const uint64_t valid = whole == 0 ? 0 : ends[whole - 1];

    Recovered r = recover(path);
    REQUIRE(r.status.ok());
    check_records(r.records, 1, whole);
    CHECK(r.info.valid_bytes == valid);
    CHECK(r.info.file_bytes == cut);
    CHECK(r.info.torn_tail == (valid != cut));

    // The writer cuts the torn tail and new records follow the recovered ones cleanly.
    {
      auto writer = WalWriter::open(path, r.info.valid_bytes);
      REQUIRE(writer.ok());
      (*writer)->append(9, whole + 1, RecordType::kCommand, "after-crash");
      (*writer)->sync();
    }
    Recovered again = recover(path);
    REQUIRE(again.status.ok());
    REQUIRE(again.records.size() == whole + 1);
    CHECK(again.records.back().payload == "after-crash");
    CHECK(again.records.back().index == whole + 1);
    CHECK_FALSE(again.info.torn_tail);
    CHECK(again.info.valid_bytes == again.info.file_bytes);
  }
}

TEST_CASE("wal: zero-filled and garbage tails after good records are torn tails") {
  TempDir dir;
  const std::string path = dir.file("wal.bin");
  const std::vector<uint64_t> ends = write_log(path, 1, 5);
  const std::string good = read_file(path);

  SUBCASE("zeros") {
    for (size_t zeros : {1, 24, 25, 26, 100, 4096}) {
      CAPTURE(zeros);
      write_file(path, good + std::string(zeros, '\0'));
      Recovered r = recover(path);
      REQUIRE(r.status.ok());
      check_records(r.records, 1, 5);
      CHECK(r.info.torn_tail);
      CHECK(r.info.valid_bytes == good.size());
    }
  }
  SUBCASE("random garbage") {
    std::mt19937 rng(42);
    for (int trial = 0; trial < 50; ++trial) {
      std::string garbage(1 + rng() % 3000, '\0');
      for (char& c : garbage) c = static_cast<char>(rng());
      write_file(path, good + garbage);
      Recovered r = recover(path);
      REQUIRE(r.status.ok());
      check_records(r.records, 1, 5);
      CHECK(r.info.torn_tail);
      CHECK(r.info.valid_bytes == good.size());
    }
  }
  SUBCASE("a complete copy of an older record is not a valid continuation") {
    // Its index is not above the last good one, so it cannot prove corruption.
    write_file(path, good + "junk" + good.substr(0, ends[0]));
    Recovered r = recover(path);
    REQUIRE(r.status.ok());
    CHECK(r.info.torn_tail);
    CHECK(r.info.valid_bytes == good.size());
  }
}

TEST_CASE("wal: a damaged record followed by good records is corruption at its offset") {
  TempDir dir;
  const std::string path = dir.file("wal.bin");
  const std::vector<uint64_t> ends = write_log(path, 1, 5);
  const std::string good = read_file(path);

  // Record 1 (the very first) and record 3 (in the middle).
  for (size_t victim : {0, 2}) {
    const uint64_t start = victim == 0 ? 0 : ends[victim - 1];
    for (uint64_t off = start; off < ends[victim]; ++off) {
      for (unsigned char mask : {0x01, 0xff}) {
        CAPTURE(off);
        CAPTURE(static_cast<int>(mask));
        std::string damaged = good;
        damaged[off] = static_cast<char>(damaged[off] ^ mask);
        write_file(path, damaged);
        Recovered r = recover(path);
        REQUIRE(r.status.is_corruption());
        const std::string& msg = r.status.message();
        CHECK(msg.find(path + ": bad record at offset " + std::to_string(start) + " (") == 0);
        CHECK(msg.find(std::to_string(ends.back() - ends[victim]) +
                       " bytes of valid records follow") != std::string::npos);
        // Records before the damage were still delivered, in order.
        check_records(r.records, 1, victim);
      }
    }
  }
}

TEST_CASE("wal: garbage over whole records in the middle is corruption") {
  TempDir dir;
  const std::string path = dir.file("wal.bin");
  const std::vector<uint64_t> ends = write_log(path, 1, 8, 300);
  std::string damaged = read_file(path);
  std::mt19937 rng(7);
  for (uint64_t off = ends[1]; off < ends[4]; ++off) damaged[off] = static_cast<char>(rng());
  write_file(path, damaged);
  Recovered r = recover(path);
  REQUIRE(r.status.is_corruption());
  const std::string& msg = r.status.message();
  CHECK(msg.find(path + ": bad record at offset " + std::to_string(ends[1]) + " (") == 0);
  CHECK(msg.find("); " + std::to_string(ends.back() - ends[4]) +
                 " bytes of valid records follow") != std::string::npos);
  CHECK(r.records.size() == 2);
}

TEST_CASE("wal: damage anywhere in the last record is a torn tail") {
  TempDir dir;
  const std::string path = dir.file("wal.bin");
  const std::vector<uint64_t> ends = write_log(path, 1, 5);
  const std::string good = read_file(path);
  for (uint64_t off = ends[3]; off < ends[4]; ++off) {
    CAPTURE(off);
    std::string damaged = good;
    damaged[off] = static_cast<char>(damaged[off] ^ 0x20);
    write_file(path, damaged);
    Recovered r = recover(path);
    REQUIRE(r.status.ok());
    check_records(r.records, 1, 4);
    CHECK(r.info.torn_tail);
    CHECK(r.info.valid_bytes == ends[3]);
  }
}

TEST_CASE("wal: corruption and torn tails are found across read-chunk boundaries") {
  TempDir dir;
  const std::string path = dir.file("wal.bin");
  // 300 records x ~10 KB = ~3 MB: several of the reader's 1 MiB windows.
  const std::vector<uint64_t> ends = write_log(path, 100, 300, 10000);
  const std::string good = read_file(path);

  std::string damaged = good;
  damaged[ends[149] + 30] ^= 0x04;  // payload byte of record index 250
  write_file(path, damaged);
  Recovered r = recover(path);
  REQUIRE(r.status.is_corruption());
  CHECK(r.status.message() ==
        path + ": bad record at offset " + std::to_string(ends[149]) + " (checksum mismatch); " +
            std::to_string(ends.back() - ends[150]) + " bytes of valid records follow");
  CHECK(r.records.size() == 150);

  write_file(path, good.substr(0, ends[250] + 5000));
  r = recover(path);
  REQUIRE(r.status.ok());
  CHECK(r.records.size() == 251);
  CHECK(r.info.torn_tail);
  CHECK(r.info.valid_bytes == ends[250]);
}

TEST_CASE("wal: record indexes must increase by exactly one") {
  TempDir dir;
  const std::string path = dir.file("wal.bin");
  const std::vector<uint64_t> ends = write_log(path, 1, 2);

  SUBCASE("gap") {
    auto writer = WalWriter::open(path, ends.back());
    REQUIRE(writer.ok());
    (*writer)->append(1, 4, RecordType::kNoop, "");
    (*writer)->sync();
  }
  SUBCASE("repeat") {
    auto writer = WalWriter::open(path, ends.back());
    REQUIRE(writer.ok());
    (*writer)->append(1, 2, RecordType::kNoop, "");
    (*writer)->sync();
  }
  Recovered r = recover(path);
  REQUIRE(r.status.is_corruption());
  CHECK(r.status.message().find(path + ": record at offset " + std::to_string(ends.back())) == 0);
  CHECK(r.records.size() == 2);
}

TEST_CASE("wal: the first record may start at any index (log after a snapshot)") {
  TempDir dir;
  const std::string path = dir.file("wal.bin");
  write_log(path, 1000, 3);
  Recovered r = recover(path);
  REQUIRE(r.status.ok());
  check_records(r.records, 1000, 3);
}

TEST_CASE("wal: rewrite_from keeps exactly the suffix and appends continue") {
  TempDir dir;
  const std::string path = dir.file("wal.bin");
  const std::vector<uint64_t> ends = write_log(path, 1, 5);
  const std::string before = read_file(path);

  auto writer = WalWriter::open(path, ends.back());
  REQUIRE(writer.ok());
  WalWriter& w = **writer;
  REQUIRE(w.rewrite_from(ends[1]).ok());
  CHECK(read_file(path) == before.substr(ends[1]));
  CHECK(w.size() == ends.back() - ends[1]);
  CHECK(w.synced_size() == w.size());
  CHECK_FALSE(kv::storage::file_exists(path + ".tmp"));

  w.append(7, 6, RecordType::kCommand, "six");
  w.sync();
  Recovered r = recover(path);
  REQUIRE(r.status.ok());
  REQUIRE(r.records.size() == 4);
  check_records({r.records.begin(), r.records.begin() + 3}, 3, 3);
  CHECK(r.records[3].index == 6);
  CHECK(r.records[3].payload == "six");
  CHECK(r.info.valid_bytes == w.size());

  SUBCASE("to the end leaves an empty log") {
    REQUIRE(w.rewrite_from(w.size()).ok());
    CHECK(w.size() == 0);
    CHECK(read_file(path).empty());
  }
  SUBCASE("from zero changes nothing") {
    const std::string now = read_file(path);
    REQUIRE(w.rewrite_from(0).ok());
    CHECK(read_file(path) == now);
  }
}

TEST_CASE("wal: open errors name the path") {
  TempDir dir;
  const std::string missing_dir = dir.file("no/such/dir/wal.bin");
  auto writer = WalWriter::open(missing_dir, 0);
  REQUIRE_FALSE(writer.ok());
  CHECK(writer.status().is_io_error());
  CHECK(writer.status().message().find(missing_dir) != std::string::npos);

  const std::string path = dir.file("wal.bin");
  write_log(path, 1, 1);
  auto too_long = WalWriter::open(path, 1 << 20);
  REQUIRE_FALSE(too_long.ok());
  CHECK(too_long.status().is_invalid_argument());
}

TEST_CASE("wal: open removes a leftover rewrite temp file") {
  TempDir dir;
  const std::string path = dir.file("wal.bin");
  write_file(path + ".tmp", "half a rewrite");
  auto writer = WalWriter::open(path, 0);
  REQUIRE(writer.ok());
  CHECK_FALSE(kv::storage::file_exists(path + ".tmp"));
}

// ---- Record offsets and truncate_from (a Raft follower replacing a conflicting suffix) ----

namespace {

// Checks that the writer's offset index matches the record ends write_log returned, for a
// log holding records first_index .. first_index + ends.size() - 1 from byte `base` on.
void check_offsets(const WalWriter& w, uint64_t first_index, const std::vector<uint64_t>& ends,
                   uint64_t base = 0) {
  REQUIRE(w.record_count() == ends.size());
  CHECK(w.first_index() == first_index);
  CHECK(w.last_index() == first_index + ends.size() - 1);
  for (size_t i = 0; i < ends.size(); ++i) {
    CAPTURE(i);
    CHECK(w.offset_of(first_index + i) == (i == 0 ? base : ends[i - 1]) - base);
  }
  CHECK(w.offset_of(first_index + ends.size()) == w.size());
}

// Appends records with write_log's contents for indexes [from, to) to an open writer.
void append_range(WalWriter& w, uint64_t from, uint64_t to) {
  for (uint64_t index = from; index < to; ++index) {
    const size_t size = static_cast<size_t>(index * 3 % 11);
    w.append(1 + index / 3, index, size == 0 ? RecordType::kNoop : RecordType::kCommand,
             payload_for(index, size));
  }
}

}  // namespace

TEST_CASE("wal: open indexes the offsets of the records it keeps") {
  TempDir dir;
  const std::string path = dir.file("wal.bin");
  // Records larger than the 1 MiB scan window are skipped over, not read.
  SUBCASE("small records") {
    const std::vector<uint64_t> ends = write_log(path, 1, 40);
    auto writer = WalWriter::open(path, ends.back());
    REQUIRE(writer.ok());
    check_offsets(**writer, 1, ends);
  }
  SUBCASE("records across and beyond the scan window") {
    const std::vector<uint64_t> ends = write_log(path, 50, 7, 700 << 10);
    auto writer = WalWriter::open(path, ends.back());
    REQUIRE(writer.ok());
    check_offsets(**writer, 50, ends);
  }
  SUBCASE("a torn tail is not indexed") {
    const std::vector<uint64_t> ends = write_log(path, 1, 5);
    write_file(path, read_file(path) + "torn");
    auto writer = WalWriter::open(path, ends.back());
    REQUIRE(writer.ok());
    check_offsets(**writer, 1, ends);
  }
  SUBCASE("a valid_size inside a record is refused and the file left whole") {
    const std::vector<uint64_t> ends = write_log(path, 1, 5);
    const std::string before = read_file(path);
    for (uint64_t bad : {ends[1] + 1, ends[1] + 25, ends.back() - 1, uint64_t{3}}) {
      CAPTURE(bad);
      auto writer = WalWriter::open(path, bad);
      REQUIRE_FALSE(writer.ok());
      CHECK(writer.status().is_invalid_argument());
      CHECK(read_file(path) == before);
    }
  }
  SUBCASE("an empty file has no records and no known next index") {
    auto writer = WalWriter::open(path, 0);
    REQUIRE(writer.ok());
    CHECK((*writer)->record_count() == 0);
    CHECK((*writer)->first_index() == 0);
    CHECK((*writer)->last_index() == 0);
  }
}

TEST_CASE("wal: a writer on an empty file may start at any index") {
  TempDir dir;
  const std::string path = dir.file("wal.bin");
  {
    auto writer = WalWriter::open(path, 0);
    REQUIRE(writer.ok());
    WalWriter& w = **writer;
    append_range(w, 1000, 1005);
    CHECK(w.first_index() == 1000);
    CHECK(w.last_index() == 1004);
    w.sync();
  }
  Recovered r = recover(path);
  REQUIRE(r.status.ok());
  check_records(r.records, 1000, 5);
  auto writer = WalWriter::open(path, r.info.valid_bytes);
  REQUIRE(writer.ok());
  CHECK((*writer)->first_index() == 1000);
  CHECK((*writer)->last_index() == 1004);
  REQUIRE((*writer)->truncate_from(1000).ok());
  CHECK((*writer)->size() == 0);
  CHECK((*writer)->first_index() == 1000);
  CHECK((*writer)->last_index() == 999);
}

TEST_CASE("wal: truncate_from keeps exactly the prefix and appends continue there") {
  TempDir dir;
  const std::string path = dir.file("wal.bin");
  const std::vector<uint64_t> ends = write_log(path, 1, 8);  // indexes 1..8, synced
  const std::string before = read_file(path);

  // cut: the first index removed. Cases run with records only in the file, and with
  // 9..11 appended on top of it (buffered, or flushed but not synced).
  for (uint64_t cut : {1, 4, 8, 9}) {
    for (int extra : {0, 1, 2}) {
      CAPTURE(cut);
      CAPTURE(extra);
      write_file(path, before);
      {
        auto writer = WalWriter::open(path, before.size());
        REQUIRE(writer.ok());
        WalWriter& w = **writer;
        if (extra > 0) append_range(w, 9, 12);
        if (extra == 2) w.flush();
        REQUIRE(w.truncate_from(cut).ok());
        const uint64_t kept = cut == 1 ? 0 : ends[cut - 2];
        CHECK(w.size() == kept);
        CHECK(w.buffered_bytes() == 0);
        CHECK(w.synced_size() == kept);  // the cut is already durable
        CHECK(w.last_index() == cut - 1);
        CHECK(w.first_index() == 1);
        CHECK(read_file(path) == before.substr(0, kept));
        check_offsets(w, 1, std::vector<uint64_t>(ends.begin(), ends.begin() + (cut - 1)));
        // New entries, as a new leader would send them, continue at the cut.
        w.append(50, cut, RecordType::kCommand, "new-" + std::to_string(cut));
        w.append(50, cut + 1, RecordType::kCommand, "next");
        w.sync();
      }
      Recovered r = recover(path);
      REQUIRE(r.status.ok());
      REQUIRE(r.records.size() == cut + 1);
      check_records({r.records.begin(), r.records.begin() + (cut - 1)}, 1, cut - 1);
      CHECK(r.records[cut - 1].index == cut);
      CHECK(r.records[cut - 1].term == 50);
      CHECK(r.records[cut - 1].payload == "new-" + std::to_string(cut));
      CHECK(r.records[cut].index == cut + 1);
      CHECK_FALSE(r.info.torn_tail);
    }
  }
}

TEST_CASE("wal: truncate_from inside the unflushed buffer needs no file change") {
  TempDir dir;
  const std::string path = dir.file("wal.bin");
  const std::vector<uint64_t> ends = write_log(path, 1, 5);
  const std::string before = read_file(path);
  auto writer = WalWriter::open(path, ends.back());
  REQUIRE(writer.ok());
  WalWriter& w = **writer;
  append_range(w, 6, 10);
  const uint64_t start_8 = w.offset_of(8);
  REQUIRE(w.truncate_from(8).ok());
  CHECK(w.size() == start_8);
  CHECK(w.buffered_bytes() == start_8 - ends.back());
  CHECK(w.last_index() == 7);
  CHECK(read_file(path) == before);
  append_range(w, 8, 9);
  REQUIRE(w.truncate_from(7).ok());  // a second cut, still in the buffer
  CHECK(w.last_index() == 6);
  append_range(w, 7, 12);
  w.sync();
  Recovered r = recover(path);
  REQUIRE(r.status.ok());
  check_records(r.records, 1, 11);
}

TEST_CASE("wal: truncate_from outside the log changes nothing") {
  TempDir dir;
  const std::string path = dir.file("wal.bin");
  const std::vector<uint64_t> ends = write_log(path, 10, 5);  // indexes 10..14
  const std::string before = read_file(path);
  auto writer = WalWriter::open(path, ends.back());
  REQUIRE(writer.ok());
  WalWriter& w = **writer;

  SUBCASE("last_index() + 1 is an OK no-op that pins the next index") {
    REQUIRE(w.truncate_from(15).ok());
    CHECK(w.last_index() == 14);
    CHECK(read_file(path) == before);
    append_range(w, 15, 16);
    w.sync();
    Recovered r = recover(path);
    REQUIRE(r.status.ok());
    check_records(r.records, 10, 6);
  }
  SUBCASE("before first_index() or past last_index() + 1 is InvalidArgument") {
    for (uint64_t bad : {0, 9, 16, 1000}) {
      CAPTURE(bad);
      const Status s = w.truncate_from(bad);
      CHECK(s.is_invalid_argument());
      CHECK(s.message().find(path) == 0);
      CHECK(w.first_index() == 10);
      CHECK(w.last_index() == 14);
      CHECK(read_file(path) == before);
    }
  }
  SUBCASE("a fresh writer on an empty file takes any index and pins it") {
    const std::string empty_path = dir.file("empty.bin");
    auto empty = WalWriter::open(empty_path, 0);
    REQUIRE(empty.ok());
    REQUIRE((*empty)->truncate_from(77).ok());
    CHECK((*empty)->first_index() == 77);
    CHECK((*empty)->last_index() == 76);
    CHECK((*empty)->offset_of(77) == 0);
    CHECK((*empty)->truncate_from(78).is_invalid_argument());
    append_range(**empty, 77, 79);
    CHECK((*empty)->last_index() == 78);
  }
}

TEST_CASE("wal: offsets stay right across truncate_from and rewrite_from") {
  TempDir dir;
  const std::string path = dir.file("wal.bin");
  const std::vector<uint64_t> ends = write_log(path, 1, 10);
  auto writer = WalWriter::open(path, ends.back());
  REQUIRE(writer.ok());
  WalWriter& w = **writer;

  SUBCASE("truncate, then rewrite") {
    REQUIRE(w.truncate_from(8).ok());  // keeps 1..7
    REQUIRE(w.rewrite_from(w.offset_of(4)).ok());  // keeps 4..7
    check_offsets(w, 4, std::vector<uint64_t>(ends.begin() + 3, ends.begin() + 7), ends[2]);
    REQUIRE(w.truncate_from(6).ok());  // keeps 4..5
    check_offsets(w, 4, {ends[3], ends[4]}, ends[2]);
    append_range(w, 6, 9);
    w.sync();
    Recovered r = recover(path);
    REQUIRE(r.status.ok());
    check_records(r.records, 4, 5);
    CHECK(r.info.valid_bytes == ends[7] - ends[2]);
  }
  SUBCASE("rewrite, then truncate") {
    REQUIRE(w.rewrite_from(ends[4]).ok());  // keeps 6..10
    check_offsets(w, 6, std::vector<uint64_t>(ends.begin() + 5, ends.end()), ends[4]);
    CHECK(w.truncate_from(5).is_invalid_argument());  // now only in the snapshot
    REQUIRE(w.truncate_from(9).ok());                 // keeps 6..8
    CHECK(read_file(path).size() == ends[7] - ends[4]);
    append_range(w, 9, 12);
    w.flush();
    CHECK(w.last_index() == 11);
    for (uint64_t i = 6; i <= 10; ++i) CHECK(w.offset_of(i) == ends[i - 2] - ends[4]);
    w.sync();
    Recovered r = recover(path);
    REQUIRE(r.status.ok());
    check_records(r.records, 6, 6);
  }
  SUBCASE("rewrite to the end, then truncate at the next index") {
    REQUIRE(w.rewrite_from(w.size()).ok());
    CHECK(w.record_count() == 0);
    CHECK(w.first_index() == 11);
    CHECK(w.last_index() == 10);
    CHECK(w.truncate_from(10).is_invalid_argument());
    REQUIRE(w.truncate_from(11).ok());
    append_range(w, 11, 13);
    REQUIRE(w.truncate_from(12).ok());
    w.sync();
    Recovered r = recover(path);
    REQUIRE(r.status.ok());
    check_records(r.records, 11, 1);
  }
  // A reopened writer indexes the same offsets the running one had.
  w.sync();
  auto reopened = WalWriter::open(path, w.size());
  REQUIRE(reopened.ok());
  CHECK((*reopened)->first_index() == w.first_index());
  CHECK((*reopened)->last_index() == w.last_index());
  if (w.record_count() > 0) {
    for (uint64_t i = w.first_index(); i <= w.last_index() + 1; ++i) {
      CHECK((*reopened)->offset_of(i) == w.offset_of(i));
    }
  }
}

TEST_CASE("wal: reset empties the log and pins the next index past an installed snapshot") {
  TempDir dir;
  const std::string path = dir.file("wal.bin");
  auto writer = WalWriter::open(path, 0);
  REQUIRE(writer.ok());
  WalWriter& w = **writer;
  append_range(w, 1, 30);
  w.sync();
  REQUIRE(w.reset(501).ok());
  CHECK(w.size() == 0);
  CHECK(w.record_count() == 0);
  CHECK(w.first_index() == 501);
  CHECK(w.last_index() == 500);
  CHECK(read_file(path).empty());
  append_range(w, 501, 505);
  w.sync();
  // What a restart reads back: exactly the records after the snapshot.
  std::vector<uint64_t> indexes;
  WalRecoveryInfo info;
  REQUIRE(read_wal(path, [&](const Record& r) {
            indexes.push_back(r.index);
            return Status::OK();
          }, &info).ok());
  CHECK(indexes == std::vector<uint64_t>{501, 502, 503, 504});
  CHECK_FALSE(std::filesystem::exists(path + ".tmp"));
}
