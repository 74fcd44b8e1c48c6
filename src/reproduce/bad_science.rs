//! The natural selection of bad science: the evolutionary model of
//! Smaldino & McElreath (2016), *R. Soc. Open Sci.* 3:160384, section 3.
//!
//! A population of `N` labs does science and is selected on its pay-off.
//! Lab `i` carries three culturally inherited traits: power `W_i` (the
//! probability of a positive result when the hypothesis is true), effort
//! `e_i` (rigour, in `[1, 100]`) and a replication rate `r_i`. Effort buys a
//! lower false-positive rate at the cost of fewer studies:
//!
//! - false-positive rate `alpha_i = W_i / (1 + (1 - W_i) e_i)`
//!   ([`false_positive_rate`]);
//! - each time step, the lab starts an investigation with probability
//!   `h(e_i) = 1 - eta log10(e_i)` ([`investigation_probability`]);
//! - with probability `r_i` (and once anything is published) the
//!   investigation replicates a published novel result drawn uniformly from
//!   the whole literature; otherwise it tests a novel hypothesis, true with
//!   probability `b`;
//! - the result is positive with probability `W_i` if the hypothesis is
//!   true and `alpha_i` if it is false. A positive novel result is published
//!   and pays `V_N`; a negative novel result is not published and pays
//!   nothing. A replication is published with probability `c_R+` (positive)
//!   or `c_R-` (negative) and pays the replicator `V_R+` or `V_R-`; the lab
//!   that published the original, if still alive, receives `V_O+` when the
//!   result held and `V_O-` when it failed.
//!
//! After the science of each step, one lab dies and one is born:
//! `d` labs are sampled and the oldest dies ([`oldest`]); `d` of the
//! survivors are sampled and the one with the largest accumulated pay-off
//! ([`best_paid`]) reproduces into the empty place. The offspring starts at
//! age 0 with pay-off 0 and inherits its parent's traits, each of which
//! mutates with probability `mu` by a normal step of sd `sigma`, clamped to
//! its range ([`Traits::mutate`]). One step is one birth; `N` steps are a
//! generation (the population turns over once on average).
//!
//! The mapping to the rest of this library: a lab is an engineer, a
//! published novel result a deployment, a false positive a defective change,
//! a replication an audit, a failed replication a rollback found by the
//! audit (with `V_O-` its penalty), and the best-paid-reproduces rule a
//! leaderboard whose prize is being copied. Nobody here chooses anything:
//! selection on pay-off alone does what a best response would.
//!
//! Parameters and their defaults are [`Params`] (the paper's Table 1).
//! Everything random in a run comes from one ChaCha8 stream keyed by the
//! seed and the parameters ([`Params::stream_id`]), so a run is the same on
//! any thread count and whatever other conditions run beside it.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::error::{Error, Result};

/// The lowest effort a lab can have.
pub const EFFORT_MIN: f64 = 1.0;
/// The highest effort a lab can have.
pub const EFFORT_MAX: f64 = 100.0;

