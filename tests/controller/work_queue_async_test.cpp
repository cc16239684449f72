// async_get(): workers as coroutines on an io_context.
#include <gtest/gtest.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <thread>

#include "controller/work_queue.h"

namespace autoplacer::controller {
namespace {

namespace asio = boost::asio;
using std::chrono::milliseconds;
using std::chrono::seconds;

// Runs the io_context until `done` or a (real-time) safety limit; true when done.
template <class Pred>
bool run_until(asio::io_context& io, Pred done) {
  auto deadline = std::chrono::steady_clock::now() + seconds(10);
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    io.restart();
    io.run_for(milliseconds(5));
  }
  return done();
}

TEST(WorkQueueAsyncTest, CoroutineWorkersProcessEveryKeyOnce) {
  ManualClock clock{TimePoint{seconds(1000)}};
  WorkQueue queue(clock, WorkQueueOptions{"async", {}});
  asio::io_context io;
  std::vector<std::string> processed;
  int stopped = 0;
  for (int w = 0; w < 3; ++w) {
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          while (auto key = co_await queue.async_get()) {
            processed.push_back(*key);
            queue.done(*key);
          }
          ++stopped;
        },
        asio::detached);
  }
  io.run_for(milliseconds(10));  // workers are now waiting
  for (int i = 0; i < 10; ++i) queue.add("k" + std::to_string(i));
  ASSERT_TRUE(run_until(io, [&] { return processed.size() == 10; }));
  std::sort(processed.begin(), processed.end());
  EXPECT_EQ(std::unique(processed.begin(), processed.end()), processed.end());
  queue.shut_down();
  ASSERT_TRUE(run_until(io, [&] { return stopped == 3; }));
}

TEST(WorkQueueAsyncTest, AddFromAnotherThreadWakesTheCoroutine) {
  ManualClock clock{TimePoint{seconds(1000)}};
  WorkQueue queue(clock);
  asio::io_context io;
  auto guard = asio::make_work_guard(io);
  std::optional<std::string> got;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        got = co_await queue.async_get();
        guard.reset();
      },
      asio::detached);
  std::thread runner([&] { io.run(); });
  std::this_thread::sleep_for(milliseconds(20));
  queue.add("policy/fra");
  runner.join();
  EXPECT_EQ(got, "policy/fra");
}

TEST(WorkQueueAsyncTest, DelayedKeyIsHandedOutAfterRealTimeDelay) {
  SystemClock clock;
  WorkQueue queue(clock);
  asio::io_context io;
  std::optional<std::string> got;
  bool finished = false;
  queue.add_after("later", milliseconds(30));
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        got = co_await queue.async_get();
        finished = true;
      },
      asio::detached);
  ASSERT_TRUE(run_until(io, [&] { return finished; }));
  EXPECT_EQ(got, "later");
}

TEST(WorkQueueAsyncTest, DelayedKeyWithManualClockAfterPromote) {
  ManualClock clock{TimePoint{seconds(1000)}};
  WorkQueue queue(clock);
  asio::io_context io;
  std::optional<std::string> got;
  bool finished = false;
  queue.add_after("later", seconds(60));
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        got = co_await queue.async_get();
        finished = true;
      },
      asio::detached);
  io.run_for(milliseconds(20));
  EXPECT_FALSE(finished);
  clock.advance(seconds(60));
  queue.promote_due();
  ASSERT_TRUE(run_until(io, [&] { return finished; }));
  EXPECT_EQ(got, "later");
}

TEST(WorkQueueAsyncTest, ShutdownWakesCoroutines) {
  ManualClock clock{TimePoint{seconds(1000)}};
  WorkQueue queue(clock);
  asio::io_context io;
  int woke_empty = 0;
  for (int w = 0; w < 4; ++w) {
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          if (!co_await queue.async_get()) ++woke_empty;
        },
        asio::detached);
  }
  io.run_for(milliseconds(10));
  EXPECT_EQ(woke_empty, 0);
  queue.shut_down();
  ASSERT_TRUE(run_until(io, [&] { return woke_empty == 4; }));
}

TEST(WorkQueueAsyncTest, CancelledWaitTakesNoKey) {
  ManualClock clock{TimePoint{seconds(1000)}};
  WorkQueue queue(clock);
  asio::io_context io;
  asio::cancellation_signal cancel;
  bool finished = false;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        try {
          auto key = co_await queue.async_get();
          EXPECT_EQ(key, std::nullopt);
        } catch (const boost::system::system_error&) {
          // Asio may report cancellation as operation_aborted: also fine.
        }
        finished = true;
      },
      asio::bind_cancellation_slot(cancel.slot(), asio::detached));
  io.run_for(milliseconds(10));
  cancel.emit(asio::cancellation_type::terminal);
  ASSERT_TRUE(run_until(io, [&] { return finished; }));
  queue.add("a");
  EXPECT_EQ(queue.try_get(), "a");  // still there for the next worker
}

}  // namespace
}  // namespace autoplacer::controller
