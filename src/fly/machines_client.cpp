#include "fly/machines_client.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>
#include <set>

#include "fly/token.h"
#include "net/url.h"

namespace autoplacer::fly {
namespace asio = boost::asio;
namespace json = boost::json;
namespace http = net::http;
using std::chrono::milliseconds;

namespace {

constexpr std::string_view kNonceHeader = "fly-machine-lease-nonce";
constexpr std::string_view kCursorHeader = "fly-next-cursor";

FlyError bad_response(std::string message, const net::Response& res) {
  FlyError e;
  e.kind = FlyError::Kind::kBadResponse;
  e.http_status = static_cast<int>(res.result_int());
  e.message = std::move(message);
  if (auto it = res.find("fly-request-id"); it != res.end())
    e.request_id = std::string(it->value());
  return e;
}

template <class T>
FlyResult<T> parsed_or_error(ParseResult<T> r, const net::Response& res, bool is_write) {
  if (r) return std::move(r.value());
  FlyError e = bad_response(std::move(r).error(), res);
  e.outcome_unknown = is_write;  // the write happened (2xx) but we cannot tell what it made
  return make_err(std::move(e));
}

asio::awaitable<void> sleep_for(milliseconds d) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  timer.expires_after(d);
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
}

std::string with_query(std::string path,
                       const std::vector<std::pair<std::string, std::string>>& q) {
  const std::string encoded = net::encode_query(q);
  if (!encoded.empty()) path += "?" + encoded;
  return path;
}

}  // namespace

MachinesClient::MachinesClient(asio::any_io_executor executor, MachinesClientOptions options,
                               const Clock& clock, std::shared_ptr<ApiObserver> observer)
    : executor_(std::move(executor)),
      clock_(clock),
      options_(std::move(options)),
      observer_(std::move(observer)),
      rng_(options_.jitter_seed != 0 ? options_.jitter_seed : std::random_device{}()) {
  if (!options_.token.empty()) authorization_ = authorization_value(options_.token);
  http_ = net::HttpClient::create(executor_, options_.base_url, options_.http);
  if (options_.rate_limit) {
    RateLimits limits = options_.limits;
    const double headroom_s =
        std::chrono::duration<double>(std::max(options_.rate_limit_headroom, milliseconds(0)))
            .count();
    for (BucketLimit* b : {&limits.per_action, &limits.get_machine}) {
      b->burst = std::max(1.0, b->burst - b->per_second * headroom_s);
    }
    limiter_ = std::make_unique<RateLimiter>(clock, limits, observer_);
  }
  options_.page_size = std::clamp(options_.page_size, 1, 1000);
  options_.max_attempts = std::max(options_.max_attempts, 1);
}

std::string MachinesClient::machines_path() const {
  return "/v1/apps/" + net::encode_path_segment(options_.app) + "/machines";
}

std::string MachinesClient::machine_path(const std::string& id) const {
  return machines_path() + "/" + net::encode_path_segment(id);
}

milliseconds MachinesClient::backoff(int attempt) {
  // Exponential with "equal jitter": between half and all of base * 2^attempt, capped.
  const double full = std::min<double>(static_cast<double>(options_.backoff_max.count()),
                                       static_cast<double>(options_.backoff_base.count()) *
                                           static_cast<double>(1u << std::min(attempt, 20)));
  std::uniform_real_distribution<double> dist(full / 2, full);
  std::lock_guard lock(rng_mu_);
  return milliseconds(static_cast<milliseconds::rep>(dist(rng_)));
}

net::Request MachinesClient::build_request(const Call& call) const {
  net::Request req{call.method, call.target, 11};
  req.set(http::field::accept, "application/json");
  if (!authorization_.empty()) req.set(http::field::authorization, authorization_);
  if (!call.nonce.empty()) req.set(kNonceHeader, call.nonce);
  if (!call.body.empty()) {
    req.set(http::field::content_type, "application/json");
    req.body() = call.body;
  }
  return req;
}

