//! Explore: a leader's page. A run is a job: a first look at a few
//! replications (results in a fraction of a second), then the whole run
//! with its progress, then the verdict, the table, the charts and the
//! files. Replications are independent streams, so the first look is
//! exactly the first replications of the whole run.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use goodhart::io::{format, output, report};
use goodhart::{Results, Scenario};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::watch;

use super::form::{self, FieldError, Form};
use super::{App, bad_request};

/// Replications in the first look.
const FIRST_LOOK: u32 = 2;

/// Jobs kept for their files: older ones are forgotten.
const KEPT_JOBS: usize = 16;

/// The largest run a page may start: agent-steps (engineers x periods x
/// replications x policies) and estimated memory.
const MAX_AGENT_STEPS: u64 = 2_000_000_000;
const MAX_MEMORY_BYTES: u64 = 4 << 30;

/// The jobs of this server, newest last.
#[derive(Default)]
pub struct Jobs {
    next: AtomicUsize,
    list: Mutex<VecDeque<Arc<Job>>>,
}

/// One run of a scenario.
pub struct Job {
    id: String,
    scenario: Scenario,
    /// What the page shows, bumped at each change.
    state: watch::Sender<Arc<Value>>,
    /// The files, once the run is done.
    files: Mutex<Option<Files>>,
}

/// A finished run's files.
struct Files {
    summary_csv: String,
    summary_json: String,
    final_board_csv: String,
    report_html: String,
}

/// What `GET /api/meta` tells a page: presets, examples, metrics and sliders.
pub async fn meta() -> Json<Value> {
    let presets: Vec<Value> =
        goodhart::model::preset::SCENARIOS.iter().map(|p| json!({ "name": p.name, "summary": p.summary })).collect();
    let examples: Vec<&str> = form::EXAMPLES.iter().map(|(n, _)| *n).collect();
    let sliders: Vec<Value> = form::sliders()
        .map(|a| {
            json!({ "name": a.name, "meaning": a.meaning, "unit": a.unit,
                    "low": a.factor(0.0), "high": a.factor(1.0), "log": a.log })
        })
        .collect();
    Json(json!({
        "presets": presets,
        "examples": examples,
        "metrics": goodhart::model::metric::BUILTIN_METRICS,
        "sliders": sliders,
        "version": env!("CARGO_PKG_VERSION"),
    }))
}

/// The form's answer: the scenario's fields and file, or its messages.
fn checked(form: &Form) -> (StatusCode, Value, Option<Scenario>) {
    match form::resolve(form) {
        Ok(sc) => {
            let values: serde_json::Map<String, Value> =
                form::slider_values(&sc).into_iter().map(|(k, v)| (k, json!(v))).collect();
            let body = json!({ "ok": true, "fields": form::fields(&sc), "sliders": values,
                               "toml": format::write_scenario(&sc) });
            (StatusCode::OK, body, Some(sc))
        }
        Err(errors) => (StatusCode::UNPROCESSABLE_ENTITY, json!({ "ok": false, "errors": errors }), None),
    }
}

/// `POST /api/scenario`: checks a form.
pub async fn scenario(Json(form): Json<Form>) -> Response {
    let (status, body, _) = checked(&form);
    (status, Json(body)).into_response()
}

/// `POST /api/runs`: checks a form and starts its run.
pub async fn start(State(app): State<App>, Json(form): Json<Form>) -> Response {
    let (status, body, sc) = checked(&form);
    let Some(sc) = sc else { return (status, Json(body)).into_response() };
    let f = goodhart::Footprint::of(&sc, rayon::current_num_threads());
    if f.agent_steps > MAX_AGENT_STEPS || f.memory_bytes > MAX_MEMORY_BYTES {
        let message = format!(
            "this run takes {} agent-steps and about {} MB of memory, more than a page may start \
             ({} agent-steps, {} MB); use fewer engineers, periods, replications or policies, \
             or `goodhart run` the scenario file",
            f.agent_steps,
            f.memory_bytes >> 20,
            MAX_AGENT_STEPS,
            MAX_MEMORY_BYTES >> 20
        );
        let errors = vec![FieldError { field: None, message }];
        return (StatusCode::UNPROCESSABLE_ENTITY, Json(json!({ "ok": false, "errors": errors }))).into_response();
    }
    let id = format!("r{}", app.jobs.next.fetch_add(1, Ordering::Relaxed) + 1);
    let total = sc.replications as usize * sc.policies.len();
    let (state, _) = watch::channel(Arc::new(json!({ "version": 0, "phase": "running", "done": 0, "total": total })));
    let job = Arc::new(Job { id: id.clone(), scenario: sc, state, files: Mutex::new(None) });
    {
        let mut list = app.jobs.list.lock().unwrap_or_else(|e| e.into_inner());
        list.push_back(job.clone());
        while list.len() > KEPT_JOBS {
            list.pop_front();
        }
    }
    tokio::task::spawn_blocking(move || run_job(&job));
    (StatusCode::ACCEPTED, Json(json!({ "ok": true, "id": id }))).into_response()
}

