//! HTTP integration tests: each test starts the real `affinity` binary on a free port with a temporary data
//! directory and speaks HTTP to it. One test binary, many modules, so it links once.

pub mod common;

mod attribution;
mod audiences;
mod auth;
mod browser;
mod catalog;
mod catalog_edits;
mod cli;
mod durability;
mod experiences;
mod feedback;
mod identity;
mod imports;
mod projects;
mod readback;
mod recommendations;
mod repeat;
mod system;
