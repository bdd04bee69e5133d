// A deterministic stand-in for libFuzzer's main, linked with the same targets in gcc builds:
// runs every seed, then a bounded number of mutations of them (fuzz/mutate.h), and fails with the
// offending input saved when the target aborts, crashes, hangs or trips a sanitizer.
//
//   <target> [--mutations N] [--seed S] [--max-len N] [--timeout-ms N] [--dict FILE]...
//            [--artifacts DIR] [--stats] <seed file or directory>...
//
// SHRINK_FUZZ_MUTATIONS in the environment overrides the default of --mutations (1000), e.g. to
// fuzz longer than the test suite does. A run prints how many inputs were accepted and rejected.
#include <fcntl.h>
#include <signal.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "fuzz/fuzz_input.h"
#include "fuzz/mutate.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
// Present when linked with a sanitizer runtime: called when ASan/UBSan end the process.
extern "C" void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));

namespace {

namespace fs = std::filesystem;

struct Options {
  std::uint64_t mutations = 1000;
  std::uint64_t seed = 1;
  std::size_t max_len = 1 << 16;
  unsigned timeout_ms = 10000;
  std::vector<std::string> dicts;
  std::string artifacts = ".";
  bool stats = false;
  std::vector<std::string> inputs;
};

[[noreturn]] void usage(const std::string& problem) {
  std::cerr << "fuzz driver: " << problem << "\n"
            << "usage: <target> [--mutations N] [--seed S] [--max-len N] [--timeout-ms N] [--dict FILE]\n"
            << "                [--artifacts DIR] [--stats] <seed file or directory>...\n";
  std::exit(2);
}

std::uint64_t number(const char* flag, const char* text) {
  char* end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || text[0] == '-')
    usage(std::string(flag) + ": expected a non-negative integer, got '" + text + "'");
  return v;
}

Options parse(int argc, char** argv) {
  Options o;
  if (const char* env = std::getenv("SHRINK_FUZZ_MUTATIONS")) o.mutations = number("SHRINK_FUZZ_MUTATIONS", env);
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) usage(a + ": missing value");
      return argv[++i];
    };
    if (a == "--mutations") o.mutations = number("--mutations", value());
    else if (a == "--seed") o.seed = number("--seed", value());
    else if (a == "--max-len") o.max_len = number("--max-len", value());
    else if (a == "--timeout-ms") o.timeout_ms = static_cast<unsigned>(number("--timeout-ms", value()));
    else if (a == "--dict") o.dicts.push_back(value());
    else if (a == "--artifacts") o.artifacts = value();
    else if (a == "--stats") o.stats = true;
    else if (a == "--help" || a == "-h") usage("help");
    else if (a.rfind("--", 0) == 0) usage("unknown option " + a);
    else o.inputs.push_back(a);
  }
  if (o.inputs.empty()) usage("no seed files or directories");
  return o;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

/// Seed files: the given files and every regular file below the given directories, sorted so
/// that the run does not depend on directory order.
std::vector<fs::path> seed_files(const std::vector<std::string>& inputs) {
  std::vector<fs::path> files;
  for (const auto& in : inputs) {
    if (fs::is_directory(in)) {
      std::vector<fs::path> found;
      for (const auto& e : fs::recursive_directory_iterator(in))
        if (e.is_regular_file()) found.push_back(e.path());
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    } else if (fs::is_regular_file(in)) {
      files.emplace_back(in);
    } else {
      usage("no such seed file or directory: " + in);
    }
  }
  return files;
}

/// Tokens of a libFuzzer dictionary: one `"..."` per line (optionally `name="..."`), with \\, \"
/// and \xNN escapes; '#' starts a comment.
void read_dictionary(const std::string& path, std::vector<std::string>& tokens) {
  std::ifstream in(path);
  if (!in) usage("cannot read dictionary " + path);
  std::string line;
  while (std::getline(in, line)) {
    const std::size_t open = line.find('"');
    if (line.empty() || line[0] == '#' || open == std::string::npos) continue;
    std::string token;
    for (std::size_t i = open + 1; i < line.size() && line[i] != '"'; ++i) {
      if (line[i] != '\\' || i + 1 >= line.size()) {
        token += line[i];
      } else if (line[i + 1] == 'x' && i + 3 < line.size()) {
        token += static_cast<char>(std::stoi(line.substr(i + 2, 2), nullptr, 16));
        i += 3;
      } else {
        token += line[++i];
      }
    }
    tokens.push_back(token);
  }
}

// What the signal and sanitizer handlers need, prepared before each input (async-signal-safe).
const std::string* g_current = nullptr;
char g_artifact[4096];
char g_label[256];

void save_current(const char* why) {
  if (g_current == nullptr) return;
  const int fd = ::open(g_artifact, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd >= 0) {
    std::size_t done = 0;
    while (done < g_current->size()) {
      const ssize_t n = ::write(fd, g_current->data() + done, g_current->size() - done);
      if (n <= 0) break;
      done += static_cast<std::size_t>(n);
    }
    ::close(fd);
  }
  const char* parts[] = {"\nfuzz driver: ", why, " on ", g_label, "; input saved to ", g_artifact, "\n"};
  for (const char* p : parts) {
    const ssize_t ignored = ::write(2, p, std::strlen(p));
    (void)ignored;
  }
}

