//! Published Goodhart models, reproduced.

pub mod bad_science;
