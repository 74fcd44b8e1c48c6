//! Feeds arbitrary UTF-8 text to the scenario parser: it must return Ok or Err, never panic.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = goodhart::io::format::parse_scenario(s);
    }
});