/// The model's parameters, named as in the paper's Table 1. Defaults are
/// Table 1's, with the choices of the paper's main runs where the table
/// gives a set: `r0 = 0` (no replication), effort evolving (`mu_e = 0.01`),
/// power and replication fixed (`mu_w = mu_r = 0`).
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    /// `N`, the number of labs (constant: each death is followed by a birth).
    pub n: usize,
    /// `b`, the base rate: the probability that a novel hypothesis is true.
    pub b: f64,
    /// `r_0`, every lab's initial replication rate: the probability that an
    /// investigation replicates a published result (Table 1: 0, 0.01, 0.2, 0.5).
    pub r0: f64,
    /// `e_0`, every lab's initial effort, in `[1, 100]` (default 75).
    pub e0: f64,
    /// `w_0`, every lab's initial power, in `[0, 1]` (default 0.8; with
    /// `e_0 = 75` the initial false-positive rate is 0.05).
    pub w0: f64,
    /// `eta`, the influence of effort on productivity: the probability of
    /// starting an investigation in a step is `1 - eta log10(e)` (default 0.2).
    pub eta: f64,
    /// `c_R+`, the probability that a positive replication is published (1).
    pub c_r_pos: f64,
    /// `c_R-`, the probability that a negative replication is published (1).
    pub c_r_neg: f64,
    /// `V_N`, the pay-off for publishing a novel result (1).
    pub v_n: f64,
    /// `V_R+`, the pay-off for publishing a positive replication (0.5).
    pub v_r_pos: f64,
    /// `V_R-`, the pay-off for publishing a negative replication (0.5).
    pub v_r_neg: f64,
    /// `V_O+`, the pay-off to the original lab when its novel result is
    /// replicated (0.1).
    pub v_o_pos: f64,
    /// `V_O-`, the pay-off to the original lab when its novel result fails
    /// to replicate (-100).
    pub v_o_neg: f64,
    /// `d`, the number of labs sampled for each death and each birth (10).
    pub d: usize,
    /// `mu_r`, the probability that an offspring's replication rate mutates
    /// (Table 1: 0 or 0.01; default 0).
    pub mu_r: f64,
    /// `mu_e`, the probability that an offspring's effort mutates
    /// (Table 1: 0 or 0.01; default 0.01).
    pub mu_e: f64,
    /// `mu_w`, the probability that an offspring's power mutates
    /// (Table 1: 0 or 0.01; default 0).
    pub mu_w: f64,
    /// `sigma_r`, the sd of a replication-rate mutation (0.01).
    pub sigma_r: f64,
    /// `sigma_e`, the sd of an effort mutation (1).
    pub sigma_e: f64,
    /// `sigma_w`, the sd of a power mutation (0.01).
    pub sigma_w: f64,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            n: 100,
            b: 0.1,
            r0: 0.0,
            e0: 75.0,
            w0: 0.8,
            eta: 0.2,
            c_r_pos: 1.0,
            c_r_neg: 1.0,
            v_n: 1.0,
            v_r_pos: 0.5,
            v_r_neg: 0.5,
            v_o_pos: 0.1,
            v_o_neg: -100.0,
            d: 10,
            mu_r: 0.0,
            mu_e: 0.01,
            mu_w: 0.0,
            sigma_r: 0.01,
            sigma_e: 1.0,
            sigma_w: 0.01,
        }
    }
}

