// SPDX-License-Identifier: MPL-2.0
//! `--version`, `--list`, `--help` and the `KURENTO_*` variables.

mod common;

use std::process::Command;

use common::{SERVER, free_port, modules_dir, temp_dir};

fn run(args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let out = Command::new(SERVER)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (out.status.success(), String::from_utf8(out.stdout).unwrap())
}

#[test]
fn version_and_list_print_what_kurento_prints() {
    let dir = modules_dir();
    let d = dir.to_str().unwrap();
    let on = [("KURENTO_TEST_FIXTURE_MODULE", "1")];
    let (ok, out) = run(&["--version", "--modules-path", d], &on);
    assert!(ok);
    assert_eq!(
        out,
        "Kurento Media Server version: 7.3.0\nFound modules:\n\t'fixture' version 1.2.3\n"
    );
    let (ok, out) = run(&["-l"], &[on[0], ("KURENTO_MODULES_PATH", d)]);
    assert!(ok);
    assert_eq!(
        out,
        "Available factories:\n\tCrasher\n\tPass\n\tPipeline\n\tSource\n\tfixture.Crasher\n\tfixture.Pass\n\tfixture.Pipeline\n\tfixture.Source\n"
    );
    // Without the test switch the fixture declines to load: nothing found.
    let (_, out) = run(&["--version", "-p", d], &[]);
    assert_eq!(out, "Kurento Media Server version: 7.3.0\n");
    let (ok, out) = run(&["--help"], &[]);
    assert!(ok && out.starts_with("kurento-media-server usage"));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_bad_configuration_file_stops_startup() {
    let out = Command::new(SERVER)
        .args(["--conf-file", "/nonexistent/kurento.conf.json"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read configuration file"));
}

#[test]
fn first_file_name_wins_and_other_abi_versions_are_refused() {
    let (a, b) = (modules_dir(), modules_dir());
    let path = format!("{}:{}", a.display(), b.display());
    let out = Command::new(SERVER)
        .args(["--version", "-p", &path])
        .env("KURENTO_TEST_FIXTURE_MODULE", "1")
        .env("KURENTO_LOG", "info")
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(stdout.matches("'fixture'").count(), 1, "{stdout}");
    let loaded: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("Loaded module 'fixture'"))
        .collect();
    assert_eq!(loaded.len(), 1, "{stderr}");
    assert!(
        loaded[0].contains(a.canonicalize().unwrap().to_str().unwrap()),
        "{stderr}"
    );

    let out = Command::new(SERVER)
        .args(["--list", "-p", &path])
        .env("KURENTO_TEST_FIXTURE_MODULE", "future-abi")
        .env("KURENTO_LOG", "warn")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Available factories:\n"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("module ABI version 2 is not supported (this server speaks version 1)"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(a);
    let _ = std::fs::remove_dir_all(b);
}

#[test]
fn logs_path_writes_a_log_file() {
    let dir = temp_dir("logs");
    let conf = dir.join("kurento.conf.json");
    let port = free_port();
    std::fs::write(
        &conf,
        format!(r#"{{"mediaServer": {{"net": {{"websocket": {{"port": {port}}}}}}}}}"#),
    )
    .unwrap();
    let logs = dir.join("logs");
    let mut child = Command::new(SERVER)
        .args([
            "-f",
            conf.to_str().unwrap(),
            "-d",
            logs.to_str().unwrap(),
            "-n",
            "4",
        ])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let text = loop {
        let found = std::fs::read_dir(&logs)
            .ok()
            .and_then(|mut d| d.next())
            .and_then(|e| e.ok());
        if let Some(e) = found {
            let name = e.file_name().into_string().unwrap();
            let t = std::fs::read_to_string(e.path()).unwrap();
            if t.contains("Listening on") {
                assert!(
                    name.ends_with(&format!(".00000.pid{}.log", child.id())),
                    "{name}"
                );
                break t;
            }
        }
        assert!(std::time::Instant::now() < deadline, "no log file");
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(text.contains(&format!("ws://127.0.0.1:{port}/kurento")));
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(dir);
}
