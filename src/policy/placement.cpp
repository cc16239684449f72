#include "policy/placement.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <memory>
#include <numeric>
#include <utility>

namespace autoplacer {
namespace {

constexpr double kUnservedPenaltyMs = 10'000;  // per unit of unserved fraction: worse than any RTT
constexpr double kFarPenaltyMs = 5'000;        // per unit of fraction served beyond maxRttMs
constexpr double kOverBudgetPenaltyMs = 1e6;   // per machine over maxTotal
constexpr double kImprovement = 1e-9;

// Precomputed orders and scratch buffers, so that scoring an open set allocates nothing.
class Evaluator {
 public:
  Evaluator() = default;
  explicit Evaluator(const PlacementProblem& p) { reset(p); }

  // Sets up for problem `p` (kept by reference until the next reset). Every table is assigned
  // anew, so a reused evaluator (PlacementWorkspace) scores exactly as a fresh one; only the
  // buffers' capacity carries over.
  void reset(const PlacementProblem& p) {
    p_ = &p;
    origins_ = static_cast<int>(p.demand.size());
    regions_ = p.regions;
    reference_ = false;
    last_move_incremental_ = false;
    last_unserved_ = 0;
    evaluations_ = 0;
    const auto H = static_cast<std::size_t>(regions_);
    // The caller's order when given (decide() keeps it from pass to pass), else computed.
    own_order_.clear();
    if (p.order.size() != static_cast<std::size_t>(origins_) * H) own_order_ = nearest_first(p);
    sorted_ = own_order_.empty() ? p.order.data() : own_order_.data();
    // By demand descending, ties by index (a stable sort of 0..O-1). For a few dozen origins an
    // insertion sort, which allocates no buffer, from the last problem's order when it had as many
    // origins: demand moves little from pass to pass, so that order is nearly sorted already.
    if (order_.size() != static_cast<std::size_t>(origins_) || order_.size() > 64) {
      order_.resize(static_cast<std::size_t>(origins_));
      std::iota(order_.begin(), order_.end(), 0);
    }
    if (order_.size() > 64) {
      std::stable_sort(order_.begin(), order_.end(),
                       [&](int a, int b) { return demand(a) > demand(b); });
    } else {
      auto before = [&](int a, int b) {
        const double da = demand(a), db = demand(b);
        return da > db || (da == db && a < b);
      };
      for (std::size_t i = 1; i < order_.size(); ++i) {
        const int o = order_[i];
        std::size_t j = i;
        for (; j > 0 && before(o, order_[j - 1]); --j) order_[j] = order_[j - 1];
        order_[j] = o;
      }
    }
    total_demand_ = 0;
    for (double d : p.demand) total_demand_ += std::max(0.0, d);
    // Latency term per req/s x ms: the mean over this demand, or over the reference demand.
    by_reference_ = p.latencyReferenceRps > 0 && std::isfinite(p.latencyReferenceRps);
    rtt_scale_ = by_reference_       ? 1.0 / p.latencyReferenceRps
                 : total_demand_ > 0 ? 1.0 / total_demand_
                                     : 0.0;
    per_machine_ = p.targetPerMachine / (1 + std::max(0.0, p.headroom));
    machines_per_load_ = 1 / per_machine_;
    max_machines_.resize(H);
    floor_.resize(H);
    least_m_.resize(H);
    base_m_.assign(H, 0);
    base_machines_ = 0;
    for (std::size_t h = 0; h < H; ++h) {
      floor_[h] = p.floor.empty() ? 0 : p.floor[h];
      max_machines_[h] = std::max(std::max(0, p.maxPerRegion), floor_[h]);
      // Machines before any load: only floors count, open or not (see machines_at).
      base_m_[h] =
          floor_[h] > 0 ? std::min(std::max(floor_[h], p.minPerRegion), max_machines_[h]) : 0;
      least_m_[h] = std::max({1, p.minPerRegion, floor_[h]});
      base_machines_ += base_m_[h];
    }
    // Per origin, the RTTs in the order of sorted_, so that the serving walk reads one row.
    const std::size_t cells = static_cast<std::size_t>(origins_) * H;
    if (own_order_.empty() && p.orderedRtt.size() == cells) {
      sorted_rtt_ = p.orderedRtt.data();
    } else {
      own_sorted_rtt_.resize(cells);
      for (std::size_t i = 0; i < cells; ++i) {
        own_sorted_rtt_[i] = rtt(static_cast<int>(i / H), sorted_[i]);
      }
      sorted_rtt_ = own_sorted_rtt_.data();
    }
    cap_ = max_machines_;
    m_.assign(H, 0);
    load_.assign(H, 0);
    remaining_.assign(static_cast<std::size_t>(origins_), 0);
    running_.assign(H, 0);
    if (p.running.size() == H) {
      for (std::size_t h = 0; h < H; ++h) running_[h] = p.running[h] != 0 ? 1 : 0;
    }
    hysteresis_ = p.switchPenaltyMs > 0 && std::count(running_.begin(), running_.end(), 1) > 0;
    // Resuming needs one pass over the origins (a latency limit makes a second one).
    resumable_ = p.maxRttMs <= 0;
    if (resumable_) {
      const auto O = static_cast<std::size_t>(origins_);
      walk_end_.assign(O, static_cast<int>(H));
      visitors_start_.assign(H + 1, 0);
      visitors_.reserve(O * 4);
      rewalk_.assign((O + 63) / 64, 0);
      ref_take_start_.assign(O + 1, 0);
      ref_takes_.reserve(O * 2);
      ref_weighted_.assign(O, 0.0);
      ref_rem_.assign(O, 0.0);
      diff_.assign(H, 0.0);
      dirty_.assign(H, 0);
      step_start_.assign(H + 1, 0);
      raw_steps_.reserve(O * 2);
      snap_totals_.assign(O + 1, Totals{});
    }
  }

  Evaluator(const Evaluator&) = delete;  // sorted_ may point into own_order_
  Evaluator& operator=(const Evaluator&) = delete;

  double rtt(int o, int h) const {
    return p_->rtt[static_cast<std::size_t>(o) * static_cast<std::size_t>(regions_) +
                   static_cast<std::size_t>(h)];
  }
  double demand(int o) const { return std::max(0.0, p_->demand[static_cast<std::size_t>(o)]); }
  const int* sorted() const { return sorted_; }
  int floor(int h) const { return floor_[static_cast<std::size_t>(h)]; }

