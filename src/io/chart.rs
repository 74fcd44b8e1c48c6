//! Charts: each as SVG (drawn with plotters) and PNG (the SVG rendered with
//! resvg and a font embedded in the binary, so text renders on a bare
//! machine). Colours are the Okabe–Ito palette, distinguishable by
//! colour-blind readers; the baseline is dark grey in every chart. Weeks
//! are numbered from 1, as in the story and the report.

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use resvg::{tiny_skia, usvg};

use crate::analysis::assumptions::{ASSUMPTIONS, Comparison, Swing};
use crate::io::output::human;
use crate::io::report_data::{Band, ReportData};

/// DejaVu Sans, embedded for PNG rendering (licence in `assets/fonts`).
const FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// The Okabe–Ito colour-blind-safe palette without its yellow (unreadable
/// on white) and black (kept for the baseline), ordered so neighbours
/// differ in hue, then two of Tol's muted colours for larger comparisons.
const PALETTE: [(u8, u8, u8); 8] = [
    (0, 114, 178),
    (213, 94, 0),
    (0, 158, 115),
    (204, 121, 167),
    (86, 180, 233),
    (230, 159, 0),
    (136, 34, 85),
    (153, 153, 51),
];

/// The baseline's colour in every chart: a dark grey that no policy uses.
pub const BASELINE: RGBColor = RGBColor(90, 90, 90);

/// The colour of the `i`-th policy.
pub fn colour(i: usize) -> RGBColor {
    let (r, g, b) = PALETTE[i % PALETTE.len()];
    RGBColor(r, g, b)
}

/// One chart: a file stem, a title and its SVG text.
#[derive(Debug, Clone)]
pub struct Chart {
    /// File stem, e.g. `kpi-token_cost`.
    pub name: String,
    /// Title shown above the chart.
    pub title: String,
    /// The chart as an SVG document.
    pub svg: String,
}

/// Width of every chart (px); heights follow the number of panels.
const WIDTH: u32 = 900;
/// Font sizes (px, as plotters takes them; the SVG carries size / 1.24).
const TITLE: u32 = 20;
const TEXT: u32 = 15;
const SMALL: u32 = 13;

fn err<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

fn bounds(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.05).max(1e-9 * hi.abs().max(1.0));
    (lo - pad, hi + pad)
}

fn label(x: f64) -> String {
    crate::io::output::human(x)
}

/// The drawn width (px) of `s` at plotters size `size`: DejaVu Sans
/// averages about 0.6 em per character, and the SVG's em is size / 1.24.
pub fn text_width(s: &str, size: u32) -> f64 {
    s.chars().count() as f64 * 0.62 * size as f64 / 1.24
}

/// `s` cut to fit `px` at `size`, with an ellipsis where it was cut.
pub fn fit(s: &str, size: u32, px: f64) -> String {
    if text_width(s, size) <= px {
        return s.to_string();
    }
    let keep = ((px / text_width("m", size)) as usize).saturating_sub(1);
    s.chars().take(keep).collect::<String>() + "…"
}

fn style(size: u32, h: HPos, v: VPos) -> TextStyle<'static> {
    TextStyle::from(("sans-serif", size).into_font()).pos(Pos::new(h, v))
}

type Area<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;

/// A title line, and a key line under it in small grey text; returns the
/// area left below them.
fn header<'a>(root: &Area<'a>, title: &str, key: &str) -> Result<Area<'a>, String> {
    let w = root.dim_in_pixel().0 as f64;
    let (top, body) = root.split_vertically(if key.is_empty() { 36 } else { 58 });
    top.draw(&Text::new(fit(title, TITLE, w - 16.0), (w as i32 / 2, 8), style(TITLE, HPos::Center, VPos::Top)))
        .map_err(err)?;
    if !key.is_empty() {
        top.draw(&Text::new(
            fit(key, SMALL, w - 16.0),
            (w as i32 / 2, 36),
            style(SMALL, HPos::Center, VPos::Top).color(&RGBColor(80, 80, 80)),
        ))
        .map_err(err)?;
    }
    Ok(body)
}

