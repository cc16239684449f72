#pragma once
// Runs one awaitable to completion on a private io_context: the tests' bridge from synchronous
// gtest bodies to coroutine APIs.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <optional>

namespace autoplacer::testing {

template <class T>
T run_sync(boost::asio::io_context& io, boost::asio::awaitable<T> aw) {
  std::optional<T> out;
  boost::asio::co_spawn(
      io, [&]() -> boost::asio::awaitable<void> { out.emplace(co_await std::move(aw)); },
      boost::asio::detached);
  io.restart();
  io.run();
  return std::move(*out);
}

}  // namespace autoplacer::testing
