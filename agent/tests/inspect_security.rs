//! The inspector keeps other web pages out, over a real socket: loopback binding, DNS
//! rebinding (Host), CSRF (token and Origin), and pages that never run a body as HTML.

mod inspect_support;

use agent::target::Target;
use inspect_support::*;

async fn with_event() -> (Running, shared::EventId, tokio::sync::mpsc::Receiver<Seen>) {
    let (port, seen) = spawn_target().await;
    let c = okta_event(1, "user.lifecycle.create", "Ada Lovelace", 200);
    let target = Target::parse(&port.to_string(), "/x").expect("target");
    let id = c.id;
    (start(&[c], Some(target)).await, id, seen)
}

#[tokio::test]
async fn the_default_address_is_loopback_and_a_taken_port_moves_on() {
    within(async {
        let default: std::net::SocketAddr = agent::inspect::DEFAULT_ADDR.parse().expect("addr");
        assert!(default.ip().is_loopback());
        assert_eq!(default.port(), 4040);
        let taken = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = taken.local_addr().expect("addr");
        let next = agent::inspect::bind(addr, true).await.expect("next free");
        let got = next.local_addr().expect("addr");
        assert!(got.ip().is_loopback());
        assert_ne!(got.port(), addr.port());
        // An address the user chose is not silently replaced.
        let err = agent::inspect::bind(addr, false).await.expect_err("taken");
        assert!(format!("{err:#}").contains("--inspect"), "{err:#}");
    })
    .await
}

#[tokio::test]
async fn requests_naming_another_host_are_refused() {
    within(async {
        let (r, id, _seen) = with_event().await;
        let port = r.inspector.addr.port();
        let other_port = format!("127.0.0.1:{}", port.wrapping_add(1));
        let evil = format!("evil.example:{port}");
        let rebound = format!("attacker.127.0.0.1.nip.io:{port}");
        for host in [
            evil.as_str(),
            rebound.as_str(),
            other_port.as_str(),
            "127.0.0.1",
        ] {
            for path in [
                "/",
                "/api/events",
                &format!("/api/events/{id}"),
                "/api/session",
            ] {
                let a = send(port, "GET", path, &[("host", host)], b"").await;
                assert_eq!(a.status, 421, "Host {host} {path}");
                assert!(!String::from_utf8_lossy(&a.body).contains("Lovelace"));
            }
        }
        for host in [
            format!("127.0.0.1:{port}"),
            format!("localhost:{port}"),
            format!("LOCALHOST:{port}"),
        ] {
            let a = send(port, "GET", "/api/events", &[("host", &host)], b"").await;
            assert_eq!(a.status, 200, "Host {host}");
        }
    })
    .await
}

#[tokio::test]
async fn replay_needs_the_token_and_the_inspectors_own_origin() {
    within(async {
        let (r, id, mut seen) = with_event().await;
        let port = r.inspector.addr.port();
        let host = r.host();
        let token = token(&r).await;
        let own = format!("http://{host}");
        let path = format!("/api/events/{id}/replay");
        let cases: [(&str, Vec<(&str, &str)>); 5] = [
            ("no token", vec![("host", &host), ("origin", &own)]),
            (
                "wrong token",
                vec![
                    ("host", &host),
                    ("origin", &own),
                    ("x-hookrelay-token", "00000000000000000000000000000000"),
                ],
            ),
            (
                "no origin",
                vec![("host", &host), ("x-hookrelay-token", &token)],
            ),
            (
                "foreign origin",
                vec![
                    ("host", &host),
                    ("origin", "http://evil.example"),
                    ("x-hookrelay-token", &token),
                ],
            ),
            (
                "origin on another port",
                vec![
                    ("host", &host),
                    ("origin", "http://127.0.0.1:1"),
                    ("x-hookrelay-token", &token),
                ],
            ),
        ];
        for (what, headers) in &cases {
            let a = send(port, "POST", &path, headers, b"").await;
            assert_eq!(a.status, 403, "{what}");
            assert!(a.json()["error"].is_string(), "{what}");
        }
        assert_eq!(r.store.count().expect("count"), 1, "nothing was replayed");
        let ok = send(
            port,
            "POST",
            &path,
            &[
                ("host", &host),
                ("origin", &own),
                ("x-hookrelay-token", &token),
            ],
            b"",
        )
        .await;
        assert_eq!(ok.status, 201);
        // The first request the target saw is the allowed one.
        let got = seen.recv().await.expect("delivered");
        assert_eq!(got.uri, "/x/hook");
        // A second run has another token: tokens are per run.
        let (r2, _, _) = with_event().await;
        assert_ne!(inspect_support::token(&r2).await, token);
    })
    .await
}

#[tokio::test]
async fn pages_forbid_inline_script_framing_and_sniffing() {
    within(async {
        let mut c = okta_event(2, "user.lifecycle.create", "<script>alert(1)</script>", 200);
        c.request.body = "<script>window.pwned=1</script><img src=x onerror=alert(1)>".into();
        let id = c.id;
        let r = start(&[c], None).await;
        let page = get(&r, &format!("/events/{id}")).await;
        assert_eq!(page.status, 200);
        let csp = page.header("content-security-policy").expect("CSP");
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert_eq!(page.header("x-frame-options"), Some("DENY"));
        assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
        // The page never contains captured data: the script fetches it as JSON.
        assert!(!String::from_utf8_lossy(&page.body).contains("pwned"));
        let token = token(&r).await;
        assert!(String::from_utf8_lossy(&page.body).contains(&token));
        let api = get(&r, &format!("/api/events/{id}")).await;
        assert_eq!(api.header("content-type"), Some("application/json"));
        assert_eq!(
            api.header("cross-origin-resource-policy"),
            Some("same-origin")
        );
        let raw = get(&r, &format!("/api/events/{id}/body/request")).await;
        assert_eq!(raw.header("content-type"), Some("application/octet-stream"));
        assert!(raw
            .header("content-disposition")
            .expect("attachment")
            .starts_with("attachment"));
        // The script itself uses textContent for data, never innerHTML.
        let js = get(&r, "/assets/app.js").await;
        let js = String::from_utf8_lossy(&js.body);
        assert!(
            !js.contains("innerHTML")
                && !js.contains("outerHTML")
                && !js.contains("insertAdjacentHTML")
        );
    })
    .await
}