/// Whether a KPI is a share of a whole (drawn as a percentage).
fn is_share(kpi: &str) -> bool {
    kpi.ends_with("_share") || kpi.ends_with("_rate")
}

/// Week labels for an axis of `periods` weeks: the first, the last, and
/// multiples of about a quarter of the run between (1, 13, 26, 39, 52).
fn week_ticks(periods: i32) -> Vec<i32> {
    let step = ((periods + 3) / 4).max(1);
    let mut ticks = vec![1];
    ticks.extend((1..).map(|i| i * step).take_while(|&w| w <= periods - step / 2).filter(|&w| w > 1));
    ticks.push(periods);
    ticks.dedup();
    ticks
}

/// A KPI over time as small multiples: one panel per policy, each with the
/// baseline in grey behind it, the mean over replications as a line and a
/// light 95% band. Weeks are numbered from 1 (the axis labels the first and
/// the last week, and about three between); a dashed line marks the first
/// week under a schedule's next policy, labelled with that week.
pub fn kpi_over_time(d: &ReportData, kpi: &str, unit: &str) -> Result<Chart, String> {
    let periods = d.periods.max(2) as i32;
    let bands: Vec<Option<&[Band]>> = (0..d.policies.len()).map(|p| d.band(p, kpi)).collect();
    let (lo, hi) = bounds(bands.iter().flatten().flat_map(|v| v.iter().flat_map(|&(_, a, b)| [a, b])));
    let panels: Vec<usize> = {
        let others: Vec<usize> = (0..d.policies.len()).filter(|&p| p != d.baseline).collect();
        if others.is_empty() { vec![d.baseline] } else { others }
    };
    let cols = panels.len().clamp(1, 3);
    let rows = panels.len().div_ceil(cols);
    let title = format!("{kpi} per week ({unit})");
    let base = &d.policies[d.baseline];
    let mut key = format!("grey: {base} (baseline); colour: the panel's policy; shaded: 95% interval");
    if panels.iter().any(|&p| !d.switches[p].is_empty()) {
        key += "; dashed: the week a schedule switches";
    }
    let share = is_share(kpi);
    let fmt_y = move |y: &f64| if share { format!("{:.0}%", 100.0 * y) } else { label(*y) };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, 70 + 250 * rows as u32)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let body = header(&root, &title, &key)?;
        let areas = body.split_evenly((rows, cols));
        let pw = WIDTH as f64 / cols as f64;
        for (&p, area) in panels.iter().zip(&areas) {
            let mut c = ChartBuilder::on(area)
                .caption(fit(&d.policies[p], TEXT, pw - 20.0), ("sans-serif", TEXT))
                .margin_left(6)
                .margin_right(18)
                .margin_bottom(4)
                .x_label_area_size(40)
                .y_label_area_size(62)
                .build_cartesian_2d((1i32..periods).with_key_points(week_ticks(periods)), lo..hi)
                .map_err(err)?;
            c.configure_mesh()
                .x_desc("week")
                .x_labels(6)
                .y_labels(5)
                .label_style(("sans-serif", SMALL))
                .axis_desc_style(("sans-serif", SMALL))
                .y_label_formatter(&fmt_y)
                .light_line_style(WHITE.mix(0.0))
                .bold_line_style(BLACK.mix(0.08))
                .draw()
                .map_err(err)?;
            let mut draw = |q: usize, col: RGBColor, alpha: f64| -> Result<(), String> {
                let Some(pts) = bands[q] else { return Ok(()) };
                let week = |t: usize| t as i32 + 1;
                let band: Vec<(i32, f64)> = pts
                    .iter()
                    .enumerate()
                    .map(|(t, v)| (week(t), v.2))
                    .chain(pts.iter().enumerate().rev().map(|(t, v)| (week(t), v.1)))
                    .collect();
                c.draw_series(std::iter::once(Polygon::new(band, col.mix(alpha).filled()))).map_err(err)?;
                c.draw_series(LineSeries::new(
                    pts.iter().enumerate().map(|(t, v)| (week(t), v.0)),
                    col.stroke_width(2),
                ))
                .map_err(err)?;
                Ok(())
            };
            if p != d.baseline {
                draw(d.baseline, BASELINE, 0.10)?;
            }
            draw(p, policy_colour(d, p), 0.14)?;
            for &s in &d.switches[p] {
                let week = s as i32 + 1;
                c.draw_series(DashedLineSeries::new(vec![(week, lo), (week, hi)], 6, 4, BLACK.stroke_width(1)))
                    .map_err(err)?;
                let (x, y) = c.backend_coord(&(week, hi));
                let text = format!("switch, week {week}");
                // Left of the line when the label would run past the panel.
                let right = x as f64 + 4.0 + text_width(&text, SMALL) < area.get_pixel_range().0.end as f64 - 4.0;
                let (pos, h) = if right { (x + 4, HPos::Left) } else { (x - 4, HPos::Right) };
                root.draw(&Text::new(text, (pos, y + 3), style(SMALL, h, VPos::Top))).map_err(err)?;
            }
        }
        root.present().map_err(err)?;
    }
    Ok(Chart { name: format!("kpi-{kpi}"), title, svg })
}

