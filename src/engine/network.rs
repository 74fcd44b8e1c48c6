//! The network engineers see each other on ([`crate::model::social`]):
//! everyone, teams, or a small world drawn once per replication.

use crate::engine::rng::{Purpose, Streams, open01};
use crate::model::social::{Social, Structure};

/// Each engineer's neighbours.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Network {
    /// Everyone sees everyone else.
    Everyone { n: usize },
    /// Consecutive teams of `size`.
    Teams { n: usize, size: usize },
    /// Adjacency lists: engineer `i`'s neighbours are
    /// `targets[offsets[i]..offsets[i + 1]]`, in increasing order.
    Graph { offsets: Vec<usize>, targets: Vec<u32> },
}

impl Network {
    /// The network of `n` engineers for `social` (everyone when `None`);
    /// a small world is drawn from the replication's network stream, so
    /// every policy meets the same one.
    pub fn new(social: Option<&Social>, n: usize, streams: &Streams) -> Network {
        let Some(s) = social else { return Network::Everyone { n } };
        match s.structure {
            Structure::Everyone => Network::Everyone { n },
            Structure::Teams => Network::Teams { n, size: (s.size as usize).max(1) },
            Structure::SmallWorld => small_world(n, s.size as usize, s.rewire, streams),
        }
    }

    /// How many neighbours engineer `i` has.
    pub fn degree(&self, i: usize) -> usize {
        match self {
            Network::Everyone { n } => n.saturating_sub(1),
            Network::Teams { n, size } => {
                let start = i / size * size;
                (start + size).min(*n) - start - 1
            }
            Network::Graph { offsets, .. } => offsets[i + 1] - offsets[i],
        }
    }

    /// Engineer `i`'s `k`-th neighbour (`k < degree(i)`), in increasing order.
    pub fn neighbour(&self, i: usize, k: usize) -> usize {
        let skip_self = |j: usize| if j >= i { j + 1 } else { j };
        match self {
            Network::Everyone { .. } => skip_self(k),
            Network::Teams { size, .. } => {
                let start = i / size * size;
                start + if start + k >= i { k + 1 } else { k }
            }
            Network::Graph { offsets, targets } => targets[offsets[i] + k] as usize,
        }
    }

    /// For each engineer, the share of their neighbours for whom `flag` holds
    /// (0 with no neighbours), into `out`.
    pub fn shares(&self, flag: &[bool], out: &mut [f64]) {
        let count = |r: std::ops::Range<usize>| flag[r].iter().filter(|&&f| f).count();
        match self {
            Network::Everyone { n } => {
                let all = count(0..*n);
                for i in 0..*n {
                    let others = all - usize::from(flag[i]);
                    out[i] = if *n > 1 { others as f64 / (*n - 1) as f64 } else { 0.0 };
                }
            }
            Network::Teams { n, size } => {
                for start in (0..*n).step_by(*size) {
                    let end = (start + size).min(*n);
                    let all = count(start..end);
                    for i in start..end {
                        let d = end - start - 1;
                        out[i] = if d > 0 { (all - usize::from(flag[i])) as f64 / d as f64 } else { 0.0 };
                    }
                }
            }
            Network::Graph { offsets, targets } => {
                for (i, o) in out.iter_mut().enumerate() {
                    let nb = &targets[offsets[i]..offsets[i + 1]];
                    let c = nb.iter().filter(|&&j| flag[j as usize]).count();
                    *o = if nb.is_empty() { 0.0 } else { c as f64 / nb.len() as f64 };
                }
            }
        }
    }
}

