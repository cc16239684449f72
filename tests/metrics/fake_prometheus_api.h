#pragma once
// A scripted PrometheusApi for unit tests: answers by query text (or a default), records what was
// asked, and can hang (until cancelled) to exercise time-outs.
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "metrics/prometheus_api.h"

namespace autoplacer::metrics::testing {

class FakePrometheusApi final : public PrometheusApi {
 public:
  using RangeHandler = std::function<PromResult(const RangeQuery&)>;

  // The answer for an exact (expanded) query text; others get `fallback`.
  void answer(const std::string& query, PromResult result) {
    answers_.insert_or_assign(query, std::move(result));
  }
  void answer_json(const std::string& query, const std::string& body, int status = 200) {
    answer(query, parse_prometheus_response(body, status));
  }
  void set_fallback(PromResult result) { fallback_ = std::move(result); }
  void hang(const std::string& query) { hang_.push_back(query); }
  void on_range(RangeHandler h) { range_ = std::move(h); }

  boost::asio::awaitable<PromResult> query(InstantQuery q) override {
    instant.push_back(q);
    co_await maybe_hang(q.query);
    auto it = answers_.find(q.query);
    co_return it != answers_.end() ? it->second : fallback_;
  }

  boost::asio::awaitable<PromResult> query_range(RangeQuery q) override {
    range.push_back(q);
    co_await maybe_hang(q.query);
    if (range_) co_return range_(q);
    auto it = answers_.find(q.query);
    co_return it != answers_.end() ? it->second : fallback_;
  }

  std::vector<InstantQuery> instant;
  std::vector<RangeQuery> range;
  int cancelled = 0;

 private:
  boost::asio::awaitable<void> maybe_hang(const std::string& query) {
    for (const auto& h : hang_) {
      if (h != query) continue;
      boost::asio::steady_timer t(co_await boost::asio::this_coro::executor);
      t.expires_after(std::chrono::hours(1));
      try {
        co_await t.async_wait(boost::asio::use_awaitable);
      } catch (...) {
        ++cancelled;
        throw;
      }
    }
  }

  std::map<std::string, PromResult> answers_;
  PromResult fallback_ = make_err(PromError{PromError::Kind::kTransport, "no answer scripted"});
  std::vector<std::string> hang_;
  RangeHandler range_;
};

}  // namespace autoplacer::metrics::testing