/// A legend in its own column right of the data: a swatch and a name per
/// entry, names cut to fit.
fn legend(area: &Area<'_>, entries: &[(String, RGBColor)], top: i32) -> Result<(), String> {
    let w = area.dim_in_pixel().0 as f64;
    for (i, (name, col)) in entries.iter().enumerate() {
        let y = top + 22 * i as i32;
        area.draw(&Rectangle::new([(6, y - 5), (18, y + 5)], col.filled())).map_err(err)?;
        area.draw(&Text::new(fit(name, SMALL, w - 30.0), (24, y), style(SMALL, HPos::Left, VPos::Center)))
            .map_err(err)?;
    }
    Ok(())
}

/// The colour of policy `p`: the baseline's grey, else the palette in
/// order of the other policies (so eight of them get eight distinct hues).
fn policy_colour(d: &ReportData, p: usize) -> RGBColor {
    match p.cmp(&d.baseline) {
        std::cmp::Ordering::Equal => BASELINE,
        std::cmp::Ordering::Less => colour(p),
        std::cmp::Ordering::Greater => colour(p - 1),
    }
}

/// The cost–output plane: each replication of each policy as a small dot
/// (token plus incident cost against useful output) and the policy's mean
/// as a cross, the baseline's drawn last so nothing hides it. The legend
/// sits right of the data. Replications spread more than the paired
/// effects: the paired-difference chart beside it shows those.
pub fn cost_output_plane(d: &ReportData) -> Result<Chart, String> {
    let pts: Vec<Vec<(f64, f64)>> = (0..d.policies.len()).map(|p| d.cost_output(p)).collect();
    let (xlo, xhi) = bounds(pts.iter().flatten().map(|p| p.0));
    let (ylo, yhi) = bounds(pts.iter().flatten().map(|p| p.1));
    let title = "Cost against useful output, per replication".to_string();
    let key = "dot: one replication; cross: the policy's mean; ringed: the baseline";
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, 560)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let body = header(&root, &title, key)?;
        let (plot, side) = body.split_horizontally(WIDTH - 230);
        let mut c = ChartBuilder::on(&plot)
            .margin(12)
            .margin_right(24)
            .x_label_area_size(48)
            .y_label_area_size(90)
            .build_cartesian_2d(xlo..xhi, ylo..yhi)
            .map_err(err)?;
        c.configure_mesh()
            .x_desc("token cost + incident cost (USD)")
            .y_desc("useful output (USD)")
            .x_labels(5)
            .y_labels(6)
            .label_style(("sans-serif", SMALL))
            .axis_desc_style(("sans-serif", TEXT))
            .x_label_formatter(&|x| label(*x))
            .y_label_formatter(&|y| label(*y))
            .light_line_style(WHITE.mix(0.0))
            .bold_line_style(BLACK.mix(0.08))
            .draw()
            .map_err(err)?;
        // The baseline last, on top.
        let order: Vec<usize> = (0..d.policies.len()).filter(|&p| p != d.baseline).chain([d.baseline]).collect();
        for &p in &order {
            let v = &pts[p];
            let col = policy_colour(d, p);
            c.draw_series(v.iter().map(|&(x, y)| Circle::new((x, y), 3, col.mix(0.45).filled()))).map_err(err)?;
        }
        for &p in &order {
            let v = &pts[p];
            if v.is_empty() {
                continue;
            }
            let col = policy_colour(d, p);
            let n = v.len() as f64;
            let mean = (v.iter().map(|q| q.0).sum::<f64>() / n, v.iter().map(|q| q.1).sum::<f64>() / n);
            c.draw_series(std::iter::once(Cross::new(mean, 9, col.stroke_width(3)))).map_err(err)?;
            if p == d.baseline {
                c.draw_series(std::iter::once(Circle::new(mean, 13, BLACK.stroke_width(2)))).map_err(err)?;
            }
        }
        let entries: Vec<(String, RGBColor)> = (0..d.policies.len())
            .map(|p| {
                let name =
                    if p == d.baseline { format!("{} (baseline)", d.policies[p]) } else { d.policies[p].clone() };
                (name, policy_colour(d, p))
            })
            .collect();
        legend(&side, &entries, 24)?;
        root.present().map_err(err)?;
    }
    Ok(Chart { name: "cost-output".into(), title, svg })
}

