#include "io/atomic_write.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "autograd/error.h"
#include "tests/io/temp_dir.h"

namespace shrink::io {
namespace {

using testing::TempDir;

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(WriteAtomically, TemporaryNameCarriesThePid) {
  EXPECT_EQ(temporary_path("/a/b.h5"), "/a/b.h5.tmp-" + std::to_string(::getpid()));
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
  EXPECT_EQ(seen_tmp, temporary_path(path));
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
    EXPECT_EQ(std::string(e.what()), "save: '" + path + "': cannot sync the temporary file '" + temporary_path(path) +
                                         "': No such file or directory");
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
    EXPECT_EQ(std::string(e.what()).rfind("save: '" + path + "': cannot replace the file with '" + temporary_path(path) + "': ", 0),
              0u)
        << e.what();
  }
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"target"});
}

}  // namespace
}  // namespace shrink::io
