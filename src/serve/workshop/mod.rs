//! Workshop: a room plays one organisation's weeks. Each participant is one
//! engineer among agent colleagues; each round (a week) they split their
//! hours between the scenario's activities before a timer ends; the
//! facilitator paces the rounds, may switch the policy, and at the end
//! reveals the hidden ledger: useful output against the token bill.
//!
//! The engine is not changed for this (`game`): a round reruns the
//! organisation from week 0, which costs milliseconds. This module is the
//! room's HTTP API; `view` is what each screen is shown.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use goodhart::Stage;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::watch;

use super::{App, bad_request};

mod game;
mod view;

use game::{Game, Phase, Player, playable, simulate};

/// Rooms open at once on one server.
const MAX_ROOMS: usize = 64;
/// People in one room.
const MAX_PLAYERS: usize = 200;
/// How long a poll waits for news.
const POLL: Duration = Duration::from_secs(20);

/// The rooms of this server.
#[derive(Default)]
pub struct Rooms {
    rooms: Mutex<HashMap<String, Arc<Room>>>,
}

/// One room: its game and a signal that ticks at every change.
struct Room {
    code: String,
    opened: Instant,
    host: String,
    game: Mutex<Game>,
    news: watch::Sender<u64>,
}

// ---------------------------------------------------------------- the API

/// The workshop's API routes.
pub fn routes() -> Router<App> {
    Router::new()
        .route("/api/rooms", post(create))
        .route("/api/rooms/{code}", get(view))
        .route("/api/rooms/{code}/join", post(join))
        .route("/api/rooms/{code}/plan", post(plan))
        .route("/api/rooms/{code}/next", post(next))
        .route("/api/rooms/{code}/close", post(close))
        .route("/api/rooms/{code}/policy", post(switch))
        .route("/api/rooms/{code}/reveal", post(reveal))
}

/// `GET /join/{code}`: the workshop page, opened on a room.
pub async fn join_page(Path(code): Path<String>) -> Response {
    let code: String = code.chars().filter(char::is_ascii_alphanumeric).take(12).collect();
    Redirect::to(&format!("/workshop?room={}", code.to_ascii_uppercase())).into_response()
}

/// A token nobody can guess: 128 bits from the system's hasher keys and the clock.
fn token() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut out = String::new();
    for _ in 0..2 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos());
        out.push_str(&format!("{:016x}", h.finish()));
    }
    out
}

/// A room code: four letters that cannot be misread (no I, O, 0, 1).
fn room_code(taken: &HashMap<String, Arc<Room>>) -> String {
    const LETTERS: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
    loop {
        let t = token();
        let code: String = t
            .as_bytes()
            .chunks(2)
            .take(4)
            .map(|c| {
                LETTERS[u8::from_str_radix(std::str::from_utf8(c).unwrap_or("0"), 16).unwrap_or(0) as usize
                    % LETTERS.len()] as char
            })
            .collect();
        if !taken.contains_key(&code) {
            return code;
        }
    }
}

/// What a facilitator asks for when opening a room.
#[derive(Deserialize)]
struct NewRoom {
    /// Engineers in the organisation, people included (default 40).
    engineers: Option<usize>,
    /// Seconds a round stays open (default 60).
    timer: Option<u64>,
    /// The first policy (default kirorank).
    policy: Option<String>,
    /// Master seed (default the story's).
    seed: Option<u64>,
}

fn error(status: StatusCode, message: &str) -> Response {
    bad_request(status, message)
}