impl Params {
    /// Checks every field against its range; the error names the field
    /// (`bad_science.r0`) and what is allowed.
    pub fn validate(&self) -> Result<()> {
        let bad = |field: &str, value: String, expected: &str| Error::InvalidField {
            path: format!("bad_science.{field}"),
            value,
            expected: expected.into(),
        };
        if self.n < 2 {
            return Err(bad("n", self.n.to_string(), "at least 2 labs"));
        }
        if self.d == 0 || self.d >= self.n {
            return Err(bad("d", self.d.to_string(), &format!("an integer from 1 to n - 1 = {}", self.n - 1)));
        }
        let probabilities = [
            ("b", self.b),
            ("r0", self.r0),
            ("w0", self.w0),
            ("c_r_pos", self.c_r_pos),
            ("c_r_neg", self.c_r_neg),
            ("mu_r", self.mu_r),
            ("mu_e", self.mu_e),
            ("mu_w", self.mu_w),
        ];
        for (field, v) in probabilities {
            if !(0.0..=1.0).contains(&v) {
                return Err(bad(field, v.to_string(), "a number from 0 to 1"));
            }
        }
        if !(EFFORT_MIN..=EFFORT_MAX).contains(&self.e0) {
            return Err(bad("e0", self.e0.to_string(), "a number from 1 to 100"));
        }
        // h(100) = 1 - 2 eta must stay a probability.
        if !(0.0..=0.5).contains(&self.eta) {
            return Err(bad("eta", self.eta.to_string(), "a number from 0 to 0.5"));
        }
        for (field, v) in [("sigma_r", self.sigma_r), ("sigma_e", self.sigma_e), ("sigma_w", self.sigma_w)] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(bad(field, v.to_string(), "a finite number >= 0"));
            }
        }
        let payoffs = [
            ("v_n", self.v_n),
            ("v_r_pos", self.v_r_pos),
            ("v_r_neg", self.v_r_neg),
            ("v_o_pos", self.v_o_pos),
            ("v_o_neg", self.v_o_neg),
        ];
        for (field, v) in payoffs {
            if !v.is_finite() {
                return Err(bad(field, v.to_string(), "a finite number"));
            }
        }
        Ok(())
    }

    /// The ChaCha stream a run of these parameters uses: a hash of every
    /// field, so a condition draws the same numbers whichever other
    /// conditions run beside it, and any change of parameter is a new stream.
    pub fn stream_id(&self) -> u64 {
        let fields = [
            self.n as u64,
            self.b.to_bits(),
            self.r0.to_bits(),
            self.e0.to_bits(),
            self.w0.to_bits(),
            self.eta.to_bits(),
            self.c_r_pos.to_bits(),
            self.c_r_neg.to_bits(),
            self.v_n.to_bits(),
            self.v_r_pos.to_bits(),
            self.v_r_neg.to_bits(),
            self.v_o_pos.to_bits(),
            self.v_o_neg.to_bits(),
            self.d as u64,
            self.mu_r.to_bits(),
            self.mu_e.to_bits(),
            self.mu_w.to_bits(),
            self.sigma_r.to_bits(),
            self.sigma_e.to_bits(),
            self.sigma_w.to_bits(),
        ];
        fields.iter().fold(0x5EED_0B5C_1E9C_E000, |h, &f| splitmix(h ^ f))
    }

    /// The initial traits of every lab.
    pub fn initial_traits(&self) -> Traits {
        Traits { power: self.w0, effort: self.e0, replication: self.r0 }
    }
}

/// The false-positive rate `alpha = W / (1 + (1 - W) e)` of a lab with
/// power `w` (a probability) and effort `e` (in `[1, 100]`): more effort,
/// fewer false positives; more power, more of them at equal effort.
#[inline]
pub fn false_positive_rate(w: f64, e: f64) -> f64 {
    w / (1.0 + (1.0 - w) * e)
}

/// The probability `h = 1 - eta log10(e)` that a lab with effort `e` starts
/// an investigation in a time step: rigour costs output.
#[inline]
pub fn investigation_probability(eta: f64, e: f64) -> f64 {
    1.0 - eta * e.log10()
}

/// The probability that a novel investigation gives a positive (hence
/// published) result: `b W + (1 - b) alpha`.
#[inline]
pub fn positive_rate(b: f64, w: f64, alpha: f64) -> f64 {
    b * w + (1.0 - b) * alpha
}

/// The expected share of published novel results that are false:
/// `(1 - b) alpha / (b W + (1 - b) alpha)`; 0 when nothing is published.
#[inline]
pub fn false_discovery_rate(b: f64, w: f64, alpha: f64) -> f64 {
    let positive = positive_rate(b, w, alpha);
    if positive > 0.0 { (1.0 - b) * alpha / positive } else { 0.0 }
}

/// Of the labs in `sample` (indices into `born`), the oldest: the one born
/// at the earliest step. Ties go to the first in the sample, whose order is
/// random, so a tie is broken at random.
pub fn oldest(sample: &[usize], born: &[u64]) -> usize {
    let mut best = sample[0];
    for &i in &sample[1..] {
        if born[i] < born[best] {
            best = i;
        }
    }
    best
}

/// Of the labs in `sample` (indices into `payoff`), the one with the largest
/// accumulated pay-off. Ties go to the first in the sample.
pub fn best_paid(sample: &[usize], payoff: &[f64]) -> usize {
    let mut best = sample[0];
    for &i in &sample[1..] {
        if payoff[i] > payoff[best] {
            best = i;
        }
    }
    best
}

