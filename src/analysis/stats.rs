//! Statistics: the normal and Student t distributions, confidence intervals,
//! rank correlation, and the selection results the model is checked against.

use serde::Serialize;

/// Standard normal density.
#[inline]
pub fn normal_pdf(x: f64) -> f64 {
    (-0.5 * x * x).exp() * 0.398_942_280_401_432_7
}

/// Standard normal distribution function, accurate to double precision
/// (Hart's algorithm 5666 as given by West, 2005).
pub fn normal_cdf(x: f64) -> f64 {
    normal_cdf_pdf(x).0
}

/// The normal distribution function and density at `x`, sharing one exponential.
#[inline]
pub(crate) fn normal_cdf_pdf(x: f64) -> (f64, f64) {
    let z = x.abs();
    let e = (-0.5 * z * z).exp();
    let tail = if z > 37.0 {
        0.0
    } else {
        if z < 7.071_067_811_865_47 {
            let mut n = 3.526_249_659_989_11e-2 * z + 0.700_383_064_443_688;
            n = n * z + 6.373_962_203_531_65;
            n = n * z + 33.912_866_078_383;
            n = n * z + 112.079_291_497_871;
            n = n * z + 221.213_596_169_931;
            n = n * z + 220.206_867_912_376;
            let mut d = 8.838_834_764_831_84e-2 * z + 1.755_667_163_182_64;
            d = d * z + 16.064_177_579_207;
            d = d * z + 86.780_732_202_946_1;
            d = d * z + 296.564_248_779_674;
            d = d * z + 637.333_633_378_831;
            d = d * z + 793.826_512_519_948;
            d = d * z + 440.413_735_824_752;
            e * n / d
        } else {
            let mut b = z + 0.65;
            b = z + 4.0 / b;
            b = z + 3.0 / b;
            b = z + 2.0 / b;
            b = z + 1.0 / b;
            e / b / 2.506_628_274_631
        }
    };
    let pdf = e * 0.398_942_280_401_432_7;
    if x > 0.0 { (1.0 - tail, pdf) } else { (tail, pdf) }
}

/// Standard normal quantile (Acklam's rational approximation refined by one
/// Halley step; relative error near machine precision). `p` must lie in (0, 1).
pub fn normal_quantile(p: f64) -> f64 {
    let x = normal_quantile_fast(p);
    let p = p.clamp(1e-300, 1.0 - 1e-16);
    // One Halley step on F(x) - p.
    let e = normal_cdf(x) - p;
    let u = e * 2.506_628_274_631_000_5 * (0.5 * x * x).exp();
    x - u / (1.0 + 0.5 * x * u)
}

