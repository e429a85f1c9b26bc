//! Realistic event hook deliveries: the CloudEvents envelope and one System Log event per type.

use super::fake::{self, Origin, Person};
use super::targets;
use serde_json::{json, Value};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// The Okta org every generated payload claims to come from unless told otherwise.
pub const DEFAULT_ORG: &str = "dev-12345678.okta.com";
/// The event hook id generated payloads carry unless told otherwise.
pub const DEFAULT_HOOK_ID: &str = "who8hookrelayKit01d7";

/// What a generated event hook delivery looks like.
#[derive(Clone, Debug)]
pub struct TriggerOptions {
    /// The Okta org domain, e.g. `dev-12345678.okta.com`; used in `source` and URLs.
    pub org: String,
    /// The event hook id, used in `source` and the user agent.
    pub hook_id: String,
    /// Display name of the user the events are about (e.g. `John Doe`); random when `None`.
    pub user: Option<String>,
    /// Mark every event as failed (`outcome.result: FAILURE`).
    pub failure: bool,
}

impl Default for TriggerOptions {
    fn default() -> Self {
        TriggerOptions {
            org: DEFAULT_ORG.into(),
            hook_id: DEFAULT_HOOK_ID.into(),
            user: None,
            failure: false,
        }
    }
}

/// A full event hook body carrying one System Log event per entry of `types` (repeats allowed),
/// with a fresh `eventId` and fresh event `uuid`s. Any type string is accepted.
pub fn event_hook_body(types: &[&str], opts: &TriggerOptions) -> Value {
    let now = OffsetDateTime::now_utc();
    let subject = match &opts.user {
        Some(name) => Person::named(name),
        None => Person::random(),
    };
    let admin = Person::random();
    let origin = Origin::random();
    let n = types.len() as i64;
    let events: Vec<Value> = types
        .iter()
        .enumerate()
        .map(|(i, ty)| {
            // Batched events happened just before the delivery, oldest first.
            let published = now - Duration::milliseconds(250 + 40 * (n - i as i64));
            log_event(ty, published, &subject, &admin, &origin, opts)
        })
        .collect();
    json!({
        "eventType": "com.okta.event_hook",
        "eventTypeVersion": "1.0",
        "cloudEventsVersion": "0.1",
        "source": format!("https://{}/api/v1/eventHooks/{}", opts.org, opts.hook_id),
        "eventId": Uuid::new_v4().to_string(),
        "data": {"events": events},
        "eventTime": fake::okta_time(now),
        "contentType": "application/json",
    })
}

/// One System Log `LogEvent` of type `ty` about `subject`.
fn log_event(
    ty: &str,
    published: OffsetDateTime,
    subject: &Person,
    admin: &Person,
    origin: &Origin,
    opts: &TriggerOptions,
) -> Value {
    let actor = if self_service(ty) { subject } else { admin };
    let request_id = fake::token(27);
    let uri = request_uri(ty, subject);
    let (result, reason) = if opts.failure {
        ("FAILURE", Value::from("INVALID_CREDENTIALS"))
    } else {
        ("SUCCESS", Value::Null)
    };
    json!({
        "uuid": Uuid::new_v4().to_string(),
        "published": fake::okta_time(published),
        "eventType": ty,
        "version": "0",
        "displayMessage": display_message(ty),
        "severity": severity(ty),
        "client": origin.client,
        "device": null,
        "actor": actor.as_log_object(),
        "outcome": {"result": result, "reason": reason},
        "target": targets::targets(ty, subject),
        "transaction": {"type": "WEB", "id": request_id, "detail": {}},
        "debugContext": {
            "debugData": {
                "requestId": request_id,
                "requestUri": uri,
                "threatSuspected": "false",
                "url": format!("{uri}?"),
                "origin": format!("https://{}", opts.org),
            }
        },
        "legacyEventType": legacy_event_type(ty),
        "authenticationContext": {
            "authenticationProvider": null,
            "credentialProvider": null,
            "credentialType": null,
            "issuer": null,
            "interface": null,
            "authenticationStep": 0,
            "externalSessionId": format!("idx{}", fake::token(22)),
        },
        "securityContext": origin.security,
        "request": origin.request,
        "insertionTimestamp": null,
    })
}

/// Events the user causes themself, so the actor is the user, not an admin.
fn self_service(ty: &str) -> bool {
    const SELF: &[&str] = &[
        "user.session.",
        "user.authentication.",
        "user.mfa.",
        "user.credential.",
        "user.account.update_password",
        "user.account.reset_password",
        "user.account.report_suspicious",
        "user.account.update_profile",
        "app.oauth2.as.consent.grant",
    ];
    SELF.iter().any(|p| ty.starts_with(p))
}

fn severity(ty: &str) -> &'static str {
    const WARN: &[&str] = &[
        "lock",
        "breached",
        "rate_limit",
        "suspicious",
        "deny",
        "risk",
        "outside_allowed_range",
        "roadblock",
        "failed",
    ];
    if WARN.iter().any(|w| ty.contains(w)) {
        "WARN"
    } else {
        "INFO"
    }
}