/// A lab's heritable traits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Traits {
    /// Power `W`, the probability of a positive result for a true hypothesis.
    pub power: f64,
    /// Effort `e`, in `[1, 100]`.
    pub effort: f64,
    /// Replication rate `r`, the probability that an investigation is a replication.
    pub replication: f64,
}

impl Traits {
    /// The offspring's traits: each of power, effort and replication rate
    /// (in that order, one uniform each) mutates with probability
    /// `mu_w`, `mu_e`, `mu_r` by a normal step of sd `sigma_w`, `sigma_e`,
    /// `sigma_r`, clamped to `[0, 1]`, `[1, 100]` and `[0, 1]`.
    pub fn mutate<R: Rng + ?Sized>(&self, p: &Params, rng: &mut R) -> Traits {
        let mut child = *self;
        if unit(rng) < p.mu_w {
            child.power = (child.power + p.sigma_w * normal(rng)).clamp(0.0, 1.0);
        }
        if unit(rng) < p.mu_e {
            child.effort = (child.effort + p.sigma_e * normal(rng)).clamp(EFFORT_MIN, EFFORT_MAX);
        }
        if unit(rng) < p.mu_r {
            child.replication = (child.replication + p.sigma_r * normal(rng)).clamp(0.0, 1.0);
        }
        child
    }
}

/// What the labs published between two snapshots.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Investigations started (novel or replication).
    pub investigations: u64,
    /// Novel results published (all positive).
    pub novel: u64,
    /// Novel results published whose hypothesis was false: false discoveries.
    pub false_novel: u64,
    /// Replications published.
    pub replications: u64,
    /// Replications published that failed (a negative result).
    pub failed_replications: u64,
}

/// The state of the population at one step, and what it published since
/// the previous snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// Time steps completed.
    pub step: u64,
    /// Mean effort of the living labs.
    pub mean_effort: f64,
    /// Mean power of the living labs.
    pub mean_power: f64,
    /// Mean false-positive rate of the living labs.
    pub mean_alpha: f64,
    /// Mean replication rate of the living labs.
    pub mean_replication: f64,
    /// The false discovery rate the population would publish at now: each
    /// lab's false and true positives weighted by its rate of novel
    /// investigations `h (1 - r)`.
    pub expected_fdr: f64,
    /// Publications since the previous snapshot.
    pub tally: Tally,
}

impl Snapshot {
    /// The observed false discovery rate since the previous snapshot: the
    /// share of published novel results that are false; `None` if nothing
    /// was published.
    pub fn false_discovery_rate(&self) -> Option<f64> {
        (self.tally.novel > 0).then(|| self.tally.false_novel as f64 / self.tally.novel as f64)
    }
}

/// One run: its parameters, seed and snapshots (the first at step 0).
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    /// The parameters.
    pub params: Params,
    /// The seed.
    pub seed: u64,
    /// Snapshots at step 0, every `every` steps and at the last step.
    pub snapshots: Vec<Snapshot>,
}

impl Run {
    /// The snapshot at the last step.
    pub fn last(&self) -> &Snapshot {
        // A run always holds the step-0 snapshot.
        &self.snapshots[self.snapshots.len() - 1]
    }
}

/// Published novel results, grouped by the slot of the lab that published
/// them and by whether the hypothesis is true, with a Fenwick tree over the
/// groups so that a uniform draw from the whole literature takes
/// `O(log N)` and memory stays `O(N)` however long the run. Results of
/// dead labs move to two orphan groups (true, false): they can still be
/// replicated, but nobody is paid or penalised for them.
#[derive(Debug, Clone)]
struct Literature {
    counts: Vec<u64>,
    tree: Vec<u64>,
    total: u64,
}