/// KPIs of the paired-difference chart: (KPI, short title).
const PAIRED: [(&str, &str); 3] =
    [("token_cost", "token cost"), ("useful_output", "useful output"), ("net_value", "net value")];

/// Policy names down the left of a horizontal chart, one per row, cut to `px`.
fn row_names<X: Ranged<ValueType = f64>>(
    root: &Area<'_>,
    c: &ChartContext<'_, SVGBackend<'_>, Cartesian2d<X, RangedCoordf64>>,
    x0: f64,
    names: &[String],
    px: f64,
) -> Result<(), String> {
    // The first name at the top, as the rows are drawn.
    for (i, name) in names.iter().enumerate() {
        let (x, y) = c.backend_coord(&(x0, (names.len() - 1 - i) as f64));
        root.draw(&Text::new(fit(name, SMALL, px), (x - 8, y), style(SMALL, HPos::Right, VPos::Center)))
            .map_err(err)?;
    }
    Ok(())
}

/// Each policy's paired difference from the baseline on the main KPIs,
/// with its 95% interval (common random numbers: the same engineers and
/// shocks under every policy, so these intervals are much narrower than
/// the spread of the cost–output plane).
pub fn paired_differences(d: &ReportData) -> Result<Chart, String> {
    let base = &d.policies[d.baseline];
    let others: Vec<usize> = (0..d.policies.len()).filter(|&p| p != d.baseline).collect();
    let names: Vec<String> = others.iter().map(|&p| d.policies[p].clone()).collect();
    let title = format!("Difference from {base}, paired, with its 95% interval (USD per run)");
    let key = "right of the line: more than the baseline; a bar not crossing it: a difference at 95%";
    let n = others.len().max(1);
    let height = 110 + 34 * n as u32;
    let names_px = 190.0;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let body = header(&root, &title, key)?;
        let first = names_px as i32 + (WIDTH as i32 - names_px as i32) / 3;
        let second = names_px as i32 + 2 * (WIDTH as i32 - names_px as i32) / 3;
        let areas = body.split_by_breakpoints([first, second], [] as [i32; 0]);
        for (j, (kpi, short)) in PAIRED.iter().enumerate() {
            let diff =
                |p: usize| d.rows.iter().find(|r| r.policy == d.policies[p] && r.kpi == *kpi).and_then(|r| r.diff);
            let (lo, hi) =
                bounds(others.iter().filter_map(|&p| diff(p)).flat_map(|e| [e.ci_low, e.ci_high, e.mean]).chain([0.0]));
            let mut c = ChartBuilder::on(&areas[j])
                .caption(*short, ("sans-serif", TEXT))
                .margin_left(if j == 0 { names_px as u32 } else { 10 })
                .margin_right(20)
                .margin_top(4)
                .x_label_area_size(30)
                .y_label_area_size(0)
                .build_cartesian_2d(lo..hi, -0.5f64..(n as f64 - 0.5))
                .map_err(err)?;
            c.configure_mesh()
                .x_labels(3)
                .label_style(("sans-serif", SMALL))
                .x_label_formatter(&|x| label(*x))
                .disable_y_mesh()
                .light_line_style(WHITE.mix(0.0))
                .bold_line_style(BLACK.mix(0.08))
                .draw()
                .map_err(err)?;
            c.draw_series(std::iter::once(PathElement::new(
                vec![(0.0, -0.5), (0.0, n as f64 - 0.5)],
                BLACK.stroke_width(1),
            )))
            .map_err(err)?;
            for (i, &p) in others.iter().enumerate() {
                let Some(e) = diff(p) else { continue };
                // The first policy at the top.
                let y = (n - 1 - i) as f64;
                let col = policy_colour(d, p);
                c.draw_series(std::iter::once(PathElement::new(
                    vec![(e.ci_low, y), (e.ci_high, y)],
                    col.stroke_width(4),
                )))
                .map_err(err)?;
                c.draw_series(std::iter::once(Circle::new((e.mean, y), 5, col.filled()))).map_err(err)?;
            }
            if j == 0 {
                row_names(&root, &c, lo, &names, names_px - 16.0)?;
            }
        }
        root.present().map_err(err)?;
    }
    Ok(Chart { name: "paired-diff".into(), title, svg })
}

