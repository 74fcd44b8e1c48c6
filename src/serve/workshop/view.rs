//! What a room shows: to a person, their week and the leaderboard; to the
//! facilitator, the people and the controls; to everyone at the end, the
//! hidden ledger.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::Room;
use super::game::{Game, Phase, Week, playable};

/// A person not heard from for this long is shown as away.
const AWAY: Duration = Duration::from_secs(30);

/// The room as `token` sees it.
pub(super) fn show(room: &Room, g: &Game, token: &str, host: bool, lan: Option<&str>) -> Value {
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
