//! OpenPIM's HTTP benchmark: a closed-loop load generator, the machine ceilings it is compared
//! with (a hyper hello-world server, a raw SQLite commit loop), a bulk seeder for part A's
//! workload, and the activation and scale measurements. The binary `openpim-loadgen` wraps it.

pub mod activate;
pub mod args;
pub mod checks;
pub mod client;
pub mod fsync;
pub mod hello;
pub mod hist;
pub mod http_load;
pub mod scale;
pub mod seed;