/// The leaderboard against reality: for one replication at the end of the
/// run, each engineer's rank on the metric against their rank by true value,
/// one panel per policy. Rank 1 is the top of each; on the diagonal the
/// board tells the truth.
pub fn ranks(d: &ReportData) -> Result<Chart, String> {
    let n = d.policies.len().max(1);
    let cols = n.min(3);
    let rows = n.div_ceil(cols);
    let title = "Leaderboard rank against true-value rank (last week, first replication)".to_string();
    let key = "rank 1 = top, at the bottom left; on the grey diagonal the leaderboard tells the truth";
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, 70 + 290 * rows as u32)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let body = header(&root, &title, key)?;
        let panels = body.split_evenly((rows, cols));
        let pw = WIDTH as f64 / cols as f64;
        for (p, area) in panels.iter().enumerate().take(d.policies.len()) {
            let Some((metric, value)) = &d.boards[p] else {
                // A policy with no metric has no board to draw.
                let (w, h) = area.dim_in_pixel();
                let text = fit(&format!("{}: no metric, no board", d.policies[p]), SMALL, pw - 20.0);
                area.draw(&Text::new(text, (w as i32 / 2, h as i32 / 2), style(SMALL, HPos::Center, VPos::Center)))
                    .map_err(err)?;
                continue;
            };
            // ranks_of ranks from the bottom (1 = lowest); the board ranks from the top.
            let m = metric.len().max(1) as f64;
            let top = |r: f64| m + 1.0 - r;
            let rm = ranks_of(metric);
            let rv = ranks_of(value);
            let mut c = ChartBuilder::on(area)
                .caption(fit(&d.policies[p], TEXT, pw - 20.0), ("sans-serif", TEXT))
                .margin_left(6)
                .margin_right(20)
                .margin_bottom(4)
                .x_label_area_size(40)
                .y_label_area_size(56)
                .build_cartesian_2d(1f64..m, 1f64..m)
                .map_err(err)?;
            c.configure_mesh()
                .x_desc("leaderboard rank (1 = top)")
                .y_desc("true-value rank (1 = top)")
                .x_labels(4)
                .y_labels(4)
                .label_style(("sans-serif", SMALL))
                .axis_desc_style(("sans-serif", SMALL))
                .x_label_formatter(&|x| format!("{x:.0}"))
                .y_label_formatter(&|y| format!("{y:.0}"))
                .light_line_style(WHITE.mix(0.0))
                .bold_line_style(BLACK.mix(0.08))
                .draw()
                .map_err(err)?;
            c.draw_series(LineSeries::new(vec![(1.0, 1.0), (m, m)], BLACK.mix(0.3))).map_err(err)?;
            let col = policy_colour(d, p);
            c.draw_series(rm.iter().zip(&rv).map(|(&x, &y)| Circle::new((top(x), top(y)), 2, col.mix(0.7).filled())))
                .map_err(err)?;
        }
        root.present().map_err(err)?;
    }
    Ok(Chart { name: "ranks".into(), title, svg })
}

