//! The local target: `1337` or a URL, plus the path every event is delivered under.

use anyhow::{bail, Context};
use shared::HttpRequest;

/// Where events are delivered: `scheme://authority` and a base path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// `http://127.0.0.1:1337` — no trailing slash.
    pub origin: String,
    /// `/okta-webhooks-endpoint` — starts with `/` or is empty.
    pub path: String,
}

impl Target {
    /// Parses `PORT` or `http(s)://host[:port][/path]`. A bare port means `http://127.0.0.1:PORT`;
    /// the URL's own path wins over `default_path` when it has one.
    pub fn parse(spec: &str, default_path: &str) -> anyhow::Result<Target> {
        let default_path = normalise_path(default_path);
        if !spec.is_empty() && spec.bytes().all(|b| b.is_ascii_digit()) {
            let port: u16 = spec
                .parse()
                .with_context(|| format!("{spec} is not a port number (1-65535)"))?;
            if port == 0 {
                bail!("port 0 is not a valid target port");
            }
            return Ok(Target {
                origin: format!("http://127.0.0.1:{port}"),
                path: default_path,
            });
        }
        let uri: http::Uri = spec
            .parse()
            .with_context(|| format!("{spec:?} is neither a port nor a URL"))?;
        let scheme = uri.scheme_str().unwrap_or("");
        if scheme != "http" && scheme != "https" {
            bail!("target {spec:?} must be a port or an http:// or https:// URL");
        }
        let authority = uri
            .authority()
            .with_context(|| format!("target URL {spec:?} has no host"))?;
        let path = match uri.path() {
            "" | "/" => default_path,
            p => p.trim_end_matches('/').to_string(),
        };
        Ok(Target {
            origin: format!("{scheme}://{authority}"),
            path,
        })
    }

    /// The base URL, e.g. `http://127.0.0.1:1337/okta-webhooks-endpoint`.
    pub fn url(&self) -> String {
        format!("{}{}", self.origin, self.path)
    }

    /// The URL one request is delivered to: base, the sender's path suffix, its query.
    pub fn url_for(&self, req: &HttpRequest) -> String {
        format!("{}{}{}", self.origin, self.path, req.path_and_query())
    }
}

fn normalise_path(p: &str) -> String {
    let p = p.trim_end_matches('/');
    if p.is_empty() || p.starts_with('/') {
        p.to_string()
    } else {
        format!("/{p}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_and_urls() {
        let t = Target::parse("1337", "/okta-webhooks-endpoint").expect("port");
        assert_eq!(t.url(), "http://127.0.0.1:1337/okta-webhooks-endpoint");
        let t = Target::parse("https://localhost:8443", "hooks").expect("url");
        assert_eq!(t.url(), "https://localhost:8443/hooks");
        let t = Target::parse("http://[::1]:3000/x/", "/okta").expect("url with path");
        assert_eq!(t.url(), "http://[::1]:3000/x");
        let req = HttpRequest {
            method: "POST".into(),
            path: "/extra/path".into(),
            query: Some("x=1&y".into()),
            headers: vec![],
            body: Default::default(),
        };
        assert_eq!(t.url_for(&req), "http://[::1]:3000/x/extra/path?x=1&y");
    }

    #[test]
    fn bad_targets() {
        assert!(Target::parse("0", "/").is_err());
        assert!(Target::parse("70000", "/").is_err());
        assert!(Target::parse("ftp://x", "/").is_err());
        assert!(Target::parse("not a url", "/").is_err());
    }
}
