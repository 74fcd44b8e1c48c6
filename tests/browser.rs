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

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// Chromium's flags: headless, as root, with the network closed.
const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--window-size=1280,2000",
];

/// How long chromedriver may take to answer `/status` with `ready`.
const STARTUP: Duration = Duration::from_secs(20);

/// How long one WebDriver command may take.
const COMMAND: Duration = Duration::from_secs(20);

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

/// One browser at a time: two headless Chromiums on a loaded 2-core
/// machine lose their renderers.
static ONE_BROWSER: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Whether `GOODHART_REQUIRE_BROWSER=1`: a missing browser or report then fails the test.
fn browser_required() -> bool {
    std::env::var("GOODHART_REQUIRE_BROWSER").is_ok_and(|v| v == "1")
}

/// The executable `name` on PATH.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(name)).find(|p| is_executable(p))
}

#[cfg(unix)]
fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(p: &Path) -> bool {
    p.is_file()
}

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

/// A running chromedriver and, once made, its session. Dropping it deletes
/// the session (which ends Chromium), kills chromedriver, and ends any
/// Chromium left on its profile directory.
struct Driver {
    child: Child,
    port: u16,
    session: Option<String>,
    work: PathBuf,
    profile: PathBuf,
}

impl Driver {
    /// Starts chromedriver on a free port, logging into `work`, and waits until it is ready.
    fn start(chromedriver: &Path, work: &Path) -> Driver {
        let _ = std::fs::remove_dir_all(work);
        std::fs::create_dir_all(work).unwrap_or_else(|e| panic!("{}: {e}", work.display()));
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr())
            .unwrap_or_else(|e| panic!("no free port: {e}"))
            .port();
        let child = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", work.join("chromedriver.log").display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", chromedriver.display()));
        let mut driver = Driver { child, port, session: None, work: work.to_path_buf(), profile: work.join("profile") };
        let deadline = Instant::now() + STARTUP;
        loop {
            if let Ok(Some(status)) = driver.child.try_wait() {
                panic!("chromedriver exited at start with {status}{}", driver.log_tail());
            }
            match http(port, "GET", "/status", None, Duration::from_secs(2)) {
                Ok((200, v)) if v["value"]["ready"] == true => return driver,
                _ if Instant::now() > deadline => {
                    panic!("chromedriver not ready after {} s{}", STARTUP.as_secs(), driver.log_tail())
                }
                _ => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    /// Creates a session in a fresh Chromium profile.
    fn new_session(&mut self, chromium: &Path) {
        let _ = std::fs::remove_dir_all(&self.profile);
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|s| s.to_string()).collect();
        args.push(format!("--user-data-dir={}", self.profile.display()));
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "goog:chromeOptions": { "binary": chromium, "args": args },
            "goog:loggingPrefs": { "browser": "ALL" },
            "timeouts": { "pageLoad": 15000, "script": 10000 },
        } } });
        let v = self.request("POST", "/session", Some(&caps)).unwrap_or_else(|e| panic!("new session: {e}"));
        let id = v["sessionId"].as_str().unwrap_or_else(|| panic!("new session: no sessionId in {v}"));
        self.session = Some(id.to_string());
    }

    /// Sends a command of the session (`path` relative to `/session/{id}/`)
    /// and returns its `value`, or panics with chromedriver's error.
    fn cmd(&self, method: &str, path: &str, body: Value) -> Value {
        self.try_cmd(method, path, body).unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    fn try_cmd(&self, method: &str, path: &str, body: Value) -> Result<Value, String> {
        let id = self.session.as_deref().expect("no session");
        let body = if body.is_null() { None } else { Some(&body) };
        self.request(method, &format!("/session/{id}/{path}"), body)
    }

    /// Sends a request and returns the response's `value`, or an error
    /// message (with the end of chromedriver's log) for a non-200 answer.
    fn request(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value, String> {
        match http(self.port, method, path, body, COMMAND) {
            Ok((200, mut v)) => Ok(v["value"].take()),
            Ok((status, v)) => Err(format!("HTTP {status}: {v}{}", self.log_tail())),
            Err(e) => Err(format!("{e}{}", self.log_tail())),
        }
    }

    /// The last lines of chromedriver's log, to explain a failure.
    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.work.join("chromedriver.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        let tail = lines[lines.len().saturating_sub(15)..].join("\n");
        if tail.is_empty() { String::new() } else { format!("\nchromedriver log ends:\n{tail}") }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if let Some(id) = self.session.take() {
            let _ = http(self.port, "DELETE", &format!("/session/{id}"), None, Duration::from_secs(5));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        kill_processes_with_arg(&format!("--user-data-dir={}", self.profile.display()));
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// Kills, by pid, every process that has `arg` among its arguments: a
/// Chromium that outlived its session (Linux; elsewhere nothing).
fn kill_processes_with_arg(arg: &str) {
    let Ok(procs) = std::fs::read_dir("/proc") else { return };
    let me = std::process::id().to_string();
    for p in procs.flatten() {
        let pid = p.file_name().to_string_lossy().into_owned();
        if pid == me || !pid.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(cmdline) = std::fs::read(p.path().join("cmdline")) else { continue };
        if cmdline.split(|&b| b == 0).any(|a| a == arg.as_bytes()) {
            let _ = Command::new("kill").args(["-KILL", &pid]).stderr(Stdio::null()).status();
        }
    }
}

/// One HTTP/1.1 request to 127.0.0.1:`port`; returns the status code and the JSON body (`null` when empty).
fn http(port: u16, method: &str, path: &str, body: Option<&Value>, timeout: Duration) -> io::Result<(u16, Value)> {
    http_once(port, method, path, body, timeout).map_err(|e| match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
            io::Error::new(io::ErrorKind::TimedOut, format!("no answer within {} s", timeout.as_secs()))
        }
        _ => e,
    })
}

fn http_once(port: u16, method: &str, path: &str, body: Option<&Value>, timeout: Duration) -> io::Result<(u16, Value)> {
    let mut s = TcpStream::connect_timeout(&SocketAddr::from((Ipv4Addr::LOCALHOST, port)), Duration::from_secs(2))?;
    s.set_read_timeout(Some(timeout))?;
    s.set_write_timeout(Some(timeout))?;
    let body = body.map(Value::to_string).unwrap_or_default();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: application/json\r\nConnection: close\r\n\
         Content-Length: {}\r\n",
        body.len()
    );
    if !body.is_empty() {
        req.push_str("Content-Type: application/json; charset=utf-8\r\n");
    }
    req.push_str("\r\n");
    req.push_str(&body);
    s.write_all(req.as_bytes())?;

    let bad = |what: String| io::Error::new(io::ErrorKind::InvalidData, what);
    let mut buf = Vec::new();
    let mut chunk = [0u8; 64 * 1024];
    let mut eof = false;
    let mut read_more = |buf: &mut Vec<u8>, eof: &mut bool| -> io::Result<()> {
        let n = s.read(&mut chunk)?;
        *eof = n == 0;
        buf.extend_from_slice(&chunk[..n]);
        Ok(())
    };
    let head_len = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        read_more(&mut buf, &mut eof)?;
        if eof {
            return Err(bad(format!("{method} {path}: connection closed before the response headers")));
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_len]).into_owned();
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad(format!("{method} {path}: bad status line in {head:?}")))?;
    let header = |name: &str| {
        head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_ascii_lowercase())
        })
    };
    let content_length = header("content-length").and_then(|v| v.parse::<usize>().ok());
    let chunked = header("transfer-encoding").is_some_and(|v| v.contains("chunked"));
    let body = loop {
        let rest = &buf[head_len..];
        if let Some(n) = content_length {
            if rest.len() >= n {
                break rest[..n].to_vec();
            }
        } else if chunked {
            if let Some(b) = dechunk(rest) {
                break b;
            }
        } else if eof {
            break rest.to_vec();
        }
        if eof {
            return Err(bad(format!("{method} {path}: connection closed mid-body")));
        }
        read_more(&mut buf, &mut eof)?;
    };
    let v = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Null
    } else {
        serde_json::from_slice(&body).map_err(|e| bad(format!("{method} {path}: body is not JSON: {e}")))?
    };
    Ok((status, v))
}

