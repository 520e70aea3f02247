// SPDX-License-Identifier: MPL-2.0
//! `MediaObject`: what every remote object has (server.md §5.1, §10).

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value, json};

use crate::CoreError;

/// Where raised events go: `(event type, event data)`. A module forwards them to the host's
/// `emit_event` with the object's id. Must not block.
pub type EventEmitter = Arc<dyn Fn(&str, Value) + Send + Sync>;

pub struct MediaObject {
    id: String,
    name: Mutex<String>,
    /// Shared with [`EventBase`] handles.
    tags: Arc<Tags>,
    creation_time: i64,
    emitter: EventEmitter,
    subscribed: Mutex<HashSet<String>>,
    /// When set, decides which events are delivered instead of `subscribed`.
    gate: Option<SubscriptionGate>,
}

/// Tells whether a client subscribed to an event type (e.g. the generated `Context`'s
/// `is_subscribed`), for objects whose subscriptions are recorded elsewhere.
pub type SubscriptionGate = Box<dyn Fn(&str) -> bool + Send + Sync>;

impl std::fmt::Debug for MediaObject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaObject").field("id", &self.id).finish()
    }
}

fn tag_json(k: &str, v: &str) -> Value {
    json!({"key": k, "value": v, "__module__": "kurento", "__type__": "Tag"})
}

#[derive(Default)]
struct Tags {
    list: Mutex<Vec<(String, String)>>,
    in_events: AtomicBool,
}

impl Tags {
    fn json(&self) -> Value {
        let tags = self.list.lock().unwrap_or_else(|e| e.into_inner());
        Value::Array(tags.iter().map(|(k, v)| tag_json(k, v)).collect())
    }
}

/// The fields every event of one object starts with (`RaiseBase`): `source`,
/// `timestampMillis` and `tags` (the object's tags while `sendTagsInEvents` is on, else `[]`).
/// A cheap handle sharing the object's tags, for whoever builds the object's events outside
/// [`MediaObject::raise`] (a module's generated `Context::emit`): one rule for every event.
#[derive(Clone)]
pub struct EventBase {
    source: Arc<str>,
    tags: Arc<Tags>,
}

impl EventBase {
    /// The base fields as of now.
    pub fn fields(&self) -> Map<String, Value> {
        let tags = if self.tags.in_events.load(Ordering::Relaxed) {
            self.tags.json()
        } else {
            json!([])
        };
        let mut data = Map::new();
        data.insert("source".into(), Value::String(self.source.to_string()));
        data.insert(
            "timestampMillis".into(),
            Value::String(crate::timestamp_millis()),
        );
        data.insert("tags".into(), tags);
        data
    }
}

