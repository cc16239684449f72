#include "policy/spec.h"

namespace autoplacer {

const char* to_string(Mode m) {
  switch (m) {
    case Mode::kEnforce:
      return "enforce";
    case Mode::kDryRun:
      return "dryRun";
    case Mode::kForecastOnly:
      return "forecastOnly";
  }
  return "?";
}
const char* to_string(Strategy s) {
  switch (s) {
    case Strategy::kLatency:
      return "latency";
    case Strategy::kThreshold:
      return "threshold";
  }
  return "?";
}
const char* to_string(RetireAction a) {
  switch (a) {
    case RetireAction::kStop:
      return "stop";
    case RetireAction::kSuspend:
      return "suspend";
    case RetireAction::kDestroy:
      return "destroy";
  }
  return "?";
}
const char* to_string(ForecastModel m) {
  switch (m) {
    case ForecastModel::kNone:
      return "none";
    case ForecastModel::kEwma:
      return "ewma";
    case ForecastModel::kHoltWinters:
      return "holtWinters";
  }
  return "?";
}

}  // namespace autoplacer
