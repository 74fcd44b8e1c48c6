//! The command line's own modules: what only the binary does (files on
//! disk), kept out of the library, which does no I/O.

pub mod files;
