//! One module per step; `dispatch!` picks the step by id.

pub mod common;
pub mod s01_compose_file;
pub mod s01_compose_file_rules;
pub mod s02_start;
pub mod s03_status;
pub mod s04_topic;
pub mod s05_produce_consume;
pub mod s06_teardown;
pub mod s07_collect;

use anyhow::{bail, Result};

use crate::facts::Fact;
use crate::step::{Context, Step};

macro_rules! dispatch {
    ($id:expr, $step:ident => $body:expr) => {
        match $id {
            1 => {
                let $step = s01_compose_file::ComposeFile;
                $body
            }
            2 => {
                let $step = s02_start::Start;
                $body
            }
            3 => {
                let $step = s03_status::Status;
                $body
            }
            4 => {
                let $step = s04_topic::Topic;
                $body
            }
            5 => {
                let $step = s05_produce_consume::ProduceConsume;
                $body
            }
            6 => {
                let $step = s06_teardown::Teardown;
                $body
            }
            7 => {
                let $step = s07_collect::Collect;
                $body
            }
            other => bail!("There is no step {other}"),
        }
    };
}

pub fn explain(id: u8, ctx: &Context) -> Result<String> {
    dispatch!(id, step => Ok(step.explain(ctx)))
}

pub async fn run(id: u8, ctx: &Context) -> Result<String> {
    dispatch!(id, step => step.run(ctx).await)
}

pub async fn check(id: u8, ctx: &Context) -> Result<Vec<Fact>> {
    dispatch!(id, step => step.check(ctx).await)
}
