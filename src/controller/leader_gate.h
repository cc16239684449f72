#pragma once
// The question the controller asks before every pass and before every write: may this replica
// act now? A single replica always may (AlwaysLeader). In HA mode (issue 7) the gate is backed
// by etcd leader election (a FunctionGate over etcd::LeaderElector::is_leader(), which re-checks
// the renew deadline against the clock on every call, so a replica that was frozen stops acting
// the moment it wakes).
#include <cstdint>
#include <functional>
#include <string>
#include <utility>

namespace autoplacer::controller {

class LeaderGate {
 public:
  virtual ~LeaderGate() = default;
  // Thread-safe and cheap: asked often.
  virtual bool may_act() const = 0;
  // For logs and /status when may_act() is false ("follower of replica-2", "no quorum").
  virtual std::string why_not() const { return "not the leader"; }
  // Which leadership this is: a value that changes whenever this replica starts leading anew
  // (etcd: the leadership revision). A reconciler that sees it change reloads its state, since a
  // leader in between may have written newer state. 0 for a replica that always leads.
  virtual std::uint64_t term() const { return 0; }
};

class AlwaysLeader final : public LeaderGate {
 public:
  bool may_act() const override { return true; }
};

// Any predicate as a gate (the HA wiring, controller/ha_runtime.h, passes the elector's
// is_leader(), its role as words, and its leadership revision as the term).
class FunctionGate final : public LeaderGate {
 public:
  FunctionGate(std::function<bool()> may_act, std::function<std::string()> why_not = {},
               std::function<std::uint64_t()> term = {})
      : may_act_(std::move(may_act)), why_not_(std::move(why_not)), term_(std::move(term)) {}
  bool may_act() const override { return may_act_ && may_act_(); }
  std::string why_not() const override { return why_not_ ? why_not_() : "not the leader"; }
  std::uint64_t term() const override { return term_ ? term_() : 0; }

 private:
  std::function<bool()> may_act_;
  std::function<std::string()> why_not_;
  std::function<std::uint64_t()> term_;
};

}  // namespace autoplacer::controller
