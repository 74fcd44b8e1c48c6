//! Charts: each as SVG (drawn with plotters) and PNG (the SVG rendered with
//! resvg and a font embedded in the binary, so text renders on a bare
//! machine). Colours are the Okabe–Ito palette, distinguishable by
//! colour-blind readers.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use resvg::{tiny_skia, usvg};

use crate::io::report_data::{Band, ReportData};

/// DejaVu Sans, embedded for PNG rendering (licence in `assets/fonts`).
const FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// The Okabe–Ito colour-blind-safe palette (black last), then two of
/// Tol's muted colours for larger comparisons.
const PALETTE: [(u8, u8, u8); 10] = [
    (0, 114, 178),
    (213, 94, 0),
    (0, 158, 115),
    (204, 121, 167),
    (230, 159, 0),
    (86, 180, 233),
    (240, 228, 66),
    (0, 0, 0),
    (136, 34, 85),
    (153, 153, 51),
];

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

const SIZE: (u32, u32) = (900, 520);

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

/// A KPI over time: per policy the mean over replications and a 95%
/// confidence band, with dashed markers where a schedule switches policy.
pub fn kpi_over_time(d: &ReportData, kpi: &str, unit: &str) -> Result<Chart, String> {
    let periods = d.periods;
    // Per policy: (mean, CI low, CI high) per period.
    let mut lines: Vec<(usize, Vec<Band>)> = Vec::new();
    for (p, _) in d.policies.iter().enumerate() {
        let Some(band) = d.band(p, kpi) else { continue };
        lines.push((p, band.to_vec()));
    }
    let (lo, hi) = bounds(lines.iter().flat_map(|(_, v)| v.iter().flat_map(|&(_, a, b)| [a, b])));
    let title = format!("{kpi} per period ({unit})");
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut c = ChartBuilder::on(&root)
            .caption(&title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(80)
            .build_cartesian_2d(0f64..(periods.max(2) - 1) as f64, lo..hi)
            .map_err(err)?;
        c.configure_mesh()
            .x_desc("period (week)")
            .y_desc(unit)
            .y_label_formatter(&|y| label(*y))
            .light_line_style(WHITE.mix(0.0))
            .draw()
            .map_err(err)?;
        for (p, pts) in &lines {
            let col = colour(*p);
            let band: Vec<(f64, f64)> = pts
                .iter()
                .enumerate()
                .map(|(t, v)| (t as f64, v.2))
                .chain(pts.iter().enumerate().rev().map(|(t, v)| (t as f64, v.1)))
                .collect();
            c.draw_series(std::iter::once(Polygon::new(band, col.mix(0.18).filled()))).map_err(err)?;
            c.draw_series(LineSeries::new(pts.iter().enumerate().map(|(t, v)| (t as f64, v.0)), col.stroke_width(2)))
                .map_err(err)?
                .label(d.policies[*p].clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], col.stroke_width(3)));
            for &s in &d.switches[*p] {
                let x = s as f64;
                c.draw_series(DashedLineSeries::new(vec![(x, lo), (x, hi)], 6, 4, col.stroke_width(1))).map_err(err)?;
            }
        }
        c.configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .position(SeriesLabelPosition::UpperLeft)
            .draw()
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(Chart { name: format!("kpi-{kpi}"), title, svg })
}

