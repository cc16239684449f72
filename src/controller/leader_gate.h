#pragma once
// The question the controller asks before every pass and before every write: may this replica
// act now? A single replica always may (AlwaysLeader). In HA mode (issue 7) the gate is backed
// by etcd leader election (ElectionGate over etcd::LeaderElector::is_leader(), which re-checks
// the renew deadline against the clock on every call, so a replica that was frozen stops acting
// the moment it wakes).
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
};

class AlwaysLeader final : public LeaderGate {
 public:
  bool may_act() const override { return true; }
};

// Any predicate as a gate (the HA wiring passes [&elector] { return elector.is_leader(); }).
class FunctionGate final : public LeaderGate {
 public:
  FunctionGate(std::function<bool()> may_act, std::function<std::string()> why_not = {})
      : may_act_(std::move(may_act)), why_not_(std::move(why_not)) {}
  bool may_act() const override { return may_act_ && may_act_(); }
  std::string why_not() const override { return why_not_ ? why_not_() : "not the leader"; }

 private:
  std::function<bool()> may_act_;
  std::function<std::string()> why_not_;
};

}  // namespace autoplacer::controller
