// Files, directories and documents: the outer part of the loader. A file is cut into its YAML
// documents before parsing, so a syntax error in one document does not hide the problems of the
// others; names are checked across every document of every file at the end.
#include "policy/policy_loader.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <system_error>
#include <tuple>

#include "policy/policy_loader_detail.h"

namespace autoplacer {

namespace policy_detail {

Pos DocContext::pos(const YAML::Mark& mark) const {
  if (mark.is_null() || mark.line < 0 || mark.column < 0) return {};
  return {mark.line + line_offset_ + 1, mark.column + 1};
}

Pos DocContext::where(std::string_view path) const {
  std::string p(path);
  while (!p.empty()) {
    auto it = positions_.find(p);
    if (it != positions_.end() && it->second.line > 0) return it->second;
    // Up one level: "a.b[2]" -> "a.b" -> "a".
    std::size_t cut = p.find_last_of(".[");
    p.resize(cut == std::string::npos ? 0 : cut);
  }
  return document_pos_;
}

void DocContext::report(Severity severity, Pos at, std::string path, std::string message) {
  if (severity == Severity::kError) ++errors_;
  out_->push_back({severity, file_, at.line, at.column, std::move(path), std::move(message)});
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const bool same = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                        std::tolower(static_cast<unsigned char>(b[j - 1]));
      const std::size_t next = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (same ? 0 : 1)});
      diagonal = row[j];
      row[j] = next;
    }
  }
  return row[b.size()];
}

std::string join(const std::vector<std::string_view>& items, std::string_view sep) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out.append(sep);
    out.append(items[i]);
  }
  return out;
}

std::string in_quotes(std::string_view text) {
  constexpr std::size_t kMax = 60;
  std::string out = "\"";
  for (std::size_t i = 0; i < text.size() && i < kMax; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (text.size() > kMax) out += "...";
  return out + "\"";
}

}  // namespace policy_detail

namespace {

using policy_detail::DocContext;
using policy_detail::in_quotes;
using policy_detail::Pos;

// One YAML document's slice of a file, and the 0-based line it starts at.
struct DocumentText {
  std::string text;
  int first_line = 0;
};

bool is_marker(std::string_view line, std::string_view marker) {
  if (!line.starts_with(marker)) return false;
  if (line.size() == marker.size()) return true;
  const char next = line[marker.size()];
  return next == ' ' || next == '\t' || next == '\r';
}

// A line that is not part of a document's content: blank, a comment, or a directive.
bool is_preamble(std::string_view line) {
  const auto first = line.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return true;
  return line[first] == '#' || line.starts_with('%');
}

// Cuts a YAML stream at its document markers. A line starting `---` or `...` is a marker
// wherever it appears (YAML forbids them at column 0 inside content), so this agrees with the
// parser. Each slice keeps its `---` line, so line and column numbers stay those of the file.
std::vector<DocumentText> split_documents(std::string_view text) {
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);  // byte order mark
  std::vector<DocumentText> docs;
  DocumentText current;
  bool has_content = false;  // beyond blank lines, comments and directives
  bool has_marker = false;
  int line_no = 0;
  auto flush = [&](int next_first_line) {
    if (has_content || has_marker) docs.push_back(std::move(current));
    current = DocumentText{};
    current.first_line = next_first_line;
    has_content = has_marker = false;
  };
  while (!text.empty() || line_no == 0) {
    const std::size_t nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (is_marker(line, "---")) {
      // Directives and comments before the marker belong to this document.
      if (has_content || has_marker) flush(line_no);
      has_marker = true;
      if (!is_preamble(line.substr(3))) has_content = true;
      current.text.append(line).append("\n");
    } else if (is_marker(line, "...")) {
      current.text.append(line).append("\n");
      flush(line_no + 1);
    } else {
      if (!is_preamble(line)) has_content = true;
      current.text.append(line).append("\n");
    }
    ++line_no;
    if (nl == std::string_view::npos) break;
  }
  flush(line_no);
  return docs;
}

// What the cross-document checks need from each document read.
struct DocumentSummary {
  std::size_t file_index = 0;
  std::string name;
  Pos name_pos;
  std::string app;
  std::string process_group;
  Pos app_pos;
  std::string location;                     // "file:line:col" of the name, for "first defined at"
  std::optional<std::size_t> policy_index;  // into the kept policies, when it had no error
};

struct FileDiagnostics {
  std::string file;
  std::vector<Diagnostic> diagnostics;
};

