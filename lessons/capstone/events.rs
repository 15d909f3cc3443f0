//! The events a learner collects: JSON Lines, one object per line, each with an `id` that names it.
//! A line that breaks the contract is refused with its number and why; the others go on.

use std::collections::HashMap;

use sha2::Digest;
use std::path::Path;

/// Kafka refuses a message above 1 MB by default (the broker's `message.max.bytes`); an event must fit
/// in one message with room for its key.
pub const EVENT_LIMIT: usize = 1_000_000 - 10_000;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub id: String,
    /// The whole line as given, without its line ending and trailing blanks.
    pub line: String,
}

#[derive(Debug, Default)]
pub struct Events {
    /// Each id once, in the order of first appearance.
    pub events: Vec<Event>,
    /// Lines that repeat an earlier line exactly: sent once.
    pub repeated: u64,
    /// (what, why) for each line that is not sent.
    pub refused: Vec<(String, String)>,
}

/// The events of `path`; a missing file has none, an unreadable one is refused as a whole.
pub fn read(path: &Path) -> Events {
    match std::fs::read(path) {
        Ok(bytes) => parse(
            &bytes,
            &path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        ),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Events::default(),
        Err(err) => Events {
            refused: vec![(path.display().to_string(), t!("it cannot be read ({err})", err))],
            ..Events::default()
        },
    }
}

/// Splits JSON Lines; `origin` names the file in messages.
pub fn parse(bytes: &[u8], origin: &str) -> Events {
    let mut out = Events::default();
    let mut lines = Lines::new(origin);
    for raw in bytes.split(|b| *b == b'\n') {
        match lines.next(raw) {
            Line::Event(event) => out.events.push(event),
            Line::Repeated => out.repeated += 1,
            Line::Blank => {}
            Line::Refused(what, why) => out.refused.push((what, why)),
        }
    }
    out
}

/// One line of JSON Lines, read in its place among the others.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    Event(Event),
    /// The same line as an earlier one: sent once.
    Repeated,
    Blank,
    /// (what, why) for a line that is not sent.
    Refused(String, String),
}

/// Reads JSON Lines one line at a time (a file, or standard input as it arrives), remembering each id's
/// first line (its number and SHA-256: a stream that never ends is not kept in memory): an id given again
/// with different content is refused.
pub struct Lines {
    origin: String,
    number: usize,
    first_line_of: HashMap<String, (usize, [u8; 32])>,
}

impl Lines {
    pub fn new(origin: &str) -> Lines {
        Lines { origin: origin.to_string(), number: 0, first_line_of: HashMap::new() }
    }

    pub fn next(&mut self, raw: &[u8]) -> Line {
        self.number += 1;
        let number = self.number;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        // A byte-order mark some editors put first is no part of the JSON.
        let raw =
            if number == 1 { raw.strip_prefix("\u{feff}".as_bytes()).unwrap_or(raw) } else { raw };
        if raw.iter().all(u8::is_ascii_whitespace) {
            return Line::Blank;
        }
        let what = t!("{origin} line {number}", origin = self.origin, number);
        // Trailing blanks are not part of an event: every side compares and stores lines without them.
        let line = match std::str::from_utf8(raw) {
            Ok(line) => line.trim_end(),
            Err(err) => {
                let why = t!(
                    "not UTF-8 (byte {at} is {byte}); JSON text is UTF-8",
                    at = err.valid_up_to() + 1,
                    byte = format!("{:#04x}", raw[err.valid_up_to()])
                );
                return Line::Refused(what, why);
            }
        };
        if line.len() > EVENT_LIMIT {
            let why = t!(
                "{mb} MB, above Kafka's 1 MB message limit: keep events small, and collect large content as a file",
                mb = format!("{:.1}", line.len() as f64 / 1_000_000.0)
            );
            return Line::Refused(what, why);
        }
        let id = match parse_event(line) {
            Ok(id) => id,
            Err(why) => return Line::Refused(what, why),
        };
        if line.len() + id.len() > EVENT_LIMIT {
            // The id travels twice: as the message's key, and in its value.
            let why = t!(
                "its id and line make {mb} MB, above Kafka's 1 MB message limit: use a short id",
                mb = format!("{:.1}", (line.len() + id.len()) as f64 / 1_000_000.0)
            );
            return Line::Refused(what, why);
        }
        let digest: [u8; 32] = sha2::Sha256::digest(line.as_bytes()).into();
        match self.first_line_of.get(&id) {
            Some((_, first)) if *first == digest => Line::Repeated,
            Some((first, _)) => Line::Refused(
                what,
                t!(
                    "id `{id}` was given on line {first} with different content; one id names one event, give this \
                     one its own",
                    id,
                    first
                ),
            ),
            None => {
                self.first_line_of.insert(id.clone(), (number, digest));
                Line::Event(Event { id, line: line.to_string() })
            }
        }
    }
}

