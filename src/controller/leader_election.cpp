#include "controller/leader_election.h"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace autoplacer::etcd {
namespace asio = boost::asio;
using std::chrono::duration_cast;
using std::chrono::seconds;

const char* to_string(Role role) {
  switch (role) {
    case Role::kLeader:
      return "leader";
    case Role::kFollower:
      return "follower";
    case Role::kNoQuorum:
      return "no_quorum";
  }
  return "unknown";
}

std::optional<std::string> validate(const LeaderElectionConfig& c) {
  if (c.key.empty()) return "leader election: the key is empty";
  if (c.identity.empty()) return "leader election: the identity is empty";
  if (c.lease_duration < seconds(1) || c.lease_duration.count() % 1000 != 0) {
    return "leader election: the lease duration must be a whole number of seconds >= 1s";
  }
  if (c.renew_deadline >= c.lease_duration) {
    return "leader election: the renew deadline must be shorter than the lease duration";
  }
  // client-go: renewDeadline > JitterFactor(1.2) * retryPeriod, so a deadline spans at least
  // one retry with room for its latency.
  if (c.retry_period.count() <= 0 || c.renew_deadline.count() * 10 <= c.retry_period.count() * 12) {
    return "leader election: the renew deadline must exceed 1.2 x the retry period";
  }
  return std::nullopt;
}

LeaderElector::LeaderElector(Etcd& etcd, const Clock& clock, LeaderElectionConfig config,
                             LeaderCallbacks callbacks)
    : etcd_(etcd), clock_(clock), config_(std::move(config)), callbacks_(std::move(callbacks)) {
  state_.role_since = clock_.now();
}

bool LeaderElector::deadline_passed(TimePoint now) const {
  return now - state_.last_renew >= config_.renew_deadline;
}

bool LeaderElector::is_leader() const {
  std::lock_guard lock(mu_);
  return state_.role == Role::kLeader && !deadline_passed(clock_.now());
}

std::optional<Revision> LeaderElector::leadership_revision() const {
  std::lock_guard lock(mu_);
  if (state_.role != Role::kLeader || deadline_passed(clock_.now())) return std::nullopt;
  return state_.leader_revision;
}

LeaderState LeaderElector::state() const {
  std::lock_guard lock(mu_);
  LeaderState s = state_;
  // Frozen or cut off past the deadline: whatever the loop last wrote, we do not lead now.
  if (s.role == Role::kLeader && deadline_passed(clock_.now())) {
    s.role = Role::kNoQuorum;
    s.leader_identity.clear();
  }
  return s;
}

void LeaderElector::set_error(const EtcdError& e) {
  std::lock_guard lock(mu_);
  state_.last_error = std::string(to_string(e.kind)) + ": " + e.message;
}

void LeaderElector::become_leader(Revision revision, TimePoint renewed_at,
                                  const std::string& observed_value) {
  bool changed_leader = false;
  {
    std::lock_guard lock(mu_);
    changed_leader = state_.leader_identity != observed_value;
    state_.role = Role::kLeader;
    state_.leader_identity = observed_value;
    state_.leader_revision = revision;
    state_.last_renew = renewed_at;
    state_.role_since = clock_.now();
    state_.last_error.clear();
    ++state_.transitions;
  }
  spdlog::info("leader election: {} now leads (key {}, revision {})", config_.identity, config_.key,
               revision);
  if (changed_leader && callbacks_.on_new_leader) callbacks_.on_new_leader(observed_value);
  if (callbacks_.on_started_leading) callbacks_.on_started_leading(revision);
}

void LeaderElector::step_down(const std::string& why, Role next) {
  {
    std::lock_guard lock(mu_);
    if (state_.role != Role::kLeader) {
      state_.role = next;
      return;
    }
    state_.role = next;
    state_.leader_identity.clear();
    state_.role_since = clock_.now();
    ++state_.transitions;
  }
  spdlog::warn("leader election: {} stops leading: {}", config_.identity, why);
  if (callbacks_.on_stopped_leading) callbacks_.on_stopped_leading(why);
}

void LeaderElector::observe(Role role, const std::string& identity, Revision revision) {
  bool changed = false;
  {
    std::lock_guard lock(mu_);
    if (state_.role != role) state_.role_since = clock_.now();
    state_.role = role;
    changed = !identity.empty() && state_.leader_identity != identity;
    state_.leader_identity = identity;
    state_.leader_revision = revision;
    if (role != Role::kNoQuorum) state_.last_error.clear();
  }
  if (changed) {
    spdlog::info("leader election: {} observes leader {}", config_.identity, identity);
    if (callbacks_.on_new_leader) callbacks_.on_new_leader(identity);
  }
}

asio::awaitable<void> LeaderElector::tick() {
  bool leading = false;
  {
    std::lock_guard lock(mu_);
    leading = state_.role == Role::kLeader;
  }
  if (leading) {
    co_await renew();
  } else {
    co_await campaign();
  }
}

