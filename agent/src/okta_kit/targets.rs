//! Which System Log `target[]` objects fit an event type, and how each one looks.

use super::fake::{self, Person};
use serde_json::{json, Value};

/// Event-type prefix → target types, most specific prefix first. A prefix matches the type
/// itself or anything under it (`user` matches `user.session.start`, not `userx.y`).
const TARGETS: &[(&str, &[&str])] = &[
    (
        "access.request.condition",
        &["AccessCondition", "AppInstance"],
    ),
    ("access.request.sequence", &["AccessSequence"]),
    ("access.request.settings", &["AppInstance"]),
    ("access.request", &["AccessRequest", "User"]),
    ("access.review", &["AccessReview", "User"]),
    ("app.access_request", &["AppInstance", "User"]),
    (
        "app.ad.password_migration_campaign",
        &["User", "AppInstance"],
    ),
    (
        "app.oauth2.as.consent",
        &["User", "AppInstance", "AuthorizationServer"],
    ),
    ("app.oauth2.as", &["AuthorizationServer", "AppInstance"]),
    ("app.user_management", &["AppInstance", "UserGroup"]),
    ("app", &["AppInstance"]),
    ("application.user_membership", &["User", "AppInstance"]),
    (
        "application.provision.group_push",
        &["UserGroup", "AppInstance"],
    ),
    ("application.provision.user", &["User", "AppInstance"]),
    ("application.account", &["User", "AppInstance"]),
    (
        "application.policy.sign_on",
        &["User", "AppInstance", "PolicyRule"],
    ),
    ("application", &["AppInstance"]),
    (
        "certification.campaign.item",
        &["CertificationCampaign", "User"],
    ),
    ("certification", &["CertificationCampaign"]),
    ("device.user", &["Device", "User"]),
    ("device", &["Device"]),
    ("group.user_membership", &["User", "UserGroup"]),
    (
        "group.application_assignment",
        &["AppInstance", "UserGroup"],
    ),
    ("group.privilege", &["UserGroup", "Role"]),
    ("group", &["UserGroup"]),
    ("iam.resourceset.bindings", &["ResourceSet", "Role"]),
    ("iam.resourceset", &["ResourceSet"]),
    ("iam.role", &["Role"]),
    ("iam.policy", &["Policy"]),
    ("inline_hook", &["InlineHook"]),
    ("policy.rule", &["PolicyRule", "Policy"]),
    ("policy.auth_reevaluate", &["User", "Policy"]),
    ("policy", &["Policy"]),
    (
        "resource_servers.a2a_server.auth_server",
        &["ResourceServer", "AuthorizationServer"],
    ),
    (
        "resource_servers.api_server.auth_server",
        &["ResourceServer", "AuthorizationServer"],
    ),
    (
        "resource_servers.mcp_server.auth_server",
        &["ResourceServer", "AuthorizationServer"],
    ),
    (
        "resource_servers.virtual_mcp_server.auth_server",
        &["ResourceServer", "AuthorizationServer"],
    ),
    ("resource_servers", &["ResourceServer"]),
    ("security.authenticator", &["Authenticator"]),
    ("security.trusted_origin", &["TrustedOrigin"]),
    ("security", &["User"]),
    ("system.api_token", &["Token"]),
    ("system.idp", &["IdentityProvider"]),
    ("system.import.group", &["UserGroup", "AppInstance"]),
    ("system.import", &["AppInstance"]),
    ("system.log_stream", &["LogStream"]),
    ("system.oauth2", &["AppInstance"]),
    ("system.org", &["Org"]),
    ("system", &["User"]),
    ("user.account.privilege", &["User", "Role"]),
    ("user.authentication.sso", &["User", "AppInstance"]),
    ("user.mfa", &["User", "AuthenticatorEnrollment"]),
    ("user.credential", &["User", "AuthenticatorEnrollment"]),
    ("user", &["User"]),
    (
        "workload_principal.ai_agent",
        &["WorkloadPrincipal", "Credential"],
    ),
    (
        "workload_principal.delegation_link",
        &["WorkloadPrincipal", "User"],
    ),
    (
        "workload_principal.sign_on_provider",
        &["WorkloadPrincipal", "IdentityProvider"],
    ),
    ("workload_principal", &["WorkloadPrincipal"]),
];

/// For types no prefix covers (e.g. made-up ones): the user most events are about.
const FALLBACK: &[&str] = &["User"];

/// The `target[].type`s an event of this type carries, in order.
pub fn target_types(event_type: &str) -> &'static [&'static str] {
    TARGETS
        .iter()
        .find(|(prefix, _)| {
            event_type == *prefix
                || event_type
                    .strip_prefix(prefix)
                    .is_some_and(|rest| rest.starts_with('.'))
        })
        .map_or(FALLBACK, |(_, types)| types)
}

/// The `target[]` array for an event about `subject` (used for every `User` target).
pub fn targets(event_type: &str, subject: &Person) -> Value {
    Value::Array(
        target_types(event_type)
            .iter()
            .map(|kind| target(kind, subject))
            .collect(),
    )
}

