#include "controller/state_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>

#include "controller/etcd_state_store.h"

namespace autoplacer::controller {

namespace fs = std::filesystem;
namespace json = boost::json;
namespace asio = boost::asio;

const char* to_string(StateError::Kind kind) {
  switch (kind) {
    case StateError::Kind::kInvalidKey:
      return "invalid_key";
    case StateError::Kind::kCorrupt:
      return "corrupt";
    case StateError::Kind::kIo:
      return "io";
    case StateError::Kind::kNotLeader:
      return "not_leader";
    case StateError::Kind::kConflict:
      return "conflict";
    case StateError::Kind::kUnavailable:
      return "unavailable";
  }
  return "unknown";
}

bool valid_state_name(std::string_view name) {
  if (name.empty() || name.size() > 200 || name.front() == '.') return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

namespace {

std::optional<StateError> check_key(std::string_view policy, std::string_view name) {
  if (!valid_state_name(policy)) {
    return StateError{StateError::Kind::kInvalidKey,
                      "invalid policy name for the state store: \"" + std::string(policy) + "\""};
  }
  if (!valid_state_name(name)) {
    return StateError{StateError::Kind::kInvalidKey,
                      "invalid state name: \"" + std::string(name) + "\""};
  }
  return std::nullopt;
}

StateError io_error(std::string_view what, const fs::path& path, int err) {
  return StateError{StateError::Kind::kIo, std::string(what) + " " + path.string() + ": " +
                                               std::generic_category().message(err)};
}

constexpr std::string_view kSuffix = ".json";
constexpr std::string_view kTempMarker = ".tmp.";

// The blob name of a state file ("status.json" -> "status"), or nullopt for anything else
// (temp files start with '.', foreign files).
std::optional<std::string> blob_name_of(const fs::path& file) {
  std::string filename = file.filename().string();
  if (filename.size() <= kSuffix.size() || !filename.ends_with(kSuffix)) return std::nullopt;
  std::string name = filename.substr(0, filename.size() - kSuffix.size());
  if (!valid_state_name(name)) return std::nullopt;
  return name;
}

// Writes all of `data` to fd, retrying short writes and EINTR.
bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

int fsync_dir(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno;
  int err = ::fsync(fd) == 0 ? 0 : errno;
  ::close(fd);
  return err;
}

}  // namespace

StateResult<json::value> parse_state_blob(std::string_view bytes, std::string_view where) {
  boost::system::error_code ec;
  json::value value = json::parse(bytes, ec);
  if (ec) {
    return make_err(StateError{StateError::Kind::kCorrupt,
                               "state " + std::string(where) + " is not JSON: " + ec.message()});
  }
  return value;
}

// ---- LocalStateStore ------------------------------------------------------------------------

StateResult<std::unique_ptr<LocalStateStore>> LocalStateStore::open(fs::path dir, Options options) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return make_err(io_error("cannot create state directory", dir, ec.value()));
  if (!fs::is_directory(dir, ec)) {
    return make_err(io_error("state directory is not a directory:", dir, ENOTDIR));
  }
  // Temp files left by a save that was interrupted (crash before rename): the old content is
  // still in place, the temp file is garbage.
  for (auto policy_it = fs::directory_iterator(dir, ec);
       !ec && policy_it != fs::directory_iterator(); policy_it.increment(ec)) {
    if (!policy_it->is_directory()) continue;
    std::error_code inner;
    for (auto it = fs::directory_iterator(policy_it->path(), inner);
         !inner && it != fs::directory_iterator(); it.increment(inner)) {
      std::string filename = it->path().filename().string();
      if (filename.starts_with('.') && filename.find(kTempMarker) != std::string::npos) {
        std::error_code ignored;
        fs::remove(it->path(), ignored);
      }
    }
  }
  if (ec) return make_err(io_error("cannot read state directory", dir, ec.value()));
  return std::unique_ptr<LocalStateStore>(new LocalStateStore(std::move(dir), std::move(options)));
}

fs::path LocalStateStore::path_of(std::string_view policy, std::string_view name) const {
  return dir_ / std::string(policy) / (std::string(name) + std::string(kSuffix));
}

StateResult<std::optional<json::value>> LocalStateStore::load_now(std::string_view policy,
                                                                  std::string_view name) const {
  if (auto bad = check_key(policy, name)) return make_err(std::move(*bad));
  fs::path path = path_of(policy, name);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    int err = errno;
    std::error_code ec;
    if (!fs::exists(path, ec) && !ec) return std::optional<json::value>{};
    return make_err(io_error("cannot open", path, err ? err : EIO));
  }
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (in.bad()) return make_err(io_error("cannot read", path, EIO));
  auto parsed = parse_state_blob(bytes.str(), path.string());
  if (!parsed) return make_err(std::move(parsed).error());
  return std::optional<json::value>(std::move(parsed).value());
}

