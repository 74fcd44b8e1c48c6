//! Workshop: a room plays one organisation's weeks. Each participant is one
//! engineer among agent colleagues; each round (a week) they split their
//! hours between the scenario's activities before a timer ends; the
//! facilitator paces the rounds, may switch the policy, and at the end
//! reveals the hidden ledger: useful output against the token bill.
//!
//! The engine is not changed for this. A round reruns the organisation
//! from week 0 with one replication ([`GameRule`] plays the people's
//! recorded hours and the best response for everyone else; [`Recorder`]
//! keeps what each week showed): runs are deterministic, so the weeks
//! already played come out the same, and a policy switch is a schedule
//! stage from the week it was made. A week costs milliseconds, so a
//! dozen reruns of a small organisation cost nothing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use goodhart::behavior::{BehaviorRule, BestResponse, Engineer, Planner};
use goodhart::{Observer, ObserverError, PeriodView, Policy, RunInfo, Scenario, Stage};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::watch;

use super::{App, bad_request};

/// Rooms open at once on one server.
const MAX_ROOMS: usize = 64;
/// People in one room.
const MAX_PLAYERS: usize = 200;
/// A person not heard from for this long is shown as away.
const AWAY: Duration = Duration::from_secs(30);
/// How long a poll waits for news.
const POLL: Duration = Duration::from_secs(20);
/// The name used for the schedule the room plays.
const GAME: &str = "this-room";

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

/// Where the room is.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    /// Waiting for the first round.
    Lobby,
    /// People choose their hours for week `week` until `deadline`.
    Choosing { week: usize, deadline: Instant },
    /// The week is being simulated.
    Running { week: usize },
    /// Week `week`'s results are shown.
    Results { week: usize },
    /// The ledger is shown.
    Revealed,
}

/// A person in the room.
struct Player {
    token: String,
    name: String,
    /// The engineer they play.
    slot: usize,
    /// Their hours per activity, week by week (`None`: an agent played the week).
    plans: Vec<Option<Vec<f64>>>,
    /// Hours handed in for the open round.
    pending: Option<Vec<f64>>,
    seen: Instant,
}

/// What one week showed, per engineer (indexed by engineer) and in total.
#[derive(Debug, Clone)]
struct Week {
    policy: String,
    published: Vec<f64>,
    payout: Vec<f64>,
    value: Vec<f64>,
    tokens: Vec<f64>,
    gaming: Vec<f64>,
    /// Organisation: useful output, token bill, incident cost, prizes paid (USD).
    org: [f64; 4],
}

/// A room's game.
struct Game {
    base: Scenario,
    /// Seconds a round stays open.
    timer: u64,
    phase: Phase,
    /// The policy each stage plays, from its week.
    stages: Vec<Stage>,
    players: Vec<Player>,
    weeks: Vec<Week>,
    version: u64,
    /// Why the last round could not run, if it could not.
    error: Option<String>,
}

/// The policies a room may play: the story's (all of them have a metric
/// but the baseline).
fn playable() -> Vec<Policy> {
    goodhart::model::preset::scenario("story")
        .map(|s| s.policies.into_iter().filter(|p| p.schedule.is_empty()).collect())
        .unwrap_or_default()
}

impl Game {
    /// The scenario that plays weeks `0..=week` of the room.
    fn scenario(&self, weeks: usize) -> Scenario {
        let mut sc = self.base.clone();
        sc.periods = weeks as u32;
        sc.replications = 1;
        sc.burn_in = 0;
        let mut policies: Vec<Policy> = Vec::new();
        for p in playable() {
            if self.stages.iter().any(|s| s.policy == p.name) {
                policies.push(p);
            }
        }
        let mut game = Policy::none(GAME);
        game.schedule = self.stages.clone();
        policies.push(game);
        sc.baseline = Some(GAME.to_string());
        sc.policies = policies;
        sc
    }

    /// The policy in force in week `week`.
    fn policy_at(&self, week: usize) -> &str {
        self.stages.iter().rev().find(|s| s.from as usize <= week).map_or("", |s| s.policy.as_str())
    }
}