/// The body of a complete chunked transfer encoding, or `None` while incomplete.
fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&data[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        if data.len() < size + 2 {
            return None;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

/// A `file://` URL for an absolute path, percent-encoding all but unreserved bytes and `/`.
fn file_url(path: &Path) -> String {
    let mut url = String::from("file://");
    for &b in path.to_string_lossy().as_bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            url.push(b as char);
        } else {
            url.push_str(&format!("%{b:02X}"));
        }
    }
    url
}

/// Decodes standard base64 (padding optional, whitespace ignored).
fn base64_decode(text: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for (i, c) in text.bytes().enumerate() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            c if c.is_ascii_whitespace() => continue,
            c => return Err(format!("byte {c:#04x} at {i}")),
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Ok(out)
}

#[test]
fn base64_decodes_the_rfc_4648_vectors() {
    for (enc, dec) in
        [("", ""), ("Zg==", "f"), ("Zm8=", "fo"), ("Zm9v", "foo"), ("Zm9vYg==", "foob"), ("Zm9vYmE=", "fooba")]
    {
        assert_eq!(base64_decode(enc).unwrap(), dec.as_bytes(), "{enc}");
    }
    assert_eq!(base64_decode("Zm9v\nYmFy").unwrap(), b"foobar");
    assert!(base64_decode("Zm9v*").is_err());
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
