//! What a token may listen on: one source, a list, or every source (`*`). The store keeps the
//! scope as the text `relay token create --source` was given (its token `source` column), so
//! both stores keep their schema and older tokens (a single name) read as a scope of one.

use shared::SourceList;

/// A token's scope, read from its stored text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenScope(SourceList);

impl TokenScope {
    /// Parses `okta`, `okta,github` or `*`; an invalid name is an error naming it.
    pub fn parse(text: &str) -> Result<Self, shared::SourceError> {
        SourceList::parse(text).map(TokenScope)
    }

    /// Reads a stored scope. A stored text that does not parse (written by hand into the
    /// database) allows nothing rather than failing the session.
    pub fn stored(text: &str) -> Self {
        Self::parse(text).unwrap_or(TokenScope(SourceList::Named(Vec::new())))
    }

    /// Whether the token may listen on `source`.
    pub fn allows(&self, source: &str) -> bool {
        self.0.contains(source)
    }

    /// True for `*`.
    pub fn is_all(&self) -> bool {
        self.0 == SourceList::All
    }

    /// The sources named (none for `*`).
    pub fn names(&self) -> &[String] {
        self.0.names()
    }
}

/// The text stored and shown by `relay token list`.
impl std::fmt::Display for TokenScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_allow_what_they_name() {
        let one = TokenScope::parse("okta").expect("one");
        assert!(one.allows("okta") && !one.allows("github"));
        let two = TokenScope::parse("okta, github").expect("two");
        assert!(two.allows("okta") && two.allows("github") && !two.allows("stripe"));
        assert_eq!(two.to_string(), "okta,github");
        let all = TokenScope::parse("*").expect("all");
        assert!(all.is_all() && all.allows("anything"));
        assert!(TokenScope::parse("okta,,github").is_err());
        assert!(TokenScope::parse("a b").is_err());
        assert!(!TokenScope::stored("not a/scope").allows("not a/scope"));
    }
}
