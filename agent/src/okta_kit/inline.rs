//! Realistic inline hook requests: read-only `data.context` plus the objects a reply may change.

use super::event_hook::TriggerOptions;
use super::fake::{self, Origin, Person};
use super::inline_data::{request, saml_data, token_data, user_import_data};
use serde_json::{json, Value};
use std::fmt;
use std::str::FromStr;
use time::{Duration, OffsetDateTime};

/// The six kinds of Okta inline hook.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum InlineKind {
    /// `com.okta.oauth2.tokens.transform`: add or change claims in OAuth 2.0 / OIDC tokens.
    Token,
    /// `com.okta.saml.tokens.transform`: change a SAML assertion.
    Saml,
    /// `com.okta.user.pre-registration`: allow, deny or edit a self-service registration.
    Registration,
    /// `com.okta.user.credential.password.import`: verify a password against a legacy store.
    PasswordImport,
    /// `com.okta.import.transform`: edit or match users during an app import.
    UserImport,
    /// `com.okta.telephony.provider`: send an SMS or voice OTP through your own provider.
    Telephony,
}

impl InlineKind {
    /// Every kind, in the order of the CLI names.
    pub const ALL: [InlineKind; 6] = [
        InlineKind::Token,
        InlineKind::Saml,
        InlineKind::Registration,
        InlineKind::PasswordImport,
        InlineKind::UserImport,
        InlineKind::Telephony,
    ];

    /// The short CLI name, e.g. `password-import`.
    pub fn name(self) -> &'static str {
        match self {
            InlineKind::Token => "token",
            InlineKind::Saml => "saml",
            InlineKind::Registration => "registration",
            InlineKind::PasswordImport => "password-import",
            InlineKind::UserImport => "user-import",
            InlineKind::Telephony => "telephony",
        }
    }

    /// The `eventType` Okta sends, e.g. `com.okta.oauth2.tokens.transform`.
    pub fn event_type(self) -> &'static str {
        match self {
            InlineKind::Token => "com.okta.oauth2.tokens.transform",
            InlineKind::Saml => "com.okta.saml.tokens.transform",
            InlineKind::Registration => "com.okta.user.pre-registration",
            InlineKind::PasswordImport => "com.okta.user.credential.password.import",
            InlineKind::UserImport => "com.okta.import.transform",
            InlineKind::Telephony => "com.okta.telephony.provider",
        }
    }
}

impl fmt::Display for InlineKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An inline hook kind nobody has heard of.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown inline hook kind {0:?}; use token, saml, registration, password-import, user-import or telephony")]
pub struct UnknownInlineKind(pub String);

impl FromStr for InlineKind {
    type Err = UnknownInlineKind;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        InlineKind::ALL
            .into_iter()
            .find(|k| s.eq_ignore_ascii_case(k.name()) || s.eq_ignore_ascii_case(k.event_type()))
            .ok_or_else(|| UnknownInlineKind(s.to_string()))
    }
}

/// An inline hook request body of `kind` from the default org about a random user.
pub fn inline_hook_body(kind: InlineKind) -> Value {
    inline_hook_body_with(kind, &TriggerOptions::default())
}

