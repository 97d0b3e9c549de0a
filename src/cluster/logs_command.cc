#include "cluster/logs_command.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "cluster/cluster_config.h"

namespace kv::cluster {
namespace {

struct Followed {
  ino_t inode = 0;
  off_t offset = 0;
  std::string partial;
};

std::string read_whole(const std::string& path) {
  std::string data;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return data;
  char buf[65536];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof(buf))) > 0) data.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return data;
}

std::vector<std::string> log_names(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return names;
  while (dirent* e = ::readdir(d)) {
    std::string f = e->d_name;
    if (f.size() > 4 && f.compare(f.size() - 4, 4, ".log") == 0)
      names.push_back(f.substr(0, f.size() - 4));
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

void print_line(const std::string& name, size_t width, const std::string& line) {
  if (width == 0) {
    std::printf("%s\n", line.c_str());
  } else {
    std::printf("%-*s %s\n", static_cast<int>(width), name.c_str(), line.c_str());
  }
}

// Reads what was appended to dir/name.log since last time; prints whole lines.
void follow_file(const std::string& dir, const std::string& name, size_t width, bool skip_events,
                 Followed* f) {
  std::string path = dir + "/" + name + ".log";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  struct stat st {};
  ::fstat(fd, &st);
  if (st.st_ino != f->inode || st.st_size < f->offset) {  // rotated or truncated: start over
    f->inode = st.st_ino;
    f->offset = 0;
    f->partial.clear();
  }
  char buf[65536];
  ssize_t n;
  while ((n = ::pread(fd, buf, sizeof(buf), f->offset)) > 0) {
    f->offset += n;
    f->partial.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  size_t start = 0, nl;
  while ((nl = f->partial.find('\n', start)) != std::string::npos) {
    std::string line = f->partial.substr(start, nl - start);
    start = nl + 1;
    if (skip_events && line.size() > 25 && line[25] == '*') continue;
    print_line(name, width, line);
  }
  f->partial.erase(0, start);
  std::fflush(stdout);
}

}  // namespace

int run_logs(const std::string& config_path, const std::string& node, bool follow, int tail_lines) {
  std::string dir = state_dir_for(config_path);
  std::vector<std::string> names;
  if (!node.empty()) {
    std::string digits = node.rfind("node", 0) == 0 ? node.substr(4) : node;
    std::string name =
        node == "kvcluster" ? node
        : (!digits.empty() && digits.find_first_not_of("0123456789") == std::string::npos)
            ? "node" + digits
            : node;
    struct stat st {};
    if (::stat((dir + "/" + name + ".log").c_str(), &st) != 0) {
      std::fprintf(stderr, "kvcluster: no log for '%s' in %s (logs: %s)\n", node.c_str(),
                   dir.c_str(), fmt::format("{}", fmt::join(log_names(dir), ", ")).c_str());
      return 1;
    }
    names.push_back(name);
  } else {
    names = log_names(dir);
    if (names.empty() && !follow) {
      std::fprintf(stderr, "kvcluster: no log files in %s (has kvcluster up run here?)\n",
                   dir.c_str());
      return 1;
    }
  }
  size_t width = 0;
  if (node.empty()) {
    for (const auto& n : names) width = std::max(width, n.size());
  }

  // Lines start with an ISO-8601 UTC timestamp, so sorting the text merges by time.
  struct Entry {
    std::string line;
    std::string name;
  };
  std::vector<Entry> entries;
  std::map<std::string, Followed> followed;
  for (const auto& name : names) {
    std::string data = read_whole(dir + "/" + name + ".log.1");
    std::string path = dir + "/" + name + ".log";
    std::string current = read_whole(path);
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0) {
      followed[name] = Followed{st.st_ino, static_cast<off_t>(current.size()), ""};
    }
    data += current;
    size_t start = 0, nl;
    while ((nl = data.find('\n', start)) != std::string::npos) {
      std::string line = data.substr(start, nl - start);
      start = nl + 1;
      // Merged, a node log's copies of supervisor events ('*') would repeat kvcluster.log.
      if (node.empty() && name != "kvcluster" && line.size() > 25 && line[25] == '*') continue;
      entries.push_back({std::move(line), name});
    }
    followed[name].partial = data.substr(start);
  }
  std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.line.substr(0, 24) < b.line.substr(0, 24);
  });
  size_t first = tail_lines >= 0 && entries.size() > static_cast<size_t>(tail_lines)
                     ? entries.size() - static_cast<size_t>(tail_lines)
                     : 0;
  for (size_t i = first; i < entries.size(); ++i)
    print_line(entries[i].name, width, entries[i].line);
  std::fflush(stdout);
  if (!follow) return 0;

  int in = ::inotify_init1(IN_CLOEXEC);
  if (in < 0 || ::inotify_add_watch(in, dir.c_str(), IN_MODIFY | IN_CREATE | IN_MOVED_TO) < 0) {
    std::fprintf(stderr, "kvcluster: cannot watch %s: %s\n", dir.c_str(), std::strerror(errno));
    return 1;
  }
  const bool all = node.empty();
  for (;;) {
    alignas(inotify_event) char buf[16384];
    ssize_t n = ::read(in, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return 1;
    for (ssize_t off = 0; off < n;) {
      auto* ev = reinterpret_cast<inotify_event*>(buf + off);
      off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
      std::string f = ev->len > 0 ? ev->name : "";
      if (f.size() <= 4 || f.compare(f.size() - 4, 4, ".log") != 0) continue;
      std::string name = f.substr(0, f.size() - 4);
      if (!all && name != names[0]) continue;
      if (all && width < name.size()) width = name.size();
      follow_file(dir, name, all ? width : 0, all && name != "kvcluster", &followed[name]);
    }
  }
}

}  // namespace kv::cluster