/// `POST /api/rooms`: opens a room; answers its code and the facilitator's token.
async fn create(State(app): State<App>, Json(req): Json<NewRoom>) -> Response {
    let Ok(mut base) = goodhart::model::preset::scenario("story") else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "the story preset does not load");
    };
    let engineers = req.engineers.unwrap_or(40);
    if !(2..=2000).contains(&engineers) {
        return error(StatusCode::UNPROCESSABLE_ENTITY, "engineers: expected an integer in [2, 2000]");
    }
    let timer = req.timer.unwrap_or(60);
    if !(5..=3600).contains(&timer) {
        return error(StatusCode::UNPROCESSABLE_ENTITY, "timer: expected seconds in [5, 3600]");
    }
    let policy = req.policy.unwrap_or_else(|| "kirorank".into());
    if !playable().iter().any(|p| p.name == policy) {
        let names: Vec<String> = playable().into_iter().map(|p| p.name).collect();
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            &format!("policy: unknown policy `{policy}`; expected one of: {}", names.join(", ")),
        );
    }
    base.org.engineers = engineers;
    if let Some(seed) = req.seed {
        base.seed = seed;
    }
    let mut rooms = app.rooms.rooms.lock().unwrap_or_else(|e| e.into_inner());
    if rooms.len() >= MAX_ROOMS {
        // The oldest room makes way.
        let old = rooms.values().min_by_key(|r| r.opened).map(|r| r.code.clone());
        if let Some(k) = old {
            rooms.remove(&k);
        }
    }
    let code = room_code(&rooms);
    let host = token();
    let game = Game {
        base,
        timer,
        phase: Phase::Lobby,
        stages: vec![Stage { from: 0, policy }],
        players: Vec::new(),
        weeks: Vec::new(),
        version: 1,
        error: None,
    };
    let (news, _) = watch::channel(1);
    rooms.insert(
        code.clone(),
        Arc::new(Room { code: code.clone(), opened: Instant::now(), host: host.clone(), game: Mutex::new(game), news }),
    );
    Json(json!({ "ok": true, "code": code, "token": host })).into_response()
}

fn room(app: &App, code: &str) -> Option<Arc<Room>> {
    app.rooms.rooms.lock().unwrap_or_else(|e| e.into_inner()).get(&code.to_ascii_uppercase()).cloned()
}

const NO_ROOM: &str = "no such room: check the code (rooms end when the server stops)";

impl Room {
    fn lock(&self) -> std::sync::MutexGuard<'_, Game> {
        self.game.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Marks a change: every poll waiting on the room answers.
    fn changed(&self, g: &mut Game) {
        g.version += 1;
        self.news.send_replace(g.version);
    }
}

/// What a person sends to join.
#[derive(Deserialize)]
struct Join {
    name: String,
    /// The token of an earlier join from this tab (a reload): the same person.
    token: Option<String>,
}

/// `POST /api/rooms/{code}/join`: a person joins (or rejoins) and gets an engineer.
async fn join(State(app): State<App>, Path(code): Path<String>, Json(req): Json<Join>) -> Response {
    let Some(room) = room(&app, &code) else { return error(StatusCode::NOT_FOUND, NO_ROOM) };
    let mut g = room.lock();
    if let Some(t) = &req.token {
        if let Some(p) = g.players.iter_mut().find(|p| &p.token == t) {
            p.seen = Instant::now();
            let slot = p.slot;
            room.changed(&mut g);
            return Json(json!({ "ok": true, "token": t, "slot": slot })).into_response();
        }
    }
    let name: String = req.name.trim().chars().filter(|c| !c.is_control()).take(24).collect();
    if name.is_empty() {
        return error(StatusCode::UNPROCESSABLE_ENTITY, "name: expected 1 to 24 characters");
    }
    if g.players.iter().any(|p| p.name == name) {
        return error(StatusCode::UNPROCESSABLE_ENTITY, &format!("name: `{name}` is taken in this room; pick another"));
    }
    let room_for = if g.phase == Phase::Lobby { MAX_PLAYERS } else { g.base.org.engineers };
    if g.players.len() >= room_for.min(MAX_PLAYERS) || g.phase == Phase::Revealed {
        return error(StatusCode::CONFLICT, "this room is full or its game is over");
    }
    let slot = g.players.len();
    let weeks = g.weeks.len();
    let token = token();
    g.players.push(Player {
        token: token.clone(),
        name,
        slot,
        plans: vec![None; weeks],
        pending: None,
        seen: Instant::now(),
    });
    room.changed(&mut g);
    Json(json!({ "ok": true, "token": token, "slot": slot })).into_response()
}