/// The behaviour of a room's run: people's hours where they chose them,
/// the exact best response for every agent and for a person's missed week.
/// A person keeps the AI intensity the best response would use.
struct GameRule {
    /// Per engineer played by a person: hours per activity, week by week.
    people: HashMap<usize, Vec<Option<Vec<f64>>>>,
}

impl BehaviorRule for GameRule {
    /// Calls so far: the first is the pre-period, call `k` plans week `k - 1`.
    type Memory = usize;

    fn init(&self, _: &Engineer) -> usize {
        0
    }

    fn choose(&self, me: &Engineer, calls: &mut usize, planner: &mut Planner) {
        let call = *calls;
        *calls += 1;
        BestResponse.choose(me, &mut (), planner);
        let Some(Some(hours)) = call.checked_sub(1).and_then(|w| self.people.get(&me.index)?.get(w)) else { return };
        // AI intensity where the best response used none: the highest it used.
        let most = planner.tau().iter().cloned().fold(0.0, f64::max);
        let tau: Vec<f64> = planner.tau().iter().map(|&t| if t > 0.0 { t } else { most }).collect();
        planner.set_plan(hours, &tau);
    }
}

/// Keeps what each week of the room's run showed.
struct Recorder {
    /// Whether this run is the room's (the stage policies run beside it).
    keep: bool,
    weeks: Vec<Week>,
    /// Per activity: fixed tokens per hour, and whether AI intensity adds to it.
    tokens: Vec<(f64, bool)>,
    stages: Vec<Stage>,
}

impl Observer for Recorder {
    fn period(&mut self, p: &PeriodView) -> Result<(), ObserverError> {
        if !self.keep {
            return Ok(());
        }
        let k = self.tokens.len();
        let tokens: Vec<f64> = (0..p.engineers)
            .map(|i| {
                (0..k)
                    .map(|a| {
                        let (fixed, ai) = self.tokens[a];
                        p.plan_hours[i * k + a] * (fixed + if ai { p.plan_tau[i * k + a] } else { 0.0 })
                    })
                    .sum()
            })
            .collect();
        let policy = self.stages.iter().rev().find(|s| s.from as usize <= p.period).map_or("", |s| &s.policy);
        self.weeks.push(Week {
            policy: policy.to_string(),
            published: p.published.to_vec(),
            payout: p.payout.to_vec(),
            value: p.value.to_vec(),
            tokens,
            gaming: p.gaming.to_vec(),
            org: [
                p.totals.value,
                p.totals.tokens * p.price_per_token,
                p.totals.incidents * p.incident_cost,
                p.bonus_paid,
            ],
        });
        Ok(())
    }
}

/// Runs weeks `0..weeks` of the room; returns every week's record.
fn simulate(
    sc: &Scenario,
    people: HashMap<usize, Vec<Option<Vec<f64>>>>,
    stages: &[Stage],
) -> Result<Vec<Week>, String> {
    let tokens: Vec<(f64, bool)> = sc.activities.iter().map(|a| (a.tokens_per_hour, a.uses_ai)).collect();
    let mut out = Vec::new();
    goodhart::Experiment::new(sc)
        .behavior(GameRule { people })
        .run_observed(
            &|info: &RunInfo| Recorder {
                keep: info.policy == GAME,
                weeks: Vec::new(),
                tokens: tokens.clone(),
                stages: stages.to_vec(),
            },
            &mut |info, rec, _| {
                if info.policy == GAME {
                    out = rec.weeks;
                }
                Ok(())
            },
        )
        .map_err(|e| e.to_string())?;
    Ok(out)
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
    Json(show(&room, &g, &q.token, host, app.lan.as_deref())).into_response()
}