impl Literature {
    fn new(labs: usize) -> Self {
        let groups = 2 * labs + 2;
        Literature { counts: vec![0; groups], tree: vec![0; groups + 1], total: 0 }
    }

    fn add(&mut self, group: usize, delta: i64) {
        self.counts[group] = self.counts[group].wrapping_add_signed(delta);
        self.total = self.total.wrapping_add_signed(delta);
        let mut i = group + 1;
        while i < self.tree.len() {
            self.tree[i] = self.tree[i].wrapping_add_signed(delta);
            i += i & i.wrapping_neg();
        }
    }

    /// The group holding the `k`-th result (0-based, `k < total`).
    fn find(&self, mut k: u64) -> usize {
        let mut pos = 0;
        let mut step = (self.tree.len() - 1).next_power_of_two();
        while step > 0 {
            let next = pos + step;
            if next < self.tree.len() && self.tree[next] <= k {
                pos = next;
                k -= self.tree[next];
            }
            step >>= 1;
        }
        pos
    }

    /// Moves the results of the lab in `slot` to the orphan groups.
    fn orphan(&mut self, slot: usize) {
        let orphans = self.counts.len() - 2;
        for truth in 0..2 {
            let c = self.counts[2 * slot + truth] as i64;
            if c > 0 {
                self.add(2 * slot + truth, -c);
                self.add(orphans + truth, c);
            }
        }
    }
}

/// Upper ends of a lab's bands of the unit interval, drawn once per step
/// (see [`Simulation::science`]).
#[derive(Debug, Clone, Copy, Default)]
struct Bands {
    replicate: f64,
    true_positive: f64,
    false_positive: f64,
    investigate: f64,
}

/// A population of labs in the middle of a run. Lab state is a struct of
/// arrays indexed by slot; a newborn takes the slot of the lab that died.
#[derive(Debug, Clone)]
pub struct Simulation {
    params: Params,
    rng: ChaCha8Rng,
    step: u64,
    power: Vec<f64>,
    effort: Vec<f64>,
    replication: Vec<f64>,
    alpha: Vec<f64>,
    h: Vec<f64>,
    bands: Vec<Bands>,
    payoff: Vec<f64>,
    born: Vec<u64>,
    literature: Literature,
    perm: Vec<usize>,
    sample: Vec<usize>,
    tally: Tally,
}

impl Simulation {
    /// `params.n` labs with the initial traits of `params`, seeded with `seed`.
    pub fn new(params: &Params, seed: u64) -> Result<Self> {
        let labs = vec![params.initial_traits(); params.n];
        Simulation::with_labs(params, &labs, seed)
    }

    /// A population with the given traits (one lab per entry; `params.n` is
    /// ignored in favour of `labs.len()`), all of age 0 and pay-off 0.
    pub fn with_labs(params: &Params, labs: &[Traits], seed: u64) -> Result<Self> {
        let params = Params { n: labs.len(), ..params.clone() };
        params.validate()?;
        for (i, t) in labs.iter().enumerate() {
            let bad = |field: &str, v: f64, expected: &str| Error::InvalidField {
                path: format!("labs[{i}].{field}"),
                value: v.to_string(),
                expected: expected.into(),
            };
            if !(0.0..=1.0).contains(&t.power) {
                return Err(bad("power", t.power, "a number from 0 to 1"));
            }
            if !(EFFORT_MIN..=EFFORT_MAX).contains(&t.effort) {
                return Err(bad("effort", t.effort, "a number from 1 to 100"));
            }
            if !(0.0..=1.0).contains(&t.replication) {
                return Err(bad("replication", t.replication, "a number from 0 to 1"));
            }
        }
        let n = labs.len();
        let mut rng = ChaCha8Rng::from_seed(key(seed));
        rng.set_stream(params.stream_id());
        let mut sim = Simulation {
            rng,
            step: 0,
            power: vec![0.0; n],
            effort: vec![0.0; n],
            replication: vec![0.0; n],
            alpha: vec![0.0; n],
            h: vec![0.0; n],
            bands: vec![Bands::default(); n],
            payoff: vec![0.0; n],
            born: vec![0; n],
            literature: Literature::new(n),
            perm: (0..n).collect(),
            sample: Vec::with_capacity(params.d),
            tally: Tally::default(),
            params,
        };
        for (i, t) in labs.iter().enumerate() {
            sim.set_traits(i, *t);
        }
        Ok(sim)
    }