/// Runs a job: the first look, then the whole run, publishing each.
fn run_job(job: &Job) {
    let sc = &job.scenario;
    let total = sc.replications as usize * sc.policies.len();
    let version = AtomicUsize::new(0);
    let publish = |mut v: Value| {
        v["version"] = json!(version.fetch_add(1, Ordering::Relaxed) + 1);
        v["total"] = json!(total);
        job.state.send_replace(Arc::new(v));
    };
    let first = FIRST_LOOK.min(sc.replications);
    let mut partial = None;
    if first < sc.replications {
        let mut quick = sc.clone();
        quick.replications = first;
        match goodhart::run_streaming(&quick, &|_| {}, false, &mut |_, _, _| Ok(())) {
            Ok(r) => {
                // The whole run starts again from replication 0: its progress starts at 0.
                let mut v = results_json(&r, false);
                v["phase"] = json!("running");
                v["done"] = json!(0);
                publish(v.clone());
                partial = Some(v);
            }
            Err(e) => return publish(json!({ "phase": "failed", "error": e.to_string() })),
        }
    }
    // Progress is published at most every 2% of the runs (and with the
    // first look's results kept on the page meanwhile).
    let step = (total / 50).max(1);
    let progress = |done: usize| {
        if done % step == 0 || done == total {
            let mut v = partial.clone().unwrap_or_else(|| json!({ "phase": "running" }));
            v["done"] = json!(done);
            publish(v);
        }
    };
    let mut r = match goodhart::Experiment::new(sc).progress(&progress).run_streaming(false, &mut |_, _, _| Ok(())) {
        Ok(r) => r,
        Err(e) => return publish(json!({ "phase": "failed", "error": e.to_string() })),
    };
    // The results, then (as `goodhart run` does by default from 16
    // replications) the conclusions tested against the assumptions, which
    // adds a sentence to the verdict and a table and chart to the report.
    let size = goodhart::analysis::assumptions::CheckSize::default_for(sc.replications);
    if let Err(e) = finish(job, &r, if size.is_some() { "checking" } else { "done" }, &publish) {
        return publish(json!({ "phase": "failed", "error": e }));
    }
    if let Some(size) = size {
        match goodhart::analysis::assumptions::check(&r, size, &|_| {}) {
            Ok(c) => r.assumptions = Some(c),
            Err(e) => return publish(json!({ "phase": "failed", "error": e.to_string() })),
        }
        if let Err(e) = finish(job, &r, "done", &publish) {
            publish(json!({ "phase": "failed", "error": e }));
        }
    }
}

/// Publishes finished results as `phase` and keeps their files.
fn finish(job: &Job, r: &Results, phase: &str, publish: &dyn Fn(Value)) -> Result<(), String> {
    let (charts, html) =
        report::build(r, "goodhart run scenario.toml").map_err(|e| format!("cannot draw the report: {e}"))?;
    *job.files.lock().unwrap_or_else(|e| e.into_inner()) = Some(Files {
        summary_csv: output::summary_csv(r),
        summary_json: output::summary_json(r),
        final_board_csv: output::final_board_csv(r),
        report_html: html,
    });
    let mut v = results_json(r, true);
    v["charts"] = charts.iter().map(|c| json!({ "name": c.name, "title": c.title, "svg": c.svg })).collect::<Value>();
    v["phase"] = json!(phase);
    v["done"] = json!(r.scenario.replications as usize * r.policies.len());
    publish(v);
    Ok(())
}

/// The verdict and the comparison table of `r`, with every figure as the
/// report writes it.
fn results_json(r: &Results, complete: bool) -> Value {
    let base = &r.policies[r.baseline];
    let kpis = ["net_value", "token_cost", "useful_output", "incident_cost", "bonus_paid", "gaming_share"];
    let rows: Vec<Value> = r
        .policies
        .iter()
        .map(|p| {
            let cells: Vec<Value> = kpis
                .iter()
                .map(|k| match r.estimate(p, k) {
                    Some(e) => {
                        let diff = (p != base).then(|| r.paired_diff(p, base, k)).flatten();
                        json!({
                            "value": output::kpi_value(k, e.mean),
                            "interval": output::kpi_interval(k, &e),
                            "diff": diff.map(|d| output::kpi_diff(k, d.mean)),
                            "diff_interval": diff.map(|d| output::kpi_diff_interval(k, &d)),
                            "mean": e.mean,
                        })
                    }
                    None => Value::Null,
                })
                .collect();
            json!({ "policy": p, "cells": cells, "settled": r.settled(p) })
        })
        .collect();
    json!({
        "complete": complete,
        "replications": r.scenario.replications,
        "verdict": output::verdict(r),
        "baseline": base,
        "kpis": kpis,
        "rows": rows,
    })
}

