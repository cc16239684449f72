#pragma once
// The Fly API token: where it comes from and how it is sent. Tokens made by `fly tokens create`
// are macaroons (fm1r_, fm1a_, fm2_ prefixes, possibly several joined by commas) and go as
// "Authorization: FlyV1 <token>"; older personal tokens go as "Bearer <token>".
#include <string>
#include <string_view>

#include "common/result.h"

namespace autoplacer::fly {

// The Authorization header value for a token (already "FlyV1 ..." or "Bearer ..." is kept).
std::string authorization_value(std::string_view token);

// The token from the file if token_file is set, else from the FLY_API_TOKEN environment
// variable. Trimmed, registered with log::register_secret. Error text never contains the token.
Result<std::string, std::string> load_token(const std::string& token_file = "");

}  // namespace autoplacer::fly
