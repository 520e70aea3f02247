// SPDX-License-Identifier: MPL-2.0
//! `kurento-module-creator`: reads `*.kmd.json` descriptors, resolves them and renders code
//! (module-creator.md §1.1). Exit status 0 on success, 1 on any error (message on stderr).

use kurento_module_creator::{Diagnostic, Errors, Module, Project, load_module, resolve};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const USAGE: &str = "usage: kurento-module-creator -r <path> [options]

Reads the *.kmd.json descriptors of one module, fuses, validates and resolves them against
its dependencies, then generates code or prints facts about it.

  -r,  --rom <path>                  kmd file or directory of the module (required)
  -dr, --deprom <path>               kmd file or directory of a dependency (repeatable);
                                     core, elements and filters are built in
  -c,  --codegen <dir>               output directory of generated files
  -it, --internal-templates <name>   bundled template set: rust (server stubs: generated.rs),
                                     js (client module: JS, index.d.ts, package.json);
                                     client-js/templates is accepted for js
  -t,  --templates <dir>             own handlebars templates (*.hbs; prefix model_,
                                     remoteClass_, complexType_ or event_; first word of the
                                     output is the file name)
  -o,  --output-model <dir>          write the resolved descriptor to <dir>/<name>.kmd.json
  -d,  --delete                      empty the codegen directory first
  -n,  --no-overwrite                never overwrite an existing file
  -lf, --list-generated-files        print 'Processed file:\\t<path>' per rendered file
  -s,  --show-values <key>...        print 'Value: <key> = <value>' for dotted keys, then exit
  -p,  --print-simple-kmd            print classes, events, types, dependencies and digest
  -v,  --verbose                     also print the content of every generated file
  -h,  --help                        this text
";

#[derive(Default)]
struct Opts {
    rom: Vec<PathBuf>,
    deps: Vec<PathBuf>,
    codegen: Option<PathBuf>,
    internal: Option<String>,
    templates: Option<PathBuf>,
    output_model: Option<PathBuf>,
    delete: bool,
    no_overwrite: bool,
    list: bool,
    show: Vec<String>,
    print_simple: bool,
    verbose: bool,
    help: bool,
}

fn parse(args: &[String]) -> Result<Opts, String> {
    let mut o = Opts::default();
    let mut i = 0;
    let value = |i: &mut usize, name: &str| -> Result<String, String> {
        *i += 1;
        args.get(*i)
            .cloned()
            .ok_or_else(|| format!("Missing argument for option: {name}"))
    };
    while i < args.len() {
        let a = args[i].as_str();
        match a {
            "-r" | "--rom" => o.rom.push(value(&mut i, "r")?.into()),
            "-dr" | "--deprom" => o.deps.push(value(&mut i, "dr")?.into()),
            "-c" | "--codegen" => o.codegen = Some(value(&mut i, "c")?.into()),
            "-it" | "--internal-templates" => o.internal = Some(value(&mut i, "it")?),
            "-t" | "--templates" => o.templates = Some(value(&mut i, "t")?.into()),
            "-o" | "--output-model" => o.output_model = Some(value(&mut i, "o")?.into()),
            "-d" | "--delete" => o.delete = true,
            "-n" | "--no-overwrite" => o.no_overwrite = true,
            "-lf" | "--list-generated-files" => o.list = true,
            "-p" | "--print-simple-kmd" => o.print_simple = true,
            "-v" | "--verbose" => o.verbose = true,
            "-h" | "--help" => o.help = true,
            "-s" | "--show-values" => {
                while args.get(i + 1).is_some_and(|n| !n.starts_with('-')) {
                    i += 1;
                    o.show.push(args[i].clone());
                }
                if o.show.is_empty() {
                    return Err("Missing argument for option: s".into());
                }
            }
            "-maven" | "--maven-pom" | "-npm" | "--npm-package" | "-cf" | "--config" => {
                return Err(format!(
                    "option {a} is not supported by this creator (no Java client; use -it js for the npm package)"
                ));
            }
            _ => return Err(format!("Unrecognized option: {a}")),
        }
        i += 1;
    }
    Ok(o)
}

/// One output file: relative path and content.
type Output = (String, String);