asio::awaitable<FlyResult<net::Response>> MachinesClient::execute(Call call) {
  const bool write = call.is_write();
  const std::string& action = call.rate_action.empty() ? call.operation : call.rate_action;
  for (int attempt = 0;; ++attempt) {
    if (limiter_) co_await limiter_->acquire(action, call.rate_key);
    const auto start = std::chrono::steady_clock::now();
    auto res = co_await http_->request(build_request(call), {.timeout = call.timeout});
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
    FlyError err;
    bool retry = false;
    std::string reason;
    if (!res) {
      err = from_http_error(res.error(), write);
      if (observer_) observer_->on_request(call.operation, to_string(err.kind), elapsed);
      const bool not_sent = res.error().kind == net::HttpError::Kind::kResolve ||
                            res.error().kind == net::HttpError::Kind::kConnect ||
                            res.error().kind == net::HttpError::Kind::kTls;
      retry = err.kind != FlyError::Kind::kCancelled && (!write || not_sent);
      reason = to_string(err.kind);
    } else {
      const unsigned status = res->result_int();
      if (observer_) observer_->on_request(call.operation, std::to_string(status), elapsed);
      if (status >= 200 && status < 300) co_return std::move(res.value());
      err = from_response(*res, clock_.now());
      if (write && status >= 500) err.outcome_unknown = true;
      // 429: refused, so even a write is safe to send again. 5xx: only reads.
      retry = status == 429 || (!write && status >= 500);
      reason = std::to_string(status);
    }
    if (!retry || attempt + 1 >= options_.max_attempts) co_return make_err(std::move(err));
    milliseconds delay = backoff(attempt);
    if (err.retry_after) {
      if (*err.retry_after > options_.max_retry_after) co_return make_err(std::move(err));
      delay = std::max(delay, *err.retry_after);
    }
    if (observer_) observer_->on_retry(call.operation, reason, delay);
    co_await sleep_for(delay);
  }
}

asio::awaitable<FlyResult<std::vector<Machine>>> MachinesClient::list_machines(
    ListOptions options) {
  std::vector<std::pair<std::string, std::string>> base_query;
  if (!options.region.empty()) base_query.emplace_back("region", options.region);
  if (!options.states.empty()) {
    std::string joined;
    for (const auto& s : options.states) joined += (joined.empty() ? "" : ",") + s;
    base_query.emplace_back("state", joined);
  }
  for (const auto& [k, v] : options.metadata) base_query.emplace_back("metadata." + k, v);
  if (options.summary) base_query.emplace_back("summary", "true");
  if (options.include_leases) base_query.emplace_back("include_leases", "true");
  base_query.emplace_back("limit", std::to_string(options_.page_size));

  std::vector<Machine> out;
  std::set<std::string> seen_cursors;
  std::string cursor;
  constexpr int kMaxPages = 10000;  // a server that keeps handing out cursors must not trap us
  for (int page = 0; page < kMaxPages; ++page) {
    auto query = base_query;
    if (!cursor.empty()) query.emplace_back("cursor", cursor);
    Call call{"list", "", options_.app, http::verb::get, with_query(machines_path(), query), "",
              "",     {}};
    auto res = co_await execute(std::move(call));
    if (!res) co_return make_err(std::move(res).error());
    auto machines = parsed_or_error(machines_from_json(res->body()), *res, false);
    if (!machines) co_return make_err(std::move(machines).error());
    for (auto& m : machines.value()) out.push_back(std::move(m));
    auto it = res->find(kCursorHeader);
    cursor = it == res->end() ? std::string() : std::string(it->value());
    if (cursor.empty()) co_return out;
    if (!seen_cursors.insert(cursor).second) {
      co_return make_err(bad_response("list: the API repeated cursor " + cursor, *res));
    }
  }
  FlyError e;
  e.kind = FlyError::Kind::kBadResponse;
  e.message = "list: more than " + std::to_string(kMaxPages) + " pages";
  co_return make_err(std::move(e));
}

