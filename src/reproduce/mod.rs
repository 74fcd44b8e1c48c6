//! Published Goodhart models, reproduced.
//!
//! Each module rebuilds one published model as its paper (and, where it is
//! available, its original code) specifies it, so that the paper's results
//! can be checked and extended with this library's standards: seeded
//! streams, byte-identical output on any thread count, and mechanics tested
//! against brute force. `docs/reproductions.md` sets each one's numbers
//! beside the paper's.

pub mod bad_science;
pub mod proxyeconomics;