  // Partial regions: the most machines region h may take during the walk (maxPerRegion, or its
  // floor when higher, unless lowered). A change takes effect at the next score; score_move(h)
  // after a change of h alone is exact, as for opening or closing h.
  int cap(int h) const { return cap_[static_cast<std::size_t>(h)]; }
  void set_cap(int h, int c) { cap_[static_cast<std::size_t>(h)] = c; }
  // Machines per region of the last set_reference().
  const std::vector<int>& reference_machines() const { return reference_m_; }
  // Unserved demand of the last score that ran to the end (not stopped by its bound).
  double last_unserved() const { return last_unserved_; }

  // Objective of an open set; fills `out` when given. Every take respects maxPerRegion and what
  // is left of maxTotal, so the result is within the budget unless the floors alone exceed it.
  // Without `out`, scoring stops as soon as a lower bound of the objective reaches `bound` - the
  // improvement step (the set cannot win then) and returns that lower bound. The bound is sound
  // because every term only grows during the walk: weighted RTT over all demand is at most the
  // mean over served demand, machines and penalties never fall.
  double score(const std::vector<char>& open, PlacementResult* out,
               double bound = std::numeric_limits<double>::infinity()) {
    return run(open, 0, out, bound, false);
  }

  // The result of `open` with the caps as they are: read off the reference walk when it is of
  // this very set and caps (the search ends on its last reference, as a rule), else walked.
  void result(const std::vector<char>& open, PlacementResult& out) {
    if (!reference_ || open != reference_open_ || cap_ != reference_cap_) {
      score(open, &out);
      return;
    }
    const auto H = static_cast<std::size_t>(regions_);
    const Totals& t = snap_totals_[static_cast<std::size_t>(origins_)];
    // The reference walk takes at most once per region and origin (one pass: resumable_), so its
    // takes are the assignment's entries; they are listed by origin, each origin's by region.
    position_of_.resize(static_cast<std::size_t>(origins_));
    for (int k = 0; k < origins_; ++k)
      position_of_[static_cast<std::size_t>(order_[static_cast<std::size_t>(k)])] = k;
    out.assignment.clear();
    for (int o = 0; o < origins_; ++o) {
      const auto k = static_cast<std::size_t>(position_of_[static_cast<std::size_t>(o)]);
      const int* row = sorted_ + static_cast<std::size_t>(o) * H;
      const std::size_t first = out.assignment.size();
      for (int i = ref_take_start_[k]; i < ref_take_start_[k + 1]; ++i) {
        const Take& take = ref_takes_[static_cast<std::size_t>(i)];
        out.assignment.push_back({o, row[take.at], take.take});
      }
      const auto begin = out.assignment.begin() + static_cast<std::ptrdiff_t>(first);
      std::sort(begin, out.assignment.end(),
                [](const PlacementResult::Served& a, const PlacementResult::Served& b) {
                  return a.region < b.region;
                });
    }
    const double served = total_demand_ - t.unserved;
    out.machines = reference_m_;
    out.load = reference_load_;
    out.meanRttMs = served > 0 ? t.weighted / served : 0;
    out.unservedRps = t.unserved;
    out.total = t.machines;
    out.objective = reference_score_;
    out.evaluations = evaluations_;
    if (p_->verifyIncremental) {
      PlacementResult walked;
      score(open, &walked);
      if (walked.machines != out.machines || walked.load != out.load ||
          walked.assignment != out.assignment || walked.objective != out.objective ||
          walked.meanRttMs != out.meanRttMs || walked.unservedRps != out.unservedRps) {
        std::fprintf(stderr, "placement: result read off the reference differs from a walk\n");
        std::abort();
      }
    }
  }

  // Incremental scoring of moves. set_reference() scores a set and keeps its walk's tables: the
  // totals before each origin, each origin's takes and where its walk ended, each region's load
  // after each take, and which origins visited each region. A move that opens, closes or re-caps
  // regions a and b (b = -1 for one) cannot change the walk of origins before the first one whose
  // walk reached a or b; score_move() re-walks only the origins it changes
  // (score_changed_walks), or resumes the walk there when the budget is near.
  double set_reference(const std::vector<char>& open) {
    // The same set and caps as the reference already held (the search's phases hand over their
    // result): nothing to walk.
    if (reference_ && open == reference_open_ && cap_ == reference_cap_) {
      last_unserved_ = reference_unserved_;
      return reference_score_;
    }
    // A new reference after a move: the walks of the origins before the first one that visited a
    // changed region are the old reference's, so the recording walk resumes there and keeps
    // their tables (the same operations from the same state as a full walk: the same result).
    int from = 0;
    if (reference_ && open.size() == reference_open_.size()) {
      from = origins_;
      for (std::size_t h = 0; h < open.size(); ++h) {
        if (open[h] != reference_open_[h] || cap_[h] != reference_cap_[h]) {
          from = std::min(from, first_affected(static_cast<int>(h)));
        }
      }
    }
    reference_ = resumable_;
    const double s = run(open, from, nullptr, std::numeric_limits<double>::infinity(), reference_);
    reference_m_ = m_;
    if (reference_) {
      reference_open_ = open;
      reference_cap_ = cap_;
      reference_score_ = s;
      reference_unserved_ = last_unserved_;
      reference_load_ = load_;
      ref_switches_ = 0;
      for (std::size_t h = 0; h < m_.size(); ++h) ref_switches_ += switched(h, m_[h]);
      // The walk never met maxTotal, so budget checks cannot change a move's walk either unless
      // the move's own total comes near it (checked after each move).
      const int top = *std::max_element(cap_.begin(), cap_.end());
      unbudgeted_total_ = p_->maxTotal - top;
      index_visitors();
      index_steps();
      if (p_->verifyIncremental && from > 0) verify_reference(open, s);
    }
    return s;
  }

  // Test hook (PlacementProblem::verifyIncremental): a resumed reference walk must give what a
  // full walk gives, to the last bit.
  void verify_reference(const std::vector<char>& open, double resumed) {
    const double walked = run(open, 0, nullptr, std::numeric_limits<double>::infinity(), false);
    if (walked != resumed || m_ != reference_m_ || load_ != reference_load_ ||
        last_unserved_ != reference_unserved_) {
      std::fprintf(stderr, "placement: resumed reference %.17g, walked %.17g\n", resumed, walked);
      std::abort();
    }
  }
  double score_move(const std::vector<char>& open, int a, int b, double bound) {
    last_move_incremental_ = false;
    if (!reference_) return score(open, nullptr, bound);
    int k = first_affected(a);
    if (b >= 0) k = std::min(k, first_affected(b));
    if (snap_totals_[static_cast<std::size_t>(origins_)].machines <= unbudgeted_total_) {
      const double fast = score_changed_walks(open, a, b, k);
      if (!std::isnan(fast)) {
        last_move_incremental_ = true;
        if (p_->verifyIncremental) verify(open, k, fast);
        return fast;
      }
    }
    return run(open, k, nullptr, bound, false);
  }

