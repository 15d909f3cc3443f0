//! The KRaft controller quorum as Kafka reports it: DescribeQuorum (the request behind
//! `kafka-metadata-quorum describe --status`), spoken over a plain connection to a broker, which forwards it
//! to the active controller. librdkafka has no call for it. A broker that does not list the request among its
//! API versions runs in ZooKeeper mode: that is an answer too.

use std::time::Duration;

use anyhow::{bail, ensure, Context, Result};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const API_VERSIONS: i16 = 18;
const DESCRIBE_QUORUM: i16 = 55;
/// The newest DescribeQuorum this reader decodes (Kafka 3.9 and 4.x speak 0 to 2).
const NEWEST: i16 = 2;
const METADATA_TOPIC: &str = "__cluster_metadata";
/// Larger than any DescribeQuorum answer (a few hundred bytes per replica): a bigger size means the port is not
/// Kafka's (an HTTP server's `HTTP/` reads as a size of 1.2 GB).
const LARGEST_ANSWER: usize = 1 << 20;
const VERSIONS_CORRELATION: i32 = 1;
const QUORUM_CORRELATION: i32 = 2;

/// The controller quorum: who leads it, in which epoch, how far its log is committed, and each replica.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quorum {
    pub leader: i32,
    pub epoch: i32,
    pub high_watermark: i64,
    pub voters: Vec<Replica>,
    pub observers: Vec<Replica>,
}

/// A replica of the metadata log: a voter (controller) or an observer (a broker that only reads it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replica {
    pub id: i32,
    pub log_end_offset: i64,
    /// When (ms since the epoch, the leader's clock) it last reached the leader's log end; -1 when it has not
    /// yet, or the version of the answer does not say (v0).
    pub last_caught_up: i64,
}

/// Asks the first broker of `bootstrap` for the quorum; `None` when the broker runs in ZooKeeper mode.
pub async fn describe(bootstrap: &str, timeout: Duration) -> Result<Option<Quorum>> {
    let address = bootstrap.split(',').next().unwrap_or_default().trim();
    let exchange = async {
        let mut broker = tokio::net::TcpStream::connect(address).await?;
        let request = api_versions_request(VERSIONS_CORRELATION);
        let versions = parse_api_versions(&call(&mut broker, &request).await?)?;
        let Some((oldest, newest)) = versions else { return Ok(None) };
        ensure!(
            oldest <= NEWEST,
            t!(
                "The broker speaks DescribeQuorum {oldest} to {newest} only; this program reads 0 to {NEWEST}",
                oldest,
                newest,
                NEWEST
            )
        );
        let version = newest.min(NEWEST);
        let answer =
            call(&mut broker, &describe_quorum_request(version, QUORUM_CORRELATION)).await?;
        parse_describe_quorum(&answer, version).map(Some)
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| {
            anyhow::anyhow!(t!(
                "No answer from {address} within {secs} s",
                address,
                secs = timeout.as_secs()
            ))
        })?
        .with_context(|| t!("Failed to ask {address} for the KRaft quorum", address))
}

/// Sends one request and returns the response's bytes after its size.
async fn call(broker: &mut tokio::net::TcpStream, request: &[u8]) -> Result<Vec<u8>> {
    let size = i32::try_from(request.len()).unwrap_or(i32::MAX);
    broker.write_all(&size.to_be_bytes()).await?;
    broker.write_all(request).await?;
    let size = broker.read_i32().await?;
    let size = usize::try_from(size).ok().filter(|&n| n <= LARGEST_ANSWER).with_context(|| {
        t!("An answer of {size} bytes: this port does not speak Kafka's protocol (is it the broker's port?)", size)
    })?;
    let mut response = vec![0; size];
    broker.read_exact(&mut response).await?;
    Ok(response)
}