/// Watts–Strogatz: a ring where each engineer is tied to the `k / 2`
/// nearest on each side; then each engineer's ties to the right are each
/// redrawn, with probability `p`, to an engineer drawn uniformly among those
/// it is not yet tied to (the number of ties is kept).
fn small_world(n: usize, k: usize, p: f64, streams: &Streams) -> Network {
    let mut adj: Vec<std::collections::BTreeSet<u32>> = vec![Default::default(); n];
    for i in 0..n {
        for d in 1..=k / 2 {
            let j = (i + d) % n;
            adj[i].insert(j as u32);
            adj[j].insert(i as u32);
        }
    }
    for i in 0..n {
        // One stream per engineer: the rewiring of one does not shift another's draws.
        let mut rng = streams.stream(Purpose::Network, i as u64, 0);
        for d in 1..=k / 2 {
            let j = ((i + d) % n) as u32;
            if open01(&mut rng) >= p || !adj[i].contains(&j) || adj[i].len() + 1 >= n {
                continue;
            }
            // A uniform pick among those not yet tied to i (nor i itself).
            let free = n - 1 - adj[i].len();
            let mut pick = ((open01(&mut rng) * free as f64) as usize).min(free - 1);
            let mut new = 0;
            for c in 0..n as u32 {
                if c as usize == i || adj[i].contains(&c) {
                    continue;
                }
                if pick == 0 {
                    new = c;
                    break;
                }
                pick -= 1;
            }
            adj[i].remove(&j);
            adj[j as usize].remove(&(i as u32));
            adj[i].insert(new);
            adj[new as usize].insert(i as u32);
        }
    }
    let mut offsets = Vec::with_capacity(n + 1);
    let mut targets = Vec::with_capacity(n * k);
    offsets.push(0);
    for a in &adj {
        targets.extend(a.iter().copied());
        offsets.push(targets.len());
    }
    Network::Graph { offsets, targets }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brute_neighbours(net: &Network, i: usize) -> Vec<usize> {
        (0..net.degree(i)).map(|k| net.neighbour(i, k)).collect()
    }

    #[test]
    fn teams_see_their_team_and_everyone_everyone() {
        let teams = Network::Teams { n: 10, size: 4 };
        assert_eq!(brute_neighbours(&teams, 0), [1, 2, 3]);
        assert_eq!(brute_neighbours(&teams, 5), [4, 6, 7]);
        assert_eq!(brute_neighbours(&teams, 9), [8]);
        let all = Network::Everyone { n: 4 };
        assert_eq!(brute_neighbours(&all, 2), [0, 1, 3]);
    }

    #[test]
    fn shares_count_neighbours_only() {
        let flag = [true, false, true, true, false, false, true, false, false, true];
        for net in [
            Network::Everyone { n: 10 },
            Network::Teams { n: 10, size: 4 },
            small_world(10, 4, 0.5, &Streams::new(3, 0)),
        ] {
            let mut got = vec![0.0; 10];
            net.shares(&flag, &mut got);
            for (i, g) in got.iter().enumerate() {
                let nb = brute_neighbours(&net, i);
                let want = nb.iter().filter(|&&j| flag[j]).count() as f64 / nb.len() as f64;
                assert!((g - want).abs() < 1e-15, "{net:?} engineer {i}");
            }
        }
    }

    #[test]
    fn a_small_world_keeps_its_ties_and_rewires_the_share_asked() {
        let (n, k) = (2000, 6);
        let ring = small_world(n, k, 0.0, &Streams::new(1, 0));
        for i in [0, 1, 999, 1999] {
            let mut want: Vec<usize> = (1..=3).flat_map(|d| [(i + d) % n, (i + n - d) % n]).collect();
            want.sort_unstable();
            assert_eq!(brute_neighbours(&ring, i), want);
        }
        let p = 0.2;
        let sw = small_world(n, k, p, &Streams::new(1, 0));
        let Network::Graph { targets, offsets } = &sw else { panic!() };
        assert_eq!(targets.len(), n * k, "ties are kept");
        // Ties that are not ring ties: each of the n k / 2 right ties is
        // redrawn with probability p, rarely onto another ring position.
        let ring_tie = |i: usize, j: usize| {
            let d = (i + n - j) % n;
            d.min(n - d) <= k / 2
        };
        let mut moved = 0;
        for i in 0..n {
            for &j in &targets[offsets[i]..offsets[i + 1]] {
                assert_ne!(j as usize, i, "no self-ties");
                assert!(brute_neighbours(&sw, j as usize).contains(&i), "ties are mutual");
                if !ring_tie(i, j as usize) {
                    moved += 1;
                }
            }
        }
        let redrawn = moved as f64 / 2.0;
        let trials = (n * k / 2) as f64;
        let se = (trials * p * (1.0 - p)).sqrt();
        assert!((redrawn - trials * p).abs() < 4.0 * se + 0.01 * trials * p, "{redrawn} of {trials}");
        assert_eq!(sw, small_world(n, k, p, &Streams::new(1, 0)), "deterministic");
    }
}
