// SPDX-License-Identifier: MPL-2.0
//! The handlebars templates, kept as files under `templates/` and compiled once.

use handlebars::Handlebars;
use std::sync::OnceLock;

const TEMPLATES: &[(&str, &str)] = &[
    (
        "rust/runtime",
        include_str!("../templates/rust/runtime.rs.hbs"),
    ),
    (
        "rust/module",
        include_str!("../templates/rust/module.rs.hbs"),
    ),
    ("js/index", include_str!("../templates/js/index.js.hbs")),
    ("js/class", include_str!("../templates/js/class.js.hbs")),
    (
        "js/complexType",
        include_str!("../templates/js/complexType.js.hbs"),
    ),
    ("js/dts", include_str!("../templates/js/index.d.ts.hbs")),
    (
        "js/package",
        include_str!("../templates/js/package.json.hbs"),
    ),
];

pub(crate) fn registry() -> &'static Handlebars<'static> {
    static REG: OnceLock<Handlebars<'static>> = OnceLock::new();
    REG.get_or_init(|| {
        let mut h = Handlebars::new();
        h.set_strict_mode(true);
        h.register_escape_fn(handlebars::no_escape);
        for (name, text) in TEMPLATES {
            h.register_template_string(name, *text)
                .unwrap_or_else(|e| panic!("template {name} is invalid: {e}"));
        }
        h
    })
}