/// The display messages Okta shows for common types; others get one built from the type.
fn display_message(ty: &str) -> String {
    let known = match ty {
        "user.session.start" => "User login to Okta",
        "user.session.end" => "User logout from Okta",
        "user.lifecycle.create" => "Create Okta user",
        "user.lifecycle.activate" => "Activate Okta user",
        "user.lifecycle.deactivate" => "Deactivate Okta User",
        "user.lifecycle.suspend" => "Suspend Okta user",
        "user.lifecycle.unsuspend" => "Unsuspend Okta user",
        "user.lifecycle.reactivate" => "Reactivate Okta user",
        "user.lifecycle.delete.initiated" => "Delete Okta user",
        "user.account.lock" => "Max sign in attempts exceeded",
        "user.account.unlock" => "User account unlocked",
        "user.account.update_password" => "User update password for Okta",
        "user.account.reset_password" => "Fired when the user's Okta password is reset",
        "user.account.update_profile" => "User update profile for Okta",
        "user.mfa.factor.activate" => "User set up MFA factor",
        "user.mfa.factor.deactivate" => "Reset factor for user",
        "user.authentication.sso" => "User single sign on to app",
        "group.user_membership.add" => "Add user to group membership",
        "group.user_membership.remove" => "Remove user from group membership",
        "group.lifecycle.create" => "Create Okta group",
        "group.lifecycle.delete" => "Delete Okta group",
        "application.user_membership.add" => "Add user to application membership",
        "application.user_membership.remove" => "Remove user from application membership",
        "application.lifecycle.create" => "Create application",
        "application.lifecycle.update" => "Update application",
        "policy.lifecycle.update" => "Update policy",
        "policy.rule.update" => "Update policy rule",
        _ => "",
    };
    if !known.is_empty() {
        return known.into();
    }
    // `group.privilege.grant` → `Grant group privilege`.
    let mut parts: Vec<String> = ty.split('.').map(|p| p.replace('_', " ")).collect();
    let verb = parts.pop().unwrap_or_default();
    let mut verb_chars = verb.chars();
    let verb = match verb_chars.next() {
        Some(c) => c.to_uppercase().chain(verb_chars).collect::<String>(),
        None => String::new(),
    };
    if parts.is_empty() {
        verb
    } else {
        format!("{verb} {}", parts.join(" "))
    }
}

fn legacy_event_type(ty: &str) -> Value {
    let legacy = match ty {
        "user.session.start" => "core.user_auth.login_success",
        "user.session.end" => "core.user_auth.logout_success",
        "user.lifecycle.create" => "core.user.config.user_creation.success",
        "user.lifecycle.activate" => "core.user.config.user_activated",
        "user.lifecycle.deactivate" => "core.user.config.user_deactivated",
        "user.lifecycle.suspend" => "core.user.config.user_suspended",
        "user.account.lock" => "core.user_auth.account_locked",
        "user.account.update_password" => "core.user.config.password_update.success",
        "group.user_membership.add" => "core.user_group_member.user_add",
        "group.user_membership.remove" => "core.user_group_member.user_remove",
        "application.user_membership.add" => "app.generic.provision.assign_user_to_app",
        _ => return Value::Null,
    };
    Value::from(legacy)
}

fn request_uri(ty: &str, subject: &Person) -> String {
    if ty.starts_with("user.session") || ty.starts_with("user.authentication") {
        "/idp/idx/identify".into()
    } else if ty.starts_with("user.") {
        format!("/api/v1/users/{}/lifecycle", subject.id)
    } else if ty.starts_with("group.") {
        "/api/v1/groups".into()
    } else if ty.starts_with("application.") || ty.starts_with("app.") {
        "/api/v1/apps".into()
    } else if ty.starts_with("policy.") {
        "/api/v1/policies".into()
    } else {
        "/api/v1/meta".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_messages_read_like_okta() {
        assert_eq!(
            display_message("user.lifecycle.deactivate"),
            "Deactivate Okta User"
        );
        assert_eq!(
            display_message("group.privilege.grant"),
            "Grant group privilege"
        );
        assert_eq!(display_message("solo"), "Solo");
        assert_eq!(display_message(""), "");
    }

    #[test]
    fn actor_is_the_user_for_their_own_sign_in() {
        let opts = TriggerOptions {
            user: Some("John Doe".into()),
            ..TriggerOptions::default()
        };
        let body = event_hook_body(&["user.session.start", "user.lifecycle.create"], &opts);
        let events = body["data"]["events"].as_array().expect("events");
        assert_eq!(events[0]["actor"]["displayName"], "John Doe");
        assert_eq!(events[1]["target"][0]["displayName"], "John Doe");
        assert_eq!(events[1]["actor"]["type"], "User");
        assert!(events[0]["published"].as_str() < events[1]["published"].as_str());
    }

    #[test]
    fn failure_option_sets_the_outcome() {
        let opts = TriggerOptions {
            failure: true,
            ..TriggerOptions::default()
        };
        let body = event_hook_body(&["user.session.start"], &opts);
        assert_eq!(body["data"]["events"][0]["outcome"]["result"], "FAILURE");
        assert_eq!(body["data"]["events"][0]["severity"], "INFO");
        let body = event_hook_body(&["user.account.lock"], &TriggerOptions::default());
        assert_eq!(body["data"]["events"][0]["outcome"]["result"], "SUCCESS");
        assert_eq!(body["data"]["events"][0]["severity"], "WARN");
    }
}
