// SPDX-License-Identifier: MPL-2.0
//! `GStreamerFilter` (elements.md §8): one element from a launch-line fragment, run in the
//! filter host. Beyond Kurento, which runs any launch line, only element factories of an
//! allow-list may be used: `allowedElements` (array of factory names) in the class
//! configuration `kurento/GStreamerFilter.conf.json` (or `.conf.ini`, comma-separated) under
//! the modules configuration path; without one, [`DEFAULT_ALLOWED`] (video and audio
//! processing elements that read and write nothing outside the stream).

use gst::glib;
use gst::prelude::*;
use kurento_core_runtime::MediaType;
use serde_json::Value;

use crate::FilterObject;
use crate::generated::*;

/// Element factories allowed when the configuration names none: they only transform the
/// media passing through (no files, devices, network or arbitrary code).
pub const DEFAULT_ALLOWED: &[&str] = &[
    "videoflip",
    "videobalance",
    "videoconvert",
    "videoscale",
    "videorate",
    "videocrop",
    "videobox",
    "capsfilter",
    "identity",
    "queue",
    "gamma",
    "coloreffects",
    "textoverlay",
    "timeoverlay",
    "clockoverlay",
    "gaussianblur",
    "edgetv",
    "agingtv",
    "dicetv",
    "warptv",
    "shagadelictv",
    "vertigotv",
    "rippletv",
    "quarktv",
    "radioactv",
    "streaktv",
    "revtv",
    "optv",
    "facedetect",
    "faceblur",
    "zbar",
    "audioconvert",
    "audioresample",
    "audioamplify",
    "audioecho",
    "audiopanorama",
    "audiocheblimit",
    "volume",
    "pitch",
    "scaletempo",
    "kmsfacedetector",
    "kmsfaceoverlay",
    "kmsimageoverlay",
    "kmslogooverlay",
];

/// The allowed factories: the configuration's `allowedElements`, else the default list.
fn allowed() -> Vec<String> {
    let conf = kurento_core_runtime::class_config("kurento", "GStreamerFilter");
    match conf.as_ref().and_then(|c| c.get("allowedElements")) {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        Some(Value::String(s)) => s
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
        _ => DEFAULT_ALLOWED.iter().map(|s| s.to_string()).collect(),
    }
}

pub struct GstFilter {
    filter: FilterObject,
    command: String,
}

fn marshall(message: impl Into<String>) -> KurentoError {
    KurentoError::marshall(message)
}

pub fn create(
    ctx: Context,
    p: GStreamerFilterConstructor,
) -> Result<Box<dyn GStreamerFilter>, KurentoError> {
    let command = p.command.trim().to_string();
    // The factory is checked before parsing, so a refused element is never even instantiated.
    let factory = command
        .split(|c: char| c.is_whitespace() || c == '!')
        .next()
        .unwrap_or("");
    let allowed = allowed();
    if !allowed.iter().any(|a| a == factory) {
        return Err(marshall(format!(
            "GStreamer element '{factory}' is not allowed in GStreamerFilter (allowed: {}); \
             list it in allowedElements of kurento/GStreamerFilter.conf.json",
            allowed.join(", ")
        )));
    }
    let element = gst::parse::launch(&command)
        .map_err(|e| marshall(format!("GStreamer element cannot be created: {e}")))?;
    if element.is::<gst::Bin>() && element.factory().is_none_or(|f| f.name() != factory) {
        return Err(marshall(
            "Given command is not valid, only one element can be created",
        ));
    }
    let media = match p.filter_type {
        core_types::FilterType::AUDIO => Some(MediaType::Audio),
        core_types::FilterType::VIDEO => Some(MediaType::Video),
        core_types::FilterType::AUTODETECT => None,
    };
    let filter = FilterObject::new(ctx, &p.media_pipeline, element, media).map_err(|e| {
        if e.code == 40102 || e.code == 40003 {
            marshall("Given command is not valid, pad templates don't match")
        } else {
            e
        }
    })?;
    Ok(Box::new(GstFilter { filter, command }))
}

/// C++ `stoi`/`stod`-like reading: leading blanks, the longest numeric prefix, rest ignored.
fn numeric_prefix(v: &str, float: bool) -> &str {
    let t = v.trim_start();
    let mut end = 0;
    for (i, c) in t.char_indices() {
        let ok = c.is_ascii_digit()
            || ((c == '+' || c == '-') && (i == 0 || (float && t[..i].ends_with(['e', 'E']))))
            || (float && (c == '.' || ((c == 'e' || c == 'E') && i > 0)));
        if !ok {
            break;
        }
        end = i + c.len_utf8();
    }
    &t[..end]
}

fn convert<T: std::str::FromStr>(v: &str, float: bool, kind: &str) -> Result<T, KurentoError>
where
    T::Err: std::fmt::Display,
{
    numeric_prefix(v, float)
        .parse::<T>()
        .map_err(|e| marshall(format!("Cannot convert '{v}' to {kind}: {e}")))
}

impl GStreamerFilter for GstFilter {
    fn set_element_property(&self, name: String, value: String) -> Result<(), KurentoError> {
        let element = &self.filter.element;
        let pspec = element.find_property(&name).ok_or_else(|| {
            marshall(format!(
                "No property named '{name}' in object '{}'",
                element.name()
            ))
        })?;
        let ty = pspec.value_type();
        let v: glib::Value = if ty == glib::Type::I32 {
            convert::<i32>(&value, false, "int")?.to_value()
        } else if ty == glib::Type::F32 {
            convert::<f32>(&value, true, "float")?.to_value()
        } else if ty == glib::Type::F64 {
            convert::<f64>(&value, true, "double")?.to_value()
        } else if ty == glib::Type::STRING {
            value.to_value()
        } else if ty.is_a(glib::Type::ENUM) {
            let class = glib::EnumClass::with_type(ty)
                .ok_or_else(|| KurentoError::unexpected("enum class missing"))?;
            class.to_value_by_nick(&value).ok_or_else(|| {
                marshall(format!(
                    "Cannot convert '{value}' to enum: Invalid value for enum {}",
                    ty.name()
                ))
            })?
        } else {
            return Err(KurentoError::not_implemented(format!(
                "Property type not implemented: {}",
                pspec.type_().name()
            )));
        };
        element.set_property_from_value(&name, &v);
        Ok(())
    }

    fn get_command(&self) -> Result<String, KurentoError> {
        Ok(self.command.clone())
    }
}

impl ModuleObject for GstFilter {
    fn gst_element(&self) -> *mut std::ffi::c_void {
        self.filter.gst_element()
    }

    fn invoke_inherited(&self, op: &str, params: &Value) -> Option<Result<Value, KurentoError>> {
        self.filter.invoke_inherited(op, params)
    }

    fn release(&self) {
        self.filter.release();
    }
}