/// The contract of an event: one JSON object per line, with an `id` (a string or a number) that names it.
/// Returns the id, or what is wrong with the line.
pub fn parse_event(line: &str) -> Result<String, String> {
    let value: serde_json::Value =
        serde_json::from_str(line).map_err(|err| t!("not valid JSON ({err})", err))?;
    let object = value.as_object().ok_or(t!("valid JSON, but not an object {…}"))?;
    match object.get("id") {
        Some(serde_json::Value::String(id)) if !id.is_empty() => Ok(id.clone()),
        Some(serde_json::Value::Number(id)) => Ok(id.to_string()),
        Some(_) => Err(t!("an object whose `id` is not a string or a number").into()),
        None => Err(t!("an object without an `id`").into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_follow_the_contract() {
        assert_eq!(parse_event(r#"{"id":"a-1","kind":"click"}"#), Ok("a-1".to_string()));
        assert_eq!(parse_event(r#"{"id":42}"#), Ok("42".to_string()));
        assert_eq!(
            parse_event(r#"{"kind":"click"}"#),
            Err("an object without an `id`".to_string())
        );
        assert_eq!(parse_event(r#"[1,2]"#), Err("valid JSON, but not an object {…}".to_string()));
        assert_eq!(
            parse_event(r#"{"id":null}"#),
            Err("an object whose `id` is not a string or a number".to_string())
        );
        assert!(parse_event("{not json").is_err_and(|e| e.starts_with("not valid JSON")));
    }

    #[test]
    fn bad_lines_are_refused_by_number_and_the_rest_kept() {
        let big = format!(r#"{{"id":"big","pad":"{}"}}"#, "x".repeat(EVENT_LIMIT));
        let text = format!(
            "{{\"id\":1}}\r\n\n{{\"id\":1}}\n{{\"id\":1,\"v\":2}}\n{{\"id\":\"latin1-é\"}}\n{big}\n{{\"id\":2}}\n"
        );
        let mut bytes = text.into_bytes();
        let at = bytes.windows(2).position(|w| w == "é".as_bytes()).unwrap_or(0);
        bytes.splice(at..at + 2, [0xe9]);
        let events = parse(&bytes, "e.jsonl");
        let ids: Vec<&str> = events.events.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["1", "2"]);
        assert_eq!(events.repeated, 1);
        let refused: Vec<&str> = events.refused.iter().map(|(what, _)| what.as_str()).collect();
        assert_eq!(refused, ["e.jsonl line 4", "e.jsonl line 5", "e.jsonl line 6"]);
        assert!(events.refused[0]
            .1
            .starts_with("id `1` was given on line 1 with different content"));
        assert!(
            events.refused[1].1.starts_with("not UTF-8 (byte 15 is 0xe9)"),
            "{}",
            events.refused[1].1
        );
        assert!(events.refused[2].1.contains("above Kafka's 1 MB message limit"));
    }

    #[test]
    fn a_long_id_counts_twice_and_a_byte_order_mark_is_not_json() {
        let long =
            format!("{{\"id\":\"{}\",\"pad\":\"{}\"}}\n", "k".repeat(500_000), "z".repeat(480_000));
        let text = format!("\u{feff}{{\"id\":1}}\n{long}{{\"id\":2}}\n");
        let events = parse(text.as_bytes(), "e.jsonl");
        assert_eq!(events.events.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), ["1", "2"]);
        assert_eq!(events.refused.len(), 1);
        assert!(
            events.refused[0].1.starts_with("its id and line make 1.5 MB"),
            "{}",
            events.refused[0].1
        );
    }
}