/// Acklam's rational approximation to the standard normal quantile,
/// relative error below 1.2e-9 over (0, 1), without the refinement step.
pub(crate) fn normal_quantile_fast(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] =
        [7.784_695_709_041_462e-3, 3.224_671_290_700_398e-1, 2.445_134_137_142_996, 3.754_408_661_907_416];
    let p = p.clamp(1e-300, 1.0 - 1e-16);
    let plow = 0.02425;
    if p < plow {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - plow {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        let q = (-2.0 * (1.0 - p).ln()).sqrt();
        -(((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    }
}

fn ln_gamma(x: f64) -> f64 {
    // Lanczos approximation (g = 7, n = 9).
    const G: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    let x = x - 1.0;
    let mut a = G[0];
    let t = x + 7.5;
    for (i, g) in G.iter().enumerate().skip(1) {
        a += g / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// Regularised incomplete beta function I_x(a, b) (continued fraction).
fn inc_beta(a: f64, b: f64, x: f64) -> f64 {
    BetaConsts::new(a, b).inc_beta(x)
}

/// The log-gamma sums of a beta distribution, computed once for the many
/// incomplete beta functions and densities of a quantile search (each sum
/// in the order its formula had when computed inline, so results do not
/// change).
#[derive(Clone, Copy)]
struct BetaConsts {
    a: f64,
    b: f64,
    /// `ln G(a+b) - ln G(a) - ln G(b)`, for the fraction in `x`.
    front_ab: f64,
    /// `ln G(a+b) - ln G(b) - ln G(a)`, for the mirrored fraction in `1 - x`.
    front_ba: f64,
    /// `ln B(a, b) = ln G(a) + ln G(b) - ln G(a+b)`, for the density.
    ln_beta: f64,
}

impl BetaConsts {
    fn new(a: f64, b: f64) -> Self {
        let (ga, gb, gab) = (ln_gamma(a), ln_gamma(b), ln_gamma(a + b));
        BetaConsts { a, b, front_ab: gab - ga - gb, front_ba: gab - gb - ga, ln_beta: ga + gb - gab }
    }

    /// I_x(a, b).
    fn inc_beta(&self, x: f64) -> f64 {
        if x <= 0.0 {
            return 0.0;
        }
        if x >= 1.0 {
            return 1.0;
        }
        let (a, b) = (self.a, self.b);
        if x > (a + 1.0) / (a + b + 2.0) {
            let mirror = BetaConsts { a: b, b: a, front_ab: self.front_ba, front_ba: self.front_ab, ..*self };
            return 1.0 - mirror.inc_beta(1.0 - x);
        }
        let front = (self.front_ab + a * x.ln() + b * (1.0 - x).ln()).exp();
        // Lentz's algorithm.
        let tiny = 1e-300;
        let mut c = 1.0;
        let mut d = 1.0 - (a + b) * x / (a + 1.0);
        if d.abs() < tiny {
            d = tiny;
        }
        d = 1.0 / d;
        let mut f = d;
        for m in 1..300 {
            let m = m as f64;
            let num = m * (b - m) * x / ((a + 2.0 * m - 1.0) * (a + 2.0 * m));
            d = 1.0 + num * d;
            d = if d.abs() < tiny { 1.0 / tiny } else { 1.0 / d };
            c = 1.0 + num / c;
            if c.abs() < tiny {
                c = tiny;
            }
            f *= d * c;
            let num = -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1.0));
            d = 1.0 + num * d;
            d = if d.abs() < tiny { 1.0 / tiny } else { 1.0 / d };
            c = 1.0 + num / c;
            if c.abs() < tiny {
                c = tiny;
            }
            let delta = d * c;
            f *= delta;
            if (delta - 1.0).abs() < 1e-15 {
                break;
            }
        }
        front * f / a
    }
}

/// Beta distribution function I_x(alpha, beta).
pub(crate) fn beta_cdf(x: f64, alpha: f64, beta: f64) -> f64 {
    inc_beta(alpha, beta, x)
}

/// Beta quantile: Newton steps on [`beta_cdf`], kept inside a shrinking
/// bisection bracket so that it always converges.
pub(crate) fn beta_quantile(u: f64, alpha: f64, beta: f64) -> f64 {
    let consts = BetaConsts::new(alpha, beta);
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    let mut x = (alpha / (alpha + beta)).clamp(1e-12, 1.0 - 1e-12);
    for _ in 0..100 {
        let f = consts.inc_beta(x) - u;
        if f.abs() < 1e-14 {
            break;
        }
        if f < 0.0 {
            lo = x;
        } else {
            hi = x;
        }
        let pdf = ((alpha - 1.0) * x.ln() + (beta - 1.0) * (1.0 - x).ln() - consts.ln_beta).exp();
        let step = if pdf > 0.0 && pdf.is_finite() { x - f / pdf } else { f64::NAN };
        x = if step > lo && step < hi { step } else { 0.5 * (lo + hi) };
        if hi - lo < 1e-15 {
            break;
        }
    }
    x
}

/// Student t distribution function with `df` degrees of freedom.
pub(crate) fn t_cdf(t: f64, df: f64) -> f64 {
    let x = df / (df + t * t);
    let tail = 0.5 * inc_beta(df / 2.0, 0.5, x);
    if t > 0.0 { 1.0 - tail } else { tail }
}

/// Student t quantile (bisection on [`t_cdf`]; used for confidence intervals).
pub(crate) fn t_quantile(p: f64, df: f64) -> f64 {
    if !(df.is_finite()) || df > 1e6 {
        return normal_quantile(p);
    }
    // Summaries ask for the same quantile thousands of times (every KPI,
    // period and policy has the same replications), and the bisection
    // costs 200 incomplete beta functions: remember the last answer.
    thread_local!(static LAST: std::cell::Cell<(f64, f64, f64)> = const { std::cell::Cell::new((f64::NAN, f64::NAN, 0.0)) });
    let (lp, ldf, lq) = LAST.get();
    if lp == p && ldf == df {
        return lq;
    }
    let q = t_quantile_uncached(p, df);
    LAST.set((p, df, q));
    q
}

fn t_quantile_uncached(p: f64, df: f64) -> f64 {
    let (mut lo, mut hi) = (-1e3, 1e3);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if t_cdf(mid, df) < p {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// Mean and 95% confidence interval of a sample (Student t over replications).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Estimate {
    /// Sample mean.
    pub mean: f64,
    /// Lower end of the 95% confidence interval.
    pub ci_low: f64,
    /// Upper end of the 95% confidence interval.
    pub ci_high: f64,
    /// Number of observations (replications).
    pub n: usize,
}

impl Estimate {
    /// The mean with a 95% t interval. With one observation the interval is
    /// the point itself (there is no spread to estimate).
    pub fn of(xs: &[f64]) -> Estimate {
        let n = xs.len();
        if n == 0 {
            return Estimate { mean: 0.0, ci_low: 0.0, ci_high: 0.0, n };
        }
        let mean = xs.iter().sum::<f64>() / n as f64;
        if n < 2 {
            return Estimate { mean, ci_low: mean, ci_high: mean, n };
        }
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        let half = t_quantile(0.975, (n - 1) as f64) * (var / n as f64).sqrt();
        Estimate { mean, ci_low: mean - half, ci_high: mean + half, n }
    }

    /// Standard error implied by the interval (half-width / t quantile).
    pub fn std_error(&self) -> f64 {
        if self.n < 2 {
            return 0.0;
        }
        (self.ci_high - self.ci_low) / 2.0 / t_quantile(0.975, (self.n - 1) as f64)
    }
}

/// A mean and 95% interval built one observation at a time (Welford's
/// update), so that a series over replications needs no memory per
/// replication. Fed the same values in the same order, it gives the same
/// bits.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RunningEstimate {
    n: usize,
    mean: f64,
    m2: f64,
}

impl RunningEstimate {
    /// Adds one observation.
    pub fn push(&mut self, x: f64) {
        self.n += 1;
        let d = x - self.mean;
        self.mean += d / self.n as f64;
        self.m2 += d * (x - self.mean);
    }

    /// The mean with a 95% t interval, as [`Estimate::of`] defines it.
    pub fn estimate(&self) -> Estimate {
        let (n, mean) = (self.n, self.mean);
        if n < 2 {
            return Estimate { mean, ci_low: mean, ci_high: mean, n };
        }
        let var = (self.m2 / (n - 1) as f64).max(0.0);
        let half = t_quantile(0.975, (n - 1) as f64) * (var / n as f64).sqrt();
        Estimate { mean, ci_low: mean - half, ci_high: mean + half, n }
    }
}

/// Ranks (1-based, ties share their mean rank) of `xs` into `out`.
///
/// A comparison sort of (key, index) pairs, the key being the float's bits
/// in total order with -0 made +0 so that equal floats have equal keys. It
/// beats a radix sort on the same keys at every size measured (BENCHMARKS.md).
pub(crate) fn ranks_into(xs: &[f64], out: &mut [f64]) {
    let key = |x: f64| {
        let b = (x + 0.0).to_bits();
        if b >> 63 == 1 { !b } else { b | 1 << 63 }
    };
    let mut a: Vec<(u64, u32)> = xs.iter().enumerate().map(|(i, &x)| (key(x), i as u32)).collect();
    a.sort_unstable_by_key(|e| e.0);
    let n = a.len();
    let mut i = 0;
    while i < n {
        let mut j = i + 1;
        while j < n && a[j].0 == a[i].0 {
            j += 1;
        }
        let r = (i + j + 1) as f64 / 2.0;
        for e in &a[i..j] {
            out[e.1 as usize] = r;
        }
        i = j;
    }
}

/// Pearson correlation; 0 when either side has no variance (undefined, and
/// no NaN may reach a report).
pub fn pearson(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    if x.len() < 2 {
        return 0.0;
    }
    let mx = x.iter().sum::<f64>() / n;
    let my = y.iter().sum::<f64>() / n;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx).powi(2);
        syy += (b - my).powi(2);
    }
    if sxx <= 0.0 || syy <= 0.0 { 0.0 } else { sxy / (sxx * syy).sqrt() }
}

/// Spearman rank correlation (Pearson on tie-averaged ranks).
pub fn spearman(x: &[f64], y: &[f64]) -> f64 {
    let ranks = |v: &[f64]| {
        let mut r = vec![0.0; v.len()];
        ranks_into(v, &mut r);
        r
    };
    // The two rankings are independent: one per core.
    let (rx, ry) = rayon::join(|| ranks(x), || ranks(y));
    pearson(&rx, &ry)
}

/// Expected mean of the top `k` of `n` independent standard normal draws,
/// by the selection-intensity approximation `i = phi(z) / (k/n)` with
/// `z` the `(1 - k/n)` quantile (exact as `n` grows with `k/n` fixed).
pub fn selection_intensity(fraction: f64) -> f64 {
    let z = normal_quantile(1.0 - fraction);
    normal_pdf(z) / fraction
}

#[cfg(test)]
mod tests {
    use super::*;

    fn erf_series(x: f64) -> f64 {
        // Maclaurin series, an independent reference for |x| < 3.
        let mut sum = 0.0;
        let mut term = x;
        for n in 0..200 {
            sum += term / (2 * n + 1) as f64;
            term *= -x * x / (n + 1) as f64;
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    }

    #[test]
    fn normal_cdf_matches_series_and_quantile_inverts_it() {
        for i in -40..=40 {
            let x = i as f64 * 0.1;
            let want = 0.5 * (1.0 + erf_series(x / std::f64::consts::SQRT_2));
            assert!((normal_cdf(x) - want).abs() < 1e-13, "x={x}");
        }
        for &p in &[1e-12, 1e-6, 0.01, 0.3, 0.5, 0.77, 0.999, 1.0 - 1e-9] {
            let x = normal_quantile(p);
            assert!(((normal_cdf(x) - p) / p.min(1.0 - p)).abs() < 1e-9, "p={p}");
        }
        // The unrefined approximation: relative error below 1.2e-9 (Acklam).
        for i in 1..2000 {
            let p = i as f64 / 2000.0;
            let (x, fast) = (normal_quantile(p), normal_quantile_fast(p));
            assert!((fast - x).abs() <= 1.2e-9 * x.abs().max(1e-3), "p={p}: {fast} vs {x}");
        }
    }

    #[test]
    fn t_quantiles_match_tables() {
        // Printed tables: t_{0.975} for df = 1, 9, 29; normal limit 1.959964.
        for &(df, want) in &[(1.0, 12.7062), (9.0, 2.2622), (29.0, 2.0452), (1e9, 1.95996)] {
            assert!((t_quantile(0.975, df) - want).abs() < 1e-3, "df={df}");
        }
    }

    #[test]
    fn spearman_handles_ties_and_constants() {
        assert!((spearman(&[1.0, 2.0, 3.0], &[10.0, 20.0, 30.0]) - 1.0).abs() < 1e-12);
        assert!((spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]) + 1.0).abs() < 1e-12);
        assert_eq!(spearman(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0]), 0.0);
        let mut r = vec![0.0; 4];
        ranks_into(&[5.0, 1.0, 5.0, 2.0], &mut r);
        assert_eq!(r, vec![3.5, 1.0, 3.5, 2.0]);
    }

    #[test]
    fn ranks_match_a_reference_sort() {
        // Reference: sort by total order, average the ranks of equal values.
        let mut state = 12345u64;
        let mut next = || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            state >> 11
        };
        for n in [0usize, 1, 2, 7, 1000, 9000] {
            let xs: Vec<f64> = (0..n)
                .map(|_| match next() % 6 {
                    0 => 0.0,
                    1 => -0.0,
                    2 => (next() % 7) as f64 - 3.0,
                    3 => -((next() as f64) * 1e-300),
                    _ => (next() as f64 - 4e15) * 1e-3,
                })
                .collect();
            let mut order: Vec<usize> = (0..n).collect();
            order.sort_by(|&a, &b| xs[a].total_cmp(&xs[b]));
            let mut want = vec![0.0; n];
            let mut i = 0;
            while i < n {
                let mut j = i + 1;
                while j < n && xs[order[j]] == xs[order[i]] {
                    j += 1;
                }
                order[i..j].iter().for_each(|&k| want[k] = (i + j + 1) as f64 / 2.0);
                i = j;
            }
            let mut got = vec![0.0; n];
            ranks_into(&xs, &mut got);
            assert_eq!(got, want, "n={n}");
        }
    }

    #[test]
    fn running_estimate_matches_the_two_pass_one() {
        let xs = [3.5, -1.25, 1e6, 2.0, 2.0, 7.75, -300.0];
        for n in 0..=xs.len() {
            let mut r = RunningEstimate::default();
            xs[..n].iter().for_each(|&x| r.push(x));
            let (a, b) = (r.estimate(), Estimate::of(&xs[..n]));
            assert_eq!(a.n, b.n);
            for (x, y) in [(a.mean, b.mean), (a.ci_low, b.ci_low), (a.ci_high, b.ci_high)] {
                assert!((x - y).abs() <= 1e-12 * (1.0 + y.abs()), "n={n}: {a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn estimate_interval_covers_mean() {
        let e = Estimate::of(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(e.mean, 2.5);
        // sd = 1.29099, se = 0.645497, t(3) = 3.182446
        assert!((e.ci_high - 2.5 - 3.182446 * 0.645497).abs() < 1e-4);
    }
}