/// The cost–output plane: each replication of each policy as a dot (token
/// plus incident cost against useful output), the policy's mean as a large
/// marker, the baseline ringed in black.
pub fn cost_output_plane(d: &ReportData) -> Result<Chart, String> {
    let pts: Vec<Vec<(f64, f64)>> = (0..d.policies.len()).map(|p| d.cost_output(p)).collect();
    let (xlo, xhi) = bounds(pts.iter().flatten().map(|p| p.0));
    let (ylo, yhi) = bounds(pts.iter().flatten().map(|p| p.1));
    let title = "Cost against useful output, per replication".to_string();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut c = ChartBuilder::on(&root)
            .caption(&title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(80)
            .build_cartesian_2d(xlo..xhi, ylo..yhi)
            .map_err(err)?;
        c.configure_mesh()
            .x_desc("token cost + incident cost (USD)")
            .y_desc("useful output (USD)")
            .x_label_formatter(&|x| label(*x))
            .y_label_formatter(&|y| label(*y))
            .light_line_style(WHITE.mix(0.0))
            .draw()
            .map_err(err)?;
        for (p, v) in pts.iter().enumerate() {
            let col = colour(p);
            c.draw_series(v.iter().map(|&(x, y)| Circle::new((x, y), 3, col.mix(0.55).filled())))
                .map_err(err)?
                .label(d.policies[p].clone())
                .legend(move |(x, y)| Circle::new((x + 8, y), 5, col.filled()));
            let n = v.len().max(1) as f64;
            let mean = (v.iter().map(|q| q.0).sum::<f64>() / n, v.iter().map(|q| q.1).sum::<f64>() / n);
            c.draw_series(std::iter::once(Cross::new(mean, 9, col.stroke_width(3)))).map_err(err)?;
            if p == d.baseline {
                c.draw_series(std::iter::once(Circle::new(mean, 12, BLACK.stroke_width(2)))).map_err(err)?;
            }
        }
        c.configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .position(SeriesLabelPosition::LowerRight)
            .draw()
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(Chart { name: "cost-output".into(), title, svg })
}

/// The leaderboard against reality: for one replication at the end of the
/// run, each engineer's rank on the metric against their rank by true value,
/// one panel per policy. On the diagonal the board tells the truth.
pub fn ranks(d: &ReportData) -> Result<Chart, String> {
    let n = d.policies.len().max(1);
    let cols = n.min(3);
    let rows = n.div_ceil(cols);
    let title = "Leaderboard rank against true-value rank (last period, first replication)".to_string();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (SIZE.0, 60 + 300 * rows as u32)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let (top, body) = root.split_vertically(40);
        top.draw(&Text::new(
            title.clone(),
            (SIZE.0 as i32 / 2, 12),
            TextStyle::from(("sans-serif", 20).into_font()).pos(Pos::new(HPos::Center, VPos::Top)),
        ))
        .map_err(err)?;
        let panels = body.split_evenly((rows, cols));
        for (p, area) in panels.iter().enumerate().take(d.policies.len()) {
            let Some((metric, value)) = &d.boards[p] else { continue };
            let rm = ranks_of(metric);
            let rv = ranks_of(value);
            let m = metric.len().max(1) as f64;
            let mut c = ChartBuilder::on(area)
                .caption(&d.policies[p], ("sans-serif", 15))
                .margin(8)
                .x_label_area_size(30)
                .y_label_area_size(40)
                .build_cartesian_2d(0f64..m, 0f64..m)
                .map_err(err)?;
            c.configure_mesh()
                .x_desc("metric rank")
                .y_desc("value rank")
                .x_labels(3)
                .y_labels(3)
                .light_line_style(WHITE.mix(0.0))
                .draw()
                .map_err(err)?;
            c.draw_series(LineSeries::new(vec![(0.0, 0.0), (m, m)], BLACK.mix(0.3))).map_err(err)?;
            let col = colour(p);
            c.draw_series(rm.iter().zip(&rv).map(|(&x, &y)| Circle::new((x, y), 2, col.mix(0.7).filled())))
                .map_err(err)?;
        }
        root.present().map_err(err)?;
    }
    Ok(Chart { name: "ranks".into(), title, svg })
}

/// The label of a category axis at `x`: the name whose index `x` is, else nothing.
fn category(names: &[String], x: f64) -> String {
    let i = x.round();
    if (x - i).abs() < 1e-6 && i >= 0.0 { names.get(i as usize).cloned().unwrap_or_default() } else { String::new() }
}

fn ranks_of(xs: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; xs.len()];
    crate::analysis::stats::ranks_into(xs, &mut out);
    out
}

