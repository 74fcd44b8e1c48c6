//! Workshop: a room plays engineers among agent colleagues.

use axum::Router;
use axum::extract::Path;
use axum::response::{IntoResponse, Response};

use super::App;

/// The rooms of this server.
#[derive(Default)]
pub struct Rooms {}

/// The workshop's API routes.
pub fn routes() -> Router<App> {
    Router::new()
}

/// `GET /join/{code}`: the workshop page, opened on a room.
pub async fn join_page(Path(code): Path<String>) -> Response {
    let _ = code;
    axum::response::Redirect::to("/workshop").into_response()
}