fn render_custom(
    dir: &Path,
    project: &Project,
    module: &Module,
) -> Result<Vec<(String, Option<Output>)>, String> {
    let mut templates: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("templates directory {}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "hbs"))
        .collect();
    templates.sort();
    let mut hb = handlebars::Handlebars::new();
    hb.register_escape_fn(handlebars::no_escape);
    let model = module.output_model();
    let mut out = Vec::new();
    for t in templates {
        let file = t.file_name().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(&t).map_err(|e| format!("{}: {e}", t.display()))?;
        hb.register_template_string(&file, text)
            .map_err(|e| format!("{}: {e}", t.display()))?;
        let prefix = file.split('_').next().unwrap_or_default();
        let (key, items): (&str, Vec<Value>) = match prefix {
            "model" => ("", vec![Value::Null]),
            "remoteClass" => (
                "remoteClass",
                model["remoteClasses"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default(),
            ),
            "complexType" => (
                "complexType",
                model["complexTypes"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default(),
            ),
            "event" => (
                "event",
                model["events"].as_array().cloned().unwrap_or_default(),
            ),
            _ => {
                return Err(format!(
                    "template {file}: the name must start with model_, remoteClass_, complexType_ or event_"
                ));
            }
        };
        for item in items {
            let mut ctx = json!({"module": model, "config": {}, "hierarchy": {}});
            if !key.is_empty() {
                ctx[key] = item.clone();
                if key == "remoteClass" {
                    let name = item["name"].as_str().unwrap_or_default();
                    if let Some(c) = module.class(name) {
                        ctx["hierarchy"] = json!(project.hierarchy(module, c));
                    }
                }
            }
            let rendered = hb
                .render(&file, &ctx)
                .map_err(|e| format!("template {file}: {e}"))?;
            let trimmed = rendered.trim_start();
            if trimmed.trim().is_empty() {
                out.push((file.clone(), None));
                continue;
            }
            let end = trimmed.find(char::is_whitespace).unwrap_or(trimmed.len());
            let path = trimmed[..end].to_string();
            let content = trimmed[end..].chars().skip(1).collect::<String>();
            out.push((file.clone(), Some((path, content))));
        }
    }
    Ok(out)
}

fn write_outputs(
    o: &Opts,
    dir: &Path,
    outputs: Vec<(String, Option<Output>)>,
) -> Result<(), String> {
    for (template, output) in outputs {
        let Some((rel, content)) = output else {
            println!("No file generation because applying template '{template}' is empty");
            continue;
        };
        if rel.starts_with('/') || rel.split('/').any(|p| p == "..") {
            return Err(format!(
                "template {template} names a file outside the output directory: {rel}"
            ));
        }
        let path = dir.join(&rel);
        let existing = std::fs::read_to_string(&path).ok();
        let write = match &existing {
            None => true,
            Some(_) if o.no_overwrite => false,
            Some(old) => *old != content,
        };
        if write {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| format!("{}: {e}", parent.display()))?;
            }
            std::fs::write(&path, &content).map_err(|e| format!("{}: {e}", path.display()))?;
        }
        if o.list {
            println!(
                "Processed file:\t{rel}{}",
                if write { "" } else { "\t(not generated)" }
            );
        }
        if o.verbose {
            println!("{content}");
        }
    }
    Ok(())
}

fn run(o: &Opts) -> Result<(), (Errors, bool)> {
    let fail = |m: String| (Errors::from(Diagnostic::general(m)), false);
    let module = load_module(&o.rom).map_err(|e| (e, false))?;
    let mut deps = Vec::new();
    for d in &o.deps {
        match resolve::find_kmd_files(d) {
            Ok(files) if files.is_empty() => {
                eprintln!("warning: no *.kmd.json found in {}", d.display())
            }
            Ok(files) => {
                let mut docs = Vec::new();
                for f in files {
                    docs.push(resolve::read_file(&f).map_err(|e| (e, false))?);
                }
                // Each dependency file is normally a complete, resolved module (kmd-format.md
                // §10); a directory holding the several files of one module (one `name` among
                // them) is fused instead, so a module's interface directory works too.
                let named = docs.iter().filter(|d| d.name.is_some()).count();
                if named == 1 && docs.len() > 1 {
                    deps.push(resolve::fuse(docs).map_err(|e| (e, false))?);
                } else {
                    for doc in docs {
                        deps.push(resolve::fuse(vec![doc]).map_err(|e| (e, false))?);
                    }
                }
            }
            Err(e) => eprintln!("warning: {}: {e}", d.display()),
        }
    }
    for b in kurento_module_creator::builtin_modules() {
        if !deps.iter().any(|m| m.name == b.name) {
            deps.push(b);
        }
    }
    let project = Project::resolve(vec![module], deps).map_err(|e| (e, false))?;
    let module = &project.modules[0];
    let model = module.output_model();
    if !o.show.is_empty() {
        for key in &o.show {
            match resolve::show_value(&model, key) {
                Some(v) => println!("Value: {key} = {v}"),
                None => println!("Value: {key} = null"),
            }
        }
        return Ok(());
    }
    if o.print_simple {
        for l in module.simple_summary() {
            println!("{l}");
        }
        return Ok(());
    }
    if o.codegen.is_none() && o.output_model.is_none() {
        return Err(fail(
            "one of -c (codegen directory), -o (output model), -s or -p is required".into(),
        ));
    }
    if let Some(dir) = &o.codegen {
        if o.delete && dir.exists() {
            for e in std::fs::read_dir(dir)
                .map_err(|e| fail(format!("{}: {e}", dir.display())))?
                .flatten()
            {
                let p = e.path();
                let r = if p.is_dir() {
                    std::fs::remove_dir_all(&p)
                } else {
                    std::fs::remove_file(&p)
                };
                r.map_err(|e| fail(format!("{}: {e}", p.display())))?;
            }
        }
        std::fs::create_dir_all(dir)
            .map_err(|e| fail(format!("cannot create {}: {e}", dir.display())))?;
        let outputs: Vec<(String, Option<Output>)> = if let Some(t) = &o.templates {
            render_custom(t, &project, module)
                .map_err(|e| (Errors::from(Diagnostic::general(e)), true))?
        } else {
            match o.internal.as_deref() {
                Some("rust") | Some("rust_server") => {
                    let code = kurento_module_creator::rust::generate(&project, module)
                        .map_err(|e| (e, true))?;
                    vec![("rust".into(), Some(("generated.rs".into(), code)))]
                }
                Some("js") | Some("client-js/templates") | Some("client-js") => {
                    kurento_module_creator::js::generate(&project, module)
                        .map_err(|e| (e, true))?
                        .into_iter()
                        .map(|(p, c)| ("js".to_string(), Some((p, c))))
                        .collect()
                }
                Some(other) => {
                    return Err(fail(format!(
                        "unknown internal template set '{other}'; valid: rust, js"
                    )));
                }
                None => {
                    return Err(fail(
                        "-c needs a template set: -it rust, -it js or -t <dir>".into(),
                    ));
                }
            }
        };
        write_outputs(o, dir, outputs).map_err(|e| (Errors::from(Diagnostic::general(e)), true))?;
    }
    if let Some(dir) = &o.output_model {
        std::fs::create_dir_all(dir)
            .map_err(|e| fail(format!("cannot create {}: {e}", dir.display())))?;
        let path = dir.join(format!("{}.kmd.json", module.name));
        let text = module.output_model_text(true);
        std::fs::write(&path, text).map_err(|e| fail(format!("{}: {e}", path.display())))?;
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let o = match parse(&args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}\n\n{USAGE}");
            return ExitCode::from(1);
        }
    };
    if o.help {
        print!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    if o.rom.is_empty() {
        eprintln!("Missing required option: r\n\n{USAGE}");
        return ExitCode::from(1);
    }
    if let Some(t) = &o.templates
        && !t.is_dir()
    {
        eprintln!(
            "Templates directory {} does not exist or is not readable",
            t.display()
        );
        return ExitCode::from(1);
    }
    match run(&o) {
        Ok(()) => {
            if o.show.is_empty() && !o.print_simple {
                println!("Generation success");
            }
            ExitCode::SUCCESS
        }
        Err((e, during_generation)) => {
            if during_generation {
                println!("Generation failed");
                println!("Errors:");
                for d in &e.0 {
                    println!("Error: {d}");
                }
            }
            eprintln!("{e}");
            ExitCode::from(1)
        }
    }
}