/// A token in a query.
#[derive(Deserialize)]
struct Who {
    #[serde(default)]
    token: String,
    #[serde(default)]
    after: u64,
}

/// `GET /api/rooms/{code}?token=T&after=V`: the room as this person (or
/// the facilitator) sees it, once its version passes `V` (a long poll).
async fn view(State(app): State<App>, Path(code): Path<String>, Query(q): Query<Who>) -> Response {
    let Some(room) = room(&app, &code) else { return error(StatusCode::NOT_FOUND, NO_ROOM) };
    let mut rx = room.news.subscribe();
    let newer = |v: &u64| *v > q.after;
    let _ = tokio::time::timeout(POLL, rx.wait_for(newer)).await;
    let mut g = room.lock();
    let host = q.token == room.host;
    if let Some(p) = g.players.iter_mut().find(|p| p.token == q.token) {
        p.seen = Instant::now();
    } else if !host && !q.token.is_empty() {
        return error(StatusCode::FORBIDDEN, "this tab's player is not in the room (it was closed); join again");
    }
    Json(view::show(&room, &g, &q.token, host, app.lan.as_deref())).into_response()
}

/// A person's hours for the open round.
#[derive(Deserialize)]
struct Plan {
    token: String,
    week: usize,
    hours: Vec<f64>,
}

/// `POST /api/rooms/{code}/plan`: a person hands in their hours.
async fn plan(State(app): State<App>, Path(code): Path<String>, Json(req): Json<Plan>) -> Response {
    let Some(room) = room(&app, &code) else { return error(StatusCode::NOT_FOUND, NO_ROOM) };
    let mut g = room.lock();
    let Phase::Choosing { week, .. } = g.phase else {
        return error(StatusCode::CONFLICT, "the round is closed; wait for the next one");
    };
    if week != req.week {
        return error(StatusCode::CONFLICT, "that round is over; this is another");
    }
    let k = g.base.activities.len();
    let max = g.base.org.max_hours_per_period;
    if req.hours.len() != k || req.hours.iter().any(|h| !h.is_finite() || *h < 0.0) {
        return error(StatusCode::UNPROCESSABLE_ENTITY, &format!("hours: expected {k} numbers >= 0"));
    }
    let total: f64 = req.hours.iter().sum();
    if total > max + 1e-9 {
        return error(StatusCode::UNPROCESSABLE_ENTITY, &format!("hours: {total} in all; a week holds at most {max}"));
    }
    let Some(p) = g.players.iter_mut().find(|p| p.token == req.token) else {
        return error(StatusCode::FORBIDDEN, "this tab's player is not in the room; join again");
    };
    p.pending = Some(req.hours);
    p.seen = Instant::now();
    let everyone = g.players.iter().all(|p| p.pending.is_some());
    room.changed(&mut g);
    drop(g);
    if everyone {
        close_round(room, week);
    }
    Json(json!({ "ok": true })).into_response()
}

/// The facilitator's token.
#[derive(Deserialize)]
struct Host {
    token: String,
    /// For a policy switch: the policy from the next round on.
    policy: Option<String>,
}

fn host_room(app: &App, code: &str, token: &str) -> Result<Arc<Room>, Response> {
    let room = room(app, code).ok_or_else(|| error(StatusCode::NOT_FOUND, NO_ROOM))?;
    if room.host != token {
        return Err(error(StatusCode::FORBIDDEN, "only the facilitator can do that"));
    }
    Ok(room)
}

/// `POST /api/rooms/{code}/next`: opens the next round, with its timer.
async fn next(State(app): State<App>, Path(code): Path<String>, Json(req): Json<Host>) -> Response {
    let room = match host_room(&app, &code, &req.token) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let mut g = room.lock();
    if !matches!(g.phase, Phase::Lobby | Phase::Results { .. }) {
        return error(StatusCode::CONFLICT, "a round is open or the game is over");
    }
    // Room for everyone who joined, among at least ten agents.
    if g.phase == Phase::Lobby {
        let n = g.players.len() + 10;
        g.base.org.engineers = g.base.org.engineers.max(n);
    }
    let week = g.weeks.len();
    let deadline = Instant::now() + Duration::from_secs(g.timer);
    g.phase = Phase::Choosing { week, deadline };
    g.error = None;
    for p in &mut g.players {
        p.pending = None;
    }
    room.changed(&mut g);
    let timer = g.timer;
    drop(g);
    let r = room.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(timer)).await;
        close_round(r, week);
    });
    Json(json!({ "ok": true, "week": week })).into_response()
}

