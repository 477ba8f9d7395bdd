//! A walking order for the day's stops: an open path from the worker's position (no return).
//!
//! Method: build two starting tours — nearest neighbour from the worker's position, and the
//! priority order itself — and improve each with 2-opt (reverse a stretch of the path when that
//! shortens it) and Or-opt (move a run of 1–3 consecutive stops elsewhere, either way round) until
//! neither finds an improvement. The shortest result is kept, and it is compared with the plain
//! priority order, which is kept if nothing is strictly shorter. Improvements only ever shorten a
//! path, so the result is **never longer than the priority order**.
//!
//! Why this: a day has tens of stops within a grid of a few hundred metres; exact solutions are
//! pointless at that size and the phone must answer instantly. Nearest neighbour alone leaves
//! crossings and stragglers; 2-opt removes crossings; Or-opt fixes single stops left behind.
//! Distances are great-circle (haversine) metres between the points, a stand-in for walking distance
//! (the phone has no street network offline).

use serde::{Deserialize, Serialize};

use crate::domain::GeoPoint;

/// Improvements smaller than this (metres) are ignored: rounding noise must not loop.
const MIN_GAIN_M: f64 = 1e-6;
/// Upper bound on improvement rounds; each round strictly shortens the path, this only bounds time.
const MAX_ROUNDS: usize = 1000;

/// Pairwise distances; index 0 is the worker's position, stop `k` is index `k + 1`.
#[derive(Debug, Clone)]
pub struct DistanceMatrix {
    n: usize,
    d: Vec<f64>,
}

impl DistanceMatrix {
    pub fn new(start: GeoPoint, stops: &[GeoPoint]) -> Self {
        let points: Vec<GeoPoint> = std::iter::once(start)
            .chain(stops.iter().copied())
            .collect();
        let n = points.len();
        let mut d = vec![0.0; n * n];
        for i in 0..n {
            for j in (i + 1)..n {
                let v = points[i].distance_m(&points[j]);
                d[i * n + j] = v;
                d[j * n + i] = v;
            }
        }
        Self { n, d }
    }

    /// Distance between two matrix indices (0 = start).
    pub fn get(&self, a: usize, b: usize) -> f64 {
        self.d[a * self.n + b]
    }

    pub fn stops(&self) -> usize {
        self.n - 1
    }

    /// Length of the open path start → stops in `order` (stop indices, 0-based).
    pub fn path_length(&self, order: &[usize]) -> f64 {
        let mut prev = 0;
        let mut total = 0.0;
        for &s in order {
            total += self.get(prev, s + 1);
            prev = s + 1;
        }
        total
    }
}

/// How the walking order was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteMethod {
    /// Nothing shorter than the priority order was found.
    PriorityOrder,
    /// Nearest neighbour, then 2-opt and Or-opt.
    NearestNeighbourImproved,
    /// The priority order, improved by 2-opt and Or-opt.
    PriorityOrderImproved,
}

/// A walking order over the stops.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Route {
    /// Stop indices in walking order.
    pub order: Vec<usize>,
    pub length_m: f64,
    /// Length of walking the stops in the order given (priority order).
    pub priority_order_m: f64,
    pub method: RouteMethod,
}

/// Order `stops` (given in priority order) for walking from `start`. Never longer than walking
/// them in the given order.
pub fn walking_order(start: GeoPoint, stops: &[GeoPoint]) -> Route {
    let m = DistanceMatrix::new(start, stops);
    let given: Vec<usize> = (0..stops.len()).collect();
    let priority_order_m = m.path_length(&given);

    let mut from_nn = nearest_neighbour(&m);
    improve(&m, &mut from_nn);
    let mut from_priority = given.clone();
    improve(&m, &mut from_priority);

    let nn_m = m.path_length(&from_nn);
    let pr_m = m.path_length(&from_priority);
    let (order, length_m, method) = if nn_m < pr_m && nn_m < priority_order_m {
        (from_nn, nn_m, RouteMethod::NearestNeighbourImproved)
    } else if pr_m < priority_order_m {
        (from_priority, pr_m, RouteMethod::PriorityOrderImproved)
    } else {
        (given, priority_order_m, RouteMethod::PriorityOrder)
    };
    Route {
        order,
        length_m,
        priority_order_m,
        method,
    }
}

