//! Every lesson, in order: the one list the runner, the tour and the book tests read. Adding a lesson is
//! one line here and its own module; a lesson missing a part, or out of order, does not compile.

use anyhow::{bail, Result};

use crate::basics::{
    l01_compose_file::ComposeFile, l02_start::Start, l03_status::Status, l04_topic::Topic,
    l05_produce_consume::ProduceConsume, l06_teardown::Teardown,
};
use crate::capstone::l07_collect::Collect;
use crate::cluster::l08_replication::Replication;
use crate::cluster::l09_groups::Groups;
use crate::cluster::l10_migrate::Migrate;
use crate::lesson::{AnyLesson, Info, Lesson};
use crate::secure::l11_secure::Secure;

macro_rules! catalog {
    ($($lesson:path),+ $(,)?) => {
        /// Every lesson, in the order of their ids.
        pub static LESSONS: &[&dyn AnyLesson] = &[$(&$lesson),+];

        const _: () = {
            let infos = [$(<$lesson as Lesson>::INFO),+];
            let mut i = 0;
            while i < infos.len() {
                assert!(infos[i].id as usize == i + 1, "the catalog lists lessons 1, 2, 3, … in order, each once");
                let mut r = 0;
                while r < infos[i].requires.len() {
                    assert!(infos[i].requires[r] < infos[i].id, "a lesson requires only lessons before it");
                    r += 1;
                }
                i += 1;
            }
        };
    };
}

catalog![
    ComposeFile,
    Start,
    Status,
    Topic,
    ProduceConsume,
    Teardown,
    Collect,
    Replication,
    Groups,
    Migrate,
    Secure
];

/// A lesson by number (`4`) or slug (`topic`); anything else lists the lessons there are.
pub fn find(name: &str) -> Result<&'static dyn AnyLesson> {
    let number = name.trim().parse::<u8>().ok();
    match LESSONS.iter().find(|l| l.info().slug == name || number == Some(l.info().id)) {
        Some(lesson) => Ok(*lesson),
        None => bail!(t!(
            "There is no lesson `{name}`. The lessons are:\n{table}\n\nFor example: lesson 1",
            name,
            table = table()
        )),
    }
}

/// The lesson after `info` on `track`, if any.
pub fn next(info: &Info, track: crate::stack::track::Track) -> Option<&'static Info> {
    LESSONS.iter().filter(|l| l.on_track(track)).map(|l| l.info()).find(|i| i.id > info.id)
}

pub fn infos() -> impl Iterator<Item = &'static Info> {
    LESSONS.iter().map(|l| l.info())
}

/// `   4  topic            Create a topic`, one line per lesson (ids right-aligned).
pub fn table() -> String {
    infos()
        .map(|i| format!("  {:>2}  {:<16} {}", i.id, i.slug, crate::ui::lang::tr(i.title)))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_by_number_and_slug() {
        assert_eq!(find("4").map(|l| l.info().slug).ok(), Some("topic"));
        assert_eq!(find("topic").map(|l| l.info().id).ok(), Some(4));
        assert_eq!(find(" 7 ").map(|l| l.info().slug).ok(), Some("collect"));
    }

    #[test]
    fn unknown_lists_every_lesson() {
        let err = find("99").err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.starts_with("There is no lesson `99`"), "{err}");
        assert_eq!(err.lines().filter(|l| l.starts_with("  ")).count(), LESSONS.len());
    }

    #[test]
    fn slugs_are_unique_and_every_lesson_has_a_hint_and_a_title() {
        let mut slugs: Vec<&str> = infos().map(|i| i.slug).collect();
        slugs.sort();
        slugs.dedup();
        assert_eq!(slugs.len(), LESSONS.len());
        assert!(infos().all(|i| !i.hint.trim().is_empty() && !i.title.is_empty()));
    }

    #[test]
    fn exactly_one_lesson_starts_and_one_stops_the_stack() {
        assert_eq!(infos().filter(|i| i.needs.starts_stack).count(), 1);
        assert_eq!(infos().filter(|i| i.needs.stops_stack).count(), 1);
    }
}
