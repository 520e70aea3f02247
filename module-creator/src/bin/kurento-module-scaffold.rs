// SPDX-License-Identifier: MPL-2.0
//! `kurento-module-scaffold <Prefix> <CamelCaseName> [snake_case_name] [true|false]`: creates a
//! new Kurento module project (module-creator.md Part 2) as a Cargo workspace: descriptor files,
//! a GStreamer plugin crate with the element, a module crate made from the descriptors, and
//! tests. `true` as the last argument selects the OpenCV flavour.
//!
//! Naming (fixing the reference's inconsistencies, module-creator.md §2.7): the module name is
//! the lower-cased CamelCase name (`videomodule`), the class is the CamelCase name
//! (`VideoModule`, factories `VideoModule` and `videomodule.VideoModule`), and only the
//! GStreamer element carries the prefix (`appvideomodule`). The element author is filled in.

use handlebars::Handlebars;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const USAGE: &str = "usage: kurento-module-scaffold <Prefix> <CamelCaseName> [snake_case_name] [true|false]

Creates ./<kebab-case-name>/, a Cargo workspace for a new Kurento module:
  interface/                       the descriptors (*.kmd.json): module <camelcasename>, class <CamelCaseName>
  gst-plugin-<element>/            the GStreamer plugin with element <prefix><camelcasename>
  <camelcasename>-module/          the module library (lib kms<camelcasename>module.so), its traits generated
                                   from interface/ at build time
The last argument 'true' selects the OpenCV flavour (the element hands BGRA frames to an OpenCV
FrameProcessor; the class extends OpenCVFilter); anything else the GStreamer flavour.
An empty Prefix means 'Gst'. The snake_case name defaults to new_module.

Options (before the names): --kurento-rs <dir>  kurento-rs sources to depend on (default: the
sources this tool was built from, or $KURENTO_RS_DIR); --output <dir>  where to create the project
directory (default: the current directory).
";

const TEMPLATES: &[(&str, &str)] = &[
    (
        "Cargo.toml",
        include_str!("../../templates/scaffold/Cargo.toml.hbs"),
    ),
    (
        "gitignore",
        include_str!("../../templates/scaffold/gitignore.hbs"),
    ),
    (
        "README.md",
        include_str!("../../templates/scaffold/README.md.hbs"),
    ),
    (
        "interface_header",
        include_str!("../../templates/scaffold/interface_header.kmd.json.hbs"),
    ),
    (
        "interface_class",
        include_str!("../../templates/scaffold/interface_class.kmd.json.hbs"),
    ),
    (
        "plugin_Cargo",
        include_str!("../../templates/scaffold/plugin_Cargo.toml.hbs"),
    ),
    (
        "plugin_build",
        include_str!("../../templates/scaffold/plugin_build.rs.hbs"),
    ),
    (
        "plugin_lib",
        include_str!("../../templates/scaffold/plugin_lib.rs.hbs"),
    ),
    (
        "plugin_test",
        include_str!("../../templates/scaffold/plugin_test.rs.hbs"),
    ),
    (
        "element_mod",
        include_str!("../../templates/scaffold/element_mod.rs.hbs"),
    ),
    (
        "element_imp_gstreamer",
        include_str!("../../templates/scaffold/element_imp_gstreamer.rs.hbs"),
    ),
    (
        "element_imp_opencv",
        include_str!("../../templates/scaffold/element_imp_opencv.rs.hbs"),
    ),
    (
        "module_Cargo",
        include_str!("../../templates/scaffold/module_Cargo.toml.hbs"),
    ),
    (
        "module_build",
        include_str!("../../templates/scaffold/module_build.rs.hbs"),
    ),
    (
        "module_lib",
        include_str!("../../templates/scaffold/module_lib.rs.hbs"),
    ),
    (
        "module_test",
        include_str!("../../templates/scaffold/module_test.rs.hbs"),
    ),
];

fn normalize_camel(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace() && *c != '_' && *c != '-')
        .collect()
}