/// The room as `token` sees it.
fn show(room: &Room, g: &Game, token: &str, host: bool, lan: Option<&str>) -> Value {
    let n = g.base.org.engineers;
    let me = g.players.iter().find(|p| p.token == token);
    let names: HashMap<usize, &str> = g.players.iter().map(|p| (p.slot, p.name.as_str())).collect();
    let (phase, week, left_ms) = match g.phase {
        Phase::Lobby => ("lobby", g.weeks.len(), 0),
        Phase::Choosing { week, deadline } => {
            ("choosing", week, deadline.saturating_duration_since(Instant::now()).as_millis() as u64)
        }
        Phase::Running { week } => ("running", week, 0),
        Phase::Results { week } => ("results", week, 0),
        Phase::Revealed => ("revealed", g.weeks.len().saturating_sub(1), 0),
    };
    let board = g.weeks.last().map(|w| board(w, g.weeks.len() - 1, &names, me.map(|p| p.slot), n));
    let activities: Vec<Value> =
        g.base.activities.iter().map(|a| json!({ "name": a.name, "gaming": a.gaming })).collect();
    let policies: Vec<Value> =
        playable().iter().map(|p| json!({ "name": p.name, "description": p.description })).collect();
    let current = g.policy_at(week);
    let description = playable().into_iter().find(|p| p.name == current).map(|p| p.description).unwrap_or_default();
    let mut v = json!({
        "code": room.code,
        "version": g.version,
        "phase": phase,
        "week": week,
        "weeks_played": g.weeks.len(),
        "left_ms": left_ms,
        "timer": g.timer,
        "policy": { "name": current, "description": description },
        "activities": activities,
        "hours": { "contract": g.base.org.hours_per_period, "max": g.base.org.max_hours_per_period },
        "engineers": n,
        "people": g.players.len(),
        "board": board,
        "error": g.error,
    });
    if let Some(p) = me {
        let pay: f64 = g.weeks.iter().map(|w| w.payout[p.slot]).sum();
        let last = p.plans.iter().rev().flatten().next();
        v["me"] = json!({
            "name": p.name,
            "slot": p.slot,
            "submitted": p.pending.is_some(),
            "hours": p.pending.as_ref().or(last),
            "pay_total": pay,
            "pay_last": g.weeks.last().map(|w| w.payout[p.slot]),
            "agent_played_last": !g.weeks.is_empty() && p.plans.last().is_some_and(|x| x.is_none()),
        });
    }
    if host {
        let now = Instant::now();
        let people: Vec<Value> = g
            .players
            .iter()
            .map(|p| {
                json!({ "name": p.name, "slot": p.slot, "submitted": p.pending.is_some(),
                        "away": now.duration_since(p.seen) > AWAY,
                        "missed": p.plans.iter().filter(|x| x.is_none()).count() })
            })
            .collect();
        v["host"] = json!(true);
        v["players"] = json!(people);
        v["policies"] = json!(policies);
        v["stages"] = json!(g.stages.iter().map(|s| json!({ "from": s.from, "policy": s.policy })).collect::<Vec<_>>());
        v["lan"] = json!(lan);
    }
    if g.phase == Phase::Revealed {
        v["ledger"] = ledger(g, &names);
    }
    v
}

/// A week's leaderboard: the top ten by the published metric, and this person's place.
fn board(w: &Week, week: usize, names: &HashMap<usize, &str>, me: Option<usize>, n: usize) -> Value {
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| w.published[b].total_cmp(&w.published[a]).then(a.cmp(&b)));
    let row = |rank: usize, i: usize| {
        json!({ "rank": rank + 1, "name": names.get(&i).map_or(format!("Agent {}", i + 1), |s| s.to_string()),
                "person": names.contains_key(&i), "me": Some(i) == me,
                "metric": w.published[i], "pay": w.payout[i] })
    };
    let top: Vec<Value> = order.iter().take(10).enumerate().map(|(r, &i)| row(r, i)).collect();
    let mine = me.and_then(|m| order.iter().position(|&i| i == m).map(|r| row(r, m)));
    let people: Vec<Value> =
        order.iter().enumerate().filter(|(_, i)| names.contains_key(i)).map(|(r, &i)| row(r, i)).collect();
    json!({ "week": week, "policy": w.policy, "top": top, "mine": mine, "people": people, "of": n })
}

