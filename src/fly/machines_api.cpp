#include "fly/machines_api.h"

#include <algorithm>
#include <cstdint>

namespace autoplacer::fly {

boost::asio::awaitable<FlyResult<WaitResult>> wait_for_state(MachinesApi& api, std::string id,
                                                             std::string state,
                                                             std::chrono::seconds overall,
                                                             std::string version) {
  constexpr std::chrono::seconds kMaxPerCall{60};
  const auto deadline = std::chrono::steady_clock::now() + overall;
  // Each real call lasts about per_call before its 408, so this bound only matters for servers
  // (or fakes) that answer 408 at once: they must not make us spin.
  const auto max_calls = overall.count() + 1;
  for (std::int64_t calls = 1;; ++calls) {
    const auto left = std::chrono::duration_cast<std::chrono::seconds>(
        deadline - std::chrono::steady_clock::now());
    const auto per_call = std::clamp(left, std::chrono::seconds{1}, kMaxPerCall);
    auto r = co_await api.wait_machine(id, state, per_call, version);
    if (r.ok() || r.error().kind != FlyError::Kind::kWaitTimeout) co_return r;
    if (std::chrono::steady_clock::now() >= deadline || calls >= max_calls) co_return r;
  }
}

boost::asio::awaitable<FlyResult<Machine>> clone_machine(MachinesApi& api, const Machine& source,
                                                         CloneOptions options) {
  auto req = make_clone_request(source, options);
  if (!req) {
    FlyError e;
    e.kind = FlyError::Kind::kBadRequest;
    e.message = req.error();
    co_return make_err(std::move(e));
  }
  co_return co_await api.create_machine(std::move(req.value()));
}

}  // namespace autoplacer::fly