/// Greedy tour: from the start, always walk to the nearest stop not yet visited.
pub fn nearest_neighbour(m: &DistanceMatrix) -> Vec<usize> {
    let n = m.stops();
    let mut left: Vec<usize> = (0..n).collect();
    let mut order = Vec::with_capacity(n);
    let mut at = 0;
    while !left.is_empty() {
        let mut best = 0;
        for k in 1..left.len() {
            // `<` keeps the first of equals (and any NaN loses), so the result is deterministic.
            if m.get(at, left[k] + 1) < m.get(at, left[best] + 1) {
                best = k;
            }
        }
        let s = left.swap_remove(best);
        order.push(s);
        at = s + 1;
    }
    order
}

/// Apply 2-opt and Or-opt until neither improves the path. Returns whether anything changed.
pub fn improve(m: &DistanceMatrix, order: &mut [usize]) -> bool {
    let mut changed = false;
    for _ in 0..MAX_ROUNDS {
        let a = two_opt(m, order);
        let b = or_opt(m, order);
        changed |= a || b;
        if !a && !b {
            break;
        }
    }
    changed
}

/// One sweep of 2-opt on the open path: reverse `order[i..=j]` when that shortens it.
pub fn two_opt(m: &DistanceMatrix, order: &mut [usize]) -> bool {
    let n = order.len();
    let node = |order: &[usize], pos: usize| if pos == 0 { 0 } else { order[pos - 1] + 1 };
    let mut improved = false;
    // Path positions 0..=n, position 0 the fixed start, position p the stop order[p - 1].
    for i in 1..n {
        for j in (i + 1)..=n {
            let a = node(order, i - 1);
            let b = node(order, i);
            let c = node(order, j);
            let (before, after) = if j < n {
                let d = node(order, j + 1);
                (m.get(a, b) + m.get(c, d), m.get(a, c) + m.get(b, d))
            } else {
                // The path is open: reversing the tail only changes the edge into it.
                (m.get(a, b), m.get(a, c))
            };
            if after < before - MIN_GAIN_M {
                order[i - 1..j].reverse();
                improved = true;
            }
        }
    }
    improved
}

/// One sweep of Or-opt: move a run of 1–3 consecutive stops between two other neighbours, in
/// either direction, when that shortens the path.
pub fn or_opt(m: &DistanceMatrix, order: &mut [usize]) -> bool {
    let n = order.len();
    let mut improved = false;
    let mut path: Vec<usize> = std::iter::once(0)
        .chain(order.iter().map(|s| s + 1))
        .collect();
    for len in 1..=3usize.min(n) {
        let mut i = 1;
        while i + len <= n + 1 {
            let (prev, first, last) = (path[i - 1], path[i], path[i + len - 1]);
            let next = path.get(i + len).copied();
            let removal_gain = m.get(prev, first) + next.map_or(0.0, |x| m.get(last, x))
                - next.map_or(0.0, |x| m.get(prev, x));
            let mut best: Option<(f64, usize, bool)> = None;
            for k in 0..=n {
                if (i - 1..i + len).contains(&k) {
                    continue;
                }
                let p = path[k];
                let q = path.get(k + 1).copied();
                let base = q.map_or(0.0, |x| m.get(p, x));
                let fwd = m.get(p, first) + q.map_or(0.0, |x| m.get(last, x)) - base;
                let rev = m.get(p, last) + q.map_or(0.0, |x| m.get(first, x)) - base;
                for (cost, reversed) in [(fwd, false), (rev, true)] {
                    if cost < removal_gain - MIN_GAIN_M && best.is_none_or(|(c, _, _)| cost < c) {
                        best = Some((cost, k, reversed));
                    }
                }
            }
            if let Some((_, k, reversed)) = best {
                let mut seg: Vec<usize> = path[i..i + len].to_vec();
                if reversed {
                    seg.reverse();
                }
                path.drain(i..i + len);
                let at = if k < i { k + 1 } else { k + 1 - len };
                path.splice(at..at, seg);
                improved = true;
            }
            i += 1;
        }
    }
    for (slot, node) in order.iter_mut().zip(path.iter().skip(1)) {
        *slot = node - 1;
    }
    improved
}
