//! What a lesson is: what it declares about itself, and the three things it does.

pub mod context;
pub mod facts;

use anyhow::Result;
use futures_util::future::LocalBoxFuture;

pub use context::{Context, Options};
pub use facts::{all_pass, Fact, Status};

/// What the runner needs to know about a lesson without knowing which one it is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Needs {
    /// Performing it starts the stack: Ctrl-C during `--run` takes that stack down again.
    pub starts_stack: bool,
    /// Performing it stops the stack: the tour runs it last.
    pub stops_stack: bool,
    /// It works on the `--topic` (and `--partitions`, `--replication-factor`) the learner gave.
    pub topic: bool,
    /// It reads as the `--group` the learner gave.
    pub group: bool,
    /// `--volumes` changes what it does and what its check expects.
    pub volumes: bool,
    /// It collects: the `--source`, `--events` and `--storage` the learner gave.
    pub collects: bool,
    /// It runs on the cluster of three brokers (its own compose project), not on the stack of lessons 2–7.
    pub cluster: bool,
    /// It runs a compose project of its own that is not the cluster (lesson 11's secure broker).
    pub own_stack: bool,
    /// It needs nothing but Kafka: it works through a connection profile (`--profile`) on any Kafka.
    pub any_kafka: bool,
}

impl Needs {
    pub const NOTHING: Needs = Needs {
        starts_stack: false,
        stops_stack: false,
        topic: false,
        group: false,
        volumes: false,
        collects: false,
        cluster: false,
        own_stack: false,
        any_kafka: false,
    };
    /// Lesson 7's commands (`collect ingest`, `collect sink`): the folder, events and storage the learner chose.
    pub const COLLECT: Needs = Needs { collects: true, ..Needs::NOTHING };
}

/// One lesson's identity: its id and slug name its module (`l04_topic.rs`), chapter (`04-topic.md`),
/// tests and snapshots.
#[derive(Clone, Copy, Debug)]
pub struct Info {
    pub id: u8,
    pub slug: &'static str,
    pub title: &'static str,
    pub hint: &'static str,
    pub needs: Needs,
    /// The lessons whose result this one builds on: `lesson reset` undoes a lesson with every lesson that
    /// requires it.
    pub requires: &'static [u8],
}

/// What undoing a lesson does, and what of the learner's it deletes (asked about first).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Undo {
    pub does: String,
    pub loses: Option<String>,
}

impl Info {
    /// `book/src/04-topic.md`, the lesson's chapter.
    pub fn chapter(&self) -> String {
        format!("book/src/{:02}-{}.md", self.id, self.slug)
    }
}

/// `explain` teaches, `run` performs, `check` verifies. A check that finds the lesson not done yet returns
/// `Ok` with failed facts; `Err` means the program itself could not look (no engine, a bug).
#[allow(async_fn_in_trait)]
pub trait Lesson: Sync {
    const INFO: Info;
    fn explain(&self, ctx: &Context) -> String;
    async fn run(&self, ctx: &Context) -> Result<String>;
    async fn check(&self, ctx: &Context) -> Result<Vec<Fact>>;

    /// What `undo` would do; `None` when there is nothing to undo.
    fn undo_plan(&self, _ctx: &Context) -> Option<Undo> {
        None
    }

    /// The hint on the KRaft track, where it differs from `INFO.hint`.
    fn kraft_hint(&self) -> Option<&'static str> {
        None
    }

    /// Back to before this lesson; says what it did.
    async fn undo(&self, _ctx: &Context) -> Result<String> {
        Ok(String::new())
    }

    /// Whether the lesson is one of `track`'s (lesson 10 migrates away from ZooKeeper: it has no KRaft twin).
    fn on_track(&self, _track: crate::stack::track::Track) -> bool {
        true
    }
}

/// A `Lesson` as the catalog holds it: one list of every lesson, whatever its type.
pub trait AnyLesson: Sync {
    fn info(&self) -> &'static Info;
    fn explain(&self, ctx: &Context) -> String;
    fn run<'a>(&'a self, ctx: &'a Context) -> LocalBoxFuture<'a, Result<String>>;
    fn check<'a>(&'a self, ctx: &'a Context) -> LocalBoxFuture<'a, Result<Vec<Fact>>>;
    fn undo_plan(&self, ctx: &Context) -> Option<Undo>;
    /// The hint for a learner on `track`.
    fn hint(&self, track: crate::stack::track::Track) -> &'static str;
    fn undo<'a>(&'a self, ctx: &'a Context) -> LocalBoxFuture<'a, Result<String>>;
    fn on_track(&self, track: crate::stack::track::Track) -> bool;
}

impl<T: Lesson> AnyLesson for T {
    fn info(&self) -> &'static Info {
        &Self::INFO
    }

    fn explain(&self, ctx: &Context) -> String {
        Lesson::explain(self, ctx)
    }

    fn run<'a>(&'a self, ctx: &'a Context) -> LocalBoxFuture<'a, Result<String>> {
        Box::pin(Lesson::run(self, ctx))
    }

    fn check<'a>(&'a self, ctx: &'a Context) -> LocalBoxFuture<'a, Result<Vec<Fact>>> {
        Box::pin(Lesson::check(self, ctx))
    }

    fn undo_plan(&self, ctx: &Context) -> Option<Undo> {
        Lesson::undo_plan(self, ctx)
    }

    fn hint(&self, track: crate::stack::track::Track) -> &'static str {
        match (track, Lesson::kraft_hint(self)) {
            (crate::stack::track::Track::KRaft, Some(hint)) => hint,
            _ => Self::INFO.hint,
        }
    }

    fn undo<'a>(&'a self, ctx: &'a Context) -> LocalBoxFuture<'a, Result<String>> {
        Box::pin(Lesson::undo(self, ctx))
    }

    fn on_track(&self, track: crate::stack::track::Track) -> bool {
        Lesson::on_track(self, track)
    }
}
