// SPDX-License-Identifier: MPL-2.0
//! `kurento-media-server`: the Kurento Protocol (JSON-RPC 2.0 over WebSocket) in front of module
//! libraries loaded through `kurento-module-abi`. See `server/README.md`.

pub mod config;
mod elf;
pub mod error;
pub mod logfile;
pub mod manager;
pub mod modules;
pub mod server;
pub mod transport;

pub use config::{Config, Options};
pub use modules::{Catalog, load_modules};
pub use server::Server;
