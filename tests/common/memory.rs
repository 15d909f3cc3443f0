//! The memory the live tests' stacks take at once. The test harness runs as many tests at once as the machine
//! has cores; each live test first reserves what its containers take (the figures README.md states), and waits
//! while the others hold the rest of the budget: 8 GB, a laptop's Docker VM, unless `LIVE_TESTS_MEMORY_MB` says
//! otherwise.

use std::sync::{Condvar, Mutex};

const BUDGET_MB: u32 = 8_000;

/// Megabytes reserved now.
static TAKEN: Mutex<u32> = Mutex::new(0);
static RETURNED: Condvar = Condvar::new();

/// A test's share of the budget, given back when the test ends, however it ends.
pub struct Reserved(u32);

fn budget() -> u32 {
    std::env::var("LIVE_TESTS_MEMORY_MB").ok().and_then(|mb| mb.parse().ok()).unwrap_or(BUDGET_MB)
}

/// Waits until `megabytes` fit beside what the tests running now hold. A test that needs more than the
/// whole budget runs alone.
pub fn reserve(megabytes: u32) -> Reserved {
    let budget = budget();
    let wanted = megabytes.min(budget);
    let mut taken = TAKEN.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if *taken + wanted > budget {
        eprintln!("waiting for {wanted} MB of the live tests' {budget} MB (LIVE_TESTS_MEMORY_MB)");
    }
    while *taken + wanted > budget {
        taken = RETURNED.wait(taken).unwrap_or_else(|poisoned| poisoned.into_inner());
    }
    *taken += wanted;
    Reserved(wanted)
}

impl Drop for Reserved {
    fn drop(&mut self) {
        let mut taken = TAKEN.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        *taken -= self.0;
        RETURNED.notify_all();
    }
}