  int evaluations() const { return evaluations_; }

  // The regions a move's scoring may have seen change: those it toggled or re-capped, and every
  // region in the rows of the origins it re-walked, as far as either walk went. Another move's
  // score can change after this move is taken only through these (or through a longer cascade,
  // which the search's "don't look" bits accept to miss; docs/decision-core.md). Valid for the
  // last score_move() that was scored incrementally; false when it was walked in full.
  bool touched_by_last_move(std::vector<char>& touched) const {
    if (!last_move_incremental_) return false;
    const auto H = static_cast<std::size_t>(regions_);
    for (int h : dirty_list_) touched[static_cast<std::size_t>(h)] = 1;
    for (const auto& [k, reach] : rewalked_) {
      const int* row = &sorted_[static_cast<std::size_t>(order_[static_cast<std::size_t>(k)]) * H];
      for (int i = 0; i <= reach; ++i) touched[static_cast<std::size_t>(row[i])] = 1;
    }
    return true;
  }

 private:
  struct Totals {
    int machines = 0;
    double weighted = 0, unserved = 0, far = 0;
    int walkSwitches = 0;  // regions given machines during the walk while not running
  };

  // 1 when region h's use changes against what runs now (switch penalty), given its machines.
  int switched(std::size_t h, int machines) const {
    return hysteresis_ && (running_[h] != 0) != (machines > 0) ? 1 : 0;
  }

  // A move scored from the reference walk, re-walking only the origins it changes. Origin k walks
  // exactly as in the reference unless a region its reference walk visited is "dirty": toggled or
  // re-capped by the move, or carrying a different load than the reference had at that point (a
  // re-walked origin took more or less there). Clean origins are skipped: their takes, and so
  // their contribution to every total, are the reference's. Dirty origins are walked from the
  // reference's loads at that point plus the load differences so far, and their differences are
  // accumulated.
  // Which origins to re-walk comes from the visitors index: when a region turns dirty, every later
  // origin whose reference walk visited it is flagged, so a move costs its re-walks and the
  // flags, not a look at every later origin's walk.
  // The totals are the reference's plus those differences, so the objective agrees with a full
  // walk to rounding (the sums are associated differently), not to the last bit.
  // Returns NaN when the move's machines come near maxTotal: the caller walks instead.
  double score_changed_walks(const std::vector<char>& open, int a, int b, int from) {
    const auto H = static_cast<std::size_t>(regions_);
    const auto O = static_cast<std::size_t>(origins_);
    const char* is_open = open.data();
    const int first_use = std::max(1, p_->minPerRegion);
    dirty_list_.clear();
    rewalked_.clear();
    std::uint64_t* rewalk = rewalk_.data();
    // Region h turns dirty before the origin at position `after` walks (-1: before any): flags
    // its later visitors. Once dirty, they are flagged already.
    auto mark = [&](std::size_t h, int after) __attribute__((always_inline)) {
      if (dirty_[h]) return;
      dirty_[h] = 1;
      dirty_list_.push_back(static_cast<int>(h));
      const int* v = visitors_.data() + visitors_start_[h];
      const int* v_end = visitors_.data() + visitors_start_[h + 1];
      for (; v != v_end; ++v) {
        if (*v > after) rewalk[*v >> 6] |= std::uint64_t{1} << (*v & 63);
      }
    };
    mark(static_cast<std::size_t>(a), -1);
    if (b >= 0) mark(static_cast<std::size_t>(b), -1);
    double d_weighted = 0, d_unserved = 0;
    // The flagged positions in increasing order; a walk flags only later ones, so the word is
    // read again after each.
    for (std::size_t word = static_cast<std::size_t>(from) >> 6; word < rewalk_.size(); ++word) {
      while (rewalk[word] != 0) {
        const auto k = word * 64 + static_cast<std::size_t>(std::countr_zero(rewalk[word]));
        rewalk[word] &= rewalk[word] - 1;
        const int end = walk_end_[k];
        const auto o = static_cast<std::size_t>(order_[k]);
        const int* row = &sorted_[o * H];
        const double* rtt_row = &sorted_rtt_[o * H];
        double rem = demand(static_cast<int>(o));
        double weighted = 0;
        int reach = end;  // the farthest row position either walk visited
        if (rem > 0) {
          // rem changes only by a take, so it is tested there, not at every (mostly closed)
          // region passed.
          int i = 0;
          for (; i < regions_; ++i) {
            const auto h = static_cast<std::size_t>(row[i]);
            if (!is_open[h]) continue;
            const double l = reference_load_before(h, static_cast<int>(k)) + diff_[h];
            const int m = machines_at(h, l);
            if (m == 0 && cap_[h] < first_use) continue;
            const double take = std::min(rem, cap_[h] * per_machine_ - l);
            if (take <= 1e-12) continue;
            rem -= take;
            weighted += take * rtt_row[i];
            diff_[h] += take;
            mark(h, static_cast<int>(k));
            if (rem <= 0) break;
          }
          reach = std::max(reach, std::min(i, regions_ - 1));
        }
        for (int t = ref_take_start_[k]; t < ref_take_start_[k + 1]; ++t) {
          const Take& ref = ref_takes_[static_cast<std::size_t>(t)];
          const auto h = static_cast<std::size_t>(row[ref.at]);
          diff_[h] -= ref.take;
          mark(h, static_cast<int>(k));
        }
        rewalked_.push_back({static_cast<int>(k), reach});
        d_weighted += weighted - ref_weighted_[k];
        d_unserved += rem - ref_rem_[k];
      }
    }
    const Totals& ref = snap_totals_[O];
    const double* ref_load = reference_load_.data();
    const int* ref_m = reference_m_.data();
    int machines = ref.machines;
    int switches = ref_switches_;
    for (int hi : dirty_list_) {
      const auto h = static_cast<std::size_t>(hi);
      const double l = ref_load[h] + diff_[h];
      const int m = is_open[h] ? machines_at(h, l) : base_m_[h];
      machines += m - ref_m[h];
      switches += switched(h, m) - switched(h, ref_m[h]);
      diff_[h] = 0;
      dirty_[h] = 0;
    }
    if (machines > unbudgeted_total_) return std::numeric_limits<double>::quiet_NaN();
    ++evaluations_;  // counted once: a move handed back to the walk is counted there
    const double weighted = ref.weighted + d_weighted;
    const double unserved = std::max(0.0, ref.unserved + d_unserved);
    last_unserved_ = unserved;
    return objective_of(weighted, unserved, 0.0, machines, switches);
  }