fn header(api: i16, version: i16, correlation: i32, flexible: bool) -> Vec<u8> {
    let mut bytes = Vec::new();
    bytes.extend(api.to_be_bytes());
    bytes.extend(version.to_be_bytes());
    bytes.extend(correlation.to_be_bytes());
    let client = b"workshop";
    bytes.extend((client.len() as i16).to_be_bytes());
    bytes.extend(client);
    if flexible {
        bytes.push(0); // no tagged fields
    }
    bytes
}

/// ApiVersions v0: the one every broker answers, whatever it speaks.
fn api_versions_request(correlation: i32) -> Vec<u8> {
    header(API_VERSIONS, 0, correlation, false)
}

fn describe_quorum_request(version: i16, correlation: i32) -> Vec<u8> {
    let mut bytes = header(DESCRIBE_QUORUM, version, correlation, true);
    bytes.push(2); // one topic
    bytes.push(METADATA_TOPIC.len() as u8 + 1);
    bytes.extend(METADATA_TOPIC.as_bytes());
    bytes.push(2); // one partition
    bytes.extend(0i32.to_be_bytes());
    bytes.extend([0, 0, 0]); // no tagged fields: partition, topic, request
    bytes
}

// ANCHOR: parse_api_versions
/// The DescribeQuorum versions the broker speaks (oldest, newest), or `None` if it speaks none (ZooKeeper mode).
pub fn parse_api_versions(response: &[u8]) -> Result<Option<(i16, i16)>> {
    let mut r = Reader(response);
    r.correlation(VERSIONS_CORRELATION)?;
    let error = r.i16()?;
    ensure!(error == 0, t!("The broker refused ApiVersions: {error}", error = error_name(error)));
    let mut versions = None;
    for _ in 0..r.i32()? {
        let (key, min, max) = (r.i16()?, r.i16()?, r.i16()?);
        if key == DESCRIBE_QUORUM {
            versions = Some((min, max));
        }
    }
    Ok(versions)
}
// ANCHOR_END: parse_api_versions

/// A DescribeQuorum answer of `version` (the bytes after its size), for `__cluster_metadata`-0.
pub fn parse_describe_quorum(response: &[u8], version: i16) -> Result<Quorum> {
    let mut r = Reader(response);
    r.correlation(QUORUM_CORRELATION)?;
    r.tags()?;
    let error = r.i16()?;
    let message = if version >= 2 { r.compact_nullable_string()? } else { None };
    ensure!(
        error == 0,
        t!(
            "The quorum refused DescribeQuorum: {error}{message}",
            error = error_name(error),
            message = suffix(message)
        )
    );
    let mut found = None;
    for _ in 0..r.compact_len()? {
        let topic = r.compact_string()?;
        for _ in 0..r.compact_len()? {
            let partition = r.i32()?;
            let error = r.i16()?;
            let message = if version >= 2 { r.compact_nullable_string()? } else { None };
            ensure!(
                error == 0,
                format!("{topic}-{partition}: {}{}", error_name(error), suffix(message))
            );
            let (leader, epoch, high_watermark) = (r.i32()?, r.i32()?, r.i64()?);
            let voters = r.replicas(version)?;
            let observers = r.replicas(version)?;
            r.tags()?;
            if topic == METADATA_TOPIC && partition == 0 {
                found = Some(Quorum { leader, epoch, high_watermark, voters, observers });
            }
        }
        r.tags()?;
    }
    found.with_context(|| t!("The answer holds no partition {METADATA_TOPIC}-0", METADATA_TOPIC))
}

/// The name Kafka's protocol gives an error code, for the ones this request can meet.
fn error_name(code: i16) -> String {
    let name = match code {
        3 => "UNKNOWN_TOPIC_OR_PARTITION",
        6 => "NOT_LEADER_OR_FOLLOWER",
        7 => "REQUEST_TIMED_OUT",
        15 => "COORDINATOR_NOT_AVAILABLE",
        29 => "CLUSTER_AUTHORIZATION_FAILED",
        35 => "UNSUPPORTED_VERSION",
        41 => "NOT_CONTROLLER",
        42 => "INVALID_REQUEST",
        _ => return format!("error {code}"),
    };
    format!("{name} ({code})")
}