asio::awaitable<void> LeaderElector::renew() {
  LeaseId lease = 0;
  Revision mine = 0;
  bool expired = false;
  {
    std::lock_guard lock(mu_);
    lease = state_.lease;
    mine = state_.leader_revision;
    expired = deadline_passed(clock_.now());
  }
  // Give up leadership the moment the deadline is gone, before any request: if we were frozen
  // we must not act on the strength of a renewal sent now.
  auto give_up = [&](const std::string& why) -> asio::awaitable<void> {
    step_down(why, Role::kNoQuorum);
    // Best effort: if etcd still holds our key, free it now rather than at the TTL. If this
    // fails the lease runs out by itself.
    if (lease != 0) (void)co_await etcd_.lease_revoke(lease);
    std::lock_guard lock(mu_);
    state_.lease = 0;
  };
  if (expired) {
    co_await give_up("no renewal within the renew deadline");
    co_return;
  }

  const TimePoint sent = clock_.now();
  auto ka = co_await etcd_.lease_keep_alive(lease);
  if (!ka) {
    set_error(ka.error());
    bool late = false;
    {
      std::lock_guard lock(mu_);
      late = deadline_passed(clock_.now());
    }
    if (late) co_await give_up("etcd unreachable past the renew deadline: " + ka.error().message);
    co_return;
  }
  if (ka->ttl <= 0) {
    step_down("our lease expired", Role::kFollower);
    std::lock_guard lock(mu_);
    state_.lease = 0;
    co_return;
  }
  // The lease lives; make sure the key on it is still ours (someone may have deleted it).
  auto r = co_await etcd_.range(RangeRequest::single(config_.key));
  if (!r) {
    set_error(r.error());
    co_return;  // not confirmed: last_renew stays, the deadline decides
  }
  if (r->kvs.empty() || r->kvs.front().create_revision != mine || r->kvs.front().lease != lease) {
    step_down("the leader key is gone or no longer ours", Role::kFollower);
    if (!r->kvs.empty())
      observe(Role::kFollower, r->kvs.front().value, r->kvs.front().create_revision);
    co_return;
  }
  std::lock_guard lock(mu_);
  if (state_.role == Role::kLeader) state_.last_renew = sent;
  state_.last_error.clear();
}

asio::awaitable<void> LeaderElector::campaign() {
  // A lease granted or renewed by a request sent at `sent` lives at least until sent + TTL.
  const TimePoint sent = clock_.now();
  LeaseId lease = 0;
  {
    std::lock_guard lock(mu_);
    lease = state_.lease;
  }
  if (lease != 0) {
    auto ka = co_await etcd_.lease_keep_alive(lease);
    if (!ka) {
      set_error(ka.error());
      observe(Role::kNoQuorum, "", 0);
      co_return;
    }
    if (ka->ttl <= 0) lease = 0;
  }
  if (lease == 0) {
    auto g = co_await etcd_.lease_grant(duration_cast<seconds>(config_.lease_duration).count());
    if (!g) {
      set_error(g.error());
      observe(Role::kNoQuorum, "", 0);
      co_return;
    }
    lease = g->id;
    std::lock_guard lock(mu_);
    state_.lease = lease;
  }

  TxnRequest txn;
  txn.compare.push_back(Compare::create_revision(config_.key, Compare::Result::kEqual, 0));
  txn.success.emplace_back(PutRequest::of(config_.key, config_.identity, lease));
  txn.failure.emplace_back(RangeRequest::single(config_.key));
  auto t = co_await etcd_.txn(std::move(txn));
  if (!t) {
    set_error(t.error());
    if (t.error().kind == EtcdError::Kind::kLeaseNotFound) {
      std::lock_guard lock(mu_);
      state_.lease = 0;  // expired between keep-alive and txn: a new one next round
    }
    observe(Role::kNoQuorum, "", 0);
    co_return;
  }
  if (t->succeeded) {
    // The put is the transaction's only write, so the key's create_revision is its revision.
    become_leader(t->header.revision, sent, config_.identity);
    co_return;
  }
  const KeyValue* kv = nullptr;
  if (!t->responses.empty()) {
    if (const auto* rr = std::get_if<RangeResponse>(&t->responses.front())) {
      if (!rr->kvs.empty()) kv = &rr->kvs.front();
    }
  }
  if (kv != nullptr && kv->value == config_.identity && kv->lease == lease) {
    // Our own key on our own lease: an earlier attempt of this campaign won (a retried request
    // whose first answer was lost). We lead since that revision.
    become_leader(kv->create_revision, sent, config_.identity);
    co_return;
  }
  if (kv != nullptr) {
    observe(Role::kFollower, kv->value, kv->create_revision);
  } else {
    observe(Role::kFollower, "", 0);  // deleted in between; we try again next round
  }
}

asio::awaitable<void> LeaderElector::run() {
  auto executor = co_await asio::this_coro::executor;
  auto timer = std::make_shared<asio::steady_timer>(executor);
  {
    std::lock_guard lock(mu_);
    run_executor_ = executor;
    std::weak_ptr<asio::steady_timer> weak = timer;
    // stop() may come from another thread: cancel the timer on its own executor.
    wake_ = [executor, weak] {
      asio::post(executor, [weak] {
        if (auto t = weak.lock()) t->cancel();
      });
    };
  }
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (stop_) break;
    }
    co_await tick();
    {
      std::lock_guard lock(mu_);
      if (stop_) break;
    }
    timer->expires_after(config_.retry_period);
    (void)co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
  }
  std::lock_guard lock(mu_);
  wake_ = nullptr;
  run_executor_.reset();
}

void LeaderElector::stop() {
  std::function<void()> wake;
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    wake = wake_;
  }
  if (wake) wake();
}

asio::awaitable<void> LeaderElector::resign() {
  stop();  // or the loop's next round would campaign again
  LeaseId lease = 0;
  {
    std::lock_guard lock(mu_);
    lease = state_.lease;
  }
  step_down("resigned", Role::kFollower);
  if (lease != 0) {
    auto r = co_await etcd_.lease_revoke(lease);
    if (!r) set_error(r.error());
  }
  std::lock_guard lock(mu_);
  state_.lease = 0;
}

}  // namespace autoplacer::etcd
