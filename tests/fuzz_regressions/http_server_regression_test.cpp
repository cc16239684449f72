// The HTTP server over loopback: the bug the http_server fuzzer found, and the http corpora
// replayed against a real server with the fuzz target's router and checks.
#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <exception>
#include <thread>

#include "corpus_files.h"
#include "harness/http_routes.h"
#include "harness/http_wire.h"
#include "net/http_server.h"

namespace autoplacer::fuzz {
namespace {
namespace asio = boost::asio;

class FuzzServer : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = net::HttpServer::create(ioc_.get_executor(), make_fuzz_router());
    auto port = server_->listen("127.0.0.1", 0);
    ASSERT_TRUE(port.ok()) << port.error();
    port_ = *port;
    thread_ = std::thread([this] { ioc_.run(); });
  }
  void TearDown() override {
    if (server_) server_->stop(std::chrono::milliseconds(0));
    guard_.reset();
    if (thread_.joinable()) thread_.join();
  }

  asio::io_context ioc_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_{ioc_.get_executor()};
  std::shared_ptr<net::HttpServer> server_;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

// Found by http_server_fuzz (seed "head"): the answer to HEAD carried its body. A client reads
// no body after a HEAD answer, so on a keep-alive connection those bytes were taken as the start
// of the next answer ("{"error":...}HTTP/1.1 200 OK") and the connection desynchronised.
TEST_F(FuzzServer, HeadAnswerCarriesNoBody) {
  const std::string input = read_file(std::filesystem::path(AP_SOURCE_DIR) /
                                      "tests/fuzz_regressions/inputs/http_server/head-then-get");
  ASSERT_FALSE(input.empty());
  const std::string answers = exchange_over_loopback(port_, input);
  EXPECT_NO_THROW(check_http_answers(input, answers)) << answers;
  // The second answer starts right after the first one's empty line.
  const auto end_of_first = answers.find("\r\n\r\n");
  ASSERT_NE(end_of_first, std::string::npos);
  EXPECT_EQ(answers.compare(end_of_first + 4, 9, "HTTP/1.1 "), 0) << answers;
  // And the HEAD answer still says how long the GET body would be.
  EXPECT_NE(answers.substr(0, end_of_first).find("Content-Length: "), std::string::npos);
}

TEST_F(FuzzServer, CorpusReplayOverLoopback) {
  std::size_t n = 0;
  for (const char* target : {"http_server", "http_request"}) {
    for (const auto& f : corpus_files(target)) {
      const std::string input = read_file(f);
      try {
        check_http_answers(input, exchange_over_loopback(port_, input));
      } catch (const std::exception& e) {
        ADD_FAILURE() << f.string() << ": " << e.what();
      }
      ++n;
    }
  }
  EXPECT_GE(n, 10u);
}

}  // namespace
}  // namespace autoplacer::fuzz