fn ranks_of(xs: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; xs.len()];
    crate::analysis::stats::ranks_into(xs, &mut out);
    out
}

/// The metric's rank correlation with true value before it became a target
/// (the pre-period) and while it was one (mean over the run), per policy,
/// as horizontal bars so that names stay readable.
pub fn correlation(d: &ReportData) -> Result<Chart, String> {
    let bars = HorizontalBars {
        name: "correlation",
        title: "Metric–value rank correlation: before it was a target, and after".to_string(),
        key: "grey: before (no one rewarded); colour: after (mean over the run); 1 = the metric ranks as value does",
        names: &d.policies,
        names_px: 210.0,
        x: -1.0..1.0,
        x_desc: "Spearman rank correlation",
        x_label: &|x| format!("{x:.1}"),
    };
    let grey = RGBColor(160, 160, 160);
    bars.draw(&mut |c, p, y| {
        let Some((before, after)) = d.correlation[p] else {
            // No metric, no correlation: say so rather than draw a zero.
            let text = Text::new("no metric", (0.02, y), style(SMALL, HPos::Left, VPos::Center));
            c.draw_series(std::iter::once(text)).map_err(err)?;
            return Ok(());
        };
        c.draw_series(std::iter::once(Rectangle::new([(0.0, y + 0.02), (before, y + 0.38)], grey.filled())))
            .map_err(err)?;
        c.draw_series(std::iter::once(Rectangle::new(
            [(0.0, y - 0.38), (after, y - 0.02)],
            policy_colour(d, p).filled(),
        )))
        .map_err(err)?;
        Ok(())
    })
}

/// The drawing area of a horizontal-bar chart: x over `x`, one row per name.
type BarsArea<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// A horizontal-bar chart: one row per name (the first at the top), names
/// down the left so that they stay readable, a zero line.
struct HorizontalBars<'a> {
    name: &'a str,
    title: String,
    key: &'a str,
    names: &'a [String],
    names_px: f64,
    x: std::ops::Range<f64>,
    x_desc: &'a str,
    x_label: &'a dyn Fn(&f64) -> String,
}

impl HorizontalBars<'_> {
    /// Draws the frame, then `row(chart, i, y)` for row `i` at height `y`.
    fn draw(self, row: &mut dyn FnMut(&mut BarsArea, usize, f64) -> Result<(), String>) -> Result<Chart, String> {
        let n = self.names.len().max(1);
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (WIDTH, 120 + 40 * n as u32)).into_drawing_area();
            root.fill(&WHITE).map_err(err)?;
            let body = header(&root, &self.title, self.key)?;
            let mut c = ChartBuilder::on(&body)
                .margin_left(self.names_px as u32)
                .margin_right(24)
                .margin_top(6)
                .x_label_area_size(44)
                .y_label_area_size(0)
                .build_cartesian_2d(self.x.clone(), -0.5f64..(n as f64 - 0.5))
                .map_err(err)?;
            c.configure_mesh()
                .x_labels(5)
                .x_desc(self.x_desc)
                .label_style(("sans-serif", SMALL))
                .axis_desc_style(("sans-serif", SMALL))
                .x_label_formatter(self.x_label)
                .disable_y_mesh()
                .light_line_style(WHITE.mix(0.0))
                .bold_line_style(BLACK.mix(0.08))
                .draw()
                .map_err(err)?;
            for i in 0..self.names.len() {
                row(&mut c, i, (self.names.len() - 1 - i) as f64)?;
            }
            c.draw_series(std::iter::once(PathElement::new(
                vec![(0.0, -0.5), (0.0, n as f64 - 0.5)],
                BLACK.stroke_width(1),
            )))
            .map_err(err)?;
            row_names(&root, &c, self.x.start, self.names, self.names_px - 16.0)?;
            root.present().map_err(err)?;
        }
        Ok(Chart { name: self.name.into(), title: self.title, svg })
    }
}