  // Test hook (PlacementProblem::verifyIncremental): the resumed walk must agree.
  void verify(const std::vector<char>& open, int from, double fast) {
    const double unserved = last_unserved_;
    const double walked = run(open, from, nullptr, std::numeric_limits<double>::infinity(), false);
    if (std::fabs(walked - fast) > 1e-9 * std::max(1.0, std::fabs(walked)) ||
        std::fabs(last_unserved_ - unserved) > 1e-9 * std::max(1.0, unserved)) {
      std::fprintf(stderr, "placement: incremental score %.17g, walked %.17g\n", fast, walked);
      std::abort();
    }
  }

  double objective_of(double weighted, double unserved, double far, int machines,
                      int switches) const {
    const double served = total_demand_ - unserved;
    const double mean = served > 0 ? weighted / served : 0;
    double objective = (by_reference_ ? weighted * rtt_scale_ : mean) + p_->costWeightMs * machines;
    if (total_demand_ > 0) {
      objective += (kUnservedPenaltyMs * unserved + kFarPenaltyMs * far) / total_demand_;
    }
    if (machines > p_->maxTotal) objective += kOverBudgetPenaltyMs * (machines - p_->maxTotal);
    return objective + p_->switchPenaltyMs * switches;
  }

  // The first position in order_ whose reference walk visited region h (origins_ if none).
  int first_affected(int h) const {
    const auto i = static_cast<std::size_t>(h);
    return visitors_start_[i] < visitors_start_[i + 1]
               ? visitors_[static_cast<std::size_t>(visitors_start_[i])]
               : origins_;
  }

  // Builds the visitors index of the reference walk: per region, the positions in order_ whose
  // walk visited it (rows 0..walk_end), ascending. A walk visits few regions, so the index is
  // about as long as the walks.
  void index_visitors() {
    const auto H = static_cast<std::size_t>(regions_);
    std::fill(visitors_start_.begin(), visitors_start_.end(), 0);
    for (int k = 0; k < origins_; ++k) {
      const int end = walk_end_[static_cast<std::size_t>(k)];
      const int* row = &sorted_[static_cast<std::size_t>(order_[static_cast<std::size_t>(k)]) * H];
      for (int i = 0; i <= end; ++i) ++visitors_start_[static_cast<std::size_t>(row[i]) + 1];
    }
    for (std::size_t h = 0; h < H; ++h) visitors_start_[h + 1] += visitors_start_[h];
    visitors_.resize(static_cast<std::size_t>(visitors_start_[H]));
    fill_at_.assign(visitors_start_.begin(), visitors_start_.end() - 1);
    for (int k = 0; k < origins_; ++k) {
      const int end = walk_end_[static_cast<std::size_t>(k)];
      const int* row = &sorted_[static_cast<std::size_t>(order_[static_cast<std::size_t>(k)]) * H];
      for (int i = 0; i <= end; ++i) {
        visitors_[static_cast<std::size_t>(fill_at_[static_cast<std::size_t>(row[i])]++)] = k;
      }
    }
  }

  // Scores `open` from the origin at position `from` of order_ (0, or any, resumed from the
  // reference walk's state there).
  double run(const std::vector<char>& open, int from, PlacementResult* out, double bound,
             bool record) {
    ++evaluations_;
    const auto H = static_cast<std::size_t>(regions_);
    Totals t;
    if (record) {
      // The tables of the origins before `from` stay; the walk records the rest anew.
      ref_takes_.resize(static_cast<std::size_t>(ref_take_start_[static_cast<std::size_t>(from)]));
      while (!raw_steps_.empty() && raw_steps_.back().k >= from) raw_steps_.pop_back();
    }
    if (from == 0) {
      std::fill(load_.begin(), load_.end(), 0.0);
      std::copy(base_m_.begin(), base_m_.end(), m_.begin());
      t.machines = base_machines_;
    } else {
      const auto k = static_cast<std::size_t>(from);
      for (std::size_t h = 0; h < H; ++h) {
        const int first = step_start_[h];
        const bool taken =
            first < step_start_[h + 1] && step_k_[static_cast<std::size_t>(first)] < from;
        load_[h] = reference_load_before(h, from);
        m_[h] = taken ? machines_at(h, load_[h]) : base_m_[h];
      }
      t = snap_totals_[k];
    }
    const char* is_open = open.data();
    // The assignment is summed densely (a latency limit's second pass may take again where the
    // first took) and listed at the end.
    if (out != nullptr) dense_.assign(static_cast<std::size_t>(origins_) * H, 0.0);
    const bool limited = p_->maxRttMs > 0;
    const int passes = limited ? 2 : 1;
    const int first_use = std::max(1, p_->minPerRegion);
    // Switches certain before any walk: running regions closed without a floor stay empty,
    // regions with machines before any load are in use.
    int fixed_switches = 0;
    if (hysteresis_) {
      for (std::size_t h = 0; h < H; ++h) {
        const bool used = base_m_[h] > 0 || is_open[h];
        if (running_[h] != 0 && !used) ++fixed_switches;
        if (running_[h] == 0 && base_m_[h] > 0) ++fixed_switches;
      }
    }
    const bool can_stop = out == nullptr && !record && std::isfinite(bound) && total_demand_ > 0;
    const double stop_at = bound - kImprovement;
    const double per_total = total_demand_ > 0 ? 1.0 / total_demand_ : 0.0;
    for (int pass = 0; pass < passes; ++pass) {
      for (int k = pass == 0 ? from : 0; k < origins_; ++k) {
        const int o = order_[static_cast<std::size_t>(k)];
        if (record) snap_totals_[static_cast<std::size_t>(k)] = t;
        double& rem = remaining_[static_cast<std::size_t>(o)];
        if (pass == 0) rem = demand(o);
        int end = -1;
        const double weighted_before = t.weighted;
        if (rem > 0) {
          const int* row = &sorted_[static_cast<std::size_t>(o) * H];
          const double* rtt_row = &sorted_rtt_[static_cast<std::size_t>(o) * H];
          int i = 0;  // rem is tested after a take only, as in score_changed_walks
          for (; i < regions_; ++i) {
            const auto h = static_cast<std::size_t>(row[i]);
            if (!is_open[h]) continue;
            const double r = rtt_row[i];
            if (limited && pass == 0 && r > p_->maxRttMs) break;
            const int allowed = std::min(cap_[h], m_[h] + std::max(0, p_->maxTotal - t.machines));
            if (m_[h] == 0 && allowed < first_use) continue;
            double& l = load_[h];
            const double take = std::min(rem, allowed * per_machine_ - l);
            if (take <= 1e-12) continue;
            l += take;
            rem -= take;
            t.weighted += take * r;
            if (limited && r > p_->maxRttMs) t.far += take;
            const int now_m = machines_at(h, l);
            if (hysteresis_ && m_[h] == 0 && now_m > 0 && running_[h] == 0) ++t.walkSwitches;
            t.machines += now_m - m_[h];
            m_[h] = now_m;
            if (out != nullptr) dense_[static_cast<std::size_t>(o) * H + h] += take;
            if (record) {
              ref_takes_.push_back({i, take});
              raw_steps_.push_back({static_cast<int>(h), k, l});
            }
            if (rem <= 0) break;
          }
          end = std::min(i, regions_ - 1);
          if (pass == passes - 1) t.unserved += rem;
        }
        if (record) {
          ref_take_start_[static_cast<std::size_t>(k) + 1] = static_cast<int>(ref_takes_.size());
          walk_end_[static_cast<std::size_t>(k)] = end;
          ref_weighted_[static_cast<std::size_t>(k)] = t.weighted - weighted_before;
          ref_rem_[static_cast<std::size_t>(k)] = std::max(0.0, rem);
        }
        if (can_stop) {
          const double lower =
              t.weighted * rtt_scale_ + p_->costWeightMs * t.machines +
              (kUnservedPenaltyMs * t.unserved + kFarPenaltyMs * t.far) * per_total +
              p_->switchPenaltyMs * (fixed_switches + t.walkSwitches);
          if (lower >= stop_at) return lower;
        }
      }
    }
    if (record) snap_totals_[static_cast<std::size_t>(origins_)] = t;
    last_unserved_ = t.unserved;
    int switches = fixed_switches + t.walkSwitches;
    if (hysteresis_) {
      // Running regions left open that got no machines are emptied too.
      for (std::size_t h = 0; h < H; ++h) {
        if (running_[h] != 0 && is_open[h] && m_[h] == 0) ++switches;
      }
    }
    const double served = total_demand_ - t.unserved;
    const double mean = served > 0 ? t.weighted / served : 0;
    double objective =
        (by_reference_ ? t.weighted * rtt_scale_ : mean) + p_->costWeightMs * t.machines;
    if (total_demand_ > 0) {
      objective += (kUnservedPenaltyMs * t.unserved + kFarPenaltyMs * t.far) / total_demand_;
    }
    if (t.machines > p_->maxTotal) objective += kOverBudgetPenaltyMs * (t.machines - p_->maxTotal);
    objective += p_->switchPenaltyMs * switches;
    if (out != nullptr) {
      out->assignment.clear();
      for (std::size_t i = 0; i < dense_.size(); ++i) {
        if (dense_[i] > 0) {
          out->assignment.push_back({static_cast<int>(i / H), static_cast<int>(i % H), dense_[i]});
        }
      }
      out->machines = m_;
      out->load = load_;
      out->meanRttMs = mean;
      out->unservedRps = t.unserved;
      out->total = t.machines;
      out->objective = objective;
      out->evaluations = evaluations_;
    }
    return objective;
  }

