//! Content digests of output files: 64-bit FNV-1a in hex, computed as the
//! bytes are written. Stable across platforms and versions, enough to tell
//! one run's files from another's (not a defence against forgery).

/// A running FNV-1a digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fnv64(u64);

impl Default for Fnv64 {
    fn default() -> Self {
        Fnv64(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv64 {
    /// Adds `bytes`.
    pub fn update(&mut self, bytes: &[u8]) {
        self.0 = bytes.iter().fold(self.0, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3));
    }

    /// The digest so far, 16 hex digits.
    pub fn hex(&self) -> String {
        format!("{:016x}", self.0)
    }
}

/// The digest of `bytes`, 16 hex digits.
///
/// ```
/// assert_eq!(goodhart::io::digest::fnv64(b""), "cbf29ce484222325");
/// assert_eq!(goodhart::io::digest::fnv64(b"a"), "af63dc4c8601ec8c");
/// ```
pub fn fnv64(bytes: &[u8]) -> String {
    let mut d = Fnv64::default();
    d.update(bytes);
    d.hex()
}
