#pragma once
// Runs one coroutine to completion on a private io_context (for tests against fakes, whose
// calls complete at once, and for simple calls against a real etcd).
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <exception>
#include <optional>

namespace autoplacer::testing {

// On `ctx`, which must not be running elsewhere: for I/O objects bound to it.
template <class T>
T run_sync(boost::asio::io_context& ctx, boost::asio::awaitable<T> a) {
  std::optional<T> out;
  std::exception_ptr error;
  // Results have no default value, which co_spawn's (exception_ptr, T) handler would need.
  auto store = [](boost::asio::awaitable<T> inner,
                  std::optional<T>& slot) -> boost::asio::awaitable<void> {
    slot.emplace(co_await std::move(inner));
  };
  boost::asio::co_spawn(ctx, store(std::move(a), out), [&](std::exception_ptr e) { error = e; });
  ctx.restart();
  ctx.run();
  if (error) std::rethrow_exception(error);
  return std::move(*out);
}

template <class T>
T run_sync(boost::asio::awaitable<T> a) {
  boost::asio::io_context ctx;
  return run_sync(ctx, std::move(a));
}

inline void run_sync(boost::asio::awaitable<void> a) {
  boost::asio::io_context ctx;
  std::exception_ptr error;
  boost::asio::co_spawn(ctx, std::move(a), [&](std::exception_ptr e) { error = e; });
  ctx.run();
  if (error) std::rethrow_exception(error);
}

}  // namespace autoplacer::testing
