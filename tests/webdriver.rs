//! A minimal std-only WebDriver client for headless Chromium (through
//! chromedriver's W3C HTTP API) and the plain HTTP/1.1 client it speaks
//! with, shared by the browser tests of the report (`browser`) and of
//! `goodhart serve` (`serve`), and by the workshop load benchmark.

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// Chromium's flags: headless, as root, with the network closed.
pub const CHROMIUM_FLAGS: &[&str] = &[
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

/// One browser at a time: two headless Chromiums on a loaded 2-core
/// machine lose their renderers.
pub static ONE_BROWSER: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Whether `GOODHART_REQUIRE_BROWSER=1`: a missing browser or report then fails the test.
pub fn browser_required() -> bool {
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

/// A running chromedriver and, once made, its session. Dropping it deletes
/// the session (which ends Chromium), kills chromedriver, and ends any
/// Chromium left on its profile directory.
pub struct Driver {
    child: Child,
    port: u16,
    session: Option<String>,
    work: PathBuf,
    profile: PathBuf,
}

impl Driver {
    /// Starts chromedriver on a free port, logging into `work`, and waits until it is ready.
    pub fn start(chromedriver: &Path, work: &Path) -> Driver {
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
    pub fn new_session(&mut self, chromium: &Path) {
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
    pub fn cmd(&self, method: &str, path: &str, body: Value) -> Value {
        self.try_cmd(method, path, body).unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    pub fn try_cmd(&self, method: &str, path: &str, body: Value) -> Result<Value, String> {
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
pub fn http(port: u16, method: &str, path: &str, body: Option<&Value>, timeout: Duration) -> io::Result<(u16, Value)> {
    http_once(port, method, path, body, timeout).map_err(|e| match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
            io::Error::new(io::ErrorKind::TimedOut, format!("no answer within {} s", timeout.as_secs()))
        }
        _ => e,
    })
}

fn http_once(port: u16, method: &str, path: &str, body: Option<&Value>, timeout: Duration) -> io::Result<(u16, Value)> {
    let body = body.map(Value::to_string);
    let (status, body) = http_raw(port, method, path, body.as_deref(), timeout)?;
    let v = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Null
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            io::Error::new(io::ErrorKind::InvalidData, format!("{method} {path}: body is not JSON: {e}"))
        })?
    };
    Ok((status, v))
}

/// One HTTP/1.1 request to 127.0.0.1:`port` with a JSON `body` (if any);
/// returns the status code and the body's bytes.
pub fn http_raw(
    port: u16,
    method: &str,
    path: &str,
    body: Option<&str>,
    timeout: Duration,
) -> io::Result<(u16, Vec<u8>)> {
    let mut s = TcpStream::connect_timeout(&SocketAddr::from((Ipv4Addr::LOCALHOST, port)), Duration::from_secs(2))?;
    s.set_read_timeout(Some(timeout))?;
    s.set_write_timeout(Some(timeout))?;
    let body = body.unwrap_or_default();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: application/json\r\nConnection: close\r\n\
         Content-Length: {}\r\n",
        body.len()
    );
    if !body.is_empty() {
        req.push_str("Content-Type: application/json; charset=utf-8\r\n");
    }
    req.push_str("\r\n");
    req.push_str(body);
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
    Ok((status, body))
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
pub fn file_url(path: &Path) -> String {
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
pub fn base64_decode(text: &str) -> Result<Vec<u8>, String> {
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
