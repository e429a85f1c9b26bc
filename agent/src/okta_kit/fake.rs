//! Plausible made-up Okta data: ids, people, groups, apps, places, browsers and timestamps.

use rand::distr::{Alphanumeric, SampleString};
use rand::seq::IndexedRandom;
use rand::Rng;
use serde_json::{json, Value};
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::OffsetDateTime;

/// Okta's timestamp format: RFC 3339 in UTC with milliseconds, e.g. `2023-03-28T17:03:37.093Z`.
const OKTA_TIME: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

const FIRST: &[&str] = &[
    "John", "Jane", "Isaac", "Rosario", "Sally", "Priya", "Kenji", "Amara", "Lucas", "Mei", "Omar",
    "Sofia", "Noah", "Fatima", "Liam", "Elena",
];
const LAST: &[&str] = &[
    "Doe", "Roe", "Brock", "Jones", "Admin", "Patel", "Tanaka", "Okafor", "Silva", "Chen",
    "Haddad", "Rossi", "Smith", "Khan", "Murphy", "Novak",
];
const GROUPS: &[&str] = &[
    "Engineering",
    "Sales",
    "Finance",
    "Support",
    "Contractors",
    "Admins",
    "Marketing",
    "Everyone-EU",
];
const APPS: &[&str] = &[
    "Salesforce.com",
    "Slack",
    "Zoom",
    "GitHub Enterprise Cloud",
    "Workday",
    "Box",
    "Google Workspace",
    "Okta Admin Console",
    "Jira Cloud",
    "AWS IAM Identity Center",
];
const PLACES: &[(&str, &str, &str, &str, f64, f64)] = &[
    ("Toronto", "Ontario", "Canada", "M6B", 43.7114, -79.4462),
    (
        "San Francisco",
        "California",
        "United States",
        "94105",
        37.7897,
        -122.3942,
    ),
    (
        "London",
        "England",
        "United Kingdom",
        "EC2A",
        51.5237,
        -0.0823,
    ),
    (
        "Berlin",
        "Land Berlin",
        "Germany",
        "10115",
        52.5323,
        13.3846,
    ),
    (
        "Bengaluru",
        "Karnataka",
        "India",
        "560001",
        12.9762,
        77.6033,
    ),
    (
        "Sydney",
        "New South Wales",
        "Australia",
        "2000",
        -33.8688,
        151.2093,
    ),
];
const BROWSERS: &[(&str, &str, &str)] = &[
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36", "Mac OS X", "CHROME"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0", "Windows 10", "FIREFOX"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1", "iOS", "SAFARI"),
    ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0", "Linux", "EDGE_CHROMIUM"),
];

/// A made-up person with an Okta user id.
#[derive(Clone, Debug)]
pub struct Person {
    /// Okta user id, e.g. `00u3m90rxKjGQ0G6L1d7`.
    pub id: String,
    /// Given name.
    pub first: String,
    /// Family name.
    pub last: String,
}

impl Person {
    /// A random person.
    pub fn random() -> Self {
        let mut rng = rand::rng();
        Person {
            id: okta_id("00u"),
            first: pick(&mut rng, FIRST).into(),
            last: pick(&mut rng, LAST).into(),
        }
    }

    /// A person from a display name such as `John Doe`.
    pub fn named(name: &str) -> Self {
        let mut parts = name.trim().splitn(2, ' ');
        Person {
            id: okta_id("00u"),
            first: parts.next().unwrap_or_default().to_string(),
            last: parts.next().unwrap_or_default().trim().to_string(),
        }
    }

    /// `John Doe`.
    pub fn display_name(&self) -> String {
        format!("{} {}", self.first, self.last).trim().to_string()
    }

    /// `john.doe@example.com`.
    pub fn login(&self) -> String {
        let local: String = [self.first.as_str(), self.last.as_str()]
            .iter()
            .filter(|s| !s.is_empty())
            .map(|s| s.to_lowercase().replace(' ', "."))
            .collect::<Vec<_>>()
            .join(".");
        format!("{local}@example.com")
    }

