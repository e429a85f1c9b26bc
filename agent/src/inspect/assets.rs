//! The page, built into the binary: one HTML shell, four small scripts, one stylesheet. No bundler,
//! no CDN, nothing fetched at run time, so the inspector works offline.

use super::json::error;
use super::security::PAGE_CSP;
use super::server::AppState;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

const INDEX: &str = include_str!("assets/index.html");
const DOM_JS: &str = include_str!("assets/dom.js");
const LIST_JS: &str = include_str!("assets/list.js");
const EVENT_JS: &str = include_str!("assets/event.js");
const APP_JS: &str = include_str!("assets/app.js");
const APP_CSS: &str = include_str!("assets/app.css");

/// The placeholder in `index.html` that becomes the per-run token.
const TOKEN_SLOT: &str = "{{TOKEN}}";

/// `/`, `/events/{id}`, `/compare/{a}/{b}`: the page (its script routes on the path).
pub(super) async fn index(State(state): State<Arc<AppState>>) -> Response {
    // The token is hex, so it needs no HTML escaping.
    let page = INDEX.replace(TOKEN_SLOT, &state.token);
    let mut resp = page.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PAGE_CSP),
    );
    resp
}

/// `/assets/{name}`.
pub(super) async fn file(Path(name): Path<String>) -> Response {
    let (body, content_type) = match name.as_str() {
        "dom.js" => (DOM_JS, "text/javascript; charset=utf-8"),
        "list.js" => (LIST_JS, "text/javascript; charset=utf-8"),
        "event.js" => (EVENT_JS, "text/javascript; charset=utf-8"),
        "app.js" => (APP_JS, "text/javascript; charset=utf-8"),
        "app.css" => (APP_CSS, "text/css; charset=utf-8"),
        _ => return error(StatusCode::NOT_FOUND, "no such asset"),
    };
    let mut resp = body.into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}