// Reads every document of one file's text; appends kept policies and summaries.
void load_text(std::string_view text, const std::string& file, std::size_t file_index,
               const LoadOptions& options, std::vector<Diagnostic>& diagnostics,
               std::vector<PlacementPolicy>& policies, std::vector<DocumentSummary>& summaries) {
  std::size_t documents = 0;
  for (DocumentText& slice : split_documents(text)) {
    DocContext ctx(file, slice.first_line, &diagnostics);
    YAML::Node document;
    try {
      document = YAML::Load(slice.text);
    } catch (const YAML::Exception& e) {
      ++documents;  // a document was there, even if it did not parse
      std::string message = e.msg.empty() ? std::string(e.what()) : e.msg;
      ctx.report(Severity::kError, ctx.pos(e.mark), "", "YAML syntax error: " + message);
      continue;
    } catch (const std::exception& e) {
      ++documents;
      ctx.report(Severity::kError, Pos{slice.first_line + 1, 1}, "",
                 std::string("cannot parse the document: ") + e.what());
      continue;
    }
    if (document.IsNull()) continue;  // an empty document (only comments, or `---` alone)
    ++documents;
    ctx.set_document_pos(ctx.pos(document.Mark()));

    PlacementPolicy policy;
    policy.sourceFile = file;
    policy.sourceLine = ctx.document_pos().line;
    try {
      policy_detail::read_policy(document, ctx, policy);
      policy_detail::check_policy(policy, ctx, *options.regions);
    } catch (const std::exception& e) {
      // yaml-cpp may throw on nodes it built itself (it should not); never let it escape.
      ctx.report(Severity::kError, ctx.document_pos(), "",
                 std::string("cannot read the document: ") + e.what());
    }

    DocumentSummary summary;
    summary.file_index = file_index;
    if (ctx.written("metadata.name")) {
      summary.name = policy.metadata.name;
      summary.name_pos = ctx.where("metadata.name");
      summary.location = file + ":" + std::to_string(summary.name_pos.line) + ":" +
                         std::to_string(summary.name_pos.column);
    }
    if (ctx.written("spec.app")) {
      summary.app = policy.spec.app;
      summary.process_group = policy.spec.processGroup;
      summary.app_pos = ctx.where("spec.app");
    }
    if (ctx.errors() == 0) {
      policy.specHash = spec_hash(policy.spec);
      summary.policy_index = policies.size();
      policies.push_back(std::move(policy));
    }
    summaries.push_back(std::move(summary));
  }
  if (documents == 0) {
    diagnostics.push_back({Severity::kError, file, 0, 0, "", "no PlacementPolicy documents"});
  }
}

// Names are unique across everything loaded, and one app's process group has one policy: two
// policies placing the same machines would undo each other's work forever.
void check_across_documents(const std::vector<DocumentSummary>& summaries,
                            std::vector<FileDiagnostics>& files, std::vector<bool>& drop) {
  std::map<std::string, const DocumentSummary*> by_name;
  std::map<std::pair<std::string, std::string>, const DocumentSummary*> by_app;
  for (const DocumentSummary& s : summaries) {
    auto& out = files[s.file_index].diagnostics;
    const std::string& file = files[s.file_index].file;
    bool duplicate = false;
    if (!s.name.empty()) {
      auto [it, inserted] = by_name.emplace(s.name, &s);
      if (!inserted) {
        out.push_back({Severity::kError, file, s.name_pos.line, s.name_pos.column, "metadata.name",
                       "duplicate policy name " + in_quotes(s.name) + "; first defined at " +
                           it->second->location});
        duplicate = true;
      }
    }
    if (!s.app.empty() && !duplicate) {
      auto [it, inserted] = by_app.emplace(std::make_pair(s.app, s.process_group), &s);
      if (!inserted) {
        out.push_back({Severity::kError, file, s.app_pos.line, s.app_pos.column, "spec.app",
                       "app " + in_quotes(s.app) + " process group " + in_quotes(s.process_group) +
                           " is already placed by policy " + in_quotes(it->second->name) + " (" +
                           it->second->location + ")"});
        duplicate = true;
      }
    }
    if (duplicate && s.policy_index) drop[*s.policy_index] = true;
  }
}

std::optional<std::string> read_file(const std::filesystem::path& path, const LoadOptions& options,
                                     std::string& error) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) {
    error = "cannot read: " + ec.message();
    return std::nullopt;
  }
  if (size > options.max_file_bytes) {
    error = "file is larger than " + std::to_string(options.max_file_bytes) + " bytes";
    return std::nullopt;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot open the file";
    return std::nullopt;
  }
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) {
    error = "cannot read the file";
    return std::nullopt;
  }
  return text;
}

bool is_policy_file_name(const std::string& name) {
  if (name.empty() || name.front() == '.') return false;  // editors' and ConfigMaps' hidden files
  return name.ends_with(".yaml") || name.ends_with(".yml");
}

