#pragma once
// Logging set-up. Every line goes through a sink that masks registered secrets, so a token that
// slips into a message (an echoed header, an error body) never reaches the output.
#include <string>
#include <string_view>

namespace autoplacer::log {

// level: trace|debug|info|warn|error|off. json: one JSON object per line instead of text.
void init(std::string_view level = "info", bool json = false);

// Registers a value that must never be printed. Values shorter than 6 characters are ignored
// (masking them would garble ordinary text and they are not real tokens).
void register_secret(std::string_view secret);

// The text with every registered secret replaced by "[REDACTED]".
std::string redact(std::string_view text);

}  // namespace autoplacer::log
