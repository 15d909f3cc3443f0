//! What a check found: a list of facts, each passed, failed (with its fix), or just worth knowing.

use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    Info,
}

#[derive(Clone, Debug, Serialize)]
pub struct Fact {
    pub status: Status,
    pub what: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Fact {
    pub fn pass(what: impl Into<String>) -> Fact {
        Fact { status: Status::Pass, what: what.into(), fix: None }
    }

    pub fn fail(what: impl Into<String>, fix: impl Into<String>) -> Fact {
        Fact { status: Status::Fail, what: what.into(), fix: Some(fix.into()) }
    }

    pub fn info(what: impl Into<String>) -> Fact {
        Fact { status: Status::Info, what: what.into(), fix: None }
    }

    /// Pass when `ok`, else fail with `fix`; the same words either way.
    pub fn check(ok: bool, what: impl Into<String>, fix: impl Into<String>) -> Fact {
        if ok {
            Fact::pass(what)
        } else {
            Fact::fail(what, fix)
        }
    }
}

pub fn all_pass(facts: &[Fact]) -> bool {
    facts.iter().all(|f| f.status != Status::Fail)
}
