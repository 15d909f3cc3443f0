//! Any text as a compose file: reading it and applying lesson 1's rules never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use workshop::basics::l01_compose_file::facts_of_rendered;
use workshop::stack::compose_file::{check_yaml, listeners};
use workshop::stack::config::HostPorts;

fuzz_target!(|text: &str| {
    let _ = check_yaml(text);
    let _ = facts_of_rendered(text, HostPorts::default());
    let _ = listeners(text);
});
