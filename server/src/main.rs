// SPDX-License-Identifier: MPL-2.0
//! `kurento-media-server`: command line entry point (server.md §1).

use std::process::ExitCode;

use kurento_media_server::config::{Config, DEFAULT_CONF_FILE, Options, USAGE};
use kurento_media_server::logfile::RotatingLog;
use kurento_media_server::manager::SERVER_VERSION;
use kurento_media_server::modules::{DEFAULT_MODULES_DIR, split_path_list};
use kurento_media_server::{Catalog, Server, load_modules, transport};
use tracing_subscriber::fmt::writer::MakeWriterExt;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let opts = Options::parse(&args, |k| std::env::var(k).ok());
    if opts.help {
        print!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    // --list and --version print only their answer.
    let quiet = opts.list || opts.version;
    let filter = tracing_subscriber::EnvFilter::try_from_env("KURENTO_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(if quiet { "off" } else { "info" }));
    let log_file = match opts.logs_path.as_deref().filter(|_| !quiet) {
        None => None,
        Some(dir) => {
            let size = opts
                .log_file_size
                .as_deref()
                .and_then(|s| s.parse().ok())
                .unwrap_or(100);
            let count = opts
                .number_log_files
                .as_deref()
                .and_then(|s| s.parse().ok())
                .unwrap_or(10);
            match RotatingLog::open(std::path::Path::new(dir), size, count) {
                Ok(f) => Some(std::sync::Mutex::new(f)),
                Err(e) => {
                    eprintln!("cannot write logs to {dir}: {e}");
                    return ExitCode::FAILURE;
                }
            }
        }
    };
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match log_file {
        Some(file) => builder
            .with_ansi(false)
            .with_writer(std::io::stderr.and(file))
            .init(),
        None => builder
            .with_writer(std::io::stderr)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
    }

    // Modules read their per-class configuration files from here (kurento-core-runtime's
    // `class_config`); set before any thread exists.
    let conf_dir = std::path::Path::new(opts.conf_file.as_deref().unwrap_or(DEFAULT_CONF_FILE))
        .parent()
        .map(|d| d.join("modules"))
        .unwrap_or_default();
    let modules_config = opts
        .modules_config_path
        .clone()
        .unwrap_or_else(|| conf_dir.to_string_lossy().into_owned());
    // SAFETY: single-threaded here: neither the runtime nor any module has started yet.
    unsafe { std::env::set_var("KURENTO_MODULES_CONFIG_PATH", &modules_config) };

    let mut search = split_path_list(opts.modules_path.as_deref().unwrap_or_default());
    search.push(DEFAULT_MODULES_DIR.into());
    let catalog = Catalog::new(load_modules(&search));

    if opts.version {
        println!("Kurento Media Server version: {SERVER_VERSION}");
        let mut mods: Vec<_> = catalog.modules.iter().collect();
        mods.sort_by(|a, b| a.file_name.cmp(&b.file_name));
        if !mods.is_empty() {
            println!("Found modules:");
            for m in mods {
                println!("\t'{}' version {}", m.name, m.version);
            }
        }
        return ExitCode::SUCCESS;
    }
    if opts.list {
        println!("Available factories:");
        for f in catalog.factories.keys() {
            println!("\t{f}");
        }
        return ExitCode::SUCCESS;
    }

    let config = match Config::load(opts.conf_file.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            tracing::error!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let server = Server::new(config, catalog);
    let result = runtime.block_on(async {
        // Installed before listening, so a stop request is never missed.
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            return Err("cannot install signal handlers".to_string());
        };
        transport::run(server.clone(), async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            tracing::info!("Stopping");
        })
        .await
    });
    if let Err(e) = result {
        tracing::error!("{e}");
        return ExitCode::FAILURE;
    }
    server.release_all();
    ExitCode::SUCCESS
}