/// The query of `GET /api/runs/{id}`: the version the page has.
#[derive(Deserialize)]
pub struct Since {
    #[serde(default)]
    after: u64,
}

/// How long a poll waits for news before answering with the same state.
const POLL: Duration = Duration::from_secs(20);

fn job(app: &App, id: &str) -> Option<Arc<Job>> {
    app.jobs.list.lock().unwrap_or_else(|e| e.into_inner()).iter().find(|j| j.id == id).cloned()
}

/// `GET /api/runs/{id}?after=V`: the job's state once its version passes
/// `V` (a long poll).
pub async fn poll(State(app): State<App>, Path(id): Path<String>, Query(q): Query<Since>) -> Response {
    let Some(job) = job(&app, &id) else {
        return bad_request(StatusCode::NOT_FOUND, "no such run (runs are kept until 16 newer ones start)");
    };
    let mut rx = job.state.subscribe();
    let newer = |v: &Arc<Value>| v["version"].as_u64().unwrap_or(0) > q.after;
    let waited = tokio::time::timeout(POLL, rx.wait_for(newer)).await.ok().and_then(|r| r.ok().map(|v| v.clone()));
    let state = waited.unwrap_or_else(|| rx.borrow().clone());
    Json((*state).clone()).into_response()
}

/// `GET /api/runs/{id}/{file}`: a finished run's file, or the scenario.
pub async fn file(State(app): State<App>, Path((id, name)): Path<(String, String)>) -> Response {
    let Some(job) = job(&app, &id) else {
        return bad_request(StatusCode::NOT_FOUND, "no such run (runs are kept until 16 newer ones start)");
    };
    let files = job.files.lock().unwrap_or_else(|e| e.into_inner());
    let (body, kind) = match (name.as_str(), files.as_ref()) {
        ("scenario.toml", _) => (format::write_scenario(&job.scenario), "application/toml; charset=utf-8"),
        ("summary.csv", Some(f)) => (f.summary_csv.clone(), "text/csv; charset=utf-8"),
        ("summary.json", Some(f)) => (f.summary_json.clone(), "application/json"),
        ("final_board.csv", Some(f)) => (f.final_board_csv.clone(), "text/csv; charset=utf-8"),
        ("report.html", Some(f)) => (f.report_html.clone(), "text/html; charset=utf-8"),
        ("summary.csv" | "summary.json" | "final_board.csv" | "report.html", None) => {
            return bad_request(StatusCode::CONFLICT, "the run has not finished");
        }
        _ => return bad_request(StatusCode::NOT_FOUND, "no such file"),
    };
    let disposition = format!("attachment; filename=\"{name}\"");
    ([(header::CONTENT_TYPE, kind.to_string()), (header::CONTENT_DISPOSITION, disposition)], body).into_response()
}

/// `GET /api/runs/{id}/timeseries.csv`: made again from the scenario (the
/// same seed gives the same rows), so no run keeps its series in memory.
pub async fn timeseries(State(app): State<App>, Path(id): Path<String>) -> Response {
    let Some(job) = job(&app, &id) else {
        return bad_request(StatusCode::NOT_FOUND, "no such run (runs are kept until 16 newer ones start)");
    };
    let made = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, String> {
        let sc = &job.scenario;
        let names: Vec<String> = sc.policies.iter().map(|p| p.name.clone()).collect();
        let kpis = goodhart::analysis::kpi::kpi_defs(sc);
        let mut out = output::TIMESERIES_HEADER.as_bytes().to_vec();
        goodhart::run_streaming(sc, &|_| {}, false, &mut |p, rep, run| {
            output::write_timeseries_rows(&names[p], rep, &kpis, run, &mut out).map_err(|e| e.to_string())
        })
        .map_err(|e| e.to_string())?;
        Ok(out)
    })
    .await;
    match made {
        Ok(Ok(bytes)) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (header::CONTENT_DISPOSITION, "attachment; filename=\"timeseries.csv\"".to_string()),
            ],
            bytes,
        )
            .into_response(),
        Ok(Err(e)) => bad_request(StatusCode::INTERNAL_SERVER_ERROR, &e),
        Err(e) => bad_request(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}