    /// The LogEvent `actor` / `target` object for this person.
    pub fn as_log_object(&self) -> Value {
        json!({
            "id": self.id,
            "type": "User",
            "alternateId": self.login(),
            "displayName": self.display_name(),
            "detailEntry": null,
        })
    }
}

/// An Okta-style object id: a three-letter prefix, random letters and a cell suffix, 20 chars.
pub fn okta_id(prefix: &str) -> String {
    let body = Alphanumeric.sample_string(&mut rand::rng(), 17usize.saturating_sub(prefix.len()));
    format!("{prefix}{body}1d7")
}

/// A random alphanumeric token of `len` characters (request ids, session ids, challenges).
pub fn token(len: usize) -> String {
    Alphanumeric.sample_string(&mut rand::rng(), len)
}

/// A random group name.
pub fn group_name() -> &'static str {
    pick(&mut rand::rng(), GROUPS)
}

/// A random application label.
pub fn app_name() -> &'static str {
    pick(&mut rand::rng(), APPS)
}

/// `now` in Okta's timestamp format.
pub fn okta_time(t: OffsetDateTime) -> String {
    t.format(OKTA_TIME)
        .expect("UTC date-times always format with this description")
}

/// Where a request came from: `client`, `request.ipChain` and `securityContext` values that agree.
pub struct Origin {
    /// The LogEvent `client` object.
    pub client: Value,
    /// The LogEvent `request` object.
    pub request: Value,
    /// The LogEvent `securityContext` object.
    pub security: Value,
    /// The IP address.
    pub ip: String,
}

impl Origin {
    /// A random browser in a random city.
    pub fn random() -> Self {
        let mut rng = rand::rng();
        let (city, state, country, postal, lat, lon) =
            *PLACES.choose(&mut rng).expect("PLACES is not empty");
        let (ua, os, browser) = *BROWSERS.choose(&mut rng).expect("BROWSERS is not empty");
        let ip = format!(
            "{}.{}.{}.{}",
            rng.random_range(24..=223),
            rng.random_range(0..=255),
            rng.random_range(0..=255),
            rng.random_range(1..=254)
        );
        let geo = json!({
            "city": city,
            "state": state,
            "country": country,
            "postalCode": postal,
            "geolocation": {"lat": lat, "lon": lon},
        });
        Origin {
            client: json!({
                "userAgent": {"rawUserAgent": ua, "os": os, "browser": browser},
                "zone": "null",
                "device": if os == "iOS" { "Mobile" } else { "Computer" },
                "id": null,
                "ipAddress": ip,
                "geographicalContext": geo,
            }),
            request: json!({
                "ipChain": [{"ip": ip, "geographicalContext": geo, "version": "V4", "source": null}],
            }),
            security: json!({
                "asNumber": rng.random_range(100..=64_000),
                "asOrg": "example",
                "isp": "example isp",
                "domain": "example.net",
                "isProxy": false,
            }),
            ip,
        }
    }
}

fn pick<'a, R: Rng>(rng: &mut R, from: &[&'a str]) -> &'a str {
    from.choose(rng).copied().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_look_like_okta_ids() {
        let id = okta_id("00u");
        assert_eq!(id.len(), 20);
        assert!(id.starts_with("00u") && id.ends_with("1d7"));
        assert_ne!(okta_id("00u"), okta_id("00u"));
    }

    #[test]
    fn named_person_has_matching_login() {
        let p = Person::named("John Doe");
        assert_eq!(p.display_name(), "John Doe");
        assert_eq!(p.login(), "john.doe@example.com");
        let single = Person::named("Cher");
        assert_eq!(single.display_name(), "Cher");
        assert_eq!(single.login(), "cher@example.com");
    }

    #[test]
    fn time_has_millis_and_z() {
        let t = time::macros::datetime!(2023-03-28 17:03:37.093 UTC);
        assert_eq!(okta_time(t), "2023-03-28T17:03:37.093Z");
    }
}
