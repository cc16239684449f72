// LocalStateStore on a real directory: atomic replacement (a crash between writing the temp
// file and renaming it leaves the old content), corrupt files as error values, listing.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <random>

#include "controller/etcd_test_util.h"
#include "controller/state_store.h"

namespace autoplacer::controller {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using ::autoplacer::testing::run_sync;

class LocalStateStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    dir_ = fs::temp_directory_path() /
           ("ap-state-test-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::unique_ptr<LocalStateStore> open(LocalStateStore::Options options = {}) {
    auto store = LocalStateStore::open(dir_ / "state", std::move(options));
    EXPECT_TRUE(store.ok()) << (store.ok() ? "" : store.error().message);
    return std::move(store).value();
  }
  static std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  fs::path dir_;
};

TEST_F(LocalStateStoreTest, SaveLoadListRemove) {
  auto store = open();
  auto missing = store->load_now("web", "status");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());

  ASSERT_TRUE(store->save_now("web", "status", json::object{{"generation", 1}}).ok());
  ASSERT_TRUE(store->save_now("web", "decision_state", json::object{{"h", json::array{}}}).ok());
  ASSERT_TRUE(store->save_now("api", "status", json::object{}).ok());
  EXPECT_TRUE(fs::exists(dir_ / "state" / "web" / "status.json"));

  auto loaded = store->load_now("web", "status");
  ASSERT_TRUE(loaded.ok());
  ASSERT_TRUE(loaded->has_value());
  EXPECT_EQ((**loaded).at("generation"), 1);

  auto web = store->list_now("web");
  ASSERT_TRUE(web.ok());
  EXPECT_EQ(*web, (std::vector<StateKey>{{"web", "decision_state"}, {"web", "status"}}));
  auto all = store->list_now("");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, (std::vector<StateKey>{
                      {"api", "status"}, {"web", "decision_state"}, {"web", "status"}}));
  auto none = store->list_now("nobody");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());

  ASSERT_TRUE(store->remove_now("web", "status").ok());
  ASSERT_TRUE(store->remove_now("web", "status").ok());
  EXPECT_FALSE(store->load_now("web", "status")->has_value());
}

TEST_F(LocalStateStoreTest, OverwriteReplacesWholeContent) {
  auto store = open();
  ASSERT_TRUE(
      store->save_now("web", "status", json::object{{"long", std::string(4096, 'x')}}).ok());
  ASSERT_TRUE(store->save_now("web", "status", json::object{{"short", 1}}).ok());
  auto loaded = store->load_now("web", "status");
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(**loaded, (json::value(json::object{{"short", 1}})));
}

TEST_F(LocalStateStoreTest, SurvivesReopen) {
  {
    auto store = open();
    ASSERT_TRUE(store->save_now("web", "status", json::object{{"kept", true}}).ok());
  }
  auto store = open();
  auto loaded = store->load_now("web", "status");
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ((**loaded).at("kept"), true);
}

TEST_F(LocalStateStoreTest, CrashBetweenWriteAndRenameLeavesOldContent) {
  {
    auto store = open();
    ASSERT_TRUE(store->save_now("web", "status", json::object{{"version", "old"}}).ok());
  }
  // A child process saves new content and dies (_exit, no cleanup) right after writing the temp
  // file, before the rename: as a crash or SIGKILL at that point would.
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    LocalStateStore::Options options;
    options.on_stage = [](LocalStateStore::SaveStage stage) {
      if (stage == LocalStateStore::SaveStage::kTempWritten) ::_exit(42);
    };
    auto store = LocalStateStore::open(dir_ / "state", options);
    if (!store) ::_exit(1);
    (void)(*store)->save_now("web", "status", json::object{{"version", "new"}});
    ::_exit(2);  // not reached when the hook fires
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 42);

  // The temp file is there, the real one still holds the old content.
  int temp_files = 0;
  for (const auto& e : fs::directory_iterator(dir_ / "state" / "web")) {
    if (e.path().filename().string().starts_with(".status.tmp.")) ++temp_files;
  }
  EXPECT_EQ(temp_files, 1);
  auto store = open();  // reopening cleans the leftover up
  auto loaded = store->load_now("web", "status");
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ((**loaded).at("version"), "old");
  auto listed = store->list_now("web");
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->size(), 1u);
  for (const auto& e : fs::directory_iterator(dir_ / "state" / "web")) {
    EXPECT_FALSE(e.path().filename().string().starts_with(".")) << e.path();
  }
}

