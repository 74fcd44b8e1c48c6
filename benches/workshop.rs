//! Load benchmark of `goodhart serve`'s Workshop: 60 participants in one
//! room, all on this machine's loopback, each a thread that long-polls the
//! room as a phone does, hands in its week when a round opens, and notes
//! when each round's results reach it. Reports, per round, how long after
//! the round closed (the last participant's hand-in) the results reached
//! the first, the median and the last participant. Bounded: a fixed number
//! of rounds, and it stops by itself.
//!
//! `cargo bench --bench workshop` (figures in BENCHMARKS.md). Options:
//! `-- PEOPLE ROUNDS` (default 60 8).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

#[allow(dead_code)]
#[path = "../tests/webdriver.rs"]
mod webdriver;

use webdriver::http;

const TIMEOUT: Duration = Duration::from_secs(60);

/// What the participants saw, per round: hand-in send times and results arrival times.
#[derive(Default)]
struct Log {
    handed_in: Vec<Vec<Instant>>,
    results: Vec<Vec<Instant>>,
    opened: Vec<Vec<Instant>>,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let people: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(60);
    let rounds: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(8);

    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_goodhart"))
        .args(["serve", "--port", "0"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("cannot start goodhart serve");
    let mut out = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    std::io::BufRead::read_line(&mut out, &mut line).expect("goodhart serve printed nothing");
    let port: u16 = line
        .split("http://127.0.0.1:")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .and_then(|p| p.parse().ok())
        .expect("no port in goodhart serve's first line");

    let post = |path: &str, body: Value| http(port, "POST", path, Some(&body), TIMEOUT).expect("POST").1;
    let room = post("/api/rooms", json!({ "engineers": people + 40, "timer": 120 }));
    let (code, host) = (room["code"].as_str().unwrap().to_string(), room["token"].as_str().unwrap().to_string());
    let log = Arc::new(Mutex::new(Log {
        handed_in: vec![Vec::new(); rounds],
        results: vec![Vec::new(); rounds],
        opened: vec![Vec::new(); rounds],
    }));
    let opened_at: Arc<Mutex<Vec<Instant>>> = Arc::new(Mutex::new(Vec::new()));

    let threads: Vec<_> = (0..people)
        .map(|i| {
            let (code, log) = (code.clone(), log.clone());
            std::thread::spawn(move || {
                let join = json!({ "name": format!("person {i}") });
                let r = http(port, "POST", &format!("/api/rooms/{code}/join"), Some(&join), TIMEOUT).expect("join").1;
                let token = r["token"].as_str().expect("a token").to_string();
                let (mut after, mut handed, mut seen) = (0, usize::MAX, usize::MAX);
                loop {
                    let path = format!("/api/rooms/{code}?token={token}&after={after}");
                    let (_, v) = http(port, "GET", &path, None, TIMEOUT).expect("poll");
                    let now = Instant::now();
                    after = v["version"].as_u64().unwrap_or(after);
                    let week = v["week"].as_u64().unwrap_or(0) as usize;
                    match v["phase"].as_str() {
                        Some("choosing") if handed != week => {
                            log.lock().unwrap().opened[week].push(now);
                            handed = week;
                            // Half build honestly, half burn tokens for the board.
                            let hours = if i % 2 == 0 { json!([40, 0, 0, 0, 0]) } else { json!([10, 30, 0, 0, 0]) };
                            let body = json!({ "token": token, "week": week, "hours": hours });
                            log.lock().unwrap().handed_in[week].push(Instant::now());
                            http(port, "POST", &format!("/api/rooms/{code}/plan"), Some(&body), TIMEOUT).expect("plan");
                        }
                        Some("results") if seen != week => {
                            seen = week;
                            log.lock().unwrap().results[week].push(now);
                        }
                        Some("revealed") => return,
                        _ => {}
                    }
                }
            })
        })
        .collect();

    // The facilitator: waits for everyone, then paces the rounds.
    let get = |path: &str| http(port, "GET", path, None, TIMEOUT).expect("GET").1;
    let deadline = Instant::now() + Duration::from_secs(60);
    while get(&format!("/api/rooms/{code}?token={host}"))["people"].as_u64() != Some(people as u64) {
        assert!(Instant::now() < deadline, "not everyone joined");
        std::thread::sleep(Duration::from_millis(20));
    }
    let started = Instant::now();
    for week in 0..rounds {
        opened_at.lock().unwrap().push(Instant::now());
        post(&format!("/api/rooms/{code}/next"), json!({ "token": host }));
        let deadline = Instant::now() + Duration::from_secs(60);
        while log.lock().unwrap().results[week].len() < people {
            assert!(Instant::now() < deadline, "round {week}: results did not reach everyone in 60 s");
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    let elapsed = started.elapsed();
    post(&format!("/api/rooms/{code}/reveal"), json!({ "token": host }));
    for t in threads {
        t.join().expect("a participant failed");
    }
    let _ = child.kill();
    let _ = child.wait();

    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let log = log.lock().unwrap();
    let opened_at = opened_at.lock().unwrap();
    println!(
        "{people} participants, {} engineers, {rounds} rounds on loopback ({:.1} s in all)",
        people + 40,
        elapsed.as_secs_f64()
    );
    println!("round  open->all saw it (ms)  close->results: first  median  last (ms)");
    let mut worst: f64 = 0.0;
    for week in 0..rounds {
        let closed = *log.handed_in[week].iter().max().expect("hand-ins");
        let mut lat: Vec<f64> = log.results[week].iter().map(|&t| ms(t.saturating_duration_since(closed))).collect();
        lat.sort_by(f64::total_cmp);
        let open =
            log.opened[week].iter().map(|&t| ms(t.saturating_duration_since(opened_at[week]))).fold(0.0, f64::max);
        worst = worst.max(lat[lat.len() - 1]);
        println!(
            "{:>5}  {:>21.0}  {:>20.0}  {:>6.0}  {:>9.0}",
            week + 1,
            open,
            lat[0],
            lat[lat.len() / 2],
            lat[lat.len() - 1]
        );
    }
    println!("slowest: results reached the last of {people} participants {worst:.0} ms after the round closed");
}