fn suffix(message: Option<String>) -> String {
    message.map(|m| format!(": {m}")).unwrap_or_default()
}

/// Big-endian fields and Kafka's compact (varint-prefixed) ones, refusing to read past the end.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8]> {
        ensure!(self.0.len() >= n, t!("The answer ends too early"));
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
    fn i16(&mut self) -> Result<i16> {
        Ok(i16::from_be_bytes(self.take(2)?.try_into()?))
    }
    fn i32(&mut self) -> Result<i32> {
        Ok(i32::from_be_bytes(self.take(4)?.try_into()?))
    }
    /// The response's correlation id, which must be the request's.
    fn correlation(&mut self, expected: i32) -> Result<()> {
        let id = self.i32()?;
        ensure!(id == expected, t!("The answer is for request {id}, not {expected}", id, expected));
        Ok(())
    }
    fn i64(&mut self) -> Result<i64> {
        Ok(i64::from_be_bytes(self.take(8)?.try_into()?))
    }
    fn uvarint(&mut self) -> Result<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.take(1)?[0];
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        bail!(t!("The answer holds a varint longer than ten bytes"))
    }
    /// A compact array's or string's length (the varint holds length + 1; 0 is null, read as empty).
    fn compact_len(&mut self) -> Result<usize> {
        let n = usize::try_from(self.uvarint()?.saturating_sub(1))?;
        ensure!(
            n <= self.0.len(),
            t!("The answer gives a length of {n} with {left} bytes left", n, left = self.0.len())
        );
        Ok(n)
    }
    fn compact_string(&mut self) -> Result<String> {
        let n = self.compact_len()?;
        Ok(String::from_utf8_lossy(self.take(n)?).into_owned())
    }
    fn compact_nullable_string(&mut self) -> Result<Option<String>> {
        match self.uvarint()? {
            0 => Ok(None),
            n => {
                Ok(Some(String::from_utf8_lossy(self.take(usize::try_from(n - 1)?)?).into_owned()))
            }
        }
    }
    /// Skips tagged fields.
    fn tags(&mut self) -> Result<()> {
        for _ in 0..self.uvarint()? {
            self.uvarint()?;
            let n = usize::try_from(self.uvarint()?)?;
            self.take(n)?;
        }
        Ok(())
    }
    fn replicas(&mut self, version: i16) -> Result<Vec<Replica>> {
        let mut replicas = Vec::new();
        for _ in 0..self.compact_len()? {
            let id = self.i32()?;
            if version >= 2 {
                self.take(16)?; // the replica's directory id
            }
            let log_end_offset = self.i64()?;
            let mut last_caught_up = -1;
            if version >= 1 {
                self.i64()?; // last fetch
                last_caught_up = self.i64()?;
            }
            self.tags()?;
            replicas.push(Replica { id, log_end_offset, last_caught_up });
        }
        Ok(replicas)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replica(bytes: &mut Vec<u8>, id: i32, end: i64) {
        bytes.extend(id.to_be_bytes());
        bytes.extend([7; 16]);
        bytes.extend(end.to_be_bytes());
        bytes.extend((-1i64).to_be_bytes());
        bytes.extend(1_700_000_000_000i64.to_be_bytes());
        bytes.push(0);
    }

    /// A v2 answer: leader 1 in epoch 3, high watermark 51, voters 1 and 2, observer 4.
    fn answer() -> Vec<u8> {
        let mut b = Vec::new();
        b.extend(2i32.to_be_bytes());
        b.push(0);
        b.extend(0i16.to_be_bytes());
        b.push(0); // no error message
        b.push(2);
        b.push(METADATA_TOPIC.len() as u8 + 1);
        b.extend(METADATA_TOPIC.as_bytes());
        b.push(2);
        b.extend(0i32.to_be_bytes());
        b.extend(0i16.to_be_bytes());
        b.push(0);
        b.extend(1i32.to_be_bytes());
        b.extend(3i32.to_be_bytes());
        b.extend(51i64.to_be_bytes());
        b.push(3);
        replica(&mut b, 1, 51);
        replica(&mut b, 2, 49);
        b.push(2);
        replica(&mut b, 4, 51);
        b.extend([0, 0]); // partition and topic tags
        b.push(1); // no nodes
        b.push(0);
        b
    }

    #[test]
    fn reads_leader_voters_and_observers() {
        let quorum = parse_describe_quorum(&answer(), 2).expect("a whole answer");
        assert_eq!((quorum.leader, quorum.epoch, quorum.high_watermark), (1, 3, 51));
        let ids = |r: &[Replica]| r.iter().map(|r| (r.id, r.log_end_offset)).collect::<Vec<_>>();
        assert_eq!(ids(&quorum.voters), [(1, 51), (2, 49)]);
        assert_eq!(quorum.voters[0].last_caught_up, 1_700_000_000_000);
        assert_eq!(ids(&quorum.observers), [(4, 51)]);
    }

    #[test]
    fn refuses_every_truncated_answer() {
        let whole = answer();
        for end in 0..whole.len() - 2 {
            assert!(parse_describe_quorum(&whole[..end], 2).is_err(), "cut at {end}");
        }
    }

    #[test]
    fn a_broker_without_describe_quorum_runs_zookeeper_mode() {
        let mut b = Vec::new();
        b.extend(1i32.to_be_bytes());
        b.extend(0i16.to_be_bytes());
        b.extend(2i32.to_be_bytes());
        b.extend([0, 0, 0, 0, 0, 16]); // Produce 0..16
        b.extend([0, 3, 0, 0, 0, 12]); // Metadata 0..12
        assert_eq!(parse_api_versions(&b).expect("whole"), None);
        b[9] = 3;
        b.extend([0, 55, 0, 0, 0, 2]);
        assert_eq!(parse_api_versions(&b).expect("whole"), Some((0, 2)));
        b[3] = 7;
        assert!(parse_api_versions(&b).is_err(), "another request's answer");
    }

    /// The bytes of Kafka's DescribeQuorumRequest v2 (header v2) for `__cluster_metadata`-0, field by field.
    #[test]
    fn the_request_is_byte_exact() {
        let mut expected = vec![0, 55, 0, 2, 0, 0, 0, 9, 0, 8];
        expected.extend(b"workshop");
        expected.push(0); // header tags
        expected.push(2); // topics: one
        expected.push(19); // name: 18 bytes
        expected.extend(b"__cluster_metadata");
        expected.push(2); // partitions: one
        expected.extend([0, 0, 0, 0]); // partition 0
        expected.extend([0, 0, 0]); // partition, topic and request tags
        assert_eq!(describe_quorum_request(2, 9), expected);
        assert_eq!(
            api_versions_request(1),
            [0, 18, 0, 0, 0, 0, 0, 1, 0, 8, b'w', b'o', b'r', b'k', b's', b'h', b'o', b'p']
        );
    }

    #[test]
    fn another_requests_answer_is_refused() {
        let mut b = answer();
        b[3] = 5;
        assert!(parse_describe_quorum(&b, 2).is_err());
    }

    /// A port that is not Kafka's (here an HTTP server's answer) is named as such at once, not waited out.
    #[tokio::test]
    async fn a_port_that_is_not_kafka_is_named() -> Result<()> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?.to_string();
        tokio::spawn(async move {
            if let Ok((mut peer, _)) = listener.accept().await {
                let _ = peer.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
                let _ = peer.read(&mut [0; 64]).await;
            }
        });
        let error = describe(&address, Duration::from_secs(30)).await.expect_err("not Kafka");
        assert!(format!("{error:#}").contains("does not speak Kafka's protocol"), "{error:#}");
        Ok(())
    }

    #[test]
    fn error_codes_have_their_names() {
        assert_eq!(error_name(41), "NOT_CONTROLLER (41)");
        assert_eq!(error_name(999), "error 999");
    }
}
