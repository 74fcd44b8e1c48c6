//! `goodhart serve`: the Explore page (leaders compare policies in a
//! browser) and the Workshop game (a room plays engineers among agents),
//! served from this machine with every asset built into the binary. The
//! library does the work; this module is the web's thin edge: it parses
//! requests, runs simulations on rayon through `spawn_blocking`, and
//! answers in JSON. Pages poll (a long poll: a request waits until there
//! is news), which phones on a shaky network survive.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

mod explore;
mod form;
mod workshop;

/// What every handler shares.
#[derive(Clone, Default)]
pub struct App {
    jobs: Arc<explore::Jobs>,
    rooms: Arc<workshop::Rooms>,
    /// The address to give a room (`--lan`), e.g. `http://192.168.1.20:8080`.
    lan: Option<Arc<str>>,
}

/// A static asset: its path, content type and bytes.
const ASSETS: &[(&str, &str, &str)] = &[
    ("/", "text/html; charset=utf-8", include_str!("assets/explore.html")),
    ("/workshop", "text/html; charset=utf-8", include_str!("assets/workshop.html")),
    ("/assets/style.css", "text/css; charset=utf-8", include_str!("assets/style.css")),
    ("/assets/explore.js", "text/javascript; charset=utf-8", include_str!("assets/explore.js")),
    ("/assets/workshop.js", "text/javascript; charset=utf-8", include_str!("assets/workshop.js")),
];

/// A JSON error `{ "ok": false, "error": message }` with `status`.
fn bad_request(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(serde_json::json!({ "ok": false, "error": message }))).into_response()
}

/// The application: every page and API route.
fn router(app: App) -> Router {
    let mut r = Router::new();
    for &(path, kind, body) in ASSETS {
        r = r.route(
            path,
            get(move || async move {
                ([(header::CONTENT_TYPE, kind), (header::CACHE_CONTROL, "no-cache")], body).into_response()
            }),
        );
    }
    r.route("/join/{code}", get(workshop::join_page))
        .route("/api/meta", get(explore::meta))
        .route("/api/scenario", post(explore::scenario))
        .route("/api/runs", post(explore::start))
        .route("/api/runs/{id}", get(explore::poll))
        .route("/api/runs/{id}/timeseries.csv", get(explore::timeseries))
        .route("/api/runs/{id}/{file}", get(explore::file))
        .merge(workshop::routes())
        .fallback(|| async { bad_request(StatusCode::NOT_FOUND, "no such page") })
        .layer(axum::extract::DefaultBodyLimit::max(256 * 1024))
        .with_state(app)
}

/// Serves on `port` (0: any free port) of 127.0.0.1, or of every interface
/// with `lan`, until the process is stopped. Prints the address first, on
/// one line, then the LAN address to give a room.
pub fn run(port: u16, lan: bool) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the web server's runtime")?;
    rt.block_on(async move {
        let ip = if lan { Ipv4Addr::UNSPECIFIED } else { Ipv4Addr::LOCALHOST };
        let listener = tokio::net::TcpListener::bind(SocketAddr::from((ip, port))).await.with_context(|| {
            format!("cannot listen on {ip}:{port} (is the port in use? --port 0 takes any free one)")
        })?;
        let port = listener.local_addr()?.port();
        let lan_url = if lan { lan_address().map(|a| format!("http://{a}:{port}")) } else { None };
        println!("goodhart serve: http://127.0.0.1:{port}/ (Explore), http://127.0.0.1:{port}/workshop (Workshop)");
        if lan {
            match &lan_url {
                Some(u) => println!("On the local network: {u}/ (participants join at {u}/workshop)"),
                None => println!("On the local network: port {port} of this machine's address"),
            }
        } else {
            println!("Only this machine can connect; `goodhart serve --lan` opens it to the local network.");
        }
        use std::io::Write;
        let _ = std::io::stdout().flush();
        let app = App { lan: lan_url.map(Arc::from), ..App::default() };
        axum::serve(listener, router(app)).await.context("the web server stopped")
    })
}

/// This machine's address on the local network: the source address the
/// system would use for an outside address (a UDP `connect` sends no packet).
fn lan_address() -> Option<IpAddr> {
    let s = std::net::UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).ok()?;
    // TEST-NET-1 (RFC 5737): never routed; only the route is looked up.
    s.connect((Ipv4Addr::new(192, 0, 2, 1), 9)).ok()?;
    let ip = s.local_addr().ok()?.ip();
    (!ip.is_unspecified() && !ip.is_loopback()).then_some(ip)
}