StateResult<Unit> LocalStateStore::save_now(std::string_view policy, std::string_view name,
                                            const json::value& value) {
  if (auto bad = check_key(policy, name)) return make_err(std::move(*bad));
  std::lock_guard lock(save_mu_);
  fs::path policy_dir = dir_ / std::string(policy);
  std::error_code ec;
  bool created_dir = fs::create_directories(policy_dir, ec);
  if (ec) return make_err(io_error("cannot create", policy_dir, ec.value()));
  if (created_dir && options_.fsync) {
    // The new directory's entry must reach the disk too.
    if (int err = fsync_dir(dir_)) return make_err(io_error("cannot fsync", dir_, err));
  }

  fs::path final_path = path_of(policy, name);
  fs::path temp_path = policy_dir / ("." + std::string(name) + std::string(kTempMarker) +
                                     std::to_string(::getpid()));
  std::string bytes = json::serialize(value);
  bytes += '\n';

  int fd = ::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return make_err(io_error("cannot create", temp_path, errno));
  bool written = write_all(fd, bytes);
  int err = written ? 0 : errno;
  if (written && options_.fsync && ::fsync(fd) != 0) err = errno;
  if (::close(fd) != 0 && err == 0) err = errno;
  if (err != 0) {
    fs::remove(temp_path, ec);
    return make_err(io_error("cannot write", temp_path, err));
  }
  if (options_.on_stage) options_.on_stage(SaveStage::kTempWritten);

  if (::rename(temp_path.c_str(), final_path.c_str()) != 0) {
    err = errno;
    fs::remove(temp_path, ec);
    return make_err(io_error("cannot rename into", final_path, err));
  }
  if (options_.on_stage) options_.on_stage(SaveStage::kRenamed);
  if (options_.fsync) {
    if (int dir_err = fsync_dir(policy_dir)) {
      return make_err(io_error("cannot fsync", policy_dir, dir_err));
    }
  }
  return Unit{};
}

StateResult<Unit> LocalStateStore::remove_now(std::string_view policy, std::string_view name) {
  if (auto bad = check_key(policy, name)) return make_err(std::move(*bad));
  std::lock_guard lock(save_mu_);
  fs::path path = path_of(policy, name);
  std::error_code ec;
  bool removed = fs::remove(path, ec);
  if (ec) return make_err(io_error("cannot remove", path, ec.value()));
  if (removed && options_.fsync) {
    if (int err = fsync_dir(path.parent_path())) {
      return make_err(io_error("cannot fsync", path.parent_path(), err));
    }
  }
  return Unit{};
}

StateResult<std::vector<StateKey>> LocalStateStore::list_now(std::string_view policy) const {
  std::vector<StateKey> keys;
  std::vector<std::string> policies;
  std::error_code ec;
  if (!policy.empty()) {
    if (!valid_state_name(policy)) {
      return make_err(StateError{StateError::Kind::kInvalidKey,
                                 "invalid policy name: \"" + std::string(policy) + "\""});
    }
    policies.emplace_back(policy);
  } else {
    for (auto it = fs::directory_iterator(dir_, ec); !ec && it != fs::directory_iterator();
         it.increment(ec)) {
      std::string p = it->path().filename().string();
      if (it->is_directory() && valid_state_name(p)) policies.push_back(std::move(p));
    }
    if (ec) return make_err(io_error("cannot list", dir_, ec.value()));
  }
  for (const auto& p : policies) {
    fs::path policy_dir = dir_ / p;
    if (!fs::is_directory(policy_dir, ec)) continue;
    for (auto it = fs::directory_iterator(policy_dir, ec); !ec && it != fs::directory_iterator();
         it.increment(ec)) {
      if (!it->is_regular_file()) continue;
      if (auto name = blob_name_of(it->path())) keys.push_back(StateKey{p, std::move(*name)});
    }
    if (ec) return make_err(io_error("cannot list", policy_dir, ec.value()));
  }
  std::sort(keys.begin(), keys.end());
  return keys;
}

