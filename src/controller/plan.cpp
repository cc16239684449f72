#include "controller/plan.h"

#include <algorithm>
#include <sstream>

namespace autoplacer::controller {

const char* to_string(ActionKind k) {
  switch (k) {
    case ActionKind::kUncordon:
      return "uncordon";
    case ActionKind::kStart:
      return "start";
    case ActionKind::kCreate:
      return "create";
    case ActionKind::kStop:
      return "stop";
    case ActionKind::kSuspend:
      return "suspend";
    case ActionKind::kDestroy:
      return "destroy";
  }
  return "unknown";
}

bool is_retire(ActionKind k) {
  return k == ActionKind::kStop || k == ActionKind::kSuspend || k == ActionKind::kDestroy;
}

std::vector<std::string> Plan::regions() const {
  std::vector<std::string> out;
  for (const auto& a : actions) {
    if (std::find(out.begin(), out.end(), a.region) == out.end()) out.push_back(a.region);
  }
  return out;
}

std::string HeldSurplus::reason() const {
  if (notOwned > 0 && held > 0) return "not owned, held";
  return notOwned > 0 ? "not owned" : "held";
}

Plan region_plan(const Plan& plan, const std::string& region) {
  Plan out;
  out.policy = plan.policy;
  out.app = plan.app;
  out.generation = plan.generation;
  out.at = plan.at;
  out.retire = plan.retire;
  out.desired = plan.desired;
  out.active = plan.active;
  out.createsLimited = plan.createsLimited;
  for (const auto& a : plan.actions)
    if (a.region == region) out.actions.push_back(a);
  for (const auto& n : plan.notes)
    if (n.region == region) out.notes.push_back(n);
  if (auto it = plan.heldSurplus.find(region); it != plan.heldSurplus.end())
    out.heldSurplus.emplace(region, it->second);
  return out;
}

int Plan::count(ActionKind k) const {
  return static_cast<int>(
      std::count_if(actions.begin(), actions.end(), [&](const Action& a) { return a.kind == k; }));
}

namespace {

std::string machine_label(const Action& a) {
  std::string s = a.machineId;
  if (!a.machineName.empty() && a.machineName != a.machineId) s += " " + a.machineName;
  return s;
}

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

}  // namespace

std::string format_action(const Action& a) {
  std::ostringstream o;
  char sign = '~';
  if (a.kind == ActionKind::kCreate) sign = '+';
  if (is_retire(a.kind)) sign = '-';
  o << sign << ' ' << to_string(a.kind);
  for (std::size_t n = std::string_view(to_string(a.kind)).size(); n < 8; ++n) o << ' ';
  o << ' ' << a.region;
  switch (a.kind) {
    case ActionKind::kCreate:
      o << "  clone of " << (a.sourceName.empty() ? a.sourceId : a.sourceName);
      if (!a.sourceName.empty() && a.sourceName != a.sourceId) o << " (" << a.sourceId << ")";
      o << "  op " << a.opId;
      if (!a.fallbackRegions.empty()) o << "  fallback " << join(a.fallbackRegions, ",");
      break;
    case ActionKind::kStart:
      o << "  " << machine_label(a) << " (" << a.fromState << (a.uncordon ? ", uncordon" : "")
        << ")";
      break;
    case ActionKind::kUncordon:
      o << "  " << machine_label(a) << " (cordoned)";
      break;
    default:
      o << "  " << machine_label(a);
      if (a.cordonFirst) o << " (cordon first)";
      break;
  }
  if (!a.machineRegion.empty() && a.machineRegion != a.region) o << "  runs in " << a.machineRegion;
  if (!a.reason.empty()) o << "  # " << a.reason;
  return o.str();
}

std::string format_plan(const Plan& plan) {
  std::ostringstream o;
  o << "Plan for policy " << plan.policy << " (app " << plan.app << "), generation "
    << plan.generation << "\n";
  for (const auto& a : plan.actions) o << "  " << format_action(a) << "\n";
  for (const auto& n : plan.notes) {
    o << "  # " << (n.region.empty() ? "" : n.region + ": ")
      << (n.machineId.empty() ? "" : n.machineId + ": ") << n.message << "\n";
  }
  if (plan.empty()) {
    o << "No changes. The machines match the desired placement.\n";
  } else {
    const int retires = plan.count(ActionKind::kStop) + plan.count(ActionKind::kSuspend) +
                        plan.count(ActionKind::kDestroy);
    o << "Plan: " << plan.count(ActionKind::kCreate) << " to create, "
      << plan.count(ActionKind::kStart) << " to start, " << plan.count(ActionKind::kUncordon)
      << " to uncordon, " << retires << " to retire";
    if (retires > 0) {
      o << " (";
      bool first = true;
      for (auto k : {ActionKind::kStop, ActionKind::kSuspend, ActionKind::kDestroy}) {
        if (plan.count(k) == 0) continue;
        o << (first ? "" : ", ") << plan.count(k) << ' ' << to_string(k);
        first = false;
      }
      o << ")";
    }
    o << ".\n";
  }
  return o.str();
}

}  // namespace autoplacer::controller
