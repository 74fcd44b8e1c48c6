//! The leaderboard: who is in the top and the bottom of a period, with
//! reproducible random tie-breaks, and the observed cut-offs.

use crate::engine::compile::StagePolicy;
use crate::engine::rng::Streams;
use crate::model::reward::{Reward, leaderboard_counts};

/// Ranks `published` descending with reproducible random tie-breaks and
/// partitions `order` so that its first `k` entries are the top `k`.
pub(crate) fn select_top(published: &[f64], k: usize, streams: &Streams, t: i64, order: &mut Vec<u32>) {
    order.clear();
    order.extend(0..published.len() as u32);
    if k == 0 || k >= published.len() {
        return;
    }
    let key = |i: u32| streams.tie_key(i as u64, t);
    order.select_nth_unstable_by(k - 1, |&a, &b| {
        published[b as usize].total_cmp(&published[a as usize]).then_with(|| key(b).cmp(&key(a)))
    });
}

/// Sorts `order` (engineers' indices) by their published metric, lowest
/// first, ties broken by the period's keys as the leaderboard breaks them.
pub(crate) fn sort_ascending(order: &mut [u32], published: &[f64], streams: &Streams, t: i64) {
    let key = |i: u32| streams.tie_key(i as u64, t);
    order.sort_unstable_by(|&a, &b| {
        published[a as usize].total_cmp(&published[b as usize]).then_with(|| key(a).cmp(&key(b)))
    });
}

/// Indices of the top `k` of `values` (descending, ties broken by a
/// reproducible random key for period `t`), in no particular order. This is
/// the leaderboard's selection.
pub fn top_k(values: &[f64], k: usize, streams: &Streams, t: i64) -> Vec<u32> {
    let mut order = Vec::new();
    select_top(values, k, streams, t, &mut order);
    order.truncate(k.min(values.len()));
    order
}

/// The period's leaderboard on the published metric: the top `top` and the
/// bottom `bottom` engineers (ties broken at random, reproducibly, by the
/// period's keys) and the observed cut-offs, each the midpoint between the
/// last one in and the first one out. Paying, forming beliefs and the
/// top-k diagnostic all read this one ranking.
#[derive(Debug, Default)]
pub(crate) struct Board {
    pub top: Vec<u32>,
    pub bottom: Vec<u32>,
    pub top_cut: f64,
    pub bottom_cut: f64,
}

impl Board {
    /// The board of a leaderboard stage (empty for other schemes).
    pub fn rank(stage: &StagePolicy, published: &[f64], streams: &Streams, t: i64, order: &mut Vec<u32>) -> Board {
        let Reward::Leaderboard { top_fraction, bottom_fraction, .. } = stage.reward else { return Board::default() };
        let n = published.len();
        let (top, bottom) = leaderboard_counts(n, top_fraction, bottom_fraction);
        // Selects the best `k` into `order[..k]`; the cut-off between them and the rest.
        let side = |k: usize, order: &mut Vec<u32>| -> f64 {
            select_top(published, k, streams, t, order);
            if k == 0 || k >= n {
                return f64::NEG_INFINITY;
            }
            let worst_in = published[order[k - 1] as usize];
            let best_out = order[k..].iter().map(|&i| published[i as usize]).fold(f64::NEG_INFINITY, f64::max);
            if worst_in > best_out {
                0.5 * (worst_in + best_out)
            } else {
                // A tie at the cut-off: reaching the tied score is not a sure
                // place (ties are drawn at random), so the cut-off sits just above it.
                worst_in + 1e-9 * worst_in.abs().max(1e-9)
            }
        };
        let top_cut = side(top, order);
        let top_members = order[..top].to_vec();
        let (bottom_cut, bottom_members) = if bottom > 0 {
            let cut = side(n - bottom, order);
            (cut, order[n - bottom..].to_vec())
        } else {
            (f64::NEG_INFINITY, Vec::new())
        };
        Board { top: top_members, bottom: bottom_members, top_cut, bottom_cut }
    }
}

/// How many of `metric_top` (the top `k` by the metric) are among the top
/// `k` by `value`.
pub(crate) fn top_k_overlap(
    metric_top: &[u32],
    value: &[f64],
    streams: &Streams,
    t: i64,
    order: &mut Vec<u32>,
) -> usize {
    let (n, k) = (value.len(), metric_top.len());
    let mut in_top = vec![false; n];
    // A tie-break key of its own, so that ties on both sides are not broken alike.
    select_top(value, k, streams, -2 - t, order);
    for &i in &order[..k.min(n)] {
        in_top[i as usize] = true;
    }
    metric_top.iter().filter(|&&i| in_top[i as usize]).count()
}
