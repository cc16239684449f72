// Torn and corrupt state files (issue 9, crash anywhere). The local state store writes a temp
// file, fsyncs it, renames it over the blob and fsyncs the directory, so a crash leaves the old
// or the new blob, never a mix (the mid-save crash itself is local_state_store_test's forked
// child). These tests cover the other half of the promise: whatever bytes are found on load
// (a truncated file from a disk that lied about fsync, a flipped byte, another program's
// garbage) are detected, never half-read, and the controller falls back safely: it starts cold
// for what it cannot read, the pass still runs, and the next save replaces the bad file.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <filesystem>
#include <fstream>
#include <random>

#include "controller/faults_harness.h"
#include "policy/decision_state.h"

namespace autoplacer::controller::faults {
namespace {
namespace fs = std::filesystem;
namespace json = boost::json;

const char* kBlobs[] = {"decision_state", "controller", "status"};

class StateFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    level_ = spdlog::get_level();
    spdlog::set_level(spdlog::level::off);
    dir_ = fs::temp_directory_path() / ("ap-crash-state-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
  }
  void TearDown() override {
    fs::remove_all(dir_);
    spdlog::set_level(level_);
  }

  // Blobs a controller really saved: three passes that create, retire and start cooldowns.
  std::map<std::string, std::string> saved_blobs() {
    FaultRig rig(FaultRig::Config{});
    rig.traffic().set_demand({{"fra", 140}, {"nrt", 90}});
    for (int i = 0; i < 3; ++i) {
      EXPECT_TRUE(rig.pass().succeeded());
      rig.clock().advance(10s);
    }
    std::map<std::string, std::string> out;
    for (const char* name : kBlobs) {
      auto raw = rig.store().raw(kPolicy, name);
      EXPECT_TRUE(raw) << name;
      if (raw) out[name] = *raw;
    }
    return out;
  }

  fs::path dir_;
  spdlog::level::level_enum level_ = spdlog::level::info;
};

TEST_F(StateFiles, EveryTruncationOfASavedBlobIsDetectedOnLoad) {
  auto opened = LocalStateStore::open(dir_);
  ASSERT_TRUE(opened) << opened.error().message;
  LocalStateStore& store = **opened;
  int checked = 0;
  for (const auto& [name, bytes] : saved_blobs()) {
    const json::value full = json::parse(bytes);
    ASSERT_TRUE(store.save_now(kPolicy, name, full));
    const fs::path path = store.path_of(kPolicy, name);
    std::string on_disk;
    {
      std::ifstream in(path, std::ios::binary);
      on_disk.assign(std::istreambuf_iterator<char>(in), {});
    }
    ASSERT_GT(on_disk.size(), 10u);
    // Every cut near either end, every 7th in between (keeps the test fast on big blobs).
    for (std::size_t len = 0; len < on_disk.size();
         len += (len < 200 || len + 200 > on_disk.size()) ? 1 : 7) {
      std::ofstream(path, std::ios::binary | std::ios::trunc) << on_disk.substr(0, len);
      auto loaded = store.load_now(kPolicy, name);
      const bool only_newline_missing = len == on_disk.size() - 1 && on_disk.back() == '\n';
      if (only_newline_missing) {
        ASSERT_TRUE(loaded) << name << " cut at " << len;
        EXPECT_EQ(**loaded, full);
      } else {
        ASSERT_FALSE(loaded) << name << " cut at " << len << " of " << on_disk.size()
                             << " was read as a value";
        EXPECT_EQ(loaded.error().kind, StateError::Kind::kCorrupt) << loaded.error().message;
      }
      ++checked;
    }
  }
  EXPECT_GT(checked, 100);
}

TEST_F(StateFiles, LeftoverTempFilesOfAnInterruptedSaveAreRemovedAndTheOldBlobKept) {
  {
    auto opened = LocalStateStore::open(dir_);
    ASSERT_TRUE(opened);
    ASSERT_TRUE((*opened)->save_now(kPolicy, "status", json::value{{"old", true}}));
  }
  // What a SIGKILL between write and rename leaves: a half-written temp file beside the blob.
  const fs::path temp = dir_ / kPolicy / ".status.tmp.12345";
  std::ofstream(temp) << "{\"new\": tr";
  auto reopened = LocalStateStore::open(dir_);
  ASSERT_TRUE(reopened);
  EXPECT_FALSE(fs::exists(temp));
  auto loaded = (*reopened)->load_now(kPolicy, "status");
  ASSERT_TRUE(loaded && *loaded);
  EXPECT_EQ(**loaded, (json::value{{"old", true}}));
}

// Corrupt bytes in every blob a restarted controller reads: it must start (cold where it cannot
// read), run a good pass, keep every invariant, and leave loadable blobs behind.
TEST_F(StateFiles, ACorruptStateFallsBackSafelyAndIsReplacedByTheNextSave) {
  const auto good = saved_blobs();
  std::mt19937_64 rng(7);
  std::vector<std::string> kinds = {"truncated", "flipped byte", "empty",
                                    "null",      "wrong types",  "huge numbers"};
  int runs = 0;
  for (int round = 0; round < 60; ++round) {
    const std::string& kind = kinds[static_cast<std::size_t>(round) % kinds.size()];
    FaultRig rig(FaultRig::Config{});
    for (const auto& [name, bytes] : good) {
      std::string bad = bytes;
      if (kind == "truncated") {
        bad = bytes.substr(0, std::uniform_int_distribution<std::size_t>(0, bytes.size() - 2)(rng));
      } else if (kind == "flipped byte") {
        auto& b = bad[std::uniform_int_distribution<std::size_t>(0, bad.size() - 1)(rng)];
        b = static_cast<char>(b ^ (1 << std::uniform_int_distribution<int>(0, 6)(rng)));
      } else if (kind == "empty") {
        bad.clear();
      } else if (kind == "null") {
        bad = "null";
      } else if (kind == "wrong types") {
        bad = R"({"regions": 5, "generation": "x", "conditions": {}, "history": [1, 2]})";
      } else {
        bad = R"({"generation": 1e400, "policyGeneration": -1e300, "regions": {"fra": )"
              R"({"addedAtMs": 1e300}}})";
      }
      rig.store().put_raw(kPolicy, name, bad);
    }
    rig.traffic().set_demand({{"fra", 140}, {"nrt", 90}});
    PassResult r = rig.pass();
    EXPECT_TRUE(r.succeeded()) << kind << ": " << r.message;
    for (const char* name : kBlobs) {
      auto loaded = rig.store().load_now(kPolicy, name);
      ASSERT_TRUE(loaded && *loaded) << kind << ": " << name << " still unreadable after a pass";
      if (std::string(name) == "decision_state") {
        EXPECT_TRUE(decision_state_from_json(**loaded)) << kind;
      }
    }
    EXPECT_EQ(rig.converge(), std::nullopt) << kind;
    for (const auto& v : rig.invariants().violations()) ADD_FAILURE() << kind << ": " << v;
    ++runs;
  }
  EXPECT_EQ(runs, 60);
}

}  // namespace
}  // namespace autoplacer::controller::faults