asio::awaitable<StateResult<std::optional<json::value>>> LocalStateStore::load(std::string policy,
                                                                               std::string name) {
  co_return load_now(policy, name);
}
asio::awaitable<StateResult<Unit>> LocalStateStore::save(std::string policy, std::string name,
                                                         json::value value) {
  co_return save_now(policy, name, value);
}
asio::awaitable<StateResult<Unit>> LocalStateStore::remove(std::string policy, std::string name) {
  co_return remove_now(policy, name);
}
asio::awaitable<StateResult<std::vector<StateKey>>> LocalStateStore::list(std::string policy) {
  co_return list_now(policy);
}

// ---- FakeStateStore -------------------------------------------------------------------------

std::optional<StateError> FakeStateStore::injected(Op op) {
  ++calls_[op];
  if (auto it = next_failures_.find(op); it != next_failures_.end() && !it->second.empty()) {
    StateError error = it->second.front();
    it->second.erase(it->second.begin());
    return error;
  }
  if (auto it = always_failures_.find(op); it != always_failures_.end()) return it->second;
  return std::nullopt;
}

StateResult<std::optional<json::value>> FakeStateStore::load_now(std::string_view policy,
                                                                 std::string_view name) {
  std::lock_guard lock(mu_);
  if (auto e = injected(Op::kLoad)) return make_err(std::move(*e));
  if (auto bad = check_key(policy, name)) return make_err(std::move(*bad));
  auto it = blobs_.find(StateKey{std::string(policy), std::string(name)});
  if (it == blobs_.end()) return std::optional<json::value>{};
  auto parsed = parse_state_blob(it->second, std::string(policy) + "/" + std::string(name));
  if (!parsed) return make_err(std::move(parsed).error());
  return std::optional<json::value>(std::move(parsed).value());
}

StateResult<Unit> FakeStateStore::save_now(std::string_view policy, std::string_view name,
                                           const json::value& value) {
  std::lock_guard lock(mu_);
  if (auto e = injected(Op::kSave)) return make_err(std::move(*e));
  if (auto bad = check_key(policy, name)) return make_err(std::move(*bad));
  blobs_[StateKey{std::string(policy), std::string(name)}] = json::serialize(value);
  return Unit{};
}

StateResult<Unit> FakeStateStore::remove_now(std::string_view policy, std::string_view name) {
  std::lock_guard lock(mu_);
  if (auto e = injected(Op::kRemove)) return make_err(std::move(*e));
  if (auto bad = check_key(policy, name)) return make_err(std::move(*bad));
  blobs_.erase(StateKey{std::string(policy), std::string(name)});
  return Unit{};
}

StateResult<std::vector<StateKey>> FakeStateStore::list_now(std::string_view policy) {
  std::lock_guard lock(mu_);
  if (auto e = injected(Op::kList)) return make_err(std::move(*e));
  std::vector<StateKey> keys;
  for (const auto& [key, bytes] : blobs_) {
    if (policy.empty() || key.policy == policy) keys.push_back(key);
  }
  return keys;
}

asio::awaitable<StateResult<std::optional<json::value>>> FakeStateStore::load(std::string policy,
                                                                              std::string name) {
  co_return load_now(policy, name);
}
asio::awaitable<StateResult<Unit>> FakeStateStore::save(std::string policy, std::string name,
                                                        json::value value) {
  co_return save_now(policy, name, value);
}
asio::awaitable<StateResult<Unit>> FakeStateStore::remove(std::string policy, std::string name) {
  co_return remove_now(policy, name);
}
asio::awaitable<StateResult<std::vector<StateKey>>> FakeStateStore::list(std::string policy) {
  co_return list_now(policy);
}

void FakeStateStore::fail_next(Op op, StateError error, int times) {
  std::lock_guard lock(mu_);
  for (int i = 0; i < times; ++i) next_failures_[op].push_back(error);
}

void FakeStateStore::fail_always(Op op, std::optional<StateError> error) {
  std::lock_guard lock(mu_);
  if (error) {
    always_failures_[op] = std::move(*error);
  } else {
    always_failures_.erase(op);
  }
}

