//! The HTML report in a real browser: headless Chromium, driven through
//! chromedriver's W3C WebDriver HTTP API with a minimal std-only client,
//! loads `report.html` and must lay out every chart, render a screenshot and
//! log no error to the console.
//!
//! Skipped (one line on stderr) when `chromium` or `chromedriver` is not on
//! PATH, or when `goodhart run` writes no `report.html`, unless
//! `GOODHART_REQUIRE_BROWSER=1`, which makes either a failure (CI installs
//! the browser with `.ci/install-browser`). The report and its screenshot
//! stay in `target/tmp/browser-report/` for a look.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use serde_json::{Value, json};

use crate::webdriver::{Driver, ONE_BROWSER, base64_decode, browser_required, file_url, find_on_path};

/// The smallest screenshot accepted: a blank page is about 11 KB, one with charts far larger.
const MIN_PNG_BYTES: usize = 16 * 1024;

/// The page's state, read by script in the browser.
const PAGE_SCRIPT: &str = "return {
  title: document.title,
  readyState: document.readyState,
  charts: Array.from(document.querySelectorAll('svg.chart')).map(function (e) {
    var r = e.getBoundingClientRect();
    return { width: r.width, height: r.height };
  }),
  external: Array.from(document.querySelectorAll('[src], link[href], image[href], use[href]'))
    .map(function (e) { return e.getAttribute('src') || e.getAttribute('href'); })
    .filter(function (u) { return !/^(data:|#)/.test(u); })
};";

/// What the browser saw of a page.
#[derive(Debug)]
pub struct PageCheck {
    /// `document.title`.
    pub title: String,
    /// The width and height of each `svg.chart`, in CSS pixels.
    pub charts: Vec<(f64, f64)>,
    /// The screenshot's PNG file and its size in bytes.
    pub screenshot: (PathBuf, usize),
    /// The number of browser console entries read; `None` when chromedriver
    /// has no log endpoint, so the console was not checked.
    pub console_entries: Option<usize>,
}

/// Opens `html` in headless `chromium` driven by `chromedriver`, writes a
/// screenshot to `png`, and checks that the page loaded completely, refers
/// to no other file (scripts, styles, images; `data:` URLs are fine), has at
/// least `min_charts` `svg.chart` elements all laid out with a non-zero size,
/// rendered a real PNG, and logged no `SEVERE` console entry. Panics on any failure. The browser and
/// chromedriver are ended before it returns, panic or not.
pub fn check_page_in_browser(
    chromium: &Path,
    chromedriver: &Path,
    html: &Path,
    png: &Path,
    min_charts: usize,
) -> PageCheck {
    let html = html.canonicalize().unwrap_or_else(|e| panic!("{}: {e}", html.display()));
    let work = png.parent().unwrap_or(Path::new(".")).join("browser-work");
    let mut driver = Driver::start(chromedriver, &work);
    driver.new_session(chromium);

    driver.cmd("POST", "url", json!({ "url": file_url(&html) }));
    let page = driver.cmd("POST", "execute/sync", json!({ "script": PAGE_SCRIPT, "args": [] }));
    let title = page["title"].as_str().unwrap_or_default().to_string();
    assert_eq!(page["readyState"], "complete", "{} did not finish loading: {page}", html.display());
    let external: Vec<&str> = page["external"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    assert!(external.is_empty(), "{} is not self-contained: it refers to {external:?}", html.display());
    let charts: Vec<(f64, f64)> = page["charts"]
        .as_array()
        .unwrap_or_else(|| panic!("no chart list from the page: {page}"))
        .iter()
        .map(|c| (c["width"].as_f64().unwrap_or(0.0), c["height"].as_f64().unwrap_or(0.0)))
        .collect();
    assert!(
        charts.len() >= min_charts,
        "{}: {} svg.chart elements, expected at least {min_charts}",
        html.display(),
        charts.len()
    );
    for (i, &(w, h)) in charts.iter().enumerate() {
        assert!(w > 0.0 && h > 0.0, "{}: svg.chart #{i} is laid out {w}x{h}", html.display());
    }

    let shot = driver.cmd("GET", "screenshot", Value::Null);
    let b64 = shot.as_str().unwrap_or_else(|| panic!("screenshot is not a string: {shot}"));
    let bytes = base64_decode(b64).unwrap_or_else(|e| panic!("screenshot is not base64: {e}"));
    std::fs::write(png, &bytes).unwrap_or_else(|e| panic!("{}: {e}", png.display()));
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "the screenshot is not a PNG: {:?}", &bytes[..bytes.len().min(8)]);
    assert!(bytes.len() >= MIN_PNG_BYTES, "the screenshot is only {} bytes: {}", bytes.len(), png.display());

    let console_entries = match driver.try_cmd("POST", "se/log", json!({ "type": "browser" })) {
        Ok(log) => {
            let entries = log.as_array().cloned().unwrap_or_default();
            let severe: Vec<&Value> = entries.iter().filter(|e| e["level"] == "SEVERE").collect();
            assert!(severe.is_empty(), "{} logged errors to the browser console: {severe:#?}", html.display());
            Some(entries.len())
        }
        Err(e) => {
            eprintln!("browser test: console not checked: chromedriver has no log endpoint ({e})");
            None
        }
    };
    drop(driver);
    PageCheck { title, charts, screenshot: (png.to_path_buf(), bytes.len()), console_entries }
}

/// Runs the built `goodhart` on the kirorank example into a fresh directory
/// and returns the directory, in which `report.html` should be.
fn make_report() -> PathBuf {
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-report");
    let _ = std::fs::remove_dir_all(&out);
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/scenarios/kirorank.toml");
    let o = Command::new(env!("CARGO_BIN_EXE_goodhart"))
        .arg("run")
        .arg(&scenario)
        .args(["--replications", "2", "--periods", "8", "--engineers", "60", "--quiet", "--out"])
        .arg(&out)
        .output()
        .unwrap_or_else(|e| panic!("cannot run goodhart: {e}"));
    assert!(o.status.success(), "goodhart run failed: {}", String::from_utf8_lossy(&o.stderr));
    out
}

#[test]
fn report_renders_in_a_browser() {
    let _one = ONE_BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    let started = Instant::now();
    let (Some(chromium), Some(chromedriver)) = (find_on_path("chromium"), find_on_path("chromedriver")) else {
        if browser_required() {
            panic!("GOODHART_REQUIRE_BROWSER=1 but chromium or chromedriver is not on PATH (run .ci/install-browser)");
        }
        eprintln!(
            "browser test skipped: chromium/chromedriver not installed; set GOODHART_REQUIRE_BROWSER=1 to require it"
        );
        return;
    };
    let out = make_report();
    let html = out.join("report.html");
    if !html.is_file() {
        if browser_required() {
            panic!("GOODHART_REQUIRE_BROWSER=1 but goodhart run wrote no {}", html.display());
        }
        eprintln!("browser test skipped: goodhart run wrote no {}", html.display());
        return;
    }
    let page = check_page_in_browser(&chromium, &chromedriver, &html, &out.join("report.png"), 3);
    let console = page.console_entries.map_or("not checked".to_string(), |n| format!("{n} entries, none SEVERE"));
    eprintln!(
        "browser test: {:?} with {} charts ({:?}), screenshot {} ({} bytes), console {console}, {:.1} s",
        page.title,
        page.charts.len(),
        page.charts,
        page.screenshot.0.display(),
        page.screenshot.1,
        started.elapsed().as_secs_f64()
    );
}

/// The layout at 1280 px, read by script: whether the page or a table
/// scrolls sideways, every table cell whose number wrapped (its first
/// line of text laid out on more than one line) or overflows its cell, and
/// chart text drawn too small to read (an SVG scaled down into a narrow
/// column: its glyph boxes under 10 px, a font under about 8.5 px).
const LAYOUT_SCRIPT: &str = "var doc = document.documentElement;
var wrapped = [], overflowing = [], tables = [], tiny = [];
document.querySelectorAll('svg text').forEach(function (t) {
  var h = t.getBoundingClientRect().height;
  if (t.textContent.trim() !== '' && h > 0 && h < 10) { tiny.push(t.textContent + ' (' + h.toFixed(1) + ' px)'); }
});
document.querySelectorAll('td, th').forEach(function (c) {
  var t = c.firstChild;
  if (t && t.nodeType === 3 && t.textContent.trim() !== '') {
    var r = document.createRange(); r.selectNodeContents(t);
    var lines = {}; Array.from(r.getClientRects()).forEach(function (q) { lines[Math.round(q.top)] = 1; });
    if (Object.keys(lines).length > 1 && /[0-9]/.test(t.textContent)) { wrapped.push(t.textContent); }
  }
  if (c.scrollWidth > c.clientWidth + 1 && !c.classList.contains('policy')) { overflowing.push(c.textContent); }
});
document.querySelectorAll('table').forEach(function (t) {
  var box = t.parentElement;
  tables.push({ table: t.getBoundingClientRect().width, room: box.clientWidth });
});
return { page: [doc.scrollWidth, doc.clientWidth], wrapped: wrapped, overflowing: overflowing, tables: tables,
  tiny: tiny.slice(0, 5), height: doc.scrollHeight };";

/// Loads `html` at 1280 px, saves a screenshot of the whole page to `png`
/// (for checking by eye), and fails on a horizontal scroll, a table wider
/// than its column, a wrapped number or chart text too small to read.
fn check_layout(chromium: &Path, chromedriver: &Path, html: &Path, png: &Path) {
    let html = html.canonicalize().unwrap_or_else(|e| panic!("{}: {e}", html.display()));
    let work = png.parent().unwrap_or(Path::new(".")).join("browser-work");
    let mut driver = Driver::start(chromedriver, &work);
    driver.new_session(chromium);
    driver.cmd("POST", "url", json!({ "url": file_url(&html) }));
    let l = driver.cmd("POST", "execute/sync", json!({ "script": LAYOUT_SCRIPT, "args": [] }));
    // The window grows to the page's height so one screenshot shows it all.
    let tall = l["height"].as_f64().unwrap_or(2000.0).clamp(2000.0, 16000.0);
    driver.cmd("POST", "window/rect", json!({ "width": 1280, "height": tall as u64 }));
    let shot = driver.cmd("GET", "screenshot", Value::Null);
    let bytes = base64_decode(shot.as_str().unwrap_or_default()).unwrap_or_default();
    std::fs::write(png, &bytes).unwrap_or_else(|e| panic!("{}: {e}", png.display()));
    drop(driver);
    let name = html.display();
    let (sw, cw) = (l["page"][0].as_f64().unwrap_or(0.0), l["page"][1].as_f64().unwrap_or(0.0));
    assert!(cw >= 1200.0 && sw <= cw, "{name}: the page scrolls sideways at 1280 px ({sw} > {cw})");
    for t in l["tables"].as_array().into_iter().flatten() {
        let (w, room) = (t["table"].as_f64().unwrap_or(0.0), t["room"].as_f64().unwrap_or(0.0));
        assert!(w <= room + 1.0, "{name}: a table is {w} px wide in {room} px");
    }
    assert_eq!(l["wrapped"], json!([]), "{name}: numbers wrapped");
    assert_eq!(l["overflowing"], json!([]), "{name}: cells overflow");
    assert_eq!(l["tiny"], json!([]), "{name}: chart text too small to read at 1280 px");
}

/// Runs the built `goodhart` with `args` (the output directory appended).
fn goodhart_into(args: &[&str], out: &Path) {
    let _ = std::fs::remove_dir_all(out);
    let o = Command::new(env!("CARGO_BIN_EXE_goodhart"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .args(["--quiet", "--out"])
        .arg(out)
        .output()
        .unwrap_or_else(|e| panic!("cannot run goodhart: {e}"));
    assert!(o.status.success(), "goodhart {args:?} failed: {}", String::from_utf8_lossy(&o.stderr));
}

/// Screenshots of the story's, a variant preset's and a sweep's report at
/// 1280 px in `target/tmp/browser-report/*-1280.png`; none scrolls
/// sideways or wraps a number.
#[test]
fn reports_fit_1280_px_without_wrapping_numbers() {
    let _one = ONE_BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    let (Some(chromium), Some(chromedriver)) = (find_on_path("chromium"), find_on_path("chromedriver")) else {
        if browser_required() {
            panic!("GOODHART_REQUIRE_BROWSER=1 but chromium or chromedriver is not on PATH (run .ci/install-browser)");
        }
        eprintln!("browser layout test skipped: chromium/chromedriver not installed");
        return;
    };
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-report");
    std::fs::create_dir_all(&dir).unwrap();
    let small = ["--replications", "2", "--periods", "8", "--engineers", "40"];
    let cases: [(&str, Vec<&str>); 3] = [
        ("story", [&["run", "story"][..], &small].concat()),
        ("adversarial", [&["run", "adversarial"][..], &small].concat()),
        ("sweep", vec!["sweep", "examples/scenarios/sweep-small.toml", "--replications", "1"]),
    ];
    for (name, args) in cases {
        let out = dir.join(name);
        goodhart_into(&args, &out);
        check_layout(&chromium, &chromedriver, &out.join("report.html"), &dir.join(format!("{name}-1280.png")));
    }
}