  // Region h's load in the reference walk before the origin at position k: the load after the
  // last take of an earlier origin (exactly the value the walk held), 0 before any.
  double reference_load_before(std::size_t h, int k) const {
    const int* first = step_k_.data() + step_start_[h];
    const int* last = step_k_.data() + step_start_[h + 1];
    // Most regions see a few takes: a forward scan then beats the binary search's branches.
    const int* at = first;
    if (last - first <= 8) {
      while (at != last && *at < k) ++at;
    } else {
      at = std::lower_bound(first, last, k);
    }
    return at == first ? 0.0 : step_load_[static_cast<std::size_t>(at - 1 - step_k_.data())];
  }

  // Sorts the reference walk's steps by region (stable: by position within a region), so that
  // reference_load_before() searches one contiguous run.
  void index_steps() {
    const auto H = static_cast<std::size_t>(regions_);
    std::fill(step_start_.begin(), step_start_.end(), 0);
    for (const RawStep& s : raw_steps_) ++step_start_[static_cast<std::size_t>(s.h) + 1];
    for (std::size_t h = 0; h < H; ++h) step_start_[h + 1] += step_start_[h];
    step_k_.resize(raw_steps_.size());
    step_load_.resize(raw_steps_.size());
    fill_at_.assign(step_start_.begin(), step_start_.end() - 1);
    for (const RawStep& s : raw_steps_) {
      const auto i = static_cast<std::size_t>(fill_at_[static_cast<std::size_t>(s.h)]++);
      step_k_[i] = s.k;
      step_load_[i] = s.load;
    }
  }

  // Machines of an open region carrying `load`: as many as the load needs, at least one (and
  // minPerRegion, and the floor) once it carries any, at most max_machines_.
  int machines_at(std::size_t h, double load) const {
    if (load <= 1e-12) return base_m_[h];
    // ceil without the libm call (hot: once per take); x > -1e-9 and far below INT_MAX.
    const double x = load * machines_per_load_ - 1e-9;
    int m = static_cast<int>(x);
    if (static_cast<double>(m) < x) ++m;
    return std::min(std::max(m, least_m_[h]), max_machines_[h]);
  }

