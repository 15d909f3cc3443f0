//! Lesson 11: a broker that admits only who it knows, a compose project of its own in the learner's `secure/`
//! folder: TLS with a certificate made on the learner's machine, SCRAM users, and ACLs.

pub mod broker;
pub mod certs;
pub mod doors;
pub mod files;
pub mod l11_secure;
pub mod secrets;

pub use broker::SecureBroker;

/// The topic the writer may write and the reader may read.
pub const TOPIC: &str = "secure-orders";
/// A topic neither of them may touch.
pub const OTHER_TOPIC: &str = "secure-other";
/// The one group the reader may read in.
pub const GROUP: &str = "secure-readers";
/// The SCRAM mechanism of the broker's SASL_SSL listener.
pub const MECHANISM: &str = "SCRAM-SHA-512";

/// The broker's users: who they are, and the variable of `secrets.env` holding each one's password.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum User {
    /// A super user: any topic, any group, the cluster's settings.
    Admin,
    /// Writes to `secure-orders`, nothing else.
    Writer,
    /// Reads `secure-orders` in the group `secure-readers`, nothing else.
    Reader,
}

impl User {
    pub const ALL: [User; 3] = [User::Admin, User::Writer, User::Reader];

    pub fn name(self) -> &'static str {
        match self {
            User::Admin => "admin",
            User::Writer => "writer",
            User::Reader => "reader",
        }
    }

    pub fn variable(self) -> &'static str {
        match self {
            User::Admin => "WORKSHOP_ADMIN_PASSWORD",
            User::Writer => "WORKSHOP_WRITER_PASSWORD",
            User::Reader => "WORKSHOP_READER_PASSWORD",
        }
    }
}