/// An inline hook request body of `kind`; `opts.org` and `opts.user` shape it.
pub fn inline_hook_body_with(kind: InlineKind, opts: &TriggerOptions) -> Value {
    let now = OffsetDateTime::now_utc();
    let user = match &opts.user {
        Some(name) => Person::named(name),
        None => Person::random(),
    };
    let org = opts.org.as_str();
    let ip = Origin::random().ip;
    let (source, data, request_type) = match kind {
        InlineKind::Token => (
            format!("https://{org}/oauth2/default/v1/authorize"),
            token_data(org, &user, &ip, now),
            None,
        ),
        InlineKind::Saml => {
            let app = fake::okta_id("exk");
            let data = saml_data(org, &user, &ip, &app, now);
            (
                format!("https://{org}/app/saml20app/{app}/sso/saml"),
                data,
                None,
            )
        }
        InlineKind::Registration => (
            fake::okta_id("reg"),
            json!({
                "context": {"request": request("POST", "/idp/idx/enroll/new", &ip)},
                "userProfile": {
                    "firstName": user.first,
                    "lastName": user.last,
                    "login": user.login(),
                    "email": user.login(),
                },
                "action": "ALLOW",
            }),
            Some("self.service.registration"),
        ),
        InlineKind::PasswordImport => (
            fake::okta_id("cal"),
            json!({
                "context": {
                    "request": request("POST", "/idp/idx/identify", &ip),
                    "credential": {"username": user.login(), "password": "correct horse battery staple"},
                },
                "action": {"credential": "UNVERIFIED"},
            }),
            None,
        ),
        InlineKind::UserImport => (fake::okta_id("cal"), user_import_data(&user), None),
        InlineKind::Telephony => {
            let otp = format!("{:06}", rand::random_range(0..1_000_000u32));
            let data = json!({
                "context": {"request": request("POST", "/idp/idx/challenge", &ip)},
                "userProfile": {
                    "firstName": user.first,
                    "lastName": user.last,
                    "login": user.login(),
                    "userId": user.id,
                },
                "messageProfile": {
                    "msgTemplate": format!("Your {org} verification code is {otp}"),
                    "phoneNumber": "+14155550123",
                    "otpExpires": fake::okta_time(now + Duration::minutes(5)),
                    "deliveryChannel": "SMS",
                    "otpCode": otp,
                    "locale": "EN-US",
                },
            });
            (
                format!(
                    "https://{org}/api/v1/inlineHooks/{}/execute",
                    fake::okta_id("cal")
                ),
                data,
                Some("com.okta.user.telephony.mfa-verification"),
            )
        }
    };
    let mut body = json!({
        "eventType": kind.event_type(),
        "eventTypeVersion": "1.0",
        "cloudEventVersion": "0.1",
        "source": source,
        "eventId": fake::token(22),
        "eventTime": fake::okta_time(now),
        "contentType": "application/json",
        "data": data,
    });
    if let Some(rt) = request_type {
        body["requestType"] = Value::from(rt);
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event_id(v: &Value) -> Option<&str> {
        v.get("eventId").and_then(Value::as_str)
    }

    #[test]
    fn kinds_parse_from_short_and_full_names() {
        for k in InlineKind::ALL {
            assert_eq!(k.name().parse::<InlineKind>(), Ok(k));
            assert_eq!(k.event_type().parse::<InlineKind>(), Ok(k));
            assert_eq!(k.to_string(), k.name());
        }
        assert_eq!("TOKEN".parse::<InlineKind>(), Ok(InlineKind::Token));
        let err = "sms".parse::<InlineKind>().expect_err("unknown");
        assert!(err.to_string().contains("password-import"));
    }

    #[test]
    fn every_kind_has_envelope_and_context() {
        for k in InlineKind::ALL {
            let v = inline_hook_body(k);
            let bytes = serde_json::to_vec(&v).expect("serialise");
            let back: Value = serde_json::from_slice(&bytes).expect("parse");
            assert_eq!(back["eventType"], k.event_type(), "{k}");
            for key in [
                "eventTypeVersion",
                "cloudEventVersion",
                "source",
                "eventTime",
                "contentType",
            ] {
                assert!(back[key].is_string(), "{k}: {key}");
            }
            assert!(back["data"]["context"].is_object(), "{k}: data.context");
            let s = shared::okta::summarize(&bytes).expect("summary");
            assert!(s.is_inline(), "{k}");
            assert!(
                !s.target_names.is_empty(),
                "{k}: no subject in {}",
                s.one_line()
            );
            assert_ne!(
                event_id(&v),
                event_id(&inline_hook_body(k)),
                "{k}: fresh eventId"
            );
        }
    }

    #[test]
    fn kinds_carry_the_objects_a_reply_changes() {
        let t = inline_hook_body(InlineKind::Token);
        assert!(t["data"]["identity"]["claims"]["sub"].is_string());
        assert!(t["data"]["access"]["claims"]["aud"].is_string());
        assert!(inline_hook_body(InlineKind::Saml)["data"]["assertion"]["subject"].is_object());
        assert!(
            inline_hook_body(InlineKind::Registration)["data"]["userProfile"]["login"].is_string()
        );
        let p = inline_hook_body(InlineKind::PasswordImport);
        assert!(p["data"]["context"]["credential"]["password"].is_string());
        assert_eq!(p["data"]["action"]["credential"], "UNVERIFIED");
        assert!(inline_hook_body(InlineKind::UserImport)["data"]["appUser"]["profile"].is_object());
        let tel = inline_hook_body(InlineKind::Telephony);
        assert_eq!(
            tel["data"]["messageProfile"]["otpCode"]
                .as_str()
                .map(str::len),
            Some(6)
        );
    }

    #[test]
    fn options_set_org_and_user() {
        let opts = TriggerOptions {
            org: "acme.okta.com".into(),
            user: Some("Jane Roe".into()),
            ..TriggerOptions::default()
        };
        let v = inline_hook_body_with(InlineKind::Token, &opts);
        assert_eq!(
            v["source"],
            "https://acme.okta.com/oauth2/default/v1/authorize"
        );
        assert_eq!(
            v["data"]["context"]["user"]["profile"]["login"],
            "jane.roe@example.com"
        );
    }
}