fn fail(msg: &str) -> ExitCode {
    eprintln!("kurento-module-scaffold: {msg}");
    ExitCode::from(1)
}

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|a| a == "-h" || a == "--help") {
        print!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let mut kurento_rs: PathBuf = std::env::var_os("KURENTO_RS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".."));
    let mut output = PathBuf::from(".");
    while args.first().is_some_and(|a| a.starts_with("--")) {
        let opt = args.remove(0);
        let Some(value) = (!args.is_empty()).then(|| args.remove(0)) else {
            return fail(&format!("{opt} needs a value"));
        };
        match opt.as_str() {
            "--kurento-rs" => kurento_rs = value.into(),
            "--output" => output = value.into(),
            _ => return fail(&format!("unknown option {opt}\n\n{USAGE}")),
        }
    }
    if args.len() < 2 {
        print!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let prefix = match normalize_camel(&args[0]) {
        p if p.is_empty() => "Gst".to_string(),
        p => p,
    };
    let name = normalize_camel(&args[1]);
    let snake = args.get(2).map(|s| {
        s.chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_lowercase()
            .replace('-', "_")
    });
    let snake = snake
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "new_module".into());
    let opencv = args.get(3).is_some_and(|a| a == "true");
    let valid = |s: &str| {
        s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && s.chars().all(|c| c.is_ascii_alphanumeric())
    };
    if !valid(&prefix) || !valid(&name) || !name.starts_with(|c: char| c.is_ascii_uppercase()) {
        return fail(
            "Prefix and CamelCaseName must be ASCII letters and digits, starting with a letter (CamelCaseName with a capital)",
        );
    }
    if !snake.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return fail("snake_case_name must be ASCII letters, digits and '_'");
    }
    let kurento_rs = match kurento_rs.canonicalize() {
        Ok(p)
            if p.join("modules/abi/Cargo.toml").is_file()
                && p.join("module-creator/Cargo.toml").is_file() =>
        {
            p
        }
        _ => {
            return fail(&format!(
                "{} is not a kurento-rs source tree (use --kurento-rs)",
                kurento_rs.display()
            ));
        }
    };
    let lower = name.to_lowercase();
    let element = format!("{}{lower}", prefix.to_lowercase());
    let kebab = snake.replace('_', "-");
    let ctx = json!({
        "prefixCamelCase": prefix, "prefixLowerCase": prefix.to_lowercase(), "prefixUpperCase": prefix.to_uppercase(),
        "nameCamelCase": name, "nameLowercase": lower, "nameSnakeCase": snake, "nameKebabCase": kebab,
        "nameSnakeUpperCase": snake.to_uppercase(), "extendsFilter": if opencv { "OpenCVFilter" } else { "Filter" },
        "flavour": if opencv { "OpenCV" } else { "GStreamer" }, "opencv": opencv, "element": element,
        "libName": format!("kms{lower}module"), "classSnake": kurento_module_creator::rust::snake_case(&name),
        "testFormat": if opencv { "BGRA" } else { "BGRx" },
        "author": std::env::var("USER").map(|u| format!("{u} (scaffolded by kurento-module-scaffold)")).unwrap_or_else(|_| "kurento-module-scaffold".into()),
        "kurentoRs": kurento_rs.display().to_string(),
    });
    let root = output.join(&kebab);
    if root.exists() {
        return fail(&format!("{} already exists", root.display()));
    }
    let mut hb = Handlebars::new();
    hb.set_strict_mode(true);
    hb.register_escape_fn(handlebars::no_escape);
    for (n, t) in TEMPLATES {
        if let Err(e) = hb.register_template_string(n, *t) {
            return fail(&format!("template {n}: {e}"));
        }
    }
    let plugin = format!("gst-plugin-{element}");
    let module = format!("{lower}-module");
    let imp = if opencv {
        "element_imp_opencv"
    } else {
        "element_imp_gstreamer"
    };
    let files: Vec<(String, &str)> = vec![
        ("Cargo.toml".into(), "Cargo.toml"),
        (".gitignore".into(), "gitignore"),
        ("README.md".into(), "README.md"),
        (format!("interface/{lower}.kmd.json"), "interface_header"),
        (
            format!("interface/{lower}.{name}.kmd.json"),
            "interface_class",
        ),
        (format!("{plugin}/Cargo.toml"), "plugin_Cargo"),
        (format!("{plugin}/build.rs"), "plugin_build"),
        (format!("{plugin}/src/lib.rs"), "plugin_lib"),
        (format!("{plugin}/src/{element}/mod.rs"), "element_mod"),
        (format!("{plugin}/src/{element}/imp.rs"), imp),
        (format!("{plugin}/tests/{element}.rs"), "plugin_test"),
        (format!("{module}/Cargo.toml"), "module_Cargo"),
        (format!("{module}/build.rs"), "module_build"),
        (format!("{module}/src/lib.rs"), "module_lib"),
        (format!("{module}/tests/module.rs"), "module_test"),
    ];
    for (path, template) in files {
        let text = match hb.render(template, &ctx) {
            Ok(t) => t,
            Err(e) => return fail(&format!("template {template}: {e}")),
        };
        let dest = root.join(&path);
        if let Err(e) = std::fs::create_dir_all(dest.parent().unwrap())
            .and_then(|()| std::fs::write(&dest, text))
        {
            return fail(&format!("{}: {e}", dest.display()));
        }
    }
    // Start from the dependency versions kurento-rs is tested with.
    let _ = std::fs::copy(kurento_rs.join("Cargo.lock"), root.join("Cargo.lock"));
    // A repository of its own, so the version helper of the plugin finds no foreign history.
    let _ = std::process::Command::new("git")
        .args(["init", "-q"])
        .current_dir(&root)
        .status();
    println!(
        "Created {} ({} flavour)",
        root.display(),
        if opencv { "OpenCV" } else { "GStreamer" }
    );
    println!(
        "  module {lower}, class {name} (factories {name}, {lower}.{name}), element {element}"
    );
    println!("  next: cd {} && cargo build && cargo test", root.display());
    ExitCode::SUCCESS
}