fn target(kind: &str, subject: &Person) -> Value {
    if kind == "User" {
        return subject.as_log_object();
    }
    let (prefix, name, alternate): (&str, String, Option<String>) = match kind {
        "UserGroup" => ("00g", fake::group_name().into(), None),
        "AppInstance" => {
            let app = fake::app_name();
            ("0oa", app.into(), Some(app.into()))
        }
        "Policy" => ("00p", "Okta Sign-On Policy".into(), None),
        "PolicyRule" => ("0pr", "Require MFA off network".into(), None),
        "AuthorizationServer" => ("aus", "default".into(), None),
        "Role" => ("irb", "Help Desk Administrator".into(), None),
        "ResourceSet" => ("iam", "Support resources".into(), None),
        "Device" => ("guo", format!("{}'s MacBook Pro", subject.first), None),
        "Authenticator" => ("aut", "Okta Verify".into(), None),
        "AuthenticatorEnrollment" => ("mfe", "Okta Verify".into(), None),
        "IdentityProvider" => ("0oa", "Google".into(), None),
        "Token" => ("00T", "CI deploy token".into(), None),
        "LogStream" => ("0oa", "Splunk Cloud".into(), None),
        "TrustedOrigin" => ("tos", "https://portal.example.com".into(), None),
        "InlineHook" => ("cal", "Token enrichment hook".into(), None),
        "CertificationCampaign" => ("icc", "Quarterly access review".into(), None),
        "AccessRequest" => ("acr", format!("Access to {}", fake::app_name()), None),
        "AccessReview" => ("acv", "Quarterly access review".into(), None),
        "AccessCondition" => ("acc", "Manager approval".into(), None),
        "AccessSequence" => ("acs", "Manager then app owner".into(), None),
        "ResourceServer" => ("rsv", "Orders API".into(), None),
        "WorkloadPrincipal" => ("wlp", "Invoice bot".into(), None),
        "Credential" => ("crd", "Invoice bot key".into(), None),
        "Org" => ("00o", "example".into(), None),
        _ => ("0id", kind.into(), None),
    };
    json!({
        "id": fake::okta_id(prefix),
        "type": kind,
        "alternateId": alternate.unwrap_or_else(|| "unknown".into()),
        "displayName": name,
        "detailEntry": null,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn representative_types_of_each_family_get_fitting_targets() {
        let table: &[(&str, &[&str])] = &[
            ("user.lifecycle.deactivate", &["User"]),
            ("user.account.lock", &["User"]),
            ("user.session.start", &["User"]),
            (
                "user.mfa.factor.activate",
                &["User", "AuthenticatorEnrollment"],
            ),
            ("user.account.privilege.grant", &["User", "Role"]),
            ("group.user_membership.add", &["User", "UserGroup"]),
            ("group.lifecycle.create", &["UserGroup"]),
            ("group.profile.update", &["UserGroup"]),
            ("application.user_membership.add", &["User", "AppInstance"]),
            ("application.lifecycle.create", &["AppInstance"]),
            ("application.provision.user.push", &["User", "AppInstance"]),
            ("policy.lifecycle.update", &["Policy"]),
            ("policy.rule.update", &["PolicyRule", "Policy"]),
            ("access.request.create", &["AccessRequest", "User"]),
            (
                "access.request.condition.create",
                &["AccessCondition", "AppInstance"],
            ),
            (
                "app.oauth2.as.consent.grant",
                &["User", "AppInstance", "AuthorizationServer"],
            ),
            ("device.user.add", &["Device", "User"]),
            ("system.idp.lifecycle.create", &["IdentityProvider"]),
            ("system.import.group.create", &["UserGroup", "AppInstance"]),
            ("system.sms.send_phone_verification_message", &["User"]),
            ("security.trusted_origin.create", &["TrustedOrigin"]),
            ("inline_hook.executed", &["InlineHook"]),
            ("made.up.type", &["User"]),
        ];
        for (ty, want) in table {
            assert_eq!(target_types(ty), *want, "{ty}");
        }
    }

    #[test]
    fn prefixes_respect_segment_boundaries() {
        assert_eq!(
            target_types("application.lifecycle.create"),
            ["AppInstance"]
        );
        assert_eq!(target_types("app.generic.thing"), ["AppInstance"]);
        assert_eq!(target_types("userx.thing"), FALLBACK);
        assert_eq!(target_types("user"), ["User"]);
    }

    #[test]
    fn a_more_specific_prefix_is_never_shadowed() {
        for (i, (prefix, _)) in TARGETS.iter().enumerate() {
            for (earlier, _) in &TARGETS[..i] {
                let shadows = prefix == earlier
                    || prefix
                        .strip_prefix(earlier)
                        .is_some_and(|r| r.starts_with('.'));
                assert!(
                    !shadows,
                    "{earlier} comes before the more specific {prefix}"
                );
            }
        }
    }

    #[test]
    fn user_targets_are_the_subject() {
        let p = Person::named("John Doe");
        let t = targets("group.user_membership.add", &p);
        assert_eq!(t[0]["displayName"], "John Doe");
        assert_eq!(t[0]["alternateId"], "john.doe@example.com");
        assert_eq!(t[1]["type"], "UserGroup");
        assert_eq!(t[1]["id"].as_str().map(str::len), Some(20));
    }
}