asio::awaitable<FlyResult<Machine>> MachinesClient::get_machine(std::string id,
                                                                bool include_leases) {
  std::vector<std::pair<std::string, std::string>> q;
  if (include_leases) q.emplace_back("include_leases", "true");
  Call call{"get", "", id, http::verb::get, with_query(machine_path(id), q), "", "", {}};
  auto res = co_await execute(std::move(call));
  if (!res) co_return make_err(std::move(res).error());
  co_return parsed_or_error(machine_from_body(res->body()), *res, false);
}

asio::awaitable<FlyResult<Machine>> MachinesClient::create_machine(CreateMachineRequest request) {
  Call call{"create",
            "",
            options_.app,
            http::verb::post,
            machines_path(),
            json::serialize(to_json(request)),
            "",
            {}};
  auto res = co_await execute(std::move(call));
  if (!res) co_return make_err(std::move(res).error());
  co_return parsed_or_error(machine_from_body(res->body()), *res, true);
}

asio::awaitable<FlyResult<Unit>> MachinesClient::simple_write(std::string operation, std::string id,
                                                              std::string suffix,
                                                              std::string nonce) {
  Call call{operation,        "", id, http::verb::post, machine_path(id) + suffix, "",
            std::move(nonce), {}};
  auto res = co_await execute(std::move(call));
  if (!res) co_return make_err(std::move(res).error());
  co_return Unit{};
}

asio::awaitable<FlyResult<Unit>> MachinesClient::start_machine(std::string id, std::string nonce) {
  co_return co_await simple_write("start", std::move(id), "/start", std::move(nonce));
}

asio::awaitable<FlyResult<Unit>> MachinesClient::stop_machine(std::string id, StopOptions options,
                                                              std::string nonce) {
  json::object body;
  if (!options.signal.empty()) body["signal"] = options.signal;
  if (options.timeout) body["timeout"] = std::to_string(options.timeout->count()) + "s";
  Call call{"stop",
            "",
            id,
            http::verb::post,
            machine_path(id) + "/stop",
            body.empty() ? std::string() : json::serialize(body),
            std::move(nonce),
            {}};
  auto res = co_await execute(std::move(call));
  if (!res) co_return make_err(std::move(res).error());
  co_return Unit{};
}

asio::awaitable<FlyResult<Unit>> MachinesClient::suspend_machine(std::string id,
                                                                 std::string nonce) {
  co_return co_await simple_write("suspend", std::move(id), "/suspend", std::move(nonce));
}

asio::awaitable<FlyResult<Unit>> MachinesClient::cordon_machine(std::string id, std::string nonce) {
  co_return co_await simple_write("cordon", std::move(id), "/cordon", std::move(nonce));
}

asio::awaitable<FlyResult<Unit>> MachinesClient::uncordon_machine(std::string id,
                                                                  std::string nonce) {
  co_return co_await simple_write("uncordon", std::move(id), "/uncordon", std::move(nonce));
}

asio::awaitable<FlyResult<Unit>> MachinesClient::delete_machine(std::string id, bool force,
                                                                std::string nonce) {
  std::vector<std::pair<std::string, std::string>> q;
  if (force) q.emplace_back("force", "true");
  Call call{"delete",         "", id, http::verb::delete_, with_query(machine_path(id), q), "",
            std::move(nonce), {}};
  auto res = co_await execute(std::move(call));
  if (!res) co_return make_err(std::move(res).error());
  co_return Unit{};
}

