//! The `data` objects of token, SAML and user import inline hook requests, shaped like Okta's.

use super::fake::{self, Person};
use serde_json::{json, Value};
use time::{Duration, OffsetDateTime};

pub(super) fn request(method: &str, path: &str, ip: &str) -> Value {
    json!({
        "id": fake::token(25),
        "method": method,
        "url": {"value": path},
        "ipAddress": ip,
    })
}

fn session(user: &Person, now: OffsetDateTime) -> Value {
    json!({
        "id": fake::token(25),
        "userId": user.id,
        "login": user.login(),
        "createdAt": fake::okta_time(now - Duration::minutes(2)),
        "expiresAt": fake::okta_time(now + Duration::hours(2)),
        "status": "ACTIVE",
        "lastPasswordVerification": fake::okta_time(now - Duration::minutes(2)),
        "amr": ["PASSWORD"],
        "idp": {"id": fake::okta_id("00o"), "type": "OKTA"},
        "mfaActive": false,
    })
}

fn context_user(org: &str, user: &Person, now: OffsetDateTime) -> Value {
    json!({
        "id": user.id,
        "passwordChanged": fake::okta_time(now - Duration::days(30)),
        "profile": {
            "login": user.login(),
            "firstName": user.first,
            "lastName": user.last,
            "locale": "en",
            "timeZone": "America/Los_Angeles",
        },
        "_links": {
            "groups": {"href": format!("https://{org}/api/v1/users/{}/groups", user.id)},
            "factors": {"href": format!("https://{org}/api/v1/users/{}/factors", user.id)},
        },
    })
}

pub(super) fn token_data(org: &str, user: &Person, ip: &str, now: OffsetDateTime) -> Value {
    let client_id = fake::okta_id("0oa");
    let issuer = format!("https://{org}/oauth2/default");
    let auth_time = now.unix_timestamp();
    let scope = |name: &str| json!({"id": fake::okta_id("scp"), "action": "GRANT", "name": name});
    json!({
        "context": {
            "request": request(
                "GET",
                &format!("/oauth2/default/v1/authorize?client_id={client_id}&response_type=code&scope=openid+profile+email&state=af0ifjsldkj"),
                ip,
            ),
            "protocol": {
                "type": "OAUTH2.0",
                "request": {
                    "scope": "openid profile email",
                    "state": "af0ifjsldkj",
                    "redirect_uri": "http://localhost:8080/authorization-code/callback",
                    "response_mode": "query",
                    "response_type": "code",
                    "client_id": client_id,
                },
                "issuer": {"uri": issuer},
                "client": {"id": client_id, "name": "Demo App", "type": "PUBLIC"},
            },
            "session": session(user, now),
            "user": context_user(org, user, now),
            "policy": {"id": fake::okta_id("00p"), "rule": {"id": fake::okta_id("0pr")}},
        },
        "identity": {
            "claims": {
                "sub": user.id,
                "name": user.display_name(),
                "email": user.login(),
                "ver": 1,
                "iss": issuer,
                "aud": client_id,
                "jti": format!("ID.{}", fake::token(43)),
                "amr": ["pwd"],
                "idp": fake::okta_id("00o"),
                "nonce": fake::token(16),
                "preferred_username": user.login(),
                "auth_time": auth_time,
            },
            "token": {"lifetime": {"expiration": 3600}},
        },
        "access": {
            "claims": {
                "ver": 1,
                "jti": format!("AT.{}", fake::token(43)),
                "iss": issuer,
                "aud": "api://default",
                "cid": client_id,
                "uid": user.id,
                "sub": user.login(),
            },
            "token": {"lifetime": {"expiration": 3600}},
            "scopes": {
                "openid": scope("openid"),
                "profile": scope("profile"),
                "email": scope("email"),
            },
        },
    })
}

pub(super) fn saml_data(
    org: &str,
    user: &Person,
    ip: &str,
    app: &str,
    now: OffsetDateTime,
) -> Value {
    json!({
        "context": {
            "request": request("POST", &format!("/app/saml20app/{app}/sso/saml"), ip),
            "protocol": {
                "type": "SAML2.0",
                "issuer": {"id": fake::okta_id("0oa"), "name": "SAML 2.0 App", "uri": format!("http://www.okta.com/{app}")},
            },
            "session": session(user, now),
            "user": context_user(org, user, now),
        },
        "assertion": {
            "subject": {
                "nameId": user.login(),
                "nameFormat": "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
                "confirmation": {
                    "method": "urn:oasis:names:tc:SAML:2.0:cm:bearer",
                    "data": {"recipient": "http://localhost:8080/saml/sso"},
                },
            },
            "authentication": {
                "sessionIndex": format!("id{}.{}", now.unix_timestamp(), rand::random_range(1_000_000..9_999_999u32)),
                "authnContext": {
                    "authnContextClassRef": "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport",
                },
            },
            "conditions": {"audienceRestriction": ["urn:example:sp"]},
            "claims": {
                "department": {
                    "attributes": {"NameFormat": "urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified"},
                    "attributeValues": [{"attributes": {"xsi:type": "xs:string"}, "value": "Engineering"}],
                },
            },
            "lifetime": {"expiration": 300},
        },
    })
}

pub(super) fn user_import_data(user: &Person) -> Value {
    json!({
        "context": {
            "conflicts": ["login"],
            "application": {
                "name": "csv_directory",
                "id": fake::okta_id("0oa"),
                "label": "HR import",
                "status": "ACTIVE",
            },
            "job": {"id": fake::okta_id("ij1"), "type": "import:users"},
            "matches": [],
            "policy": ["EMAIL", "FIRST_AND_LAST_NAME"],
        },
        "action": {"result": "CREATE_USER"},
        "appUser": {
            "profile": {
                "firstName": user.first,
                "lastName": user.last,
                "email": user.login(),
                "userName": user.login(),
                "externalId": format!("emp{}", rand::random_range(1000..9999u32)),
                "mobilePhone": null,
            },
        },
        "user": {
            "profile": {
                "login": user.login(),
                "email": user.login(),
                "firstName": user.first,
                "lastName": user.last,
                "secondEmail": null,
                "mobilePhone": null,
            },
        },
    })
}