  const PlacementProblem* p_ = nullptr;
  int origins_ = 0;
  int regions_ = 0;
  std::vector<int> own_order_;   // nearest_first(p) when the problem has no order
  const int* sorted_ = nullptr;  // O x H: per origin, regions by RTT
  std::vector<int> order_;       // origins by demand, largest first
  double total_demand_ = 0;
  bool by_reference_ = false;     // the latency term is over latencyReferenceRps
  double rtt_scale_ = 0;          // 1 / the demand the latency term is averaged over
  double per_machine_ = 1;        // load one machine carries, headroom kept
  double machines_per_load_ = 1;  // 1 / per_machine_: a multiply in the hot loop, not a divide
  std::vector<int> max_machines_;
  std::vector<int> floor_;    // per region, 0 when the problem has none
  std::vector<int> base_m_;   // per region, machines before any load
  std::vector<int> least_m_;  // per region, machines once it carries any load (before the cap)
  int base_machines_ = 0;
  std::vector<double> own_sorted_rtt_;  // when the problem has no orderedRtt
  std::vector<double> dense_;           // O x H: a walk's assignment, while it is summed
  std::vector<int> position_of_;        // per origin, its position in order_
  const double* sorted_rtt_ = nullptr;  // O x H: rtt(o, sorted_[o][i])
  std::vector<int> cap_;                // per region, see cap()
  // The reference walk, for score_changed_walks(): per position k in order_, the takes (origin k
  // took ref_takes_[i].take at row position ref_takes_[i].at, for i in [ref_take_start_[k],
  // ref_take_start_[k + 1])), the weighted RTT and the demand left.
  struct Take {
    int at;
    double take;
  };
  std::vector<Take> ref_takes_;
  std::vector<int> ref_take_start_;
  std::vector<double> ref_weighted_;
  std::vector<double> ref_rem_;
  int ref_switches_ = 0;
  int unbudgeted_total_ = 0;  // machines up to which maxTotal cannot bind a walk
  std::vector<double> diff_;  // per region: load now minus the reference's at this point
  std::vector<char> dirty_;   // per region: differs from the reference walk
  std::vector<int> dirty_list_;
  std::vector<std::pair<int, int>> rewalked_;  // (position, reach) re-walked by it
  bool last_move_incremental_ = false;
  std::vector<int> reference_m_;  // machines of the reference set
  std::vector<char> reference_open_;
  std::vector<int> reference_cap_;
  double reference_score_ = 0;
  double reference_unserved_ = 0;
  double last_unserved_ = 0;
  std::vector<int> m_;
  std::vector<double> load_;
  std::vector<double> remaining_;
  std::vector<char> running_;          // per region, 1 when it has machines now
  bool hysteresis_ = false;            // a switch penalty applies
  bool resumable_ = false;             // moves may be scored incrementally
  bool reference_ = false;             // the reference tables below are of a reference set
  std::vector<int> visitors_start_;    // H + 1: region h's visitors are [start[h], start[h + 1])
  std::vector<int> visitors_;          // positions in order_, per region, ascending
  std::vector<int> fill_at_;           // scratch for index_visitors()
  std::vector<std::uint64_t> rewalk_;  // bit per position in order_: flagged for re-walking
  std::vector<int> walk_end_;          // per position in order_: last row position its walk visited
  // The reference walk's loads: per region, after each take, by position in order_ (ascending).
  // A walk takes at a few regions, so this is far smaller than a snapshot of every region before
  // every origin; machines follow from the load (machines_at), as in the walk.
  // Recorded in walk order (raw_steps_), then sorted by region (index_steps): region h's steps
  // are [step_start_[h], step_start_[h + 1]) of step_k_ and step_load_.
  struct RawStep {
    int h;
    int k;
    double load;
  };
  std::vector<RawStep> raw_steps_;
  std::vector<int> step_start_;
  std::vector<int> step_k_;
  std::vector<double> step_load_;
  std::vector<double> reference_load_;  // per region, at the end of the reference walk
  std::vector<Totals> snap_totals_;     // O + 1: the totals before the origin at each position
  int evaluations_ = 0;
};

bool forced_open(const PlacementProblem& p, int h) {
  return !p.floor.empty() && p.floor[static_cast<std::size_t>(h)] > 0;
}
bool may_open(const PlacementProblem& p, int h) {
  return forced_open(p, h) || p.closed.empty() || !p.closed[static_cast<std::size_t>(h)];
}

// "Don't look" bits (Bentley's, for local search): after a move at a region was scored and did
// not help, the region is not tried again until a move taken since touched it
// (Evaluator::touched_by_last_move). Without them, every taken move is followed by a full round of
// moves that mostly score as before; in a steady state that round is most of the search.
void look_again_where_touched(const Evaluator& ev, std::vector<char>& look) {
  if (!ev.touched_by_last_move(look)) std::fill(look.begin(), look.end(), 1);
}

// Local search. Drop and add moves are first-improvement, scanned round-robin (a move is taken
// as soon as it helps); swaps (one open region out, a closed one in) are tried only when no single
// drop or add helps, best-improvement, among each open region's nearest closed neighbours.
double improve(const PlacementProblem& p, Evaluator& ev, std::vector<char>& open,
               int swap_neighbours) {
  const int H = p.regions;
  std::vector<char> look(static_cast<std::size_t>(H), 1);
  const bool have_neighbours =
      p.regionRtt.size() == static_cast<std::size_t>(H) * static_cast<std::size_t>(H);
  const bool have_order = have_neighbours && p.regionOrder.size() == p.regionRtt.size();
  const int k_near = std::max(1, swap_neighbours);
  std::vector<int> near;
  int cursor = 0;
  double current = ev.set_reference(open);
  for (int iteration = 0; iteration < 8 * H + 16; ++iteration) {
    bool moved = false;
    for (int k = 0; k < H && !moved; ++k) {
      const int h = (cursor + k) % H;
      auto i = static_cast<std::size_t>(h);
      if (!look[i]) continue;
      look[i] = 0;
      if (open[i] && !forced_open(p, h)) {
        open[i] = 0;
        const double s = ev.score_move(open, h, -1, current);
        if (s < current - kImprovement) {
          current = s, moved = true, cursor = h + 1;
        } else {
          open[i] = 1;
        }
      } else if (!open[i] && may_open(p, h)) {
        open[i] = 1;
        const double s = ev.score_move(open, h, -1, current);
        if (s < current - kImprovement) {
          current = s, moved = true, cursor = h + 1;
        } else {
          open[i] = 0;
        }
      }
    }
    if (moved) {
      look_again_where_touched(ev, look);
      ev.set_reference(open);
      continue;
    }
    double best = current;
    int best_out = -1, best_in = -1;
    for (int out = 0; out < H; ++out) {
      auto io = static_cast<std::size_t>(out);
      if (!open[io] || forced_open(p, out)) continue;
      // Closed candidates, nearest to `out` first when region RTTs are known.
      near.clear();
      if (have_order) {
        // The first k_near closed regions that may open, in the kept order: what the sort below
        // picks, without looking at every region.
        const int* by_rtt = &p.regionOrder[io * static_cast<std::size_t>(H)];
        for (int i = 0; i < H && static_cast<int>(near.size()) < k_near; ++i) {
          const int in = by_rtt[i];
          if (!open[static_cast<std::size_t>(in)] && may_open(p, in)) near.push_back(in);
        }
      } else {
        for (int in = 0; in < H; ++in) {
          if (!open[static_cast<std::size_t>(in)] && may_open(p, in)) near.push_back(in);
        }
        if (have_neighbours && static_cast<int>(near.size()) > k_near) {
          const double* row = &p.regionRtt[io * static_cast<std::size_t>(H)];
          std::partial_sort(near.begin(), near.begin() + k_near, near.end(), [&](int a, int b) {
            return row[a] < row[b] || (row[a] == row[b] && a < b);
          });
          near.resize(static_cast<std::size_t>(k_near));
        }
      }
      open[io] = 0;
      for (int in : near) {
        auto ii = static_cast<std::size_t>(in);
        open[ii] = 1;
        const double s = ev.score_move(open, out, in, best);
        open[ii] = 0;
        if (s < best - kImprovement) best = s, best_out = out, best_in = in;
      }
      open[io] = 1;
    }
    if (best_out < 0) return current;
    open[static_cast<std::size_t>(best_out)] = 0;
    open[static_cast<std::size_t>(best_in)] = 1;
    current = best;
    std::fill(look.begin(), look.end(), 1);  // rare: look at everything again
    ev.set_reference(open);
  }
  return current;
}

// Partial regions: lowers the cap of one open region to one machine below what it has, first
// improvement in round-robin order (as improve() does), until no such move helps. Its walkers'
// demand beyond the cap goes on to their next open region with room, so a machine is saved where a
// neighbour's rounding slack absorbs it at an RTT cost below costWeightMs. Regions never go below
// their floor or max(1, minPerRegion) this way (emptying a region is the open-set search's move).
double trim(const PlacementProblem& p, Evaluator& ev, const std::vector<char>& open,
            double current) {
  const int H = p.regions;
  const int lowest_in_use = std::max(1, p.minPerRegion);
  ev.set_reference(open);
  std::vector<int> machines = ev.reference_machines();
  double unserved = ev.last_unserved();
  std::vector<char> look(static_cast<std::size_t>(H), 1);  // see look_again_where_touched
  int cursor = 0;
  for (int moves = 0; moves < H * std::max(1, p.maxPerRegion); ++moves) {
    bool moved = false;
    for (int k = 0; k < H && !moved; ++k) {
      const int h = (cursor + k) % H;
      const int m = machines[static_cast<std::size_t>(h)];
      if (!look[static_cast<std::size_t>(h)]) continue;
      look[static_cast<std::size_t>(h)] = 0;
      if (!open[static_cast<std::size_t>(h)] || m - 1 < std::max(lowest_in_use, ev.floor(h))) {
        continue;
      }
      const int was = ev.cap(h);
      ev.set_cap(h, m - 1);
      const double s = ev.score_move(open, h, -1, current);
      // Never at the price of demand left unserved, however expensive machines are.
      if (s < current - kImprovement && ev.last_unserved() <= unserved + 1e-9) {
        current = s, moved = true, cursor = h;  // the same region may give up another machine
      } else {
        ev.set_cap(h, was);
      }
    }
    if (!moved) break;
    look_again_where_touched(ev, look);
    ev.set_reference(open);
    machines = ev.reference_machines();
    unserved = ev.last_unserved();
  }
  return current;
}

std::vector<char> forced_set(const PlacementProblem& p) {
  std::vector<char> open(static_cast<std::size_t>(p.regions), 0);
  for (int h = 0; h < p.regions; ++h) open[static_cast<std::size_t>(h)] = forced_open(p, h) ? 1 : 0;
  return open;
}

}  // namespace

std::vector<int> nearest_first(const PlacementProblem& p) {
  const auto H = static_cast<std::size_t>(std::max(0, p.regions));
  const std::size_t O = p.demand.size();
  std::vector<int> order(O * H);
  if (p.rtt.size() != O * H) return {};
  for (std::size_t o = 0; o < O; ++o) {
    auto row = order.begin() + static_cast<std::ptrdiff_t>(o * H);
    std::iota(row, row + static_cast<std::ptrdiff_t>(H), 0);
    const double* r = &p.rtt[o * H];
    std::stable_sort(row, row + static_cast<std::ptrdiff_t>(H), [&](int a, int b) {
      return r[static_cast<std::size_t>(a)] < r[static_cast<std::size_t>(b)];
    });
  }
  return order;
}

std::vector<int> nearest_regions(const std::vector<double>& regionRtt, int regions) {
  const auto H = static_cast<std::size_t>(std::max(0, regions));
  if (regionRtt.size() != H * H) return {};
  std::vector<int> order(H * H);
  for (std::size_t a = 0; a < H; ++a) {
    auto row = order.begin() + static_cast<std::ptrdiff_t>(a * H);
    std::iota(row, row + static_cast<std::ptrdiff_t>(H), 0);
    const double* r = &regionRtt[a * H];
    std::stable_sort(row, row + static_cast<std::ptrdiff_t>(H), [&](int x, int y) {
      return r[static_cast<std::size_t>(x)] < r[static_cast<std::size_t>(y)];
    });
  }
  return order;
}

PlacementResult evaluate_placement(const PlacementProblem& p, const std::vector<char>& open) {
  Evaluator ev(p);
  std::vector<char> o = open;
  o.resize(static_cast<std::size_t>(p.regions), 0);
  for (int h = 0; h < p.regions; ++h) {
    if (forced_open(p, h)) o[static_cast<std::size_t>(h)] = 1;
  }
  PlacementResult r;
  ev.score(o, &r);
  return r;
}

struct PlacementWorkspace::Impl {
  Evaluator evaluator;
  PlacementResult result;
};

PlacementWorkspace::PlacementWorkspace() = default;
PlacementWorkspace::~PlacementWorkspace() = default;
PlacementWorkspace::PlacementWorkspace(PlacementWorkspace&&) noexcept = default;
PlacementWorkspace& PlacementWorkspace::operator=(PlacementWorkspace&&) noexcept = default;

PlacementResult place_latency(const PlacementProblem& p) {
  PlacementWorkspace workspace;
  return place_latency(p, workspace);
}

const PlacementResult& place_latency(const PlacementProblem& p, PlacementWorkspace& workspace) {
  if (!workspace.impl_) workspace.impl_ = std::make_unique<PlacementWorkspace::Impl>();
  PlacementResult& result = workspace.impl_->result;
  if (p.regions <= 0 || p.rtt.size() != p.demand.size() * static_cast<std::size_t>(p.regions) ||
      p.targetPerMachine <= 0) {
    result = PlacementResult{};
    result.machines.assign(static_cast<std::size_t>(std::max(0, p.regions)), 0);
    result.load.assign(static_cast<std::size_t>(std::max(0, p.regions)), 0);
    return result;
  }
  Evaluator& ev = workspace.impl_->evaluator;
  ev.reset(p);
  const int H = p.regions;

  // Every origin at its nearest region that may open: the latency limit, and the cold start.
  std::vector<char> nearest = forced_set(p);
  const auto O = static_cast<int>(p.demand.size());
  for (int o = 0; o < O; ++o) {
    if (ev.demand(o) <= 0) continue;
    const int* row = ev.sorted() + static_cast<std::size_t>(o) * static_cast<std::size_t>(H);
    for (int i = 0; i < H; ++i) {
      if (may_open(p, row[i])) {
        nearest[static_cast<std::size_t>(row[i])] = 1;
        break;
      }
    }
  }

  // Start 1: the regions running now (warm start), improved; in a steady state it is already a
  // local optimum, so one sweep of moves confirms it. Cold: the nearest set, improved.
  const bool warm = p.running.size() == static_cast<std::size_t>(H) &&
                    std::any_of(p.running.begin(), p.running.end(), [](char c) { return c != 0; });
  std::vector<char> a = warm ? forced_set(p) : nearest;
  if (warm) {
    for (int h = 0; h < H; ++h) {
      const auto i = static_cast<std::size_t>(h);
      if (p.running[i] != 0 && may_open(p, h)) a[i] = 1;
    }
  }
  double score_a = improve(p, ev, a, warm ? p.warmSwapNeighbours : p.swapNeighbours);

  // Start 2 (warm only): the nearest set, improved only when it beats start 1 as it stands.
  if (warm && nearest != a) {
    double score_n = ev.score(nearest, nullptr, score_a);
    if (score_n < score_a - kImprovement) {
      score_n = improve(p, ev, nearest, p.swapNeighbours);
      // Ties go to start 1 (deterministic, and no needless switch).
      if (score_n < score_a - kImprovement) a.swap(nearest), score_a = score_n;
    }
  }

  // Start 3: the forced set plus greedy additions, then improve. Catches a compromise region
  // between two origins that the descents above cannot reach by single moves.
  if (H > p.secondStartMaxRegions) {
    if (p.partialRegions) trim(p, ev, a, score_a);
    ev.result(a, result);
    return result;
  }
  std::vector<char> b = forced_set(p);
  double score_b = ev.score(b, nullptr);
  for (;;) {
    double best = score_b;
    int best_in = -1;
    for (int h = 0; h < H; ++h) {
      auto i = static_cast<std::size_t>(h);
      if (b[i] || !may_open(p, h)) continue;
      b[i] = 1;
      const double s = ev.score(b, nullptr, best);
      b[i] = 0;
      if (s < best - kImprovement) best = s, best_in = h;
    }
    if (best_in < 0) break;
    b[static_cast<std::size_t>(best_in)] = 1;
    score_b = best;
  }
  if (b != a) score_b = improve(p, ev, b, p.swapNeighbours);

  // Ties go to the earlier start (deterministic).
  const bool second = score_b < score_a - kImprovement;
  if (p.partialRegions) trim(p, ev, second ? b : a, second ? score_b : score_a);
  ev.result(second ? b : a, result);
  return result;
}

ServingResult serve_demand(const PlacementProblem& p, const std::vector<double>& demand,
                           const std::vector<int>& machines, double capacityPerMachine) {
  ServingResult out;
  const auto H = static_cast<std::size_t>(std::max(0, p.regions));
  const std::size_t O = demand.size();
  out.load.assign(H, 0);
  if (p.rtt.size() != O * H || machines.size() != H) return out;
  std::vector<std::size_t> order(O);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return demand[a] > demand[b]; });
  // Walking each origin's candidates nearest first and skipping those without capacity is the
  // same walk as sorting just the regions with capacity (stably, in index order).
  const std::vector<int> computed = p.order.size() == O * H ? std::vector<int>() : nearest_first(p);
  const std::vector<int>& nearest = computed.empty() ? p.order : computed;
  double weighted = 0, served = 0;
  for (std::size_t o : order) {
    double rem = std::max(0.0, demand[o]);
    if (rem <= 0) continue;
    for (std::size_t i = 0; i < H && rem > 0; ++i) {
      const auto h = static_cast<std::size_t>(nearest[o * H + i]);
      const double room = machines[h] * capacityPerMachine - out.load[h];
      if (room <= 0) continue;
      const double take = std::min(rem, room);
      out.load[h] += take;
      weighted += take * p.rtt[o * H + h];
      served += take;
      rem -= take;
    }
    out.unservedRps += rem;
  }
  out.meanRttMs = served > 0 ? weighted / served : 0;
  return out;
}

