//! `goodhart serve`: its HTTP API without a browser (the command line's
//! messages, the command line's numbers, escaping), and its pages in
//! headless Chromium (Explore; the Workshop game with a facilitator and
//! three participants). Browser tests follow `browser`'s conventions: one
//! browser at a time, skipped without chromium/chromedriver unless
//! `GOODHART_REQUIRE_BROWSER=1`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::bin;
use crate::webdriver::{Driver, ONE_BROWSER, base64_decode, browser_required, find_on_path, http, http_raw};

/// A `goodhart serve` on a free port of 127.0.0.1, ended when dropped.
pub struct Server {
    child: Child,
    /// Its port.
    pub port: u16,
    _stdout: BufReader<ChildStdout>,
}

impl Server {
    /// Starts one and reads its port from the first line it prints.
    pub fn start() -> Server {
        let mut child = Command::new(bin())
            .args(["serve", "--port", "0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start goodhart serve: {e}"));
        let mut out = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut line = String::new();
        out.read_line(&mut line).unwrap_or_else(|e| panic!("goodhart serve printed nothing: {e}"));
        let port = line
            .split("http://127.0.0.1:")
            .nth(1)
            .and_then(|r| r.split('/').next())
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no address in goodhart serve's first line: {line:?}"));
        Server { child, port, _stdout: out }
    }

