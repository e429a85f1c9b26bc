//! The agent's config file (`agent login` writes it): default relay, token and source.

use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Saved defaults; flags and environment variables win over them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    /// Relay base URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relay: Option<String>,
    /// Agent token for that relay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<shared::Secret>,
    /// Source to listen on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

impl AgentConfig {
    /// `$HOOKRELAY_AGENT_CONFIG`, else `<platform config dir>/hookrelay/agent.json`.
    pub fn default_path() -> PathBuf {
        if let Some(p) = std::env::var_os("HOOKRELAY_AGENT_CONFIG") {
            return PathBuf::from(p);
        }
        dirs::config_dir()
            .unwrap_or_else(|| PathBuf::from("."))
            .join("hookrelay")
            .join("agent.json")
    }

    /// Reads the file; a missing file is an empty config, a malformed one an error naming it.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .with_context(|| format!("reading agent config {}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(e).with_context(|| format!("reading agent config {}", path.display())),
        }
    }

    /// Writes the file (owner-only permissions: it holds a token).
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let json = serde_json::to_vec_pretty(self).expect("config always serializes");
        std::fs::write(path, json).with_context(|| format!("writing {}", path.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                .with_context(|| format!("restricting permissions of {}", path.display()))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_unknown_fields() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("agent.json");
        assert_eq!(
            AgentConfig::load(&path).expect("missing is empty"),
            AgentConfig::default()
        );
        let cfg = AgentConfig {
            relay: Some("https://relay.example.com".into()),
            token: Some("hr_x".into()),
            source: None,
        };
        cfg.save(&path).expect("save");
        assert_eq!(AgentConfig::load(&path).expect("load"), cfg);
        std::fs::write(&path, r#"{"relay":"x","tokne":"typo"}"#).expect("write");
        let err = format!("{:#}", AgentConfig::load(&path).expect_err("unknown field"));
        assert!(err.contains("agent.json") && err.contains("tokne"), "{err}");
    }
}
