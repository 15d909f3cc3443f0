//! Any bytes as a broker's answer to ApiVersions or DescribeQuorum: decoding never panics, and what decodes
//! holds no more replicas than the bytes could carry.
#![no_main]

use libfuzzer_sys::fuzz_target;
use workshop::kafka::quorum::{parse_api_versions, parse_describe_quorum};

fuzz_target!(|bytes: &[u8]| {
    let _ = parse_api_versions(bytes);
    for version in 0..=2 {
        if let Ok(quorum) = parse_describe_quorum(bytes, version) {
            // Each replica takes at least 12 bytes (id and log end offset).
            assert!((quorum.voters.len() + quorum.observers.len()) * 12 <= bytes.len());
        }
    }
});
