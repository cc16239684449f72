#pragma once
// Shared set-up for the diff and executor tests: a policy, decisions, machines in the shapes the
// Machines API returns, and a way to run a coroutine to completion.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <exception>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "controller/ownership.h"
#include "fly/fake_machines_api.h"
#include "fly/models.h"
#include "policy/decision.h"
#include "policy/spec.h"

namespace autoplacer::controller::testing {

inline PlacementPolicy make_policy(std::string name = "web", std::string app = "test-app") {
  PlacementPolicy p;
  p.metadata.name = std::move(name);
  p.spec.app = std::move(app);
  p.spec.processGroup = "app";
  p.spec.behavior.maxCreatesPerPass = 5;
  p.spec.retire.action = RetireAction::kStop;
  p.spec.retire.cordonFirst = true;
  return p;
}

inline Decision make_decision(std::map<std::string, int> desired,
                              RetireAction retire = RetireAction::kStop) {
  Decision d;
  d.at = from_unix_seconds(1'700'000'000);
  for (auto& [r, n] : desired) {
    if (n > 0) d.desired[r] = n;
    d.regions[r].desired = n;
  }
  d.retire = retire;
  return d;
}

// A clone-ready machine (as FakeMachinesApi::make_machine) with config.metadata filled in as a
// full list returns it.
inline fly::Machine machine(std::string id, std::string region, std::string state = "started",
                            std::map<std::string, std::string> extra_metadata = {},
                            std::string group = "app") {
  fly::Machine m = fly::FakeMachinesApi::make_machine(std::move(id), std::move(region),
                                                      std::move(state), std::move(group));
  for (auto& [k, v] : extra_metadata) m.metadata[k] = v;
  boost::json::object md;
  for (const auto& [k, v] : m.metadata) md[k] = v;
  m.config["metadata"] = std::move(md);
  return m;
}

inline fly::Machine owned(std::string id, std::string region, std::string state = "started",
                          std::string policy = "web") {
  return machine(std::move(id), std::move(region), std::move(state),
                 {{std::string(kMetaPolicy), std::move(policy)}});
}

// Runs `a` on `ioc` to completion (on this thread) and returns its value.
template <class T>
T run(boost::asio::io_context& ioc, boost::asio::awaitable<T> a) {
  std::optional<T> out;
  std::exception_ptr failure;
  boost::asio::co_spawn(
      ioc, [&]() -> boost::asio::awaitable<void> { out.emplace(co_await std::move(a)); },
      [&](std::exception_ptr e) { failure = e; });
  ioc.restart();
  ioc.run();
  if (failure) std::rethrow_exception(failure);
  return std::move(*out);
}

}  // namespace autoplacer::controller::testing
