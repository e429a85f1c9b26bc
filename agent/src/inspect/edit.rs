//! An edited request from the page, checked before anything is sent: a bad method or header
//! is a 400 naming the field, never a delivery.

use serde::Deserialize;
use shared::{Blob, Header, HttpRequest};

/// `POST /api/events/{id}/replay`'s optional body. Omitted fields keep the original's.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EditedRequest {
    /// e.g. `POST`.
    pub method: Option<String>,
    /// The path after the target's base path, e.g. `/extra` or empty.
    pub path: Option<String>,
    /// Without the `?`; `null` or empty for none.
    #[serde(default, deserialize_with = "some_or_null")]
    pub query: Option<Option<String>>,
    /// `[[name, value], ...]` in order, duplicates allowed.
    pub headers: Option<Vec<(String, String)>>,
    /// Text, or `{"b64": "..."}` for binary.
    pub body: Option<Blob>,
}

fn some_or_null<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// Why an edit was refused: the field and a readable reason.
#[derive(Debug, PartialEq, Eq)]
pub struct FieldError {
    /// `method`, `path`, `query`, `headers[2].name`...
    pub field: String,
    /// What is wrong.
    pub message: String,
}

fn refuse(field: impl Into<String>, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.into(),
        message: message.into(),
    }
}

/// `original` with `edit` applied, or the first field that is not valid HTTP.
pub fn apply(original: &HttpRequest, edit: EditedRequest) -> Result<HttpRequest, FieldError> {
    let mut req = original.clone();
    if let Some(method) = edit.method {
        let method = method.trim().to_string();
        if method.is_empty() || http::Method::from_bytes(method.as_bytes()).is_err() {
            return Err(refuse(
                "method",
                format!("{method:?} is not an HTTP method"),
            ));
        }
        req.method = method;
    }
    if let Some(path) = edit.path {
        let path = path.trim().to_string();
        if !(path.is_empty() || path.starts_with('/')) {
            return Err(refuse("path", "the path must be empty or start with /"));
        }
        if path.contains('?') || path.contains('#') {
            return Err(refuse(
                "path",
                "put the query in the query field, without ? or #",
            ));
        }
        if !path.is_empty() && path.parse::<http::uri::PathAndQuery>().is_err() {
            return Err(refuse("path", format!("{path:?} is not a valid URL path")));
        }
        req.path = path;
    }
    if let Some(query) = edit.query {
        let query = query
            .map(|q| q.trim().trim_start_matches('?').to_string())
            .filter(|q| !q.is_empty());
        if let Some(q) = &query {
            if q.contains('#') || format!("/?{q}").parse::<http::uri::PathAndQuery>().is_err() {
                return Err(refuse(
                    "query",
                    format!("{q:?} is not a valid query string"),
                ));
            }
        }
        req.query = query;
    }
    if let Some(headers) = edit.headers {
        let mut out = Vec::with_capacity(headers.len());
        for (i, (name, value)) in headers.into_iter().enumerate() {
            let name = name.trim().to_string();
            if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
                return Err(refuse(
                    format!("headers[{i}].name"),
                    format!("{name:?} is not a valid header name"),
                ));
            }
            if http::HeaderValue::from_str(&value).is_err() {
                return Err(refuse(
                    format!("headers[{i}].value"),
                    format!("the value of {name:?} is not a valid header value"),
                ));
            }
            out.push(Header::new(name.to_ascii_lowercase(), value));
        }
        req.headers = out;
    }
    if let Some(body) = edit.body {
        req.body = body;
    }
    Ok(req)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn original() -> HttpRequest {
        HttpRequest {
            method: "POST".into(),
            path: String::new(),
            query: None,
            headers: vec![Header::new("content-type", "application/json")],
            body: "{}".into(),
        }
    }

    #[test]
    fn fields_are_checked() {
        let bad = |e: EditedRequest| apply(&original(), e).expect_err("refused").field;
        assert_eq!(
            bad(EditedRequest {
                method: Some("PO ST".into()),
                ..Default::default()
            }),
            "method"
        );
        assert_eq!(
            bad(EditedRequest {
                headers: Some(vec![
                    ("ok".into(), "1".into()),
                    ("bad name".into(), "x".into())
                ]),
                ..Default::default()
            }),
            "headers[1].name"
        );
        assert_eq!(
            bad(EditedRequest {
                headers: Some(vec![("x".into(), "a\nb".into())]),
                ..Default::default()
            }),
            "headers[0].value"
        );
        assert_eq!(
            bad(EditedRequest {
                path: Some("nope".into()),
                ..Default::default()
            }),
            "path"
        );
    }

    #[test]
    fn omitted_fields_keep_the_original() {
        let req = apply(
            &original(),
            EditedRequest {
                body: Some("{\"a\":1}".into()),
                query: Some(Some("?x=1".into())),
                ..Default::default()
            },
        )
        .expect("valid");
        assert_eq!(req.method, "POST");
        assert_eq!(req.query.as_deref(), Some("x=1"));
        assert_eq!(req.body.as_bytes(), b"{\"a\":1}");
        assert_eq!(req.headers, original().headers);
    }
}