/// Every chart of the report, in order: the cost–output plane and the
/// paired differences beside it, the KPIs over time, ranks, correlation.
pub fn all(d: &ReportData) -> Result<Vec<Chart>, String> {
    let mut out = vec![cost_output_plane(d)?, paired_differences(d)?];
    for (kpi, unit) in
        [("token_cost", "USD"), ("useful_output", "USD"), ("net_value", "USD"), ("gaming_share", "share of hours")]
    {
        out.push(kpi_over_time(d, kpi, unit)?);
    }
    out.push(ranks(d)?);
    out.push(correlation(d)?);
    out.extend(tornado(d)?);
    Ok(out)
}

/// Renders an SVG chart to PNG bytes with the embedded font.
pub fn to_png(svg: &str) -> Result<Vec<u8>, String> {
    let mut opt = usvg::Options::default();
    opt.fontdb_mut().load_font_data(FONT.to_vec());
    opt.fontdb_mut().set_sans_serif_family("DejaVu Sans");
    opt.font_family = "DejaVu Sans".into();
    let tree = usvg::Tree::from_str(svg, &opt).map_err(err)?;
    let size = tree.size().to_int_size();
    let mut pixmap = tiny_skia::Pixmap::new(size.width(), size.height()).ok_or("empty chart")?;
    resvg::render(&tree, tiny_skia::Transform::default(), &mut pixmap.as_mut());
    // Encoded here rather than by `Pixmap::encode_png`, whose default
    // compression took as long as the rendering: the fast setting (a deflate
    // tuned for PNG rows) takes an eighth of that, for files under twice
    // the size.
    let mut png = Vec::new();
    let mut encoder = png::Encoder::new(&mut png, size.width(), size.height());
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    let mut writer = encoder.write_header().map_err(err)?;
    writer.write_image_data(&pixmap.take_demultiplied()).map_err(err)?;
    writer.finish().map_err(err)?;
    Ok(png)
}

/// The robustness of each policy and lever point across sampled
/// organisations, as horizontal bars: mean net value as a bar, a line out
/// to the worst organisation, and a mark at the 10th percentile. `labels`
/// name each row (policy and lever values, e.g. `kirorank, prize 500`).
pub fn robustness(robustness: &[crate::analysis::sweep::RobustnessRow], labels: &[String]) -> Result<Chart, String> {
    let rows: Vec<(String, f64, f64, f64)> = robustness
        .iter()
        .zip(labels.iter().map(Some).chain(std::iter::repeat(None)))
        .map(|(r, l)| {
            let name = l.cloned().unwrap_or_else(|| format!("{}, lever point {}", r.policy, r.lever + 1));
            (name, r.net_value_mean, r.net_value_p10, r.net_value_worst)
        })
        .collect();
    let (lo, hi) = bounds(rows.iter().flat_map(|r| [r.1, r.2, r.3, 0.0]));
    let names: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
    let bars = HorizontalBars {
        name: "robustness",
        title: "Net value across sampled organisations".to_string(),
        key: "bar: mean; thick tick: 10th percentile; line end: the worst organisation",
        names: &names,
        names_px: 290.0,
        x: lo..hi,
        x_desc: "net value (USD per run)",
        x_label: &|x| label(*x),
    };
    bars.draw(&mut |c, i, y| {
        let (_, mean, p10, worst) = rows[i];
        let col = colour(i);
        c.draw_series(std::iter::once(Rectangle::new([(0.0, y - 0.3), (mean, y + 0.3)], col.mix(0.6).filled())))
            .map_err(err)?;
        c.draw_series(std::iter::once(PathElement::new(vec![(mean, y), (worst, y)], BLACK.stroke_width(2))))
            .map_err(err)?;
        c.draw_series(std::iter::once(PathElement::new(vec![(p10, y - 0.18), (p10, y + 0.18)], BLACK.stroke_width(3))))
            .map_err(err)?;
        Ok(())
    })
}

