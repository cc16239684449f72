#pragma once
// Reads PlacementPolicy documents (YAML, one or more per file separated by `---`, or a directory of
// *.yaml / *.yml files) into spec structs, and validates them. Every problem is reported at once,
// each with its position, as `file:line:col: field.path: message`; nothing here throws.
//
// The loader only reads files; it never writes, watches or reads a clock. The controller calls it
// again when a file changes and keeps the last good policies when the new ones have errors.
#include <string>
#include <string_view>
#include <vector>

#include "policy/regions.h"
#include "policy/spec.h"

namespace autoplacer {

enum class Severity { kError, kWarning };

struct Diagnostic {
  Severity severity = Severity::kError;
  std::string file;
  int line = 0;  // 1-based; 0 when the problem has no position (an unreadable file)
  int column = 0;
  std::string path;  // "spec.capacity.minPerRegion", "spec.regions.pinned[1]"; "" for syntax
  std::string message;

  // "file:line:col: path: message" ("warning: " before the path for warnings; the position and
  // path parts are left out when unknown).
  std::string to_string() const;
  bool operator==(const Diagnostic&) const = default;
};

struct LoadResult {
  // Only the documents that have no error, in file order (warnings do not drop a policy).
  std::vector<PlacementPolicy> policies;
  // Every error and warning, in file order and, within a file, by position.
  std::vector<Diagnostic> diagnostics;

  bool has_errors() const;
  // Diagnostics as printed, one to_string() per line.
  std::vector<std::string> messages() const;
};

struct LoadOptions {
  // Regions that exist and where machines can run. The built-in table by default; the controller
  // passes the catalog refreshed from the Machines API.
  const RegionCatalog* regions = &RegionCatalog::builtin();
  // Larger files are refused unread: a policy is a few KB, and the controller reads untrusted
  // mounts in a loop.
  std::size_t max_file_bytes = 4u << 20;
};

// YAML text (tests, fuzzing, ConfigMaps); `file_name` only labels the diagnostics.
LoadResult load_policies_from_string(std::string_view yaml, std::string_view file_name = "<string>",
                                     const LoadOptions& options = {});

// Each path is a file, or a directory whose *.yaml and *.yml files (not recursive, names starting
// with '.' skipped, sorted by name) are read. Policy names must be unique across all of them.
LoadResult load_policies(const std::vector<std::string>& paths, const LoadOptions& options = {});

// One file or directory.
LoadResult load_policies(const std::string& path, const LoadOptions& options = {});

// Every field path the loader reads, in document order: "apiVersion", "spec.capacity.maxTotal",
// "spec.behavior.scaleUp.policies[].type". Tests use it to keep the docs and examples complete.
std::vector<std::string> known_field_paths();

}  // namespace autoplacer