// The files a command-line path stands for; problems go to `files` as file-level diagnostics.
std::vector<std::string> expand_path(const std::string& path, std::vector<FileDiagnostics>& files) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (ec || !fs::exists(status)) {
    files.push_back({path, {{Severity::kError, path, 0, 0, "", "no such file or directory"}}});
    return {};
  }
  if (!fs::is_directory(status)) return {path};
  std::vector<std::string> names;
  for (fs::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    std::error_code file_ec;
    if (is_policy_file_name(name) && fs::is_regular_file(it->path(), file_ec)) {
      names.push_back(name);
    }
  }
  if (ec) {
    files.push_back({path, {{Severity::kError, path, 0, 0, "", "cannot list: " + ec.message()}}});
    return {};
  }
  std::sort(names.begin(), names.end());
  if (names.empty()) {
    files.push_back(
        {path, {{Severity::kError, path, 0, 0, "", "no policy files (*.yaml, *.yml) here"}}});
  }
  std::vector<std::string> out;
  for (const std::string& name : names) out.push_back((fs::path(path) / name).string());
  return out;
}

// The shared end of every entry point: texts in, one result out.
struct Loader {
  const LoadOptions& options;
  std::vector<FileDiagnostics> files;
  std::vector<PlacementPolicy> policies;
  std::vector<DocumentSummary> summaries;

  void add_text(std::string_view text, const std::string& file) {
    files.push_back({file, {}});
    load_text(text, file, files.size() - 1, options, files.back().diagnostics, policies, summaries);
  }

  void add_file(const std::string& file) {
    std::string error;
    if (auto text = read_file(file, options, error)) {
      add_text(*text, file);
    } else {
      files.push_back({file, {{Severity::kError, file, 0, 0, "", error}}});
    }
  }

  LoadResult finish() {
    std::vector<bool> drop(policies.size(), false);
    check_across_documents(summaries, files, drop);
    LoadResult result;
    for (std::size_t i = 0; i < policies.size(); ++i) {
      if (!drop[i]) result.policies.push_back(std::move(policies[i]));
    }
    for (FileDiagnostics& f : files) {
      std::stable_sort(f.diagnostics.begin(), f.diagnostics.end(),
                       [](const Diagnostic& a, const Diagnostic& b) {
                         return std::tie(a.line, a.column) < std::tie(b.line, b.column);
                       });
      for (Diagnostic& d : f.diagnostics) result.diagnostics.push_back(std::move(d));
    }
    return result;
  }
};

}  // namespace

std::string Diagnostic::to_string() const {
  std::string out = file;
  if (line > 0) out += ":" + std::to_string(line) + ":" + std::to_string(column);
  out += ": ";
  if (severity == Severity::kWarning) out += "warning: ";
  if (!path.empty()) out += path + ": ";
  return out + message;
}

bool LoadResult::has_errors() const {
  return std::any_of(diagnostics.begin(), diagnostics.end(),
                     [](const Diagnostic& d) { return d.severity == Severity::kError; });
}

std::vector<std::string> LoadResult::messages() const {
  std::vector<std::string> out;
  out.reserve(diagnostics.size());
  for (const Diagnostic& d : diagnostics) out.push_back(d.to_string());
  return out;
}

namespace {

// The last line of "never throws": only allocation or the filesystem library could get here.
template <class F>
LoadResult guarded(const std::string& label, F&& load) {
  try {
    return load();
  } catch (const std::exception& e) {
    LoadResult failed;
    failed.diagnostics.push_back(
        {Severity::kError, label, 0, 0, "", std::string("cannot load: ") + e.what()});
    return failed;
  }
}

}  // namespace

LoadResult load_policies_from_string(std::string_view yaml, std::string_view file_name,
                                     const LoadOptions& options) {
  return guarded(std::string(file_name), [&] {
    Loader loader{options, {}, {}, {}};
    if (yaml.size() > options.max_file_bytes) {
      loader.files.push_back(
          {std::string(file_name),
           {{Severity::kError, std::string(file_name), 0, 0, "",
             "larger than " + std::to_string(options.max_file_bytes) + " bytes"}}});
    } else {
      loader.add_text(yaml, std::string(file_name));
    }
    return loader.finish();
  });
}

LoadResult load_policies(const std::vector<std::string>& paths, const LoadOptions& options) {
  return guarded(paths.empty() ? std::string() : paths.front(), [&] {
    Loader loader{options, {}, {}, {}};
    for (const std::string& path : paths) {
      for (const std::string& file : expand_path(path, loader.files)) loader.add_file(file);
    }
    return loader.finish();
  });
}

LoadResult load_policies(const std::string& path, const LoadOptions& options) {
  return load_policies(std::vector<std::string>{path}, options);
}

}  // namespace autoplacer