    fn set_traits(&mut self, i: usize, t: Traits) {
        self.power[i] = t.power;
        self.effort[i] = t.effort;
        self.replication[i] = t.replication;
        self.alpha[i] = false_positive_rate(t.power, t.effort);
        self.h[i] = investigation_probability(self.params.eta, t.effort);
        let (h, r, b) = (self.h[i], t.replication, self.params.b);
        let replicate = h * r;
        let true_positive = replicate + h * (1.0 - r) * b * t.power;
        let false_positive = true_positive + h * (1.0 - r) * (1.0 - b) * self.alpha[i];
        self.bands[i] = Bands { replicate, true_positive, false_positive, investigate: h };
    }

    /// One time step: [`Simulation::science`], then [`Simulation::death`]
    /// and [`Simulation::birth`] into the freed slot.
    pub fn step(&mut self) {
        self.science();
        let dead = self.death();
        self.birth(dead);
        self.step += 1;
    }

    /// Every lab, in slot order, may start one investigation and is paid
    /// for what it publishes (see the module's page).
    ///
    /// One uniform per lab decides whether it investigates and, for a novel
    /// hypothesis, the outcome: `[0, 1)` is cut into bands of probability
    /// `h r` (replicate), `h (1 - r) b W` (true positive), `h (1 - r) (1 - b)
    /// alpha` (false positive), the rest of `h` (a negative, unpublished) and
    /// `1 - h` (no investigation). That is the paper's sequence of draws in
    /// distribution, at a quarter of the random numbers.
    pub fn science(&mut self) {
        let p = &self.params;
        let (b, c_pos, c_neg) = (p.b, p.c_r_pos, p.c_r_neg);
        let (v_n, v_r_pos, v_r_neg, v_o_pos, v_o_neg) = (p.v_n, p.v_r_pos, p.v_r_neg, p.v_o_pos, p.v_o_neg);
        let labs = self.power.len();
        for i in 0..labs {
            let u = unit(&mut self.rng);
            let band = self.bands[i];
            if u >= band.investigate {
                continue;
            }
            self.tally.investigations += 1;
            let truth = if u < band.replicate {
                if self.literature.total > 0 {
                    let k = below(&mut self.rng, self.literature.total);
                    let group = self.literature.find(k);
                    let truth = group & 1 == 1;
                    let owner = (group / 2 < labs).then_some(group / 2);
                    let positive = unit(&mut self.rng) < if truth { self.power[i] } else { self.alpha[i] };
                    let c = if positive { c_pos } else { c_neg };
                    if c >= 1.0 || unit(&mut self.rng) < c {
                        self.payoff[i] += if positive { v_r_pos } else { v_r_neg };
                        if let Some(o) = owner {
                            self.payoff[o] += if positive { v_o_pos } else { v_o_neg };
                        }
                        self.tally.replications += 1;
                        self.tally.failed_replications += u64::from(!positive);
                    }
                    continue;
                }
                // Nothing to replicate yet: a novel hypothesis, with fresh draws.
                let v = unit(&mut self.rng);
                let true_positive = b * self.power[i];
                if v < true_positive {
                    true
                } else if v < true_positive + (1.0 - b) * self.alpha[i] {
                    false
                } else {
                    continue;
                }
            } else if u < band.true_positive {
                true
            } else if u < band.false_positive {
                false
            } else {
                continue;
            };
            self.payoff[i] += v_n;
            self.literature.add(2 * i + usize::from(truth), 1);
            self.tally.novel += 1;
            self.tally.false_novel += u64::from(!truth);
        }
    }