PlacementResult place_exact(const PlacementProblem& p, bool caps) {
  PlacementResult best;
  best.objective = std::numeric_limits<double>::infinity();
  if (p.regions <= 0 || p.regions > 16) return best;
  Evaluator ev(p);
  const int H = p.regions;
  const int lowest_in_use = std::max(1, p.minPerRegion);
  // Per region, the choices: 0 = closed, else the cap (the highest cap = fully open).
  std::vector<std::vector<int>> choices(static_cast<std::size_t>(H));
  for (int h = 0; h < H; ++h) {
    auto& c = choices[static_cast<std::size_t>(h)];
    const int top = ev.cap(h);
    if (!forced_open(p, h)) c.push_back(0);
    if (!may_open(p, h)) continue;
    if (!caps) {
      c.push_back(top);
      continue;
    }
    for (int k = std::max(lowest_in_use, ev.floor(h)); k < top; ++k) c.push_back(k);
    c.push_back(top);
  }
  std::vector<std::size_t> digit(static_cast<std::size_t>(H), 0);
  std::vector<char> open(static_cast<std::size_t>(H), 0);
  for (;;) {
    for (std::size_t h = 0; h < digit.size(); ++h) {
      const int c = choices[h][digit[h]];
      open[h] = c > 0 ? 1 : 0;
      if (c > 0) ev.set_cap(static_cast<int>(h), c);
    }
    PlacementResult r;
    ev.score(open, &r);
    if (r.objective < best.objective - kImprovement) best = r;
    std::size_t h = 0;
    while (h < digit.size() && ++digit[h] == choices[h].size()) digit[h++] = 0;
    if (h == digit.size()) break;
  }
  best.evaluations = ev.evaluations();
  return best;
}

PlacementResult evaluate_machines(const PlacementProblem& p, const std::vector<int>& machines) {
  Evaluator ev(p);
  std::vector<char> open(static_cast<std::size_t>(std::max(0, p.regions)), 0);
  for (int h = 0; h < p.regions; ++h) {
    const auto i = static_cast<std::size_t>(h);
    const int m = i < machines.size() ? machines[i] : 0;
    open[i] = m > 0 || forced_open(p, h) ? 1 : 0;
    if (m > 0) ev.set_cap(h, std::max(m, ev.floor(h)));
  }
  PlacementResult r;
  ev.score(open, &r);
  return r;
}

}  // namespace autoplacer
