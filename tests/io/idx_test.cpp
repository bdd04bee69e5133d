#include "io/data/idx.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/support/errors.h"
#include "tests/io/idx_files.h"
#include "tests/io/temp_dir.h"

namespace shrink::data {
namespace {

using testing::TempDir;

using testing::error_of;

TEST(Idx, ReadsRawAndGzippedImagesIdentically) {
  TempDir dir;
  std::vector<std::uint8_t> px(2 * 3 * 4);
  for (std::size_t k = 0; k < px.size(); ++k) px[k] = static_cast<std::uint8_t>(k * 11);
  const std::string bytes = testing::idx_images(2, 3, 4, px);
  testing::write_file(dir.file("raw"), bytes, false);
  testing::write_file(dir.file("gz.gz"), bytes, true);
  for (const char* name : {"raw", "gz.gz"}) {
    const Tensor t = read_idx_images(dir.file(name));
    EXPECT_EQ(t.dtype(), DType::UInt8) << name;
    ASSERT_EQ(t.shape(), (Shape{2, 3, 4})) << name;
    EXPECT_EQ(std::vector<std::uint8_t>(t.data<std::uint8_t>(), t.data<std::uint8_t>() + 24), px) << name;
    EXPECT_EQ(t.at({1, 2, 3}), (23 * 11) % 256) << name;
  }
}

TEST(Idx, ReadsLabelsAsInt64) {
  TempDir dir;
  testing::write_file(dir.file("l.gz"), testing::idx_labels({9, 0, 255, 3}), true);
  const Tensor t = read_idx_labels(dir.file("l.gz"));
  EXPECT_EQ(t.dtype(), DType::Int64);
  EXPECT_EQ(t.shape(), Shape{4});
  EXPECT_EQ(t.to_vector(), (std::vector<float>{9, 0, 255, 3}));
}

TEST(Idx, ReadsEmptyFiles) {
  TempDir dir;
  testing::write_file(dir.file("i"), testing::idx_images(0, 28, 28, {}), false);
  testing::write_file(dir.file("l"), testing::idx_labels({}), false);
  EXPECT_EQ(read_idx_images(dir.file("i")).shape(), (Shape{0, 28, 28}));
  EXPECT_EQ(read_idx_labels(dir.file("l")).shape(), Shape{0});
}

TEST(Idx, MissingFilesAndDirectoriesAreIOErrors) {
  TempDir dir;
  const std::string missing = dir.file("nope.gz");
  EXPECT_EQ(error_of<IOError>([&] { read_idx_images(missing); }), "read_idx_images: '" + missing + "': no such file");
  EXPECT_EQ(error_of<IOError>([&] { read_idx_labels(dir.path().string()); }),
            "read_idx_labels: '" + dir.path().string() + "': expected a file, got a directory");
}

TEST(Idx, WrongMagicNamesExpectedAndFound) {
  TempDir dir;
  testing::write_file(dir.file("labels.gz"), testing::idx_labels({1, 2}), true);
  EXPECT_EQ(error_of<IOError>([&] { read_idx_images(dir.file("labels.gz")); }),
            "read_idx_images: '" + dir.file("labels.gz") +
                "': expected magic 0x00000803 (idx3 unsigned-byte images), got 0x00000801 (this is an idx label file)");
  testing::write_file(dir.file("images"), testing::idx_images(1, 1, 1, {7}), false);
  EXPECT_EQ(error_of<IOError>([&] { read_idx_labels(dir.file("images")); }),
            "read_idx_labels: '" + dir.file("images") +
                "': expected magic 0x00000801 (idx1 unsigned-byte labels), got 0x00000803 (this is an idx image file)");
  testing::write_file(dir.file("png"), "\x89PNG\r\n\x1a\n and more bytes", false);
  EXPECT_EQ(error_of<IOError>([&] { read_idx_labels(dir.file("png")); }),
            "read_idx_labels: '" + dir.file("png") + "': expected magic 0x00000801 (idx1 unsigned-byte labels), got 0x89504e47");
}

TEST(Idx, TruncatedHeadersAndDataAreIOErrors) {
  TempDir dir;
  testing::write_file(dir.file("tiny"), std::string("\x00\x00", 2), false);
  EXPECT_EQ(error_of<IOError>([&] { read_idx_images(dir.file("tiny")); }),
            "read_idx_images: '" + dir.file("tiny") + "': truncated header: expected at least 16 bytes, got 2");
  const std::string full = testing::idx_images(10, 28, 28, testing::pattern_pixels(10));
  testing::write_file(dir.file("short-header.gz"), full.substr(0, 10), true);
  EXPECT_EQ(error_of<IOError>([&] { read_idx_images(dir.file("short-header.gz")); }),
            "read_idx_images: '" + dir.file("short-header.gz") + "': truncated header: expected 16 bytes, got 10");
  testing::write_file(dir.file("short.gz"), full.substr(0, 16 + 784 * 9 + 5), true);
  EXPECT_EQ(error_of<IOError>([&] { read_idx_images(dir.file("short.gz")); }),
            "read_idx_images: '" + dir.file("short.gz") +
                "': truncated data: expected 7840 bytes for 10 images of 28x28, got 7061");
  testing::write_file(dir.file("long"), testing::idx_labels({1, 2, 3}) + "xy", false);
  EXPECT_EQ(error_of<IOError>([&] { read_idx_labels(dir.file("long")); }),
            "read_idx_labels: '" + dir.file("long") + "': expected 3 bytes for 3 labels, got 5 (2 trailing bytes)");
  std::string huge;
  testing::put_u32(huge, 0x803);
  for (int i = 0; i < 3; ++i) testing::put_u32(huge, 0xffffffffu);
  testing::write_file(dir.file("huge"), huge, false);
  EXPECT_EQ(error_of<IOError>([&] { read_idx_images(dir.file("huge")); }),
            "read_idx_images: '" + dir.file("huge") + "': expected a plausible size, got 4294967295 images of 4294967295x4294967295");
}

TEST(Idx, CutOrCorruptGzipStreamsAreIOErrors) {
  TempDir dir;
  const std::string full = testing::idx_images(50, 28, 28, testing::pattern_pixels(50));
  testing::write_file(dir.file("ok.gz"), full, true);
  std::ifstream in(dir.file("ok.gz"), std::ios::binary);
  std::string gz((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(gz.size(), 200u);
  testing::write_file(dir.file("cut.gz"), gz.substr(0, gz.size() / 2), false);
  EXPECT_EQ(error_of<IOError>([&] { read_idx_images(dir.file("cut.gz")); }),
            "read_idx_images: '" + dir.file("cut.gz") + "': truncated gzip stream (the file ends inside the compressed data)");
  std::string flipped = gz;
  for (std::size_t k = 40; k < 80; ++k) flipped[k] = static_cast<char>(flipped[k] ^ 0x5a);
  testing::write_file(dir.file("flipped.gz"), flipped, false);
  const std::string msg = error_of<IOError>([&] { read_idx_images(dir.file("flipped.gz")); });
  EXPECT_EQ(msg.rfind("read_idx_images: '" + dir.file("flipped.gz") + "': corrupt gzip data (", 0), 0u) << msg;
}

TEST(Idx, AGzipBombStopsRightAfterTheDeclaredSize) {
  TempDir dir;
  // The header claims 10 images of 28x28 (7840 bytes); 10 MB of zeros follow (about 10 KB gzipped).
  std::string bomb = testing::idx_images(10, 28, 28, std::vector<std::uint8_t>(7840, 0));
  bomb.append(10u << 20, '\0');
  testing::write_file(dir.file("bomb.gz"), bomb, true);
  EXPECT_LT(std::filesystem::file_size(dir.file("bomb.gz")), 100000u);
  EXPECT_EQ(error_of<IOError>([&] { read_idx_images(dir.file("bomb.gz")); }),
            "read_idx_images: '" + dir.file("bomb.gz") +
                "': expected 7840 bytes for 10 images of 28x28, got more (the decompressed data goes on after them)");
}

TEST(Idx, ADeclaredSizeTheFileCannotHoldIsRefusedBeforeAllocating) {
  TempDir dir;
  // 60000 images of 4096x4096 (1 TB) declared in a file of a few bytes.
  testing::write_file(dir.file("liar.gz"), testing::idx_images(60000, 4096, 4096, {}), true);
  const std::uint64_t size = std::filesystem::file_size(dir.file("liar.gz"));
  EXPECT_EQ(error_of<IOError>([&] { read_idx_images(dir.file("liar.gz")); }),
            "read_idx_images: '" + dir.file("liar.gz") +
                "': expected 1006632960000 bytes for 60000 images of 4096x4096, got a gzip file of " +
                std::to_string(size) + " bytes, which inflates to at most " + std::to_string(size * 1032) +
                " (Hint: the header is corrupt)");
  testing::write_file(dir.file("liar"), testing::idx_labels({1, 2}).substr(0, 4) + std::string("\x7f\xff\xff\xff", 4),
                      false);
  EXPECT_EQ(error_of<IOError>([&] { read_idx_labels(dir.file("liar")); }),
            "read_idx_labels: '" + dir.file("liar") + "': truncated data: expected 2147483647 bytes for 2147483647 "
                                                      "labels, got 0");
}

TEST(Idx, BytesAfterTheGzipStreamAreRefused) {
  TempDir dir;
  testing::write_file(dir.file("l.gz"), testing::idx_labels({1, 2, 3}), true);
  std::ifstream in(dir.file("l.gz"), std::ios::binary);
  const std::string gz((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  testing::write_file(dir.file("garbage.gz"), gz + "garbage", false);
  EXPECT_EQ(error_of<IOError>([&] { read_idx_labels(dir.file("garbage.gz")); }),
            "read_idx_labels: '" + dir.file("garbage.gz") +
                "': expected the file to end with its gzip stream, got trailing bytes after it");
  // A gzip stream cut right before its CRC trailer is truncated, even though all data is there.
  testing::write_file(dir.file("nocrc.gz"), gz.substr(0, gz.size() - 8), false);
  EXPECT_EQ(error_of<IOError>([&] { read_idx_labels(dir.file("nocrc.gz")); }),
            "read_idx_labels: '" + dir.file("nocrc.gz") +
                "': truncated gzip stream (the file ends inside the compressed data)");
}

}  // namespace
}  // namespace shrink::data
