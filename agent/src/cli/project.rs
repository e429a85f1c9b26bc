//! `hookrelay.toml`: the delivery settings a team commits beside its code (target, path, relay,
//! source, on-down, okta-retry, routes, filters). Flags and environment variables win over it;
//! a key it does not know is an error naming the key and the file.

use super::ListenArgs;
use crate::hold::OnDown;
use anyhow::Context;
use clap::parser::ValueSource;
use clap::ArgMatches;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The file looked for in the working directory when `--config` is not given.
pub const FILE_NAME: &str = "hookrelay.toml";

/// What a project file may set.
#[derive(Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ProjectConfig {
    /// A port or URL, as `agent listen TARGET`.
    pub target: Option<String>,
    /// `--path`.
    pub path: Option<String>,
    /// `--relay` (several URLs: instances of one relay).
    pub relay: Option<Vec<String>>,
    /// `--source`: a name, a comma list or `*`, or an array of names.
    #[serde(default, deserialize_with = "one_or_many")]
    pub source: Option<String>,
    /// `--on-down`: `hold` or `fail`.
    pub on_down: Option<String>,
    /// `--okta-retry`.
    pub okta_retry: Option<bool>,
    /// `--route`, in order.
    #[serde(default)]
    pub routes: Vec<String>,
    /// `--filter`.
    #[serde(default)]
    pub filters: Vec<String>,
}

/// `source = "okta,github"` or `source = ["okta", "github"]`, read as the text `--source`
/// takes (checked with it, so both forms refuse the same mistakes).
fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(Option::<OneOrMany>::deserialize(d)?.map(|v| match v {
        OneOrMany::One(s) => s,
        OneOrMany::Many(v) => v.join(","),
    }))
}

/// The `listen` settings the command line or the environment gave (they win over the file).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Given {
    target: bool,
    path: bool,
    relay: bool,
    source: bool,
    on_down: bool,
    okta_retry: bool,
    routes: bool,
    filters: bool,
}

impl Given {
    /// Reads which arguments came from the command line or the environment.
    pub fn from_matches(m: &ArgMatches) -> Self {
        let given = |id: &str| {
            matches!(
                m.value_source(id),
                Some(ValueSource::CommandLine | ValueSource::EnvVariable)
            )
        };
        Given {
            target: given("target"),
            path: given("path"),
            relay: given("relay"),
            source: given("source"),
            on_down: given("on_down"),
            okta_retry: given("okta_retry"),
            routes: given("routes"),
            filters: given("filters"),
        }
    }
}

/// Reads `path`; `Ok(None)` when it does not exist and was not asked for by name.
pub fn load(path: &Path, named: bool) -> anyhow::Result<Option<ProjectConfig>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !named => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    basic_toml::from_str(&text)
        .map(Some)
        .with_context(|| format!("reading {}", path.display()))
}

/// `args` with the project file's settings where the command line and environment gave none.
pub fn apply(mut args: ListenArgs) -> anyhow::Result<ListenArgs> {
    let (path, named) = match &args.config {
        Some(p) => (p.clone(), true),
        None => (PathBuf::from(FILE_NAME), false),
    };
    let Some(cfg) = load(&path, named)? else {
        return Ok(args);
    };
    let given = args.given.clone();
    if !given.target {
        args.target = args.target.or(cfg.target);
    }
    if let (false, Some(p)) = (given.path, cfg.path) {
        args.path = p;
    }
    if let (false, Some(r)) = (given.relay, cfg.relay) {
        args.relay = r;
    }
    if let (false, Some(s)) = (given.source, cfg.source) {
        args.source = s;
    }
    if let (false, Some(d)) = (given.on_down, cfg.on_down) {
        args.on_down = <OnDown as clap::ValueEnum>::from_str(&d, false).map_err(|_| {
            anyhow::anyhow!(
                "{}: on-down = {d:?} is not one of hold, fail",
                path.display()
            )
        })?;
    }
    if let (false, Some(r)) = (given.okta_retry, cfg.okta_retry) {
        args.okta_retry = r;
    }
    if !given.routes && !cfg.routes.is_empty() {
        args.routes = cfg.routes;
    }
    if !given.filters && !cfg.filters.is_empty() {
        args.filters = cfg.filters;
    }
    Ok(args)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(FILE_NAME);
        std::fs::write(&path, text).expect("write");
        (dir, path)
    }

    #[test]
    fn a_project_file_parses_every_setting() {
        let (_dir, path) = write(
            r#"
target = "1337"
path = "/hooks"
relay = ["https://a.example.com", "https://b.example.com"]
source = "okta"
on-down = "fail"
okta-retry = true
routes = ["user.lifecycle.*=/users", "inline:registration=4000/reg"]
filters = ["type=user.*"]
"#,
        );
        let cfg = load(&path, true).expect("load").expect("present");
        assert_eq!(cfg.target.as_deref(), Some("1337"));
        assert_eq!(cfg.relay.as_ref().map(Vec::len), Some(2));
        assert_eq!(cfg.routes.len(), 2);
        assert_eq!(cfg.okta_retry, Some(true));
    }

    #[test]
    fn the_source_key_takes_a_list_or_an_array() {
        let (_dir, path) = write("source = [\"okta\", \"github\"]\n");
        let cfg = load(&path, true).expect("load").expect("present");
        assert_eq!(cfg.source.as_deref(), Some("okta,github"));
        let (_dir, path) = write("source = \"*\"\n");
        let cfg = load(&path, true).expect("load").expect("present");
        assert_eq!(cfg.source.as_deref(), Some("*"));
    }

    #[test]
    fn an_unknown_key_names_the_key_and_the_file() {
        let (_dir, path) = write("target = \"1337\"\nrouts = [\"a=/b\"]\n");
        let err = format!("{:#}", load(&path, true).expect_err("unknown key"));
        assert!(err.contains("routs"), "{err}");
        assert!(err.contains(&path.display().to_string()), "{err}");
    }

    fn listen_args(args: &[&str]) -> ListenArgs {
        let mut all = vec!["agent", "listen"];
        all.extend_from_slice(args);
        match super::super::parse_from(all).expect("parse").command {
            super::super::Command::Listen(args) => args,
            _ => unreachable!("parsed a listen command"),
        }
    }

    #[test]
    fn flags_win_over_the_file_and_the_file_fills_the_rest() {
        let (_dir, path) = write(
            "target = \"1337\"\npath = \"/file\"\nfilters = [\"type=file.*\"]\nroutes = [\"user.*=/u\"]\n",
        );
        let config = path.display().to_string();
        let args = apply(listen_args(&[
            "--config",
            &config,
            "--filter",
            "type=flag.*",
        ]))
        .expect("apply");
        assert_eq!(args.filters, ["type=flag.*"], "the flag wins");
        assert_eq!(
            args.routes,
            ["user.*=/u"],
            "the file fills what no flag gave"
        );
        assert_eq!(args.target.as_deref(), Some("1337"));
        assert_eq!(args.path, "/file");
        let args = apply(listen_args(&[
            "4000", "--config", &config, "--path", "/flag",
        ]))
        .expect("apply");
        assert_eq!(
            (args.target.as_deref(), args.path.as_str()),
            (Some("4000"), "/flag")
        );
    }

    #[test]
    fn a_missing_default_file_is_nothing_but_a_named_one_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(FILE_NAME);
        assert_eq!(load(&path, false).expect("absent is fine"), None);
        assert!(load(&path, true).is_err());
    }
}
