#include "io/atomic_write.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "autograd/error.h"
#include "io/hdf5_file.h"
#include "io/state_dict_file.h"
#include "tests/io/temp_dir.h"
#include "tests/support/errors.h"

namespace shrink::io {
namespace {

using testing::error_of;
using testing::TempDir;

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(WriteAtomically, RefusesToRenameOverADevice) {
  bool wrote = false;
  EXPECT_THROW(
      {
        try {
          io::write_atomically("/dev/null", "save_state_dict", [&](const std::string&) { wrote = true; });
        } catch (const IOError& e) {
          EXPECT_STREQ(e.what(), "save_state_dict: '/dev/null': expected a regular file or a new path, got a special "
                                 "file (a device, FIFO or socket); Shrink writes a temporary file and "
                                 "renames it over the target");
          throw;
        }
      },
      IOError);
  EXPECT_FALSE(wrote);
  EXPECT_TRUE(std::filesystem::is_character_file("/dev/null"));
}

TEST(WriteAtomically, TemporaryNamesCarryThePidAndARandomPart) {
  const std::string a = temporary_path("/a/b.h5"), b = temporary_path("/a/b.h5");
  const std::string stem = "/a/b.h5.tmp-" + std::to_string(::getpid()) + "-";
  EXPECT_EQ(a.rfind(stem, 0), 0u) << a;
  EXPECT_EQ(a.size(), stem.size() + 16) << a;
  EXPECT_NE(a, b);
  EXPECT_EQ(temporary_owner("/a/b.h5", a.substr(3)), ::getpid());
}

TEST(WriteAtomically, OnlyTheExactTemporaryPatternOfTheTargetHasAnOwner) {
  EXPECT_EQ(temporary_owner("d/b.h5", "b.h5.tmp-123-0123456789abcdef"), 123);
  EXPECT_EQ(temporary_owner("d/b.h5", "b.h5.tmp-123"), 123);  // the name earlier versions used
  for (const char* other : {"b.h5", "c.h5.tmp-123", "b.h5.tmp-", "b.h5.tmp-12a", "b.h5.tmp-123-0123",
                            "b.h5.tmp-123-0123456789ABCDEF", "b.h5.tmp-123-0123456789abcdef0", "xb.h5.tmp-123",
                            "b.h5.tmp--1", "b.h5.tmp-0"})
    EXPECT_EQ(temporary_owner("d/b.h5", other), -1) << other;
}

/// The pid of a process that has exited (and been reaped): no process has it now.
pid_t dead_pid() {
  const pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  ::waitpid(pid, nullptr, 0);
  return pid;
}

TEST(WriteAtomically, RemovesTemporariesOfDeadWritersOnly) {
  TempDir dir;
  const std::string path = dir.file("f.h5");
  const std::string dead = "f.h5.tmp-" + std::to_string(dead_pid()) + "-00000000deadbeef";
  const std::string dead_legacy = "f.h5.tmp-" + std::to_string(dead_pid());
  const std::string live = "f.h5.tmp-" + std::to_string(::getppid()) + "-0000000000000001";
  const std::string unrelated = "g.h5.tmp-" + std::to_string(dead_pid()) + "-00000000deadbeef";
  for (const auto& name : {dead, dead_legacy, live, unrelated}) dir.write_bytes(name, "partial");
  write_atomically(path, "save", [](const std::string& tmp) { std::ofstream(tmp) << "x"; });
  EXPECT_EQ(dir.entries(), (std::vector<std::string>{"f.h5", live, unrelated}));
  EXPECT_EQ(remove_stale_temporaries(path), 0u);
}

TEST(WriteAtomically, APlantedSymlinkAtAPredictableNameIsNotFollowed) {
  TempDir dir;
  const std::string path = dir.file("w.h5");
  const std::string victim = dir.write_bytes("victim", "precious");
  // The names a writer with this pid used to take, and the stale-temporary pattern of a dead pid.
  const std::string legacy = path + ".tmp-" + std::to_string(::getpid());
  const std::string stale = path + ".tmp-" + std::to_string(dead_pid()) + "-0000000000000000";
  std::filesystem::create_symlink(victim, legacy);
  std::filesystem::create_symlink(victim, stale);
  StateDict sd;
  sd.insert("w", ones({2}));
  save_state_dict(sd, path);
  EXPECT_EQ(read_all(victim), "precious");
  EXPECT_EQ(load_state_dict(path).at("w").to_vector(), (std::vector<float>{1, 1}));
  // The dead writer's symlink is removed (the link, not its target); ours is kept (pid alive).
  EXPECT_TRUE(std::filesystem::is_symlink(legacy));
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::symlink_status(stale)));
  // Creating through any existing name, symlink or not, is refused instead of followed.
  EXPECT_THAT(error_of<IOError>([&] { H5File::create(legacy, "save", path); }),
              ::testing::StartsWith("save: '" + path + "': cannot be created: something already exists at '" + legacy +
                                    "'"));
  EXPECT_EQ(read_all(victim), "precious");
}

TEST(WriteAtomically, ReplacesTheFileWithTheCompleteContent) {
  TempDir dir;
  const std::string path = dir.write_bytes("f.txt", "old");
  std::string seen_tmp;
  write_atomically(path, "save", [&](const std::string& tmp) {
    seen_tmp = tmp;
    EXPECT_EQ(read_all(path), "old");  // the target is untouched while writing
    std::ofstream(tmp) << "new content";
  });
  EXPECT_EQ(temporary_owner(path, std::filesystem::path(seen_tmp).filename().string()), ::getpid());
  EXPECT_EQ(read_all(path), "new content");
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"f.txt"});
}

TEST(WriteAtomically, CreatesANewFile) {
  TempDir dir;
  const std::string path = dir.file("new.bin");
  write_atomically(path, "save", [&](const std::string& tmp) { std::ofstream(tmp) << "x"; });
  EXPECT_EQ(read_all(path), "x");
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"new.bin"});
}

TEST(WriteAtomically, AFailingWriteLeavesTheOldFileAndNoTemporary) {
  TempDir dir;
  const std::string path = dir.write_bytes("f.txt", "old");
  EXPECT_THROW(write_atomically(path, "save",
                                [&](const std::string& tmp) {
                                  std::ofstream(tmp) << "half of the";
                                  throw ValueError("disk on fire");
                                }),
               ValueError);
  EXPECT_EQ(read_all(path), "old");
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"f.txt"});
}

TEST(WriteAtomically, AWriterThatProducesNothingIsAnIOError) {
  TempDir dir;
  const std::string path = dir.write_bytes("f.txt", "old");
  try {
    write_atomically(path, "save", [](const std::string&) {});
    FAIL() << "expected IOError";
  } catch (const IOError& e) {
    EXPECT_EQ(std::string(e.what()), "save: '" + path + "': cannot sync the written data: No such file or directory");
  }
  EXPECT_EQ(read_all(path), "old");
}

TEST(WriteAtomically, ARenameOntoADirectoryFailsAndCleansUp) {
  TempDir dir;
  const std::string path = dir.file("target");
  std::filesystem::create_directories(path + "/inside");  // a non-empty directory cannot be replaced
  try {
    write_atomically(path, "save", [](const std::string& tmp) { std::ofstream(tmp) << "x"; });
    FAIL() << "expected IOError";
  } catch (const IOError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("save: '" + path + "': cannot replace the file: ", 0), 0u) << e.what();
  }
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"target"});
}

}  // namespace
}  // namespace shrink::io