asio::awaitable<FlyResult<WaitResult>> MachinesClient::wait_machine(std::string id,
                                                                    std::string state,
                                                                    std::chrono::seconds timeout,
                                                                    std::string version) {
  const auto t = std::clamp(timeout, std::chrono::seconds{1}, std::chrono::seconds{60});
  std::vector<std::pair<std::string, std::string>> q{{"state", state},
                                                     {"timeout", std::to_string(t.count())}};
  if (!version.empty()) q.emplace_back("version", version);
  // The server holds the request up to `t`; give the transport a margin beyond that.
  Call call{"wait",
            "",
            id,
            http::verb::get,
            with_query(machine_path(id) + "/wait", q),
            "",
            "",
            milliseconds(t) + options_.http.request_timeout};
  auto res = co_await execute(std::move(call));
  if (!res) co_return make_err(std::move(res).error());
  co_return parsed_or_error(wait_from_body(res->body()), *res, false);
}

asio::awaitable<FlyResult<LeaseInfo>> MachinesClient::acquire_lease(std::string id,
                                                                    std::chrono::seconds ttl,
                                                                    std::string description) {
  json::object body{{"ttl", ttl.count()}};
  if (!description.empty()) body["description"] = description;
  Call call{"lease_acquire",       "lease", id, http::verb::post, machine_path(id) + "/lease",
            json::serialize(body), "",      {}};
  auto res = co_await execute(std::move(call));
  if (!res) co_return make_err(std::move(res).error());
  co_return parsed_or_error(lease_from_body(res->body()), *res, true);
}

asio::awaitable<FlyResult<LeaseInfo>> MachinesClient::refresh_lease(std::string id,
                                                                    std::string nonce,
                                                                    std::chrono::seconds ttl) {
  json::object body{{"ttl", ttl.count()}};
  Call call{
      "lease_refresh",       "lease",          id, http::verb::post, machine_path(id) + "/lease",
      json::serialize(body), std::move(nonce), {}};
  auto res = co_await execute(std::move(call));
  if (!res) co_return make_err(std::move(res).error());
  co_return parsed_or_error(lease_from_body(res->body()), *res, true);
}

asio::awaitable<FlyResult<Unit>> MachinesClient::release_lease(std::string id, std::string nonce) {
  Call call{"lease_release",  "", id, http::verb::delete_, machine_path(id) + "/lease", "",
            std::move(nonce), {}};
  auto res = co_await execute(std::move(call));
  if (!res) co_return make_err(std::move(res).error());
  co_return Unit{};
}

asio::awaitable<FlyResult<std::map<std::string, std::string>>> MachinesClient::get_metadata(
    std::string id) {
  Call call{"metadata_get", "", id, http::verb::get, machine_path(id) + "/metadata", "", "", {}};
  auto res = co_await execute(std::move(call));
  if (!res) co_return make_err(std::move(res).error());
  co_return parsed_or_error(metadata_from_body(res->body()), *res, false);
}

asio::awaitable<FlyResult<Unit>> MachinesClient::set_metadata(std::string id, std::string key,
                                                              std::string value,
                                                              std::string nonce) {
  json::object body{{"value", value}};
  Call call{"metadata_set",
            "",
            id,
            http::verb::post,
            machine_path(id) + "/metadata/" + net::encode_path_segment(key),
            json::serialize(body),
            std::move(nonce),
            {}};
  auto res = co_await execute(std::move(call));
  if (!res) co_return make_err(std::move(res).error());
  co_return Unit{};
}

asio::awaitable<FlyResult<Unit>> MachinesClient::delete_metadata(std::string id, std::string key,
                                                                 std::string nonce) {
  Call call{"metadata_delete",
            "",
            id,
            http::verb::delete_,
            machine_path(id) + "/metadata/" + net::encode_path_segment(key),
            "",
            std::move(nonce),
            {}};
  auto res = co_await execute(std::move(call));
  if (!res) co_return make_err(std::move(res).error());
  co_return Unit{};
}

asio::awaitable<FlyResult<std::vector<Region>>> MachinesClient::list_regions() {
  Call call{"regions", "", options_.app, http::verb::get, "/v1/platform/regions", "", "", {}};
  auto res = co_await execute(std::move(call));
  if (!res) co_return make_err(std::move(res).error());
  co_return parsed_or_error(regions_from_body(res->body()), *res, false);
}

}  // namespace autoplacer::fly