/// The tornado of one comparison against the baseline (net value of the
/// first policy the check tests, distinguishable from the baseline if one
/// is): per assumption, the paired difference predicted with it at the low
/// end (blue) and the high end (orange) of its plausible range, the others
/// at the scenario's values; widest first, at most ten. Faded bars are
/// within the samples' noise. `None` without a check.
pub fn tornado(d: &ReportData) -> Result<Option<Chart>, String> {
    let Some((size, comparisons)) = &d.assumptions else { return Ok(None) };
    let net: Vec<&Comparison> = comparisons.iter().filter(|c| c.kpi == "net_value").collect();
    let Some(c) = net.iter().find(|c| c.share_holds.is_some()).or(net.first()) else { return Ok(None) };
    let swings: Vec<&Swing> = c.swings.iter().take(10).collect();
    let names: Vec<String> = swings
        .iter()
        .map(|s| match ASSUMPTIONS.iter().find(|a| a.name == s.parameter) {
            Some(a) => format!("{} ({}–{})", a.name, human(a.low), human(a.high)),
            None => s.parameter.clone(),
        })
        .collect();
    let mid = c.at_scenario.mean;
    let (lo, hi) = bounds(swings.iter().flat_map(|s| [s.at_low, s.at_high]).chain([0.0, mid]));
    let base = &d.policies[d.baseline];
    let holds = c
        .share_holds
        .map_or(String::new(), |h| format!("; the sign holds in {} of them", crate::io::assumptions::percent(h)));
    let key = format!(
        "blue: assumption at the low end of its range, orange: at the high end; black: this scenario; \
         {} organisations{holds}; faded: within noise",
        size.samples
    );
    let bars = HorizontalBars {
        name: "tornado",
        title: format!("What moves {}'s net value against {base}", c.policy),
        key: &key,
        names: &names,
        names_px: 300.0,
        x: lo..hi,
        x_desc: "net value, policy − baseline (USD per run)",
        x_label: &|x| label(*x),
    };
    let chart = bars.draw(&mut |ch, i, y| {
        let s = swings[i];
        let alpha = if s.distinguishable { 0.85 } else { 0.3 };
        for (end, col) in [(s.at_low, colour(0)), (s.at_high, colour(1))] {
            ch.draw_series(std::iter::once(Rectangle::new(
                [(mid, y - 0.32), (end, y + 0.32)],
                col.mix(alpha).filled(),
            )))
            .map_err(err)?;
        }
        ch.draw_series(std::iter::once(PathElement::new(
            vec![(mid, y - 0.45), (mid, y + 0.45)],
            BLACK.stroke_width(2),
        )))
        .map_err(err)?;
        Ok(())
    })?;
    Ok(Some(chart))
}

#[cfg(test)]
mod tests {
    use super::week_ticks;

    #[test]
    fn week_axes_label_the_first_and_last_week() {
        assert_eq!(week_ticks(52), [1, 13, 26, 39, 52]);
        assert_eq!(week_ticks(20), [1, 5, 10, 15, 20]);
        assert_eq!(week_ticks(6), [1, 2, 4, 6]);
        assert_eq!(week_ticks(2), [1, 2]);
    }
}
