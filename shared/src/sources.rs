//! Source names and lists of them: `okta`, `okta,github` or `*` (every source). One parser for
//! the relay's token scopes (`relay token create --source`) and the agent's `--source`, so both
//! accept and refuse exactly the same text.

use std::fmt;

/// The text that stands for every source.
pub const ALL: &str = "*";

/// Why a source name or list was refused; the message names the offending part.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    /// Nothing was given.
    #[error(
        "no source given (a name like okta, a list like okta,github, or '*' for every source)"
    )]
    Empty,
    /// A list has an empty entry (`okta,,github` or a trailing comma).
    #[error("an empty source name in {0:?} (names are separated by single commas)")]
    EmptyEntry(String),
    /// A name with characters a source name may not have, or too long.
    #[error(
        "{0:?} is not a source name: source names are 1-64 characters of a-z, A-Z, 0-9, '-', '_' or '.'"
    )]
    BadName(String),
    /// `*` beside names.
    #[error("'*' means every source and stands alone, not in a list ({0:?})")]
    MixedAll(String),
}

/// Checks one source name: 1-64 characters of `a-z A-Z 0-9 - _ .` (it is a URL path segment,
/// `/h/NAME`, and a key in every store).
pub fn validate_name(name: &str) -> Result<(), SourceError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    if ok {
        Ok(())
    } else {
        Err(SourceError::BadName(name.to_string()))
    }
}

/// One source, several, or every source.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SourceList {
    /// `*`: every source (that the token allows, that exists).
    All,
    /// These sources, in the order given, without repeats; never empty.
    Named(Vec<String>),
}

impl SourceList {
    /// Parses `okta`, `okta,github` (spaces around names are ignored) or `*`.
    pub fn parse(spec: &str) -> Result<Self, SourceError> {
        let spec = spec.trim();
        if spec.is_empty() {
            return Err(SourceError::Empty);
        }
        if spec == ALL {
            return Ok(SourceList::All);
        }
        let mut names: Vec<String> = Vec::new();
        for part in spec.split(',').map(str::trim) {
            if part.is_empty() {
                return Err(SourceError::EmptyEntry(spec.to_string()));
            }
            if part == ALL {
                return Err(SourceError::MixedAll(spec.to_string()));
            }
            validate_name(part)?;
            if !names.iter().any(|n| n == part) {
                names.push(part.to_string());
            }
        }
        Ok(SourceList::Named(names))
    }

    /// One named source.
    pub fn one(name: &str) -> Self {
        SourceList::Named(vec![name.to_string()])
    }

    /// Whether `source` is in the list (always, for `*`).
    pub fn contains(&self, source: &str) -> bool {
        match self {
            SourceList::All => true,
            SourceList::Named(names) => names.iter().any(|n| n == source),
        }
    }

    /// True unless exactly one source is named: outputs then tag each event with its source.
    pub fn is_several(&self) -> bool {
        !matches!(self, SourceList::Named(n) if n.len() == 1)
    }

    /// The names as the hello lists them (`["*"]` for every source).
    pub fn to_vec(&self) -> Vec<String> {
        match self {
            SourceList::All => vec![ALL.to_string()],
            SourceList::Named(names) => names.clone(),
        }
    }

    /// The named sources (none for `*`).
    pub fn names(&self) -> &[String] {
        match self {
            SourceList::All => &[],
            SourceList::Named(names) => names,
        }
    }
}

/// `okta`, `okta,github` or `*`: the text [`SourceList::parse`] reads back.
impl fmt::Display for SourceList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceList::All => f.write_str(ALL),
            SourceList::Named(names) => f.write_str(&names.join(",")),
        }
    }
}

impl std::str::FromStr for SourceList {
    type Err = SourceError;
    fn from_str(s: &str) -> Result<Self, SourceError> {
        SourceList::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_parse_and_print_back() {
        assert_eq!(SourceList::parse("okta"), Ok(SourceList::one("okta")));
        let two = SourceList::parse(" okta , github,okta").expect("two");
        assert_eq!(two, SourceList::Named(vec!["okta".into(), "github".into()]));
        assert_eq!(two.to_string(), "okta,github");
        assert!(two.is_several() && !SourceList::one("okta").is_several());
        assert_eq!(SourceList::parse("*"), Ok(SourceList::All));
        assert!(SourceList::All.contains("anything") && SourceList::All.is_several());
        assert!(two.contains("github") && !two.contains("stripe"));
    }

    #[test]
    fn bad_lists_say_what_is_wrong() {
        assert_eq!(SourceList::parse(" "), Err(SourceError::Empty));
        assert!(matches!(
            SourceList::parse("okta,,x"),
            Err(SourceError::EmptyEntry(_))
        ));
        assert!(matches!(
            SourceList::parse("okta,"),
            Err(SourceError::EmptyEntry(_))
        ));
        assert_eq!(
            SourceList::parse("okta,a/b"),
            Err(SourceError::BadName("a/b".into()))
        );
        assert!(matches!(
            SourceList::parse("okta,*"),
            Err(SourceError::MixedAll(_))
        ));
        let long = "x".repeat(65);
        assert!(SourceList::parse(&long).is_err());
        assert!(SourceError::BadName("a/b".into())
            .to_string()
            .contains("\"a/b\""));
    }
}
