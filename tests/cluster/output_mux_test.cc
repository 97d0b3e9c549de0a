#include "cluster/output_mux.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "cluster/cluster_harness.h"

namespace kv::cluster {
namespace {

std::vector<std::string> assemble(const std::vector<std::string>& chunks, size_t max_line = 1 << 16,
                                  bool flush = false) {
  LineAssembler a(max_line);
  std::vector<std::string> lines;
  auto sink = [&](std::string_view l) { lines.emplace_back(l); };
  for (const auto& c : chunks) a.feed(c, sink);
  if (flush) a.flush(sink);
  return lines;
}

TEST_CASE("lines come out whole wherever the input is split") {
  const std::string input = "alpha\nbe\r\n\ngamma delta\nlast";
  const std::vector<std::string> want = {"alpha", "be", "", "gamma delta"};
  for (size_t i = 0; i <= input.size(); ++i) {
    for (size_t j = i; j <= input.size(); ++j) {
      INFO("split at " << i << " and " << j);
      CHECK(assemble({input.substr(0, i), input.substr(i, j - i), input.substr(j)}) == want);
    }
  }
  // Byte by byte, then the unfinished "last" at EOF.
  std::vector<std::string> bytes;
  for (char c : input) bytes.emplace_back(1, c);
  auto got = assemble(bytes, 1 << 16, true);
  REQUIRE(got.size() == 5);
  CHECK(got.back() == "last");
}

TEST_CASE("a line longer than the cap is cut into cap-sized pieces, nothing lost") {
  std::string longline(25, 'x');
  auto got = assemble({longline.substr(0, 7), longline.substr(7) + "\nnext\n"}, 10);
  CHECK(got == std::vector<std::string>{"xxxxxxxxxx", "xxxxxxxxxx", "xxxxx", "next"});
  CHECK(assemble({std::string(10, 'y') + "\n"}, 10) ==
        std::vector<std::string>{std::string(10, 'y')});
}

TEST_CASE("partial lines wait for the rest, or for an explicit flush") {
  LineAssembler a;
  std::vector<std::string> lines;
  auto sink = [&](std::string_view l) { lines.emplace_back(l); };
  a.feed("prompt> ", sink);
  CHECK(lines.empty());
  CHECK(a.has_partial());
  a.flush(sink);
  CHECK(lines == std::vector<std::string>{"prompt> "});
  CHECK_FALSE(a.has_partial());
  a.flush(sink);  // nothing left: no empty line
  CHECK(lines.size() == 1);
}

TEST_CASE("the mux pads names, marks streams, writes log files and rotates them") {
  test::TempDir dir;
  std::string out_path = dir.sub("out");
  int fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  REQUIRE(fd >= 0);
  {
    MuxOptions o;
    o.out_fd = fd;
    o.log_dir = dir.path();
    o.log_max_bytes = 200;
    OutputMux mux(o);
    mux.add_name("node1");
    mux.add_name("node12345678");
    mux.node_line("node1", StreamKind::kStdout, "hello");
    mux.node_line("node1", StreamKind::kStderr, "INFO something");
    mux.event("node1 started (pid 1)", "node1");
    mux.flush();
    CHECK(test::read_file(out_path) ==
          "node1        | hello\n"
          "node1        ! INFO something\n"
          "kvcluster    | node1 started (pid 1)\n");
    std::string log = test::read_file(dir.sub("node1.log"));
    CHECK(log.find(" | hello\n") != std::string::npos);
    CHECK(log.find(" ! INFO something\n") != std::string::npos);
    CHECK(log.find(" * node1 started (pid 1)\n") != std::string::npos);
    CHECK(test::read_file(dir.sub("kvcluster.log")).find(" | node1 started (pid 1)\n") !=
          std::string::npos);
    for (int i = 0; i < 20; ++i) {
      mux.node_line("node1", StreamKind::kStdout, "line " + std::to_string(i));
      mux.flush();
    }
  }
  ::close(fd);
  std::string current = test::read_file(dir.sub("node1.log"));
  std::string rotated = test::read_file(dir.sub("node1.log.1"));
  CHECK(current.size() <= 200);
  CHECK(!rotated.empty());
  CHECK(current.find("line 19\n") != std::string::npos);
}

TEST_CASE("colour only on the prefix, and never with NO_COLOR") {
  ::setenv("NO_COLOR", "1", 1);
  CHECK_FALSE(want_color(STDOUT_FILENO));
  ::unsetenv("NO_COLOR");
  test::TempDir dir;
  int fd = ::open(dir.sub("out").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  {
    MuxOptions o;
    o.out_fd = fd;
    o.color = true;
    OutputMux mux(o);
    mux.node_line("node1", StreamKind::kStdout, "x");
  }
  ::close(fd);
  CHECK(test::read_file(dir.sub("out")) == "\x1b[36mnode1     |\x1b[0m x\n");
}

}  // namespace
}  // namespace kv::cluster
