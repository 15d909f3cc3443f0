//! The partitions a group gave one member, read from the bytes the group coordinator keeps for it: Kafka's
//! consumer protocol `Assignment` (version, then each topic with its partitions, then user data).

// ANCHOR: parse
/// `(topic, partition)` pairs, or None when the bytes are not a consumer's assignment.
pub fn parse(bytes: &[u8]) -> Option<Vec<(String, i32)>> {
    let mut r = Reader(bytes);
    let _version = r.i16()?;
    let mut assigned = Vec::new();
    for _ in 0..r.count()? {
        let len = usize::try_from(r.i16()?).ok()?;
        let topic = String::from_utf8(r.take(len)?.to_vec()).ok()?;
        for _ in 0..r.count()? {
            assigned.push((topic.clone(), r.i32()?));
        }
    }
    Some(assigned)
}
// ANCHOR_END: parse

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let (head, rest) = (self.0.get(..n)?, self.0.get(n..)?);
        self.0 = rest;
        Some(head)
    }
    fn i16(&mut self) -> Option<i16> {
        Some(i16::from_be_bytes(self.take(2)?.try_into().ok()?))
    }
    fn i32(&mut self) -> Option<i32> {
        Some(i32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }
    /// An array's length; -1 (null) counts as empty.
    fn count(&mut self) -> Option<usize> {
        Some(usize::try_from(self.i32()?.max(0)).ok()?.min(self.0.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::parse;

    fn assignment(topics: &[(&str, &[i32])]) -> Vec<u8> {
        let mut b = 1i16.to_be_bytes().to_vec();
        b.extend((topics.len() as i32).to_be_bytes());
        for (topic, partitions) in topics {
            b.extend((topic.len() as i16).to_be_bytes());
            b.extend(topic.as_bytes());
            b.extend((partitions.len() as i32).to_be_bytes());
            partitions.iter().for_each(|p| b.extend(p.to_be_bytes()));
        }
        b.extend((-1i32).to_be_bytes());
        b
    }

    #[test]
    fn reads_each_topics_partitions() {
        let bytes = assignment(&[("group-events", &[0, 1]), ("other", &[5])]);
        let expected = [("group-events", 0), ("group-events", 1), ("other", 5)]
            .map(|(t, p)| (t.to_string(), p))
            .to_vec();
        assert_eq!(parse(&bytes), Some(expected));
        assert_eq!(parse(&assignment(&[])), Some(vec![]));
    }

    #[test]
    fn refuses_what_is_cut_short() {
        let bytes = assignment(&[("group-events", &[0, 1])]);
        for end in [0, 1, 5, 8, 20, bytes.len() - 5] {
            assert_eq!(parse(&bytes[..end]), None, "cut at {end}");
        }
    }
}
