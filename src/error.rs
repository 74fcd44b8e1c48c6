//! The library's error type: every variant says what was wrong and where.

use thiserror::Error;

/// Errors returned by the library. Each names the offending field by its
/// path in the scenario (for example `policy[1].reward.top_fraction`).
#[derive(Debug, Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// A field holds a value outside what the model allows.
    #[error("{path}: {value} is not allowed; expected {expected}")]
    InvalidField {
        /// Where the field is, e.g. `policy[2].reward.prize`.
        path: String,
        /// The offending value as written.
        value: String,
        /// What is allowed, e.g. `a number >= 0`.
        expected: String,
    },
    /// A name refers to something that does not exist.
    #[error("{path}: unknown {kind} `{name}`{hint}")]
    UnknownName {
        /// Where the name is used.
        path: String,
        /// What kind of thing it should name (policy, signal, preset, ...).
        kind: &'static str,
        /// The name as written.
        name: String,
        /// A "did you mean" suggestion or the list of allowed names.
        hint: String,
    },
    /// A scenario file could not be parsed.
    #[error("{0}")]
    Parse(String),
    /// An observer stopped a run.
    #[error("observer failed in policy `{policy}`, replication {replication}: {message}")]
    Observer {
        /// The run's policy.
        policy: String,
        /// The run's replication.
        replication: usize,
        /// The observer's message.
        message: String,
    },
    /// The consumer of a streamed experiment failed (for example, writing
    /// the time series); the message is its own.
    #[error("{0}")]
    Sink(String),
    /// A file read back (a sweep's part file, `sweep.json`) is not what it
    /// should be; `file` is its name as the caller gave it.
    #[error("{file}: {reason}")]
    BadFile {
        /// The file.
        file: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A line of a file read back is not what it should be.
    #[error("{file}: line {line}: {reason}")]
    BadLine {
        /// The file.
        file: String,
        /// The line (1-based; the header is line 1).
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// Merging a sharded sweep found tasks in no part file.
    #[error("{missing} of {total} tasks missing from {parts} part files (first: {first}); rerun their shards")]
    MissingTasks {
        /// How many tasks are missing.
        missing: usize,
        /// Tasks in the sweep.
        total: usize,
        /// Part files read.
        parts: usize,
        /// The first missing task indices, comma-separated.
        first: String,
    },
}

/// Shorthand for results with the library's [`enum@Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// An [`Error::InvalidField`] for `path` holding `value`.
    pub fn invalid(path: impl Into<String>, value: impl ToString, expected: impl Into<String>) -> Self {
        let mut value = value.to_string();
        if value.len() > 24 {
            // Very large or very small numbers print in scientific notation.
            if let Ok(x) = value.parse::<f64>() {
                value = format!("{x:e}");
            }
        }
        Error::InvalidField { path: printable(&path.into()), value: printable(&value), expected: expected.into() }
    }

    /// An [`Error::UnknownName`] with a "did you mean" hint drawn from `allowed`.
    pub fn unknown<'a>(
        path: impl Into<String>,
        kind: &'static str,
        name: &str,
        allowed: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        let allowed: Vec<&str> = allowed.into_iter().collect();
        let shown: Vec<String> = allowed.iter().map(|a| printable(a)).collect();
        let hint = match closest(name, &allowed) {
            Some(best) => format!("; did you mean `{}`?", printable(best)),
            None if allowed.is_empty() => String::new(),
            None => format!("; expected one of: {}", shown.join(", ")),
        };
        Error::UnknownName { path: printable(&path.into()), kind, name: printable(name), hint }
    }
}

/// `s` with control characters escaped, so that an error stays on one line.
pub fn printable(s: &str) -> String {
    if s.chars().any(char::is_control) { s.escape_debug().to_string() } else { s.to_string() }
}

/// The allowed name closest to `name` by edit distance, if it is close enough
/// to be a likely typo.
pub fn closest<'a>(name: &str, allowed: &[&'a str]) -> Option<&'a str> {
    allowed.iter().map(|a| (levenshtein(name, a), *a)).filter(|(d, a)| *d <= 2.max(a.len() / 3)).min().map(|(_, a)| a)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(closest("tokns", &["tokens", "deployments"]), Some("tokens"));
        assert_eq!(closest("zzzzzz", &["tokens", "deployments"]), None);
        assert_eq!(levenshtein("kitten", "sitting"), 3);
    }
}
