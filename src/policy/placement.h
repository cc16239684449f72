#pragma once
// Strategy `latency`: how many machines in which hostable region, so that every origin's demand is
// served from near regions. Minimises
//     traffic-weighted mean RTT (ms) + costWeightMs * machines + penalties
// where the penalties make unserved demand and exceeding maxTotal far worse than any latency. An
// open set of regions is evaluated with the simulator's serving model (origins, largest first,
// served by the nearest open regions with spare capacity); a region's machines are then
// ceil(load * (1 + headroom) / targetPerMachine) within its bounds. The open set is searched
// greedily (start from the regions running now, and from every origin's nearest region, then,
// on small problems, from the cheapest single region and add) followed by local improvement
// (drop, add, swap) until no move helps; the test compares it against the exhaustive optimum on
// small cases. Scoring stops early once a set provably cannot beat the best known one.
#include <cstdint>
#include <memory>
#include <vector>

namespace autoplacer {

struct PlacementProblem {
  // Origins: demand to serve (req/s, already the sizing estimate) and RTT to every candidate.
  std::vector<double> demand;  // O
  std::vector<double> rtt;     // O x H, row-major: rtt[o * H + h]
  // Candidates (hostable regions that may run machines).
  int regions = 0;               // H
  std::vector<int> floor;        // per region: at least this many machines (pinned, cooldown)
  std::vector<char> closed;      // per region: may not be opened (cooldown after remove)
  double targetPerMachine = 50;  // req/s per machine
  double headroom = 0.1;         // capacity kept above the load
  int minPerRegion = 0;          // for every region in use
  int maxPerRegion = 5;
  int maxTotal = 20;
  double costWeightMs = 20;  // ms of mean RTT one machine (per hour of running) is worth
  // The demand the RTT term is averaged over: the objective's latency term is
  // sum(served req/s x RTT) / latencyReferenceRps. 0 = this problem's total demand (the mean RTT
  // of this moment's traffic). The decision passes the origins' usual (deseasonalised) demand, so
  // that the sum of the per-pass objectives over a day is the day's traffic-weighted mean RTT plus
  // costWeightMs x machine-hours: an hour of low traffic weighs less, an hour of high more, as the
  // long-run mean RTT weighs them.
  double latencyReferenceRps = 0;
  double maxRttMs = 0;  // 0 = none; else farther regions serve only what near ones cannot
  // Partial regions: after the open set is chosen, a region may be given fewer machines than the
  // origins walking to it would fill, the rest of their demand going to the next open region with
  // spare capacity (its rounding slack). One machine less in A when B's last machine is half empty
  // costs a little RTT for a few requests and saves a machine. Off: every open region takes all
  // the demand that reaches it, up to maxPerRegion (the open-set search alone).
  bool partialRegions = true;
  // Search effort. Region-to-region RTT (H x H, optional) limits swap moves to each open region's
  // swapNeighbours nearest closed regions; without it every pair is tried. The second start
  // (greedy additions from the forced set) runs only up to secondStartMaxRegions candidates.
  std::vector<double> regionRtt;
  // Optional, H x H, with regionRtt only: nearest_regions(regionRtt, H), which the caller keeps
  // while regionRtt stays the same; without it, each swap round scans regionRtt's rows.
  std::vector<int> regionOrder;
  int swapNeighbours = 6;
  int warmSwapNeighbours = 1;  // from the running set, which the switch penalty already favours
  int secondStartMaxRegions = 16;
  // Hysteresis. running[h] != 0: region h has machines now (empty: nothing runs). The search
  // starts from the running set, and the objective adds switchPenaltyMs for every region whose use
  // changes (given machines while not running, or emptied while running). Near-equal alternatives
  // then keep what runs, so the choice of which nearby region serves a small origin does not flip
  // with noise; a region is added only when it gains more than the penalty, and dropped only when
  // keeping it costs more than the penalty.
  std::vector<char> running;
  double switchPenaltyMs = 0;
  // Optional, O x H: per origin, the candidates by rtt, nearest first, ties by index (what a
  // stable sort of 0..H-1 by rtt gives). Saves the sorts when the caller keeps them from pass to
  // pass; computed when empty.
  std::vector<int> order;
  // Optional, O x H, with `order` only: rtt[o * H + order[o * H + i]] at o * H + i, each origin's
  // RTTs nearest first (the caller keeps them from pass to pass as it keeps the order).
  std::vector<double> orderedRtt;
  // Tests only: every incrementally scored move is scored again by a resumed walk and the two must
  // agree to rounding, and a result read off the reference walk must equal a fresh walk's (the
  // process aborts otherwise).
  bool verifyIncremental = false;
};

// The `order` field for `p`: per origin, candidates by RTT (stable).
std::vector<int> nearest_first(const PlacementProblem& p);

// The `regionOrder` field for a regionRtt of H x H: per region, every region by RTT from it,
// nearest first, ties by index (a stable sort of 0..H-1).
std::vector<int> nearest_regions(const std::vector<double>& regionRtt, int regions);

struct PlacementResult {
  std::vector<int> machines;  // H
  std::vector<double> load;   // H: demand served (req/s)
  double meanRttMs = 0;       // traffic-weighted over served demand
  double unservedRps = 0;     // demand no open region had room for
  int total = 0;
  double objective = 0;
  int evaluations = 0;  // open sets evaluated (for the docs and the benchmark)
  // Who serves whom: req/s of origin `origin` served by region `region`, for every pair with any,
  // by origin then region (ascending). An origin is served by a few regions, so this is far
  // shorter than an O x H matrix, and cheaper to fill and to read.
  struct Served {
    int origin = 0;
    int region = 0;
    double rps = 0;
    bool operator==(const Served&) const = default;
  };
  std::vector<Served> assignment;
};

// Serving `demand` (O, e.g. the observed rather than the sizing demand) with fixed machines per
// region, capacity machines * capacityPerMachine: the simulator's serving model.
struct ServingResult {
  std::vector<double> load;  // H
  double meanRttMs = 0;      // over served demand
  double unservedRps = 0;
};
ServingResult serve_demand(const PlacementProblem& p, const std::vector<double>& demand,
                           const std::vector<int>& machines, double capacityPerMachine);

// Scores one open set (open[h] != 0). Regions with a floor are always open.
PlacementResult evaluate_placement(const PlacementProblem& p, const std::vector<char>& open);

// The greedy + local improvement search.
PlacementResult place_latency(const PlacementProblem& p);

// What place_latency() allocates, kept from call to call: decide() holds one in its transient
// cache, so that a pass allocates none of the search's tables. Capacity only: a result is the same
// with a fresh workspace or a reused one. Move-only.
class PlacementWorkspace {
 public:
  PlacementWorkspace();
  ~PlacementWorkspace();
  PlacementWorkspace(PlacementWorkspace&&) noexcept;
  PlacementWorkspace& operator=(PlacementWorkspace&&) noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  friend const PlacementResult& place_latency(const PlacementProblem&, PlacementWorkspace&);
};

// The same search with its tables in `workspace`; the result lives there too, valid until the
// workspace's next use.
const PlacementResult& place_latency(const PlacementProblem& p, PlacementWorkspace& workspace);

// Exhaustive search over every open set; H <= 16. For tests. With `caps`, over every machine cap
// per region as well (0 = closed, 1..maxPerRegion), the space partialRegions searches; keep H and
// maxPerRegion small (the cases are (maxPerRegion + 1)^H).
PlacementResult place_exact(const PlacementProblem& p, bool caps = false);

// Scores given machine counts as caps (0 = closed): what the search returns scores the same.
PlacementResult evaluate_machines(const PlacementProblem& p, const std::vector<int>& machines);

}  // namespace autoplacer
