#pragma once
// Internals of the policy loader, shared by its three files: policy_loader.cpp (files, directories,
// documents, names across documents), policy_loader_read.cpp (YAML shapes and types into the spec
// structs) and policy_loader_check.cpp (values and how they relate). Not a public interface.
#include <yaml-cpp/yaml.h>

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "policy/policy_loader.h"

namespace autoplacer::policy_detail {

struct Pos {
  int line = 0;  // 1-based, 0 = unknown
  int column = 0;
};

// Collects the diagnostics of one YAML document and remembers where each field was written, so
// a rule that relates two fields can point at the one it names even after parsing is done.
class DocContext {
 public:
  // `line_offset`: the 0-based file line the document's text starts at (documents are parsed
  // one at a time from their slice of the file).
  DocContext(std::string file, int line_offset, std::vector<Diagnostic>* out)
      : file_(std::move(file)), line_offset_(line_offset), out_(out) {}

  Pos pos(const YAML::Mark& mark) const;
  void set_document_pos(Pos p) { document_pos_ = p; }
  Pos document_pos() const { return document_pos_; }

  void record(const std::string& path, Pos p) { positions_[path] = p; }
  bool written(std::string_view path) const { return positions_.count(std::string(path)) > 0; }
  // Where `path` was written, else its nearest written ancestor, else the document start.
  Pos where(std::string_view path) const;

  void report(Severity severity, Pos at, std::string path, std::string message);
  // While reading: a value that is not what its field needs, at the value itself.
  void error_at(const YAML::Node& node, std::string path, std::string message) {
    unreadable_.insert(path);
    report(Severity::kError, pos(node.Mark()), std::move(path), std::move(message));
  }
  // While checking: at where(path). A field that could not be read keeps its default, so a rule
  // about it would only add noise: nothing more is said about it.
  void error(const std::string& path, std::string message) {
    if (unreadable_.count(path) == 0)
      report(Severity::kError, where(path), path, std::move(message));
  }
  void warning(const std::string& path, std::string message) {
    if (unreadable_.count(path) == 0) {
      report(Severity::kWarning, where(path), path, std::move(message));
    }
  }
  int errors() const { return errors_; }
  const std::string& file() const { return file_; }

 private:
  std::string file_;
  int line_offset_;
  std::vector<Diagnostic>* out_;
  std::map<std::string, Pos, std::less<>> positions_;
  std::set<std::string, std::less<>> unreadable_;
  Pos document_pos_;
  int errors_ = 0;
};

// Reads one document (a YAML mapping) into `out`, reporting unknown fields, wrong types, bad
// enum values, bad durations and missing required fields. Fields not written keep their
// defaults. Never throws.
void read_policy(const YAML::Node& document, DocContext& ctx, PlacementPolicy& out);

// Checks the values read: ranges, min <= max and the other relations between fields, regions
// against the catalog. Positions come from ctx.where().
void check_policy(const PlacementPolicy& policy, DocContext& ctx, const RegionCatalog& regions);

// Levenshtein distance, case-insensitive (for "did you mean").
std::size_t edit_distance(std::string_view a, std::string_view b);

// "a, b, c": lists of names for messages.
std::string join(const std::vector<std::string_view>& items, std::string_view sep = ", ");

// "x" with quotes, control characters escaped and long values shortened, for messages.
std::string in_quotes(std::string_view text);

}  // namespace autoplacer::policy_detail
