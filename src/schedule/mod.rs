//! The scheduler: when pipelines run (`schedule:`), which runs were missed, who may run a
//! period (leases), and the daemon that drives it all.

pub mod daemon;
pub mod fires;
pub mod lease;
pub mod plan;
pub mod state;