/// `POST /api/rooms/{code}/close`: closes the open round now.
async fn close(State(app): State<App>, Path(code): Path<String>, Json(req): Json<Host>) -> Response {
    let room = match host_room(&app, &code, &req.token) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let week = match room.lock().phase {
        Phase::Choosing { week, .. } => week,
        _ => return error(StatusCode::CONFLICT, "no round is open"),
    };
    close_round(room, week);
    Json(json!({ "ok": true })).into_response()
}

/// Closes round `week` if it is still open: people who handed in nothing
/// are played by an agent this week; the week is simulated off the async
/// threads, then shown.
fn close_round(room: Arc<Room>, week: usize) {
    let (sc, people, stages) = {
        let mut g = room.lock();
        if !matches!(g.phase, Phase::Choosing { week: w, .. } if w == week) {
            return;
        }
        g.phase = Phase::Running { week };
        for p in &mut g.players {
            let chosen = p.pending.take();
            p.plans.resize(week, None);
            p.plans.push(chosen);
        }
        let people: HashMap<usize, Vec<Option<Vec<f64>>>> =
            g.players.iter().map(|p| (p.slot, p.plans.clone())).collect();
        room.changed(&mut g);
        (g.scenario(week + 1), people, g.stages.clone())
    };
    tokio::task::spawn_blocking(move || {
        let result = simulate(&sc, people, &stages);
        let mut g = room.lock();
        match result {
            Ok(weeks) if weeks.len() == week + 1 => {
                g.weeks = weeks;
                g.phase = Phase::Results { week };
            }
            Ok(weeks) => {
                g.error = Some(format!("the run gave {} weeks, expected {}", weeks.len(), week + 1));
                g.phase = if week == 0 { Phase::Lobby } else { Phase::Results { week: week - 1 } };
            }
            Err(e) => {
                g.error = Some(e);
                g.phase = if week == 0 { Phase::Lobby } else { Phase::Results { week: week - 1 } };
            }
        }
        room.changed(&mut g);
    });
}

/// `POST /api/rooms/{code}/policy`: the policy from the next round on (the story's switch).
async fn switch(State(app): State<App>, Path(code): Path<String>, Json(req): Json<Host>) -> Response {
    let room = match host_room(&app, &code, &req.token) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let policy = req.policy.unwrap_or_default();
    if !playable().iter().any(|p| p.name == policy) {
        return error(StatusCode::UNPROCESSABLE_ENTITY, &format!("policy: unknown policy `{policy}`"));
    }
    let mut g = room.lock();
    // From the round being chosen if one is open (nobody has seen it run), else the next.
    let from = match g.phase {
        Phase::Choosing { week, .. } => week,
        Phase::Running { week } => week + 1,
        _ => g.weeks.len(),
    } as u32;
    g.stages.retain(|s| s.from < from);
    if g.stages.last().is_none_or(|s| s.policy != policy) {
        g.stages.push(Stage { from, policy });
    }
    room.changed(&mut g);
    Json(json!({ "ok": true, "from": from })).into_response()
}

/// `POST /api/rooms/{code}/reveal`: ends the game and shows the ledger.
async fn reveal(State(app): State<App>, Path(code): Path<String>, Json(req): Json<Host>) -> Response {
    let room = match host_room(&app, &code, &req.token) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let mut g = room.lock();
    if !matches!(g.phase, Phase::Results { .. }) {
        return error(StatusCode::CONFLICT, "reveal after a round's results");
    }
    g.phase = Phase::Revealed;
    room.changed(&mut g);
    Json(json!({ "ok": true })).into_response()
}