TEST_F(LocalStateStoreTest, CrashAfterRenameHasNewContent) {
  {
    auto store = open();
    ASSERT_TRUE(store->save_now("web", "status", json::object{{"version", "old"}}).ok());
  }
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    LocalStateStore::Options options;
    options.on_stage = [](LocalStateStore::SaveStage stage) {
      if (stage == LocalStateStore::SaveStage::kRenamed) ::_exit(43);
    };
    auto store = LocalStateStore::open(dir_ / "state", options);
    if (!store) ::_exit(1);
    (void)(*store)->save_now("web", "status", json::object{{"version", "new"}});
    ::_exit(2);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 43);
  auto store = open();
  auto loaded = store->load_now("web", "status");
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ((**loaded).at("version"), "new");
}

TEST_F(LocalStateStoreTest, CorruptFileIsAnErrorValueNotACrash) {
  auto store = open();
  ASSERT_TRUE(store->save_now("web", "status", json::object{{"ok", true}}).ok());
  fs::path path = store->path_of("web", "status");
  for (std::string bytes : {std::string("{\"ok\": tr"), std::string(""), std::string("\x00\xff", 2),
                            std::string("[1,2")}) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
    auto loaded = store->load_now("web", "status");
    ASSERT_FALSE(loaded.ok());
    EXPECT_EQ(loaded.error().kind, StateError::Kind::kCorrupt);
    EXPECT_NE(loaded.error().message.find("status.json"), std::string::npos);
  }
  // Saving over a corrupt file repairs it.
  ASSERT_TRUE(store->save_now("web", "status", json::object{{"ok", true}}).ok());
  EXPECT_TRUE(store->load_now("web", "status").ok());
}

TEST_F(LocalStateStoreTest, IgnoresForeignFilesAndRejectsBadNames) {
  auto store = open();
  fs::create_directories(dir_ / "state" / "web");
  std::ofstream(dir_ / "state" / "web" / "notes.txt") << "hello";
  std::ofstream(dir_ / "state" / "web" / ".hidden.json") << "{}";
  auto listed = store->list_now("web");
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed->empty());

  auto bad = store->save_now("..", "status", json::object{});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().kind, StateError::Kind::kInvalidKey);
  bad = store->save_now("web", "../../escape", json::object{});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().kind, StateError::Kind::kInvalidKey);
}

TEST_F(LocalStateStoreTest, UnwritableDirectoryIsAnError) {
  if (::geteuid() == 0) GTEST_SKIP() << "root ignores directory permissions";
  auto store = open();
  fs::create_directories(dir_ / "state" / "web");
  fs::permissions(dir_ / "state" / "web", fs::perms::owner_read | fs::perms::owner_exec);
  auto r = store->save_now("web", "status", json::object{});
  fs::permissions(dir_ / "state" / "web", fs::perms::owner_all);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, StateError::Kind::kIo);
}

TEST_F(LocalStateStoreTest, OpenOnAFileIsAnError) {
  std::ofstream(dir_ / "plainfile") << "x";
  auto store = LocalStateStore::open(dir_ / "plainfile");
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().kind, StateError::Kind::kIo);
}

TEST_F(LocalStateStoreTest, AsyncInterface) {
  auto store = open();
  StateStore& iface = *store;
  ASSERT_TRUE(run_sync(iface.save("web", "status", json::object{{"a", 1}})).ok());
  auto loaded = run_sync(iface.load("web", "status"));
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ((**loaded).at("a"), 1);
  EXPECT_EQ(run_sync(iface.list("web"))->size(), 1u);
  ASSERT_TRUE(run_sync(iface.remove("web", "status")).ok());
}

}  // namespace
}  // namespace autoplacer::controller