/// The metric's rank correlation with true value before it became a target
/// (the pre-period) and while it was one (mean over the run), per policy.
pub fn correlation(d: &ReportData) -> Result<Chart, String> {
    let title = "Metric–value rank correlation: before it was a target, and after".to_string();
    let n = d.policies.len();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut c = ChartBuilder::on(&root)
            .caption(&title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), -1f64..1f64)
            .map_err(err)?;
        let names = d.policies.clone();
        c.configure_mesh()
            .x_labels(n.max(1))
            .x_label_formatter(&|x| category(&names, *x))
            .x_label_style(("sans-serif", 11))
            .y_desc("Spearman rank correlation")
            .light_line_style(WHITE.mix(0.0))
            .draw()
            .map_err(err)?;
        let grey = RGBColor(153, 153, 153);
        c.draw_series(
            (0..n).map(|p| {
                Rectangle::new([(p as f64 - 0.38, 0.0), (p as f64 - 0.02, d.correlation[p].0)], grey.filled())
            }),
        )
        .map_err(err)?
        .label("before (no one rewarded)")
        .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], grey.filled()));
        c.draw_series((0..n).map(|p| {
            Rectangle::new([(p as f64 + 0.02, 0.0), (p as f64 + 0.38, d.correlation[p].1)], colour(p).filled())
        }))
        .map_err(err)?
        .label("after (mean over the run)")
        .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], colour(0).filled()));
        c.configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .position(SeriesLabelPosition::LowerLeft)
            .draw()
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(Chart { name: "correlation".into(), title, svg })
}

/// Every chart of the report, in order.
pub fn all(d: &ReportData) -> Result<Vec<Chart>, String> {
    let mut out = vec![cost_output_plane(d)?];
    for (kpi, unit) in
        [("token_cost", "USD"), ("useful_output", "USD"), ("net_value", "USD"), ("gaming_share", "share of hours")]
    {
        out.push(kpi_over_time(d, kpi, unit)?);
    }
    out.push(ranks(d)?);
    out.push(correlation(d)?);
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
/// organisations: mean net value as a bar, a line down to the worst
/// organisation, and a mark at the 10th percentile.
pub fn robustness(robustness: &[crate::analysis::sweep::RobustnessRow]) -> Result<Chart, String> {
    let rows: Vec<(String, f64, f64, f64)> = robustness
        .iter()
        .map(|r| (format!("{} #{}", r.policy, r.lever), r.net_value_mean, r.net_value_p10, r.net_value_worst))
        .collect();
    let n = rows.len().max(1);
    let (lo, hi) = bounds(rows.iter().flat_map(|r| [r.1, r.2, r.3, 0.0]));
    let title =
        "Net value across sampled organisations: mean (bar), 10th percentile (dash), worst (line end)".to_string();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut c = ChartBuilder::on(&root)
            .caption(&title, ("sans-serif", 16))
            .margin(12)
            .x_label_area_size(60)
            .y_label_area_size(80)
            .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), lo..hi)
            .map_err(err)?;
        let names: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
        c.configure_mesh()
            .x_labels(n)
            .x_label_formatter(&|x| category(&names, *x))
            .x_label_style(("sans-serif", 10))
            .x_desc("policy #lever point")
            .y_desc("net value (USD)")
            .y_label_formatter(&|y| label(*y))
            .light_line_style(WHITE.mix(0.0))
            .draw()
            .map_err(err)?;
        for (i, (_, mean, p10, worst)) in rows.iter().enumerate() {
            let x = i as f64;
            let col = colour(i);
            c.draw_series(std::iter::once(Rectangle::new([(x - 0.3, 0.0), (x + 0.3, *mean)], col.mix(0.6).filled())))
                .map_err(err)?;
            c.draw_series(std::iter::once(PathElement::new(vec![(x, *mean), (x, *worst)], BLACK.stroke_width(2))))
                .map_err(err)?;
            c.draw_series(std::iter::once(PathElement::new(
                vec![(x - 0.15, *p10), (x + 0.15, *p10)],
                BLACK.stroke_width(3),
            )))
            .map_err(err)?;
        }
        root.present().map_err(err)?;
    }
    Ok(Chart { name: "robustness".into(), title, svg })
}
