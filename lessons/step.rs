//! The one trait every step implements, and the context it runs in.

use anyhow::Result;
use tokio::sync::OnceCell;

use crate::config::StackConfig;
use crate::facts::Fact;
use crate::stack::Stack;

/// What the learner chose on the command line, with the workshop's defaults.
#[derive(Clone, Debug)]
pub struct StepOptions {
    pub topic: String,
    pub partitions: i32,
    pub replication_factor: i32,
    pub group: String,
    /// `down -v` in step 6: remove the volumes too.
    pub volumes: bool,
    /// Perform the step with the Rust client (rdkafka) instead of the Kafka tools in the container.
    pub native: bool,
}

impl Default for StepOptions {
    fn default() -> Self {
        StepOptions {
            topic: "quickstart-events".into(),
            partitions: 3,
            replication_factor: 1,
            group: "workshop-console".into(),
            volumes: false,
            native: false,
        }
    }
}

pub struct Context {
    pub config: StackConfig,
    pub options: StepOptions,
    stack: OnceCell<Stack>,
}

impl Context {
    pub fn new(config: StackConfig, options: StepOptions) -> Context {
        Context { config, options, stack: OnceCell::new() }
    }

    /// The stack handle, connected on first use (explaining a step needs no engine).
    pub async fn stack(&self) -> Result<&Stack> {
        self.stack.get_or_try_init(|| Stack::connect(self.config.clone())).await
    }
}

/// `explain` teaches, `run` performs, `check` verifies. A check that finds the step not done yet returns
/// `Ok` with failed facts; `Err` means the tool itself could not look (no engine, a bug).
#[allow(async_fn_in_trait)]
pub trait Step {
    fn explain(&self, ctx: &Context) -> String;
    async fn run(&self, ctx: &Context) -> Result<String>;
    async fn check(&self, ctx: &Context) -> Result<Vec<Fact>>;
}