    /// Samples `d` labs and removes the oldest; returns its slot. Its
    /// published results stay in the literature, unowned.
    pub fn death(&mut self) -> usize {
        self.draw_sample(None);
        let dead = oldest(&self.sample, &self.born);
        self.literature.orphan(dead);
        dead
    }

    /// Samples `d` labs other than the empty `slot`, and puts the offspring
    /// of the best-paid of them (mutated, age 0, pay-off 0) in `slot`;
    /// returns the parent's slot.
    pub fn birth(&mut self, slot: usize) -> usize {
        self.draw_sample(Some(slot));
        let parent = best_paid(&self.sample, &self.payoff);
        let child = self.traits(parent).mutate(&self.params, &mut self.rng);
        self.set_traits(slot, child);
        self.payoff[slot] = 0.0;
        self.born[slot] = self.step + 1;
        parent
    }

    /// Fills `sample` with `d` distinct slots drawn uniformly (a partial
    /// Fisher-Yates shuffle of a persistent permutation), leaving out `skip`.
    fn draw_sample(&mut self, skip: Option<usize>) {
        let mut m = self.perm.len();
        if let Some(x) = skip {
            let at = self.perm.iter().position(|&p| p == x).unwrap_or(m - 1);
            self.perm.swap(at, m - 1);
            m -= 1;
        }
        for j in 0..self.params.d {
            let k = j + below(&mut self.rng, (m - j) as u64) as usize;
            self.perm.swap(j, k);
        }
        self.sample.clear();
        self.sample.extend_from_slice(&self.perm[..self.params.d]);
    }

    /// The parameters (with `n` the population's size).
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// Time steps completed.
    pub fn steps(&self) -> u64 {
        self.step
    }

    /// The traits of the lab in `slot`.
    pub fn traits(&self, slot: usize) -> Traits {
        Traits { power: self.power[slot], effort: self.effort[slot], replication: self.replication[slot] }
    }

    /// Each lab's power, by slot.
    pub fn power(&self) -> &[f64] {
        &self.power
    }

    /// Each lab's effort, by slot.
    pub fn effort(&self) -> &[f64] {
        &self.effort
    }

    /// Each lab's false-positive rate, by slot.
    pub fn alpha(&self) -> &[f64] {
        &self.alpha
    }

    /// Each lab's replication rate, by slot.
    pub fn replication(&self) -> &[f64] {
        &self.replication
    }

    /// Each lab's pay-off accumulated since its birth, by slot.
    pub fn payoff(&self) -> &[f64] {
        &self.payoff
    }

    /// Each lab's age in time steps, by slot.
    pub fn ages(&self) -> Vec<u64> {
        self.born.iter().map(|&b| self.step.saturating_sub(b)).collect()
    }

    /// The slots sampled by the last death or birth, in draw order.
    pub fn last_sample(&self) -> &[usize] {
        &self.sample
    }

    /// Novel results published so far, including those of dead labs.
    pub fn literature_len(&self) -> u64 {
        self.literature.total
    }

    /// What was published since the tally was last taken.
    pub fn tally(&self) -> Tally {
        self.tally
    }

    /// The population now, with the tally since the last snapshot (which
    /// is then reset).
    pub fn snapshot(&mut self) -> Snapshot {
        let n = self.power.len() as f64;
        let mean = |v: &[f64]| v.iter().sum::<f64>() / n;
        let b = self.params.b;
        let (mut false_pos, mut all_pos) = (0.0, 0.0);
        for i in 0..self.power.len() {
            let novel = self.h[i] * (1.0 - self.replication[i]);
            false_pos += novel * (1.0 - b) * self.alpha[i];
            all_pos += novel * positive_rate(b, self.power[i], self.alpha[i]);
        }
        let snap = Snapshot {
            step: self.step,
            mean_effort: mean(&self.effort),
            mean_power: mean(&self.power),
            mean_alpha: mean(&self.alpha),
            mean_replication: mean(&self.replication),
            expected_fdr: if all_pos > 0.0 { false_pos / all_pos } else { 0.0 },
            tally: self.tally,
        };
        self.tally = Tally::default();
        snap
    }
}