void FakeStateStore::put_raw(std::string_view policy, std::string_view name, std::string bytes) {
  std::lock_guard lock(mu_);
  blobs_[StateKey{std::string(policy), std::string(name)}] = std::move(bytes);
}

std::optional<std::string> FakeStateStore::raw(std::string_view policy,
                                               std::string_view name) const {
  std::lock_guard lock(mu_);
  auto it = blobs_.find(StateKey{std::string(policy), std::string(name)});
  if (it == blobs_.end()) return std::nullopt;
  return it->second;
}

int FakeStateStore::calls(Op op) const {
  std::lock_guard lock(mu_);
  auto it = calls_.find(op);
  return it == calls_.end() ? 0 : it->second;
}

std::size_t FakeStateStore::size() const {
  std::lock_guard lock(mu_);
  return blobs_.size();
}

// ---- EtcdStateStoreAdapter ------------------------------------------------------------------

namespace {

StateError from_etcd(const etcd::StateStoreError& e) {
  using K = etcd::StateStoreError::Kind;
  switch (e.kind) {
    case K::kNotLeader:
      return StateError{StateError::Kind::kNotLeader, e.message};
    case K::kConflict:
      return StateError{StateError::Kind::kConflict, e.message};
    case K::kUnavailable:
      return StateError{StateError::Kind::kUnavailable, e.message};
    case K::kOther:
      break;
  }
  return StateError{StateError::Kind::kIo, e.message};
}

// "<policy>/<name>" under the etcd store's prefix.
std::string etcd_key(std::string_view policy, std::string_view name) {
  return std::string(policy) + "/" + std::string(name);
}

}  // namespace

asio::awaitable<StateResult<std::optional<json::value>>> EtcdStateStoreAdapter::load(
    std::string policy, std::string name) {
  if (auto bad = check_key(policy, name)) co_return make_err(std::move(*bad));
  // Arguments go through locals: g++ 12 mishandles temporaries inside co_await expressions.
  std::string key = etcd_key(policy, name);
  auto got = co_await store_.get(key);
  if (!got) co_return make_err(from_etcd(got.error()));
  if (!got.value()) co_return std::optional<json::value>{};
  auto parsed = parse_state_blob(got.value()->value, "etcd " + etcd_key(policy, name));
  if (!parsed) co_return make_err(std::move(parsed).error());
  co_return std::optional<json::value>(std::move(parsed).value());
}

asio::awaitable<StateResult<Unit>> EtcdStateStoreAdapter::save(std::string policy, std::string name,
                                                               json::value value) {
  if (auto bad = check_key(policy, name)) co_return make_err(std::move(*bad));
  // Unconditional but fenced: only the leader writes, and a deposed one fails as kNotLeader.
  std::string key = etcd_key(policy, name);
  std::string bytes = json::serialize(value);
  auto put = co_await store_.put(key, bytes);
  if (!put) co_return make_err(from_etcd(put.error()));
  co_return Unit{};
}

asio::awaitable<StateResult<Unit>> EtcdStateStoreAdapter::remove(std::string policy,
                                                                 std::string name) {
  if (auto bad = check_key(policy, name)) co_return make_err(std::move(*bad));
  std::string key = etcd_key(policy, name);
  auto removed = co_await store_.remove(key);
  if (!removed) co_return make_err(from_etcd(removed.error()));
  co_return Unit{};
}

asio::awaitable<StateResult<std::vector<StateKey>>> EtcdStateStoreAdapter::list(
    std::string policy) {
  if (!policy.empty() && !valid_state_name(policy)) {
    co_return make_err(
        StateError{StateError::Kind::kInvalidKey, "invalid policy name: \"" + policy + "\""});
  }
  std::string prefix = policy.empty() ? std::string{} : policy + "/";
  auto listed = co_await store_.list(prefix);
  if (!listed) co_return make_err(from_etcd(listed.error()));
  std::vector<StateKey> keys;
  for (const auto& stored : listed.value()) {
    auto slash = stored.key.find('/');
    if (slash == std::string::npos) continue;  // not one of ours
    StateKey key{stored.key.substr(0, slash), stored.key.substr(slash + 1)};
    if (valid_state_name(key.policy) && valid_state_name(key.name)) keys.push_back(std::move(key));
  }
  std::sort(keys.begin(), keys.end());
  co_return keys;
}

}  // namespace autoplacer::controller
