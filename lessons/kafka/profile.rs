//! Connection profiles: `lesson --profile NAME` points the lessons that need only Kafka (4, 5, 7 and 9) at any
//! Kafka, a managed one included, named in `profiles.yml` in the learner's folder. Secrets stay in the
//! environment.

mod file;
mod reach;

use std::path::PathBuf;
use std::sync::OnceLock;

use super::connection::Connection;

pub use file::{load, FILE};
pub use reach::reach;

/// A profile read, its secret taken from the environment.
#[derive(Clone, Debug)]
pub struct Profile {
    pub name: String,
    /// The `profiles.yml` it was read from.
    pub file: PathBuf,
    pub connection: Connection,
    /// The variable its password came from.
    pub password_env: Option<String>,
}

static CURRENT: OnceLock<Profile> = OnceLock::new();

/// The profile this command works through: every Kafka client made after this reaches its Kafka.
pub fn install(profile: Profile) {
    let _ = CURRENT.set(profile);
}

pub fn current() -> Option<&'static Profile> {
    CURRENT.get()
}