/// Runs the model for `steps` time steps from its initial population,
/// taking a snapshot at step 0, every `every` steps and at the end.
pub fn simulate(params: &Params, seed: u64, steps: u64, every: u64) -> Result<Run> {
    if every == 0 {
        return Err(Error::InvalidField {
            path: "every".into(),
            value: "0".into(),
            expected: "at least 1 step".into(),
        });
    }
    let mut sim = Simulation::new(params, seed)?;
    let mut snapshots = Vec::with_capacity((steps / every + 2) as usize);
    snapshots.push(sim.snapshot());
    while sim.steps() < steps {
        sim.step();
        if sim.steps() % every == 0 || sim.steps() == steps {
            snapshots.push(sim.snapshot());
        }
    }
    Ok(Run { params: params.clone(), seed, snapshots })
}

/// Runs every condition with every seed, in parallel; the runs come back
/// in (condition, seed) order and each is the same on any thread count.
pub fn simulate_all(conditions: &[Params], seeds: &[u64], steps: u64, every: u64) -> Result<Vec<Run>> {
    for p in conditions {
        p.validate()?;
    }
    let jobs: Vec<(usize, u64)> = (0..conditions.len()).flat_map(|c| seeds.iter().map(move |&s| (c, s))).collect();
    jobs.par_iter().map(|&(c, seed)| simulate(&conditions[c], seed, steps, every)).collect()
}

/// A uniform draw in `[0, 1)` from the top 53 bits of one word.
#[inline]
fn unit<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// A uniform integer in `[0, m)` by multiply-shift (bias below `m / 2^64`).
#[inline]
fn below<R: Rng + ?Sized>(rng: &mut R, m: u64) -> u64 {
    ((rng.next_u64() as u128 * m as u128) >> 64) as u64
}

fn normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    crate::engine::rng::std_normal(rng)
}

fn key(seed: u64) -> [u8; 32] {
    let mut key = [0u8; 32];
    let mut state = splitmix(seed ^ 0xBAD5_C1E4_CE00_2016);
    for chunk in key.chunks_exact_mut(8) {
        state = splitmix(state);
        chunk.copy_from_slice(&state.to_le_bytes());
    }
    key
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_literature_draws_each_result_once() {
        // Groups with counts 2, 0, 3, 1: the k-th result falls in the group
        // that holds it.
        let mut lit = Literature::new(1);
        lit.add(0, 2);
        lit.add(2, 3);
        lit.add(3, 1);
        let found: Vec<usize> = (0..6).map(|k| lit.find(k)).collect();
        assert_eq!(found, [0, 0, 2, 2, 2, 3]);
        lit.orphan(0);
        assert_eq!(lit.counts, [0, 0, 5, 1]);
        assert_eq!((0..6).map(|k| lit.find(k)).collect::<Vec<_>>(), [2, 2, 2, 2, 2, 3]);
    }

    #[test]
    fn the_literature_agrees_with_a_linear_scan() {
        // 100 labs with uneven counts (some empty): every k against brute force.
        let mut lit = Literature::new(100);
        let mut state = 1u64;
        for g in 0..lit.counts.len() {
            state = splitmix(state);
            if state % 3 != 0 {
                lit.add(g, (state % 7) as i64);
            }
        }
        lit.orphan(17);
        let mut k = 0;
        for (g, &c) in lit.counts.iter().enumerate() {
            for _ in 0..c {
                assert_eq!(lit.find(k), g, "result {k}");
                k += 1;
            }
        }
        assert_eq!(k, lit.total);
    }
}