void on_signal(int sig) {
  save_current(sig == SIGALRM ? "TIMEOUT" : sig == SIGABRT ? "ABORT" : "CRASH (signal)");
  if (sig == SIGALRM) ::_exit(1);
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

void on_sanitizer_death() { save_current("SANITIZER REPORT"); }

void install_handlers() {
  // An alternate stack, so that a stack overflow in a reader still reaches the handler.
  static std::vector<char> alt(1 << 16);
  stack_t ss{};
  ss.ss_sp = alt.data();
  ss.ss_size = alt.size();
  ::sigaltstack(&ss, nullptr);
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_ONSTACK;
  ::sigaction(SIGABRT, &sa, nullptr);
  ::sigaction(SIGALRM, &sa, nullptr);
  if (__sanitizer_set_death_callback) {
    // The sanitizer reports crashes itself (with a stack trace) and then calls us.
    __sanitizer_set_death_callback(on_sanitizer_death);
  } else {
    for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL}) ::sigaction(sig, &sa, nullptr);
  }
}

void arm_timer(unsigned ms) {
  itimerval t{};
  t.it_value.tv_sec = ms / 1000;
  t.it_value.tv_usec = static_cast<suseconds_t>(ms % 1000) * 1000;
  ::setitimer(ITIMER_REAL, &t, nullptr);
}

/// The first words of a rejection message, without file paths, to group rejections by kind.
std::string kind_of(const std::string& message) {
  std::string out;
  bool in_quote = false;
  for (char c : message.substr(0, 160)) {
    if (c == '\'') {
      in_quote = !in_quote;
      out += in_quote ? "'...'" : "";
    } else if (!in_quote) {
      out += (c >= '0' && c <= '9') ? '#' : c;
    }
  }
  return out.substr(0, 100);
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  std::vector<std::string> dictionary;
  for (const auto& d : o.dicts) read_dictionary(d, dictionary);
  std::vector<std::string> corpus;
  std::vector<std::string> names;
  for (const auto& f : seed_files(o.inputs)) {
    corpus.push_back(read_file(f).substr(0, o.max_len));
    names.push_back(f.filename().string());
  }
  if (corpus.empty()) usage("the seed directories hold no files");
  fs::create_directories(o.artifacts);
  const std::string target = fs::path(argv[0]).filename().string();
  install_handlers();

  shrink::fuzz::Mutator mutator(o.seed, dictionary, o.max_len);
  const std::size_t seeds = corpus.size();
  // Mutants that a reader accepted passed its validation: keep some to mutate further.
  constexpr std::size_t kMaxCorpus = 256;
  std::uint64_t accepted = 0, rejected = 0, seeds_accepted = 0;
  std::map<std::string, std::uint64_t> kinds;
  const auto start = std::chrono::steady_clock::now();
  std::string input, description;
  for (std::uint64_t i = 0; i < seeds + o.mutations; ++i) {
    if (i < seeds) {
      input = corpus[i];
      description = "seed " + names[i];
    } else {
      input = mutator.mutate(corpus, &description);
    }
    std::snprintf(g_artifact, sizeof g_artifact, "%s/%s-input-%llu", o.artifacts.c_str(), target.c_str(),
                  static_cast<unsigned long long>(i));
    std::snprintf(g_label, sizeof g_label, "input %llu (%s)", static_cast<unsigned long long>(i),
                  description.substr(0, 200).c_str());
    g_current = &input;
    shrink::fuzz::begin_input();
    arm_timer(o.timeout_ms);
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(input.data()), input.size());
    arm_timer(0);
    g_current = nullptr;
    const auto& outcome = shrink::fuzz::outcome();
    if (outcome.accepted > 0) {
      ++accepted;
      if (i < seeds) ++seeds_accepted;
      if (i >= seeds && corpus.size() < kMaxCorpus) corpus.push_back(input);
    } else {
      ++rejected;
      ++kinds[kind_of(outcome.first_error)];
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%s: %zu seeds (%llu accepted) + %llu mutations in %.1f s: %llu accepted, %llu rejected with a "
              "shrink::Error, no findings\n",
              target.c_str(), seeds, static_cast<unsigned long long>(seeds_accepted),
              static_cast<unsigned long long>(o.mutations), seconds, static_cast<unsigned long long>(accepted),
              static_cast<unsigned long long>(rejected));
  if (o.stats) {
    std::vector<std::pair<std::uint64_t, std::string>> sorted;
    for (const auto& [k, n] : kinds) sorted.emplace_back(n, k);
    std::sort(sorted.rbegin(), sorted.rend());
    for (const auto& [n, k] : sorted) std::printf("  %6llu  %s\n", static_cast<unsigned long long>(n), k.c_str());
  }
  return 0;
}
