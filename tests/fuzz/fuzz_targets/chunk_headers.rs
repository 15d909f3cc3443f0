//! Any headers a message can carry: parsing them never panics, and what parses describes a chunk inside its file,
//! under a name that stays inside the storage folder.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rdkafka::message::{Header, OwnedHeaders};
use workshop::capstone::chunk::FileMeta;

fuzz_target!(|pairs: Vec<(String, Option<Vec<u8>>)>| {
    let headers = pairs
        .iter()
        .fold(OwnedHeaders::new(), |h, (key, value)| h.insert(Header { key, value: value.as_deref() }));
    if let Ok((meta, index)) = FileMeta::from_headers(Some(&headers)) {
        assert!(index < meta.chunks);
        // The sink uses the name and id as paths: what parses never leaves its folder.
        assert!(workshop::capstone::source::is_clean_name(&meta.name));
        assert_eq!(meta.id, workshop::capstone::chunk::id_of(&meta.name, &meta.sha256));
        let (again, same_index) = FileMeta::from_headers(Some(&meta.headers(index))).expect("own headers parse");
        assert_eq!((again, same_index), (meta, index));
    }
});
