// Every committed corpus input and every past crash, through the same harnesses the fuzzers run
// (fuzz/harness), under the normal build: no input may crash a parser, throw out of it, or break
// a property the harness checks.
#include <gtest/gtest.h>

#include <exception>
#include <string>

#include "corpus_files.h"
#include "harness/harness.h"

namespace autoplacer::fuzz {
namespace {

using HarnessFn = void (*)(std::string_view);

void replay(const std::string& target, HarnessFn fn, std::size_t min_files) {
  const auto files = corpus_files(target);
  EXPECT_GE(files.size(), min_files) << "corpus of " << target << " went missing";
  for (const auto& f : files) {
    const std::string data = read_file(f);
    try {
      fn(data);
    } catch (const std::exception& e) {
      ADD_FAILURE() << f.string() << ": " << e.what();
    }
  }
}

TEST(FuzzCorpusReplay, PrometheusResponse) {
  replay("prometheus_response", prometheus_response, 5);
}
TEST(FuzzCorpusReplay, MachinesApi) {
  replay("machines_api", machines_api, 5);
}
TEST(FuzzCorpusReplay, EtcdCodec) {
  replay("etcd_codec", etcd_codec, 5);
}
TEST(FuzzCorpusReplay, Duration) {
  replay("duration", duration, 5);
}
TEST(FuzzCorpusReplay, ScenarioCsv) {
  replay("scenario_csv", scenario_csv, 3);
}
TEST(FuzzCorpusReplay, PolicyYaml) {
  replay("policy_yaml", policy_yaml, 5);
}
TEST(FuzzCorpusReplay, Decision) {
  replay("decision", decision, 5);
}
// The socket-free request path; the http_server corpus runs over loopback in the integration
// test http_server_corpus_test, and through this path too.
TEST(FuzzCorpusReplay, HttpRequest) {
  replay("http_request", http_request, 5);
  replay("http_server", http_request, 5);
}

}  // namespace
}  // namespace autoplacer::fuzz
