#include "controller/policy_watcher.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "common/log.h"
#include "policy/policy_loader.h"

namespace autoplacer::controller {
namespace fs = std::filesystem;
namespace asio = boost::asio;

const char* to_string(PolicyChange::Kind kind) {
  switch (kind) {
    case PolicyChange::Kind::kUnchanged:
      return "unchanged";
    case PolicyChange::Kind::kApplied:
      return "applied";
    case PolicyChange::Kind::kInvalid:
      return "invalid";
  }
  return "unknown";
}

namespace {

// FNV-1a: stable across runs and platforms; collisions only cost a missed reload of content that
// hashes the same, which would need adversarial files in our own policy directory.
void fnv(std::uint64_t& h, std::string_view bytes) {
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ull;
  }
}

// The files that make up the policy set, chosen as the loader chooses them: the file itself, or
// the directory's *.yaml and *.yml files (not recursive, names starting with '.' skipped, which
// leaves out editor swap files; a ConfigMap's visible names are symlinks and are followed).
std::vector<fs::path> policy_files(const fs::path& root) {
  std::vector<fs::path> out;
  std::error_code ec;
  if (!fs::is_directory(root, ec)) {
    out.push_back(root);
    return out;
  }
  for (auto it = fs::directory_iterator(root, ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    const std::string ext = it->path().extension().string();
    if (name.empty() || name.front() == '.') continue;
    if (ext != ".yaml" && ext != ".yml") continue;
    if (it->is_regular_file(ec)) out.push_back(it->path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

PolicyLoadFn make_policy_loader(const RegionCatalog& catalog) {
  const RegionCatalog* regions = &catalog;
  return [regions](const std::string& path) -> Result<std::vector<PlacementPolicy>, std::string> {
    LoadOptions options;
    options.regions = regions;
    LoadResult loaded = load_policies(path, options);
    std::string errors;
    for (const Diagnostic& d : loaded.diagnostics) {
      if (d.severity == Severity::kWarning) {
        spdlog::warn("policy: {}", d.to_string());
      } else {
        if (!errors.empty()) errors += "\n";
        errors += d.to_string();
      }
    }
    if (!errors.empty()) return make_err(std::move(errors));
    return std::move(loaded.policies);
  };
}

PolicyWatcher::PolicyWatcher(std::string path, PolicyLoadFn load)
    : path_(std::move(path)), load_(std::move(load)) {}

PolicyWatcher::Snapshot PolicyWatcher::signature_only() const {
  Snapshot s;
  std::ostringstream sig;
  for (const auto& file : policy_files(path_)) {
    std::error_code ec;
    const auto size = fs::file_size(file, ec);
    if (ec) {
      sig << file.string() << "|missing;";
      s.readable = false;
      continue;
    }
    const auto mtime = fs::last_write_time(file, ec);
    sig << file.string() << "|" << size << "|" << (ec ? 0 : mtime.time_since_epoch().count())
        << ";";
  }
  s.signature = sig.str();
  return s;
}

PolicyWatcher::Snapshot PolicyWatcher::with_content() const {
  Snapshot s = signature_only();
  std::uint64_t h = 14695981039346656037ull;
  for (const auto& file : policy_files(path_)) {
    fnv(h, file.string());
    fnv(h, std::string_view("\0", 1));
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      fnv(h, "<unreadable>");
      continue;
    }
    std::ostringstream body;
    body << in.rdbuf();
    fnv(h, body.str());
    fnv(h, std::string_view("\0", 1));
  }
  s.content_hash = h;
  return s;
}

Result<std::vector<PlacementPolicy>, std::string> PolicyWatcher::load_initial() {
  Snapshot snap = with_content();
  auto loaded = load_(path_);
  std::lock_guard lock(mu_);
  seen_ = snap;
  if (!loaded) {
    last_error_ = loaded.error();
    return loaded;
  }
  if (loaded->empty()) {
    last_error_ = path_ + ": no PlacementPolicy found";
    return make_err(last_error_);
  }
  current_ = *loaded;
  last_error_.clear();
  return loaded;
}

PolicyChange PolicyWatcher::check() {
  PolicyChange change;
  {
    std::lock_guard lock(mu_);
    if (signature_only().signature == seen_.signature) return change;
  }
  Snapshot snap = with_content();
  change.content_hash = snap.content_hash;
  {
    std::lock_guard lock(mu_);
    const bool same_content = snap.content_hash == seen_.content_hash;
    seen_ = snap;
    if (same_content) return change;  // touched, not changed
  }
  auto loaded = load_(path_);
  std::lock_guard lock(mu_);
  if (loaded && loaded->empty()) loaded = make_err(path_ + ": no PlacementPolicy found");
  if (!loaded) {
    change.kind = PolicyChange::Kind::kInvalid;
    change.error = loaded.error();
    last_error_ = loaded.error();
    ++invalid_total_;
    return change;
  }
  change.kind = PolicyChange::Kind::kApplied;
  change.policies = *loaded;
  current_ = std::move(*loaded);
  last_error_.clear();
  return change;
}

std::vector<PlacementPolicy> PolicyWatcher::current() const {
  std::lock_guard lock(mu_);
  return current_;
}

std::uint64_t PolicyWatcher::invalid_total() const {
  std::lock_guard lock(mu_);
  return invalid_total_;
}

std::string PolicyWatcher::last_error() const {
  std::lock_guard lock(mu_);
  return last_error_;
}

asio::awaitable<void> PolicyWatcher::run(Duration period,
                                         std::function<void(const PolicyChange&)> on_change) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (stop_) co_return;
    }
    timer.expires_after(period);
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    {
      std::lock_guard lock(mu_);
      if (stop_) co_return;
    }
    PolicyChange change = check();
    if (change.kind != PolicyChange::Kind::kUnchanged && on_change) on_change(change);
  }
}

void PolicyWatcher::stop() {
  std::lock_guard lock(mu_);
  stop_ = true;
}

}  // namespace autoplacer::controller
