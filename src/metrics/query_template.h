#pragma once
// PromQL templates: a policy's queries name the app and other values as $NAME or ${NAME}, which
// are expanded before the query is sent. $APP is the policy's app unless the policy's
// traffic.variables define APP themselves.
#include <map>
#include <string>
#include <string_view>

#include "common/result.h"

namespace autoplacer {
struct PlacementPolicy;
}

namespace autoplacer::metrics {

// Expands every $NAME / ${NAME} (NAME = [A-Za-z_][A-Za-z0-9_]*) from `vars`. "$$" is a literal
// "$". Errors name the problem: an undefined variable, an unclosed "${", or a value that could
// break out of a PromQL string literal (a quote, backslash, backtick or control character) --
// values end up inside `app="$APP"`, so they are refused rather than escaped.
Result<std::string, std::string> expand_query(std::string_view templ,
                                              const std::map<std::string, std::string>& vars);

// The variables of a policy: its traffic.variables plus APP = spec.app (unless given).
std::map<std::string, std::string> query_variables(const PlacementPolicy& policy);

}  // namespace autoplacer::metrics