/// The hidden ledger: per person, the agents' mean and the organisation,
/// useful output against the token bill over every week played.
fn ledger(g: &Game, names: &HashMap<usize, &str>) -> Value {
    let n = g.base.org.engineers;
    let sum = |f: &dyn Fn(&Week) -> f64| g.weeks.iter().map(f).sum::<f64>();
    let price = g.base.org.price_per_token();
    let person = |i: usize| {
        let value = sum(&|w| w.value[i]);
        let bill = sum(&|w| w.tokens[i]) * price;
        json!({ "value": value, "bill": bill, "pay": sum(&|w| w.payout[i]), "gaming_hours": sum(&|w| w.gaming[i]) })
    };
    let mut people: Vec<Value> = g
        .players
        .iter()
        .map(|p| {
            let mut v = person(p.slot);
            v["name"] = json!(p.name);
            v["agent_weeks"] = json!(p.plans.iter().filter(|x| x.is_none()).count());
            v
        })
        .collect();
    people.sort_by(|a, b| b["value"].as_f64().unwrap_or(0.0).total_cmp(&a["value"].as_f64().unwrap_or(0.0)));
    let agents: Vec<usize> = (0..n).filter(|i| !names.contains_key(i)).collect();
    let mean = |f: &dyn Fn(usize) -> f64| {
        if agents.is_empty() { 0.0 } else { agents.iter().map(|&i| f(i)).sum::<f64>() / agents.len() as f64 }
    };
    let agent = json!({
        "count": agents.len(),
        "value": mean(&|i| sum(&|w| w.value[i])),
        "bill": mean(&|i| sum(&|w| w.tokens[i]) * price),
        "pay": mean(&|i| sum(&|w| w.payout[i])),
        "gaming_hours": mean(&|i| sum(&|w| w.gaming[i])),
    });
    let org = [0, 1, 2, 3].map(|k| sum(&|w| w.org[k]));
    let weeks: Vec<Value> = g
        .weeks
        .iter()
        .enumerate()
        .map(|(t, w)| json!({ "week": t + 1, "policy": w.policy, "value": w.org[0], "bill": w.org[1] }))
        .collect();
    json!({
        "people": people,
        "agents": agent,
        "org": { "value": org[0], "bill": org[1], "incidents": org[2], "prizes": org[3],
                 "net": org[0] - org[1] - org[2] - org[3] },
        "weeks": weeks,
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn game(people: usize) -> Game {
        let mut base = goodhart::model::preset::scenario("story").unwrap();
        base.org.engineers = 20;
        Game {
            base,
            timer: 10,
            phase: Phase::Lobby,
            stages: vec![Stage { from: 0, policy: "kirorank".into() }],
            players: (0..people)
                .map(|i| Player {
                    token: format!("t{i}"),
                    name: format!("p{i}"),
                    slot: i,
                    plans: vec![],
                    pending: None,
                    seen: Instant::now(),
                })
                .collect(),
            weeks: vec![],
            version: 0,
            error: None,
        }
    }

    #[test]
    fn weeks_already_played_replay_the_same_and_a_switch_starts_where_it_is_made() {
        let mut g = game(2);
        let burn = vec![10.0, 30.0, 0.0, 0.0, 0.0];
        let people: HashMap<usize, Vec<Option<Vec<f64>>>> =
            [(0, vec![Some(burn.clone()); 4]), (1, vec![None; 4])].into_iter().collect();
        let three = simulate(&g.scenario(3), people.clone(), &g.stages).unwrap();
        g.stages.push(Stage { from: 3, policy: "normalized-deployments".into() });
        let four = simulate(&g.scenario(4), people, &g.stages).unwrap();
        for t in 0..3 {
            assert_eq!(three[t].published, four[t].published, "week {t} changed on replay");
            assert_eq!(three[t].value, four[t].value);
        }
        assert_eq!(four[3].policy, "normalized-deployments");
        // The person who burnt 30 hours a week used at least 300 M tokens a week.
        assert!(four[0].tokens[0] >= 3e8, "{}", four[0].tokens[0]);
    }
}