impl MediaObject {
    /// `id` is the one the host chose (`<parent id>/<uuid>_<module>.<Class>`).
    pub fn new(id: &str, emitter: EventEmitter) -> MediaObject {
        MediaObject {
            id: id.to_string(),
            name: Mutex::new(id.to_string()),
            tags: Arc::default(),
            creation_time: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0),
            emitter,
            subscribed: Mutex::new(HashSet::new()),
            gate: None,
        }
    }

    /// Like [`MediaObject::new`], with subscriptions kept by the caller: events are raised when
    /// `gate(event type)` is true ([`MediaObject::subscribe`] is then unused).
    pub fn with_gate(id: &str, emitter: EventEmitter, gate: SubscriptionGate) -> MediaObject {
        MediaObject {
            gate: Some(gate),
            ..MediaObject::new(id, emitter)
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// The parent's id, from the id chain; `None` for a pipeline.
    pub fn parent_id(&self) -> Option<&str> {
        self.id.rsplit_once('/').map(|(p, _)| p)
    }

    /// The pipeline's id: the first element of the id chain (a pipeline is its own pipeline).
    pub fn pipeline_id(&self) -> &str {
        self.id.split('/').next().unwrap_or(&self.id)
    }

    pub fn name(&self) -> String {
        self.name.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn set_name(&self, name: &str) {
        *self.name.lock().unwrap_or_else(|e| e.into_inner()) = name.to_string();
    }

    pub fn creation_time(&self) -> i64 {
        self.creation_time
    }

    pub fn send_tags_in_events(&self) -> bool {
        self.tags.in_events.load(Ordering::Relaxed)
    }

    pub fn set_send_tags_in_events(&self, on: bool) {
        self.tags.in_events.store(on, Ordering::Relaxed);
    }

    /// The base fields of this object's events, as a handle (see [`EventBase`]).
    pub fn event_base(&self) -> EventBase {
        EventBase {
            source: self.id.as_str().into(),
            tags: self.tags.clone(),
        }
    }

    /// Sets or overwrites a tag.
    pub fn add_tag(&self, key: &str, value: &str) {
        let mut tags = self.tags.list.lock().unwrap_or_else(|e| e.into_inner());
        match tags.iter_mut().find(|(k, _)| k == key) {
            Some(t) => t.1 = value.to_string(),
            None => tags.push((key.to_string(), value.to_string())),
        }
    }

    /// Removes a tag; a missing key is not an error.
    pub fn remove_tag(&self, key: &str) {
        self.tags
            .list
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|(k, _)| k != key);
    }

    pub fn get_tag(&self, key: &str) -> Result<String, CoreError> {
        self.tags
            .list
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .ok_or_else(CoreError::tag_not_found)
    }

    /// `Tag[]` as JSON (`{key, value, __module__, __type__}`).
    pub fn get_tags(&self) -> Value {
        self.tags.json()
    }

    /// Starts delivering `event`; the module checked the class declares it.
    pub fn subscribe(&self, event: &str) {
        self.subscribed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(event.to_string());
    }

    pub fn is_subscribed(&self, event: &str) -> bool {
        if let Some(gate) = &self.gate {
            return gate(event);
        }
        self.subscribed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(event)
    }

    /// Raises an event extending `RaiseBase` directly (`Error`, `ObjectCreated`…): fills
    /// `source`, `timestampMillis` and `tags`, then the own fields. Dropped unless subscribed.
    pub fn raise(&self, event: &str, own: Map<String, Value>) {
        if !self.is_subscribed(event) {
            return;
        }
        let mut data = self.event_base().fields();
        data.extend(own);
        (self.emitter)(event, Value::Object(data));
    }

    /// Raises an event extending `Media`, whose `type` field is the event name.
    pub fn raise_media(&self, event: &str, mut own: Map<String, Value>) {
        own.insert("type".into(), Value::String(event.to_string()));
        self.raise(event, own);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_names_and_ids() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        let o = MediaObject::new(
            "P_kurento.MediaPipeline/E_kurento.PassThrough",
            Arc::new(move |t, d| s.lock().unwrap().push((t.to_string(), d))),
        );
        assert_eq!(o.name(), o.id());
        assert_eq!(o.parent_id(), Some("P_kurento.MediaPipeline"));
        assert_eq!(o.pipeline_id(), "P_kurento.MediaPipeline");
        o.set_name("cam");
        assert_eq!(o.name(), "cam");
        o.add_tag("a", "1");
        o.add_tag("a", "2");
        assert_eq!(o.get_tag("a").unwrap(), "2");
        assert_eq!(o.get_tag("b").unwrap_err().code, 40110);
        o.remove_tag("zzz");
        o.raise_media("MediaFlowInStateChanged", Map::new());
        assert!(seen.lock().unwrap().is_empty(), "not subscribed yet");
        o.subscribe("MediaFlowInStateChanged");
        o.set_send_tags_in_events(true);
        o.raise_media("MediaFlowInStateChanged", Map::new());
        let (t, d) = seen.lock().unwrap()[0].clone();
        assert_eq!(t, "MediaFlowInStateChanged");
        assert_eq!(d["type"], "MediaFlowInStateChanged");
        assert_eq!(d["source"], o.id());
        assert_eq!(d["tags"][0]["value"], "2");
        assert!(
            d["timestampMillis"]
                .as_str()
                .unwrap()
                .parse::<u64>()
                .is_ok()
        );
    }
}
