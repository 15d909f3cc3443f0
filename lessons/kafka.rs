//! The Rust-native Kafka side (rdkafka). Every client starts from `config`, the one configuration.

pub mod admin;
pub mod assignment;
pub mod config;
pub mod connection;
pub mod inspect;
pub mod profile;
pub mod quorum;
pub mod records;

pub use config::config;

use rdkafka::error::{KafkaError, RDKafkaErrorCode};

/// Whether Kafka's answer means "not yet" rather than "no": a group's coordinator still loading the group
/// after a broker took it over, a partition between two leaders. Asking again a moment later gets the answer.
pub fn transient(err: &anyhow::Error) -> bool {
    err.chain().filter_map(|cause| cause.downcast_ref::<KafkaError>()).any(|e| {
        matches!(
            e.rdkafka_error_code(),
            Some(
                RDKafkaErrorCode::CoordinatorLoadInProgress
                    | RDKafkaErrorCode::CoordinatorNotAvailable
                    | RDKafkaErrorCode::NotCoordinator
                    | RDKafkaErrorCode::LeaderNotAvailable
                    | RDKafkaErrorCode::NotLeaderForPartition
                    | RDKafkaErrorCode::OffsetNotAvailable
            )
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn a_loading_coordinator_is_worth_asking_again() {
        let loading: Result<(), KafkaError> =
            Err(KafkaError::GroupListFetch(RDKafkaErrorCode::CoordinatorLoadInProgress));
        let err = loading.context("Failed to describe consumer group `g`").err();
        assert!(err.as_ref().is_some_and(transient), "{err:?}");
        let denied: Result<(), KafkaError> =
            Err(KafkaError::GroupListFetch(RDKafkaErrorCode::GroupAuthorizationFailed));
        let err = denied.context("Failed to describe").err();
        assert!(!err.as_ref().is_some_and(transient), "{err:?}");
    }
}