    /// `GET path` as JSON.
    pub fn get(&self, path: &str) -> (u16, Value) {
        http(self.port, "GET", path, None, Duration::from_secs(30)).unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    /// `POST path` with a JSON body, as JSON.
    pub fn post(&self, path: &str, body: Value) -> (u16, Value) {
        http(self.port, "POST", path, Some(&body), Duration::from_secs(30))
            .unwrap_or_else(|e| panic!("POST {path}: {e}"))
    }

    /// `GET path` as text.
    pub fn text(&self, path: &str) -> (u16, String) {
        let (status, body) = http_raw(self.port, "GET", path, None, Duration::from_secs(60))
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        (status, String::from_utf8(body).unwrap_or_else(|e| panic!("GET {path}: not UTF-8: {e}")))
    }

    /// Starts a run of `form` and polls it to its end; returns its id and last state.
    pub fn run(&self, form: Value) -> (String, Value) {
        let (status, started) = self.post("/api/runs", form);
        assert_eq!(status, 202, "the run did not start: {started}");
        let id = started["id"].as_str().expect("a run id").to_string();
        let mut after = 0;
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let (_, s) = self.get(&format!("/api/runs/{id}?after={after}"));
            match s["phase"].as_str() {
                Some("done") => return (id, s),
                Some("running" | "checking") => after = s["version"].as_u64().unwrap_or(after),
                _ => panic!("the run failed: {s}"),
            }
            assert!(Instant::now() < deadline, "the run did not finish in 120 s: {s}");
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tmp(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("serve").join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The small story the API tests run: 40 engineers, 8 weeks, 3 replications.
fn small_form(extra: &[(&str, &str)]) -> Value {
    let mut sets = vec![("org.engineers", "40"), ("periods", "8"), ("replications", "3")];
    sets.extend_from_slice(extra);
    json!({ "base": "story", "sets": sets })
}

#[test]
fn serve_checks_each_field_with_the_command_lines_message() {
    let s = Server::start();
    let (status, v) = s.post(
        "/api/scenario",
        json!({ "base": "story", "sets": [["org.engineers", "0"], ["policy[kirorank].reward.prize", "-5"]] }),
    );
    assert_eq!(status, 422, "{v}");
    let errors = v["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2, "both bad fields are named: {v}");
    assert_eq!(errors[0]["field"], "org.engineers");
    assert_eq!(errors[1]["field"], "policy[kirorank].reward.prize");
    // The same words as `goodhart run --set`.
    for (e, set) in errors.iter().zip(["org.engineers=0", "policy[kirorank].reward.prize=-5"]) {
        let out = tmp("cli-message");
        let o =
            Command::new(bin()).args(["run", "story", "--set", set, "--quiet", "--out"]).arg(&out).output().unwrap();
        assert_eq!(o.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&o.stderr);
        let message = e["message"].as_str().unwrap();
        assert!(stderr.contains(message), "the page says {message:?}, the command line {stderr:?}");
    }
    // A run of a bad form is refused with the same messages; a good form passes.
    let (status, v) = s.post("/api/runs", json!({ "base": "story", "sets": [["org.engineers", "0"]] }));
    assert_eq!((status, v["errors"][0]["field"].as_str()), (422, Some("org.engineers")), "{v}");
    let (status, v) = s.post("/api/scenario", json!({ "base": "storyy" }));
    assert_eq!(status, 422);
    assert!(v["errors"][0]["message"].as_str().unwrap().contains("did you mean `story`"), "{v}");
    let (status, v) = s.post("/api/scenario", small_form(&[]));
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["fields"]["org"]["engineers"], 40);
}

#[test]
fn serve_explore_numbers_equal_goodhart_runs_outputs() {
    let s = Server::start();
    // 16 replications: enough for goodhart run's default check against the
    // assumptions, which summary.json reports.
    let form = json!({ "base": "story", "sets": [["org.engineers", "40"], ["periods", "8"], ["replications", "16"],
                                                ["policy[kirorank].reward.prize", "500"]] });
    let (id, state) = s.run(form);
    assert_eq!(state["replications"], 16);
    let (status, served) = s.text(&format!("/api/runs/{id}/summary.csv"));
    assert_eq!(status, 200);
    // The same scenario on the command line, with the same edits...
    let out = tmp("explore-equals-run");
    let o = Command::new(bin())
        .args(["run", "story", "--engineers", "40", "--periods", "8", "--replications", "16"])
        .args(["--set", "policy[kirorank].reward.prize=500", "--quiet", "--no-report", "--out"])
        .arg(out.join("cli"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let cli = std::fs::read_to_string(out.join("cli/summary.csv")).unwrap();
    assert_eq!(served, cli, "Explore's summary.csv differs from goodhart run's");
    let (_, json_served) = s.text(&format!("/api/runs/{id}/summary.json"));
    let json_cli = std::fs::read_to_string(out.join("cli/summary.json")).unwrap();
    assert!(json_cli.contains("\"assumptions\""), "the command line did not test the assumptions");
    assert_eq!(json_served, json_cli, "Explore's summary.json (with the assumptions) differs from goodhart run's");
    // ... and the scenario file the page offers runs to the same numbers.
    let (_, toml) = s.text(&format!("/api/runs/{id}/scenario.toml"));
    std::fs::write(out.join("scenario.toml"), &toml).unwrap();
    let o = Command::new(bin())
        .arg("run")
        .arg(out.join("scenario.toml"))
        .args(["--quiet", "--no-report", "--out"])
        .arg(out.join("file"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(served, std::fs::read_to_string(out.join("file/summary.csv")).unwrap());
    // The time series is the command line's too, and the report is served.
    let (_, series) = s.text(&format!("/api/runs/{id}/timeseries.csv"));
    assert_eq!(series, std::fs::read_to_string(out.join("cli/timeseries.csv")).unwrap());
    let (status, report) = s.text(&format!("/api/runs/{id}/report.html"));
    assert!(status == 200 && report.contains("<svg"), "no report");
}

#[test]
fn serve_escapes_user_text_in_its_outputs() {
    let s = Server::start();
    let markup = "<img src=x onerror=alert(1)><b>bold</b>";
    let (id, state) = s.run(small_form(&[("name", markup), ("policy[kirorank].description", markup)]));
    let (_, report) = s.text(&format!("/api/runs/{id}/report.html"));
    assert!(!report.contains(markup), "report.html holds the scenario's name as markup");
    assert!(report.contains("&lt;b&gt;bold&lt;"), "report.html does not show the name as text");
    // JSON carries the text as text; the page sets it with textContent.
    let (_, checked) = s.post("/api/scenario", small_form(&[("name", markup)]));
    assert_eq!(checked["fields"]["name"], markup);
    assert_eq!(state["phase"], "done");
    // An unknown run or file is a JSON 404, not a page echoing the request.
    let (status, v) = s.get("/api/runs/%3Cscript%3E");
    assert_eq!(status, 404);
    assert!(!v.to_string().contains("<script>"), "{v}");
}

// ---------------------------------------------------------------- in a browser

/// The browser and driver, or `None` (after saying why) when the test is skipped.
fn browser() -> Option<(PathBuf, PathBuf)> {
    match (find_on_path("chromium"), find_on_path("chromedriver")) {
        (Some(c), Some(d)) => Some((c, d)),
        _ if browser_required() => {
            panic!("GOODHART_REQUIRE_BROWSER=1 but chromium or chromedriver is not on PATH (run .ci/install-browser)")
        }
        _ => {
            eprintln!("serve browser test skipped: chromium/chromedriver not installed");
            None
        }
    }
}

/// Runs `script` (a function body) in the page until it returns something
/// other than `null` or `false`, or panics after `within` naming `what`.
pub fn wait_for(driver: &Driver, script: &str, within: Duration, what: &str) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let v = driver.cmd("POST", "execute/sync", json!({ "script": script, "args": [] }));
        if !v.is_null() && v != json!(false) {
            return v;
        }
        assert!(Instant::now() < deadline, "{what}: not within {} s", within.as_secs());
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// Runs `script` in the page and returns its value.
pub fn exec(driver: &Driver, script: &str) -> Value {
    driver.cmd("POST", "execute/sync", json!({ "script": script, "args": [] }))
}

/// Saves a screenshot of the window at `width` px (the page's whole height) to `png`.
pub fn screenshot(driver: &Driver, width: u64, png: &Path) {
    let h = exec(driver, "return document.documentElement.scrollHeight;").as_u64().unwrap_or(1200);
    driver.cmd("POST", "window/rect", json!({ "width": width, "height": h.clamp(600, 6000) }));
    std::thread::sleep(Duration::from_millis(300));
    let shot = driver.cmd("GET", "screenshot", Value::Null);
    let bytes = base64_decode(shot.as_str().unwrap_or_default()).unwrap_or_default();
    assert!(bytes.starts_with(b"\x89PNG"), "no screenshot");
    std::fs::write(png, bytes).unwrap_or_else(|e| panic!("{}: {e}", png.display()));
}

/// The verdict once the run shown is done.
const DONE_VERDICT: &str = "var s = document.getElementById('status').textContent;
  return s.indexOf('Done') === 0 ? document.getElementById('verdict').textContent : null;";

#[test]
fn serve_explore_in_a_browser_shows_the_story_then_a_new_prizes_verdict() {
    let _one = ONE_BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    let Some((chromium, chromedriver)) = browser() else { return };
    let s = Server::start();
    let dir = tmp("explore-browser");
    let mut driver = Driver::start(&chromedriver, &dir.join("work"));
    driver.new_session(&chromium);
    let url = |q: &str| format!("http://127.0.0.1:{}/{q}", s.port);

    // The story preset as it ships: the first look's verdict and table.
    let started = Instant::now();
    driver.cmd("POST", "url", json!({ "url": url("") }));
    wait_for(
        &driver,
        "return document.querySelectorAll('#table tr').length > 1 && !document.getElementById('verdict').classList.contains('hidden');",
        Duration::from_secs(20),
        "the story's first results",
    );
    let first = started.elapsed();
    wait_for(&driver, DONE_VERDICT, Duration::from_secs(60), "the story's whole run");
    let in_page = exec(&driver, "return Number(document.body.dataset.firstResultsMs);");
    eprintln!(
        "serve: the story's first results showed {} ms after the page was opened ({:.2} s after the browser was asked to open it)",
        in_page,
        first.as_secs_f64()
    );
    screenshot(&driver, 1280, &dir.join("explore-1280.png"));

    // A small organisation, then a changed prize: the verdict changes, and the URL keeps the edit.
    driver.cmd("POST", "url", json!({ "url": url("?base=story&org.engineers=60&periods=10&replications=4") }));
    let before = wait_for(&driver, DONE_VERDICT, Duration::from_secs(60), "the small run");
    exec(
        &driver,
        "var i = document.querySelector('[data-path=\"policy[kirorank].reward.prize\"]');
         i.value = '30000'; i.dispatchEvent(new Event('input', { bubbles: true }));
         document.getElementById('run').click();",
    );
    let after = wait_for(
        &driver,
        &format!("var v = (function () {{ {DONE_VERDICT} }})(); return v && v !== {} ? v : null;", json!(before)),
        Duration::from_secs(60),
        "a new verdict after the prize changed",
    );
    assert_ne!(before, after);
    let href = exec(&driver, "return location.search;");
    assert!(href.as_str().unwrap_or_default().contains("prize=30000"), "the URL does not keep the edit: {href}");

    // A bad value: the library's message beside the field; the results stay.
    exec(
        &driver,
        "var i = document.getElementById('f-engineers'); i.value = '0';
         i.dispatchEvent(new Event('input', { bubbles: true })); document.getElementById('run').click();",
    );
    let msg = wait_for(
        &driver,
        "var e = document.querySelector('.err[data-err=\"org.engineers\"]'); return e && e.textContent || null;",
        Duration::from_secs(10),
        "the message beside the engineers field",
    );
    assert!(msg.as_str().unwrap().contains("org.engineers: 0 is not allowed"), "{msg}");
    let kept = exec(&driver, "return document.getElementById('verdict').textContent;");
    assert_eq!(kept, after, "a bad value lost the last results");
    assert_eq!(exec(&driver, "return document.getElementById('f-engineers').value;"), "0", "the entry was lost");

    // User text is shown as text, never as markup: a policy's name in the
    // table, a bad value in a message.
    let markup = "<img src=x onerror=\"document.title='pwned'\"><b>bold</b>";
    let encoded: String = markup.bytes().map(|b| format!("%{b:02X}")).collect();
    let q = format!(
        "?base=story&org.engineers=30&periods=4&replications=2&policy%5Braw-deployments%5D.name={encoded}&seed={encoded}"
    );
    driver.cmd("POST", "url", json!({ "url": url(&q) }));
    let message = wait_for(
        &driver,
        "var e = document.querySelector('.err[data-err=\"seed\"]'); return e && e.textContent || null;",
        Duration::from_secs(20),
        "the message for a seed that is markup",
    );
    assert!(message.as_str().unwrap().contains("<b>bold</b>"), "the message does not show the value: {message}");
    exec(
        &driver,
        "var i = document.getElementById('f-seed'); i.value = ''; i.dispatchEvent(new Event('input', { bubbles: true })); document.getElementById('run').click();",
    );
    wait_for(&driver, DONE_VERDICT, Duration::from_secs(60), "the run with markup in a policy's name");
    let seen = exec(
        &driver,
        "return { title: document.title, tags: document.querySelectorAll('main b, main img:not(figure img)').length,
                  table: document.getElementById('table').textContent.indexOf('<b>bold</b>') >= 0 };",
    );
    assert_eq!(seen, json!({ "title": "Explore — goodhart", "tags": 0, "table": true }), "markup was not escaped");
    screenshot(&driver, 390, &dir.join("explore-390.png"));
    let widths = exec(&driver, "return [document.documentElement.scrollWidth, document.documentElement.clientWidth];");
    assert!(widths[0].as_f64() <= widths[1].as_f64(), "the page scrolls sideways on a phone: {widths}");
    drop(driver);
}

// ---------------------------------------------------------------- the workshop

/// Opens a room over the API; returns its code and the facilitator's token.
fn open_room(s: &Server, body: Value) -> (String, String) {
    let (status, r) = s.post("/api/rooms", body);
    assert_eq!(status, 200, "{r}");
    (r["code"].as_str().unwrap().to_string(), r["token"].as_str().unwrap().to_string())
}

/// Polls a room as `token` until `done` holds of its state.
fn room_until(s: &Server, code: &str, token: &str, done: impl Fn(&Value) -> bool) -> Value {
    let mut after = 0;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, v) = s.get(&format!("/api/rooms/{code}?token={token}&after={after}"));
        assert_eq!(status, 200, "{v}");
        if done(&v) {
            return v;
        }
        after = v["version"].as_u64().unwrap();
        assert!(Instant::now() < deadline, "the room never reached the state: {v}");
    }
}

#[test]
fn serve_workshop_api_rejoins_refuses_bad_hours_and_plays_the_missing() {
    let s = Server::start();
    let (code, host) = open_room(&s, json!({ "engineers": 12, "timer": 5 }));
    let (status, v) = s.post("/api/rooms", json!({ "policy": "kiroranks" }));
    assert_eq!(status, 422);
    assert!(v["error"].as_str().unwrap().contains("unknown policy `kiroranks`"), "{v}");
    let join = |name: &str| s.post(&format!("/api/rooms/{code}/join"), json!({ "name": name })).1;
    let ann = join("Ann");
    let markup = join("<b>Bo</b>");
    assert_eq!(join("Ann")["ok"], false, "a name is taken once");
    // A reload rejoins with the token: the same engineer.
    let again = s.post(&format!("/api/rooms/{code}/join"), json!({ "name": "", "token": ann["token"] })).1;
    assert_eq!((again["token"].clone(), again["slot"].clone()), (ann["token"].clone(), ann["slot"].clone()));
    // Only the facilitator paces the game.
    let (status, _) = s.post(&format!("/api/rooms/{code}/next"), json!({ "token": ann["token"] }));
    assert_eq!(status, 403);
    let (status, _) = s.post(&format!("/api/rooms/{code}/next"), json!({ "token": host }));
    assert_eq!(status, 200);
    let plan = |who: &Value, hours: Value| {
        s.post(&format!("/api/rooms/{code}/plan"), json!({ "token": who["token"], "week": 0, "hours": hours }))
    };
    let (status, v) = plan(&ann, json!([50, 50, 0, 0, 0]));
    assert_eq!(status, 422);
    assert!(v["error"].as_str().unwrap().contains("a week holds at most 70"), "{v}");
    assert_eq!(plan(&ann, json!([10, 30, 0, 0, 0])).0, 200);
    // Bo hands in nothing: the timer closes the round and an agent plays Bo's week.
    let t = ann["token"].as_str().unwrap();
    let v = room_until(&s, &code, t, |v| v["phase"] == "results");
    let board = &v["board"];
    assert_eq!(board["mine"]["name"], "Ann");
    let people: Vec<&str> = board["people"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert!(people.contains(&"<b>Bo</b>"), "names are data, shown as text by the page: {people:?}");
    let h = room_until(&s, &code, &host, |v| v["phase"] == "results");
    let bo = h["players"].as_array().unwrap().iter().find(|p| p["name"] == "<b>Bo</b>").unwrap();
    assert_eq!(bo["missed"], 1, "{h}");
    // Ann burnt 30 hours of agents: at least 300 M tokens on the ledger.
    assert_eq!(s.post(&format!("/api/rooms/{code}/reveal"), json!({ "token": host })).0, 200);
    let v = room_until(&s, &code, t, |v| v["phase"] == "revealed");
    let ann_ledger = v["ledger"]["people"].as_array().unwrap().iter().find(|p| p["name"] == "Ann").unwrap();
    assert!(ann_ledger["bill"].as_f64().unwrap() >= 300e6 * 6e-6 * 0.99, "{ann_ledger}");
    let _ = markup;
}

/// A tab of the session: makes it current.
fn to_tab(driver: &Driver, handle: &str) {
    driver.cmd("POST", "window", json!({ "handle": handle }));
}

/// Opens a new tab on `url` and returns its handle.
fn new_tab(driver: &Driver, url: &str) -> String {
    let h = driver.cmd("POST", "window/new", json!({ "type": "tab" }))["handle"].as_str().unwrap().to_string();
    to_tab(driver, &h);
    driver.cmd("POST", "url", json!({ "url": url }));
    h
}

/// Waits for the room's phase (and week, from 0) in the current tab.
fn phase(driver: &Driver, phase: &str, week: usize) {
    let script =
        format!("return document.body.dataset.phase === '{phase}' && document.body.dataset.week === '{week}';");
    wait_for(driver, &script, Duration::from_secs(30), &format!("phase {phase} of week {week}"));
}

/// In the current participant's tab: sets `hours` (activity index, hours) and hands the week in.
fn hand_in(driver: &Driver, week: usize, hours: &[(usize, u32)]) {
    phase(driver, "choosing", week);
    wait_for(
        driver,
        "return document.querySelectorAll('#hours input').length > 0;",
        Duration::from_secs(10),
        "the hour sliders",
    );
    let mut script = String::new();
    for (a, h) in hours {
        script += &format!(
            "var i = document.querySelector('#hours input[data-activity=\"{a}\"]'); i.value = {h};
             i.dispatchEvent(new Event('input', {{ bubbles: true }}));"
        );
    }
    script += "document.getElementById('submit-plan').click();";
    exec(driver, &script);
    wait_for(
        driver,
        "return document.getElementById('plan-note').textContent.indexOf('Handed in') === 0 || document.body.dataset.phase !== 'choosing';",
        Duration::from_secs(10),
        "the week handed in",
    );
}

#[test]
fn serve_workshop_game_in_a_browser_with_a_switch_a_dropout_and_a_reload() {
    let _one = ONE_BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    let Some((chromium, chromedriver)) = browser() else { return };
    let s = Server::start();
    let dir = tmp("workshop-browser");
    let mut driver = Driver::start(&chromedriver, &dir.join("work"));
    driver.new_session(&chromium);
    let base = format!("http://127.0.0.1:{}", s.port);

    // The facilitator opens a room: 12 engineers (13 once three people join,
    // for ten agents), 20-second rounds (a round closes as soon as everyone
    // has handed in; the API test sees a timer close one).
    driver.cmd("POST", "url", json!({ "url": format!("{base}/workshop") }));
    let host = driver.cmd("GET", "window", Value::Null).as_str().unwrap().to_string();
    exec(
        &driver,
        "document.getElementById('new-engineers').value = 12; document.getElementById('new-timer').value = 20;
         document.getElementById('open-room').click();",
    );
    let code = wait_for(
        &driver,
        "var c = document.getElementById('host-code'); return c && c.textContent || null;",
        Duration::from_secs(10),
        "the room's code",
    );
    let code = code.as_str().unwrap().to_string();

    // Three people join from the link, each in a tab of their own.
    let names = ["Ann", "Ben", "<i>Cy</i>"];
    let tabs: Vec<String> = names
        .iter()
        .map(|name| {
            let h = new_tab(&driver, &format!("{base}/join/{code}"));
            wait_for(
                &driver,
                "return !!document.getElementById('join-name');",
                Duration::from_secs(10),
                "the join form",
            );
            exec(
                &driver,
                &format!(
                    "document.getElementById('join-name').value = {}; document.getElementById('join-btn').click();",
                    json!(name)
                ),
            );
            phase(&driver, "lobby", 0);
            h
        })
        .collect();
    to_tab(&driver, &host);
    wait_for(
        &driver,
        "return document.querySelectorAll('#host-players tr').length === 4;",
        Duration::from_secs(10),
        "three people",
    );

    // Week 1 under kirorank: Ann burns tokens, the others build; all hand in, so the round closes at once.
    exec(&driver, "document.getElementById('next').click();");
    for (tab, hours) in tabs.iter().zip([vec![(0, 10), (1, 30)], vec![(0, 40)], vec![(0, 45)]]) {
        to_tab(&driver, tab);
        hand_in(&driver, 0, &hours);
    }
    to_tab(&driver, &tabs[0]);
    phase(&driver, "results", 0);
    let ann = exec(&driver, "var r = document.querySelector('#me-board tr.me'); return r && r.textContent;");
    assert!(ann.as_str().unwrap_or_default().contains("Ann"), "Ann does not see herself on the board: {ann}");
    screenshot(&driver, 390, &dir.join("workshop-player-390.png"));

    // Week 2: Ben reloads his tab mid-round and is still Ben; Cy drops out, and
    // the facilitator closes the round without waiting for the timer.
    to_tab(&driver, &host);
    exec(&driver, "document.getElementById('next').click();");
    to_tab(&driver, &tabs[1]);
    phase(&driver, "choosing", 1);
    driver.cmd("POST", "refresh", json!({}));
    wait_for(
        &driver,
        "return document.getElementById('me-name').textContent === 'Ben';",
        Duration::from_secs(10),
        "Ben after a reload",
    );
    hand_in(&driver, 1, &[(0, 40)]);
    to_tab(&driver, &tabs[0]);
    hand_in(&driver, 1, &[(0, 10), (1, 30)]);
    to_tab(&driver, &host);
    screenshot(&driver, 1280, &dir.join("workshop-host-1280.png"));
    wait_for(
        &driver,
        "return document.getElementById('host-players').textContent.split('handed in').length === 3;",
        Duration::from_secs(10),
        "Ann and Ben handed in",
    );
    exec(&driver, "document.getElementById('close').click();");
    phase(&driver, "results", 1);
    let missed = exec(
        &driver,
        "return Array.from(document.querySelectorAll('#host-players tr')).map(function (r) { return r.textContent; });",
    );
    assert!(missed.to_string().contains("<i>Cy</i>here1") || missed.to_string().contains("<i>Cy</i>away1"), "{missed}");
    to_tab(&driver, &tabs[2]);
    phase(&driver, "results", 1);
    let status = exec(&driver, "return document.getElementById('me-status').textContent;");
    assert!(status.as_str().unwrap().contains("An agent played your last week"), "{status}");

    // The switch of the story: normalized deployments from week 3.
    to_tab(&driver, &host);
    exec(
        &driver,
        "document.getElementById('policy-select').value = 'normalized-deployments'; document.getElementById('switch').click();",
    );
    wait_for(
        &driver,
        "return document.getElementById('host-stages').textContent.indexOf('normalized-deployments from week 3') >= 0;",
        Duration::from_secs(10),
        "the switch in the schedule",
    );
    for week in 2..4 {
        to_tab(&driver, &host);
        exec(&driver, "document.getElementById('next').click();");
        for tab in &tabs {
            to_tab(&driver, tab);
            hand_in(&driver, week, &[(0, 40)]);
        }
        to_tab(&driver, &host);
        phase(&driver, "results", week);
    }
    let title = exec(&driver, "return document.getElementById('host-board-title').textContent;");
    assert!(title.as_str().unwrap().contains("normalized-deployments"), "{title}");

    // The reveal: everyone sees the ledger, people beside agents, and names stay text.
    exec(&driver, "document.getElementById('reveal').click();");
    phase(&driver, "revealed", 3);
    screenshot(&driver, 1280, &dir.join("workshop-ledger-1280.png"));
    to_tab(&driver, &tabs[2]);
    phase(&driver, "revealed", 3);
    let ledger = exec(
        &driver,
        "return { rows: Array.from(document.querySelectorAll('#ledger tr')).map(function (r) { return r.cells[0].textContent; }),
                  weeks: document.querySelectorAll('#ledger-weeks tr').length, tags: document.querySelectorAll('main i').length,
                  org: document.getElementById('ledger-org').textContent };",
    );
    let rows = ledger["rows"].to_string();
    for who in ["Ann", "Ben", "<i>Cy</i> (1 week by an agent)", "An agent (mean of 10)"] {
        assert!(rows.contains(&who.replace('"', "\\\"")), "the ledger has no row for {who}: {ledger}");
    }
    assert_eq!((ledger["weeks"].clone(), ledger["tags"].clone()), (json!(5), json!(0)), "{ledger}");
    assert!(ledger["org"].as_str().unwrap().contains("token bill"), "{ledger}");
    screenshot(&driver, 390, &dir.join("workshop-ledger-390.png"));
    drop(driver);
}

/// Saves the window's view at `width` x `height` px to `png`.
fn shot(driver: &Driver, width: u64, height: u64, png: &Path) {
    driver.cmd("POST", "window/rect", json!({ "width": width, "height": height }));
    std::thread::sleep(Duration::from_millis(400));
    let shot = driver.cmd("GET", "screenshot", Value::Null);
    let bytes = base64_decode(shot.as_str().unwrap_or_default()).unwrap_or_default();
    assert!(bytes.starts_with(b"\x89PNG"), "no screenshot");
    std::fs::write(png, bytes).unwrap_or_else(|e| panic!("{}: {e}", png.display()));
}

/// The screenshots in README.md and docs/workshop.md, at phone (390 px)
/// and laptop (1280 px) widths, written to docs/images/:
/// `cargo test --release --test main serve_screenshots -- --ignored`.
#[test]
#[ignore = "writes docs/images; run by hand when the pages change"]
fn serve_screenshots_for_the_docs() {
    let _one = ONE_BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    let Some((chromium, chromedriver)) = browser() else { return };
    let s = Server::start();
    let images = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/images");
    let mut driver = Driver::start(&chromedriver, &tmp("screenshots").join("work"));
    driver.new_session(&chromium);
    let base = format!("http://127.0.0.1:{}", s.port);

    driver.cmd("POST", "url", json!({ "url": format!("{base}/?base=story&policy%5Bkirorank%5D.reward.prize=1000") }));
    wait_for(&driver, DONE_VERDICT, Duration::from_secs(60), "the story");
    shot(&driver, 1280, 1400, &images.join("serve-explore-1280.png"));
    shot(&driver, 390, 1600, &images.join("serve-explore-390.png"));

    let (code, host) = open_room(&s, json!({ "engineers": 30, "timer": 90 }));
    let join = |name: &str| s.post(&format!("/api/rooms/{code}/join"), json!({ "name": name })).1;
    let people: Vec<Value> = ["Ana", "Bram", "Chen", "Dede"].iter().map(|n| join(n)).collect();
    // The phone: a participant's tab (its identity in sessionStorage).
    driver.cmd("POST", "url", json!({ "url": format!("{base}/workshop?room={code}") }));
    exec(
        &driver,
        &format!("sessionStorage.setItem('goodhart-player-{code}', {}); location.reload();", people[0]["token"]),
    );
    for week in 0..2 {
        s.post(&format!("/api/rooms/{code}/next"), json!({ "token": host }));
        for (i, p) in people.iter().enumerate() {
            let hours = if i % 2 == 0 { json!([10, 30, 0, 0, 0]) } else { json!([42, 0, 0, 0, 0]) };
            s.post(&format!("/api/rooms/{code}/plan"), json!({ "token": p["token"], "week": week, "hours": hours }));
        }
        room_until(&s, &code, &host, |v| v["phase"] == "results" && v["week"] == week);
    }
    s.post(&format!("/api/rooms/{code}/policy"), json!({ "token": host, "policy": "normalized-deployments" }));
    s.post(&format!("/api/rooms/{code}/next"), json!({ "token": host }));
    phase(&driver, "choosing", 2);
    shot(&driver, 390, 1500, &images.join("serve-workshop-player-390.png"));
    for p in &people[1..] {
        s.post(
            &format!("/api/rooms/{code}/plan"),
            json!({ "token": p["token"], "week": 2, "hours": [42, 0, 0, 0, 0] }),
        );
    }
    // The facilitator's screen, mid-round.
    let fac = new_tab(&driver, &format!("{base}/workshop"));
    exec(
        &driver,
        &format!(
            "sessionStorage.setItem('goodhart-host-{code}', {}); location.href = '/workshop?room={code}&host=1';",
            json!(host)
        ),
    );
    phase(&driver, "choosing", 2);
    shot(&driver, 1280, 1000, &images.join("serve-workshop-host-1280.png"));
    s.post(&format!("/api/rooms/{code}/close"), json!({ "token": host }));
    room_until(&s, &code, &host, |v| v["phase"] == "results" && v["week"] == 2);
    s.post(&format!("/api/rooms/{code}/reveal"), json!({ "token": host }));
    to_tab(&driver, &fac);
    phase(&driver, "revealed", 2);
    shot(&driver, 1280, 1000, &images.join("serve-workshop-ledger-1280.png"));
    drop(driver);
}
