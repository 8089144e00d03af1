//! Fuzzes the Ruby action/trigger extractor: `rlcm::ruby::parse_connector` on arbitrary bytes.
//!
//! It must never panic, crash or hang, and what it reports must hang together: a name is
//! listed once, and a clean parse never comes with an error message.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let def = rlcm::ruby::parse_connector(data);
    for names in [&def.actions, &def.triggers] {
        for (i, name) in names.iter().enumerate() {
            assert!(!names[..i].contains(name), "`{name}` listed twice");
        }
    }
    if let Some(err) = &def.parse_error {
        assert!(!err.is_empty(), "empty parse error");
    }
    // What the library serialises for reports must serialise.
    let _ = serde_json::to_string(&def).expect("definition serialises");
});
