//! Shared, immutable text: the string type of the parsed snapshot and of
//! report cells.
//!
//! A [`Text`] is a reference-counted `str`. Cloning one copies a pointer, so
//! a dataset cell that shows a decision's agent, rule or repository shares
//! the snapshot's bytes instead of copying them. While a snapshot is parsed
//! (inside [`interning`]) equal strings are also stored once: a tenant's
//! 200,000 decisions name about a thousand agents, a few hundred rules and
//! repositories, and each of those is held a single time.
//!
//! ```
//! use cavra_model::text::{interning, Text};
//! let (a, b): (Text, Text) = interning(|| {
//!     let a: Text = serde_json::from_str("\"codex-payments\"").unwrap();
//!     let b: Text = serde_json::from_str("\"codex-payments\"").unwrap();
//!     (a, b)
//! });
//! assert_eq!(a, "codex-payments");
//! assert!(Text::ptr_eq(&a, &b)); // one copy of the bytes
//! ```

use rustc_hash::FxHashSet;
use std::borrow::Borrow;
use std::cell::RefCell;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Immutable, cheaply cloned text (see the [module documentation](self)).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Text(Arc<str>);

impl Text {
    /// The text as a `str`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// How many values share these bytes (the interning pool counts as one
    /// while it lives).
    pub fn share_count(&self) -> usize {
        Arc::strong_count(&self.0)
    }

    /// Whether `a` and `b` share the same bytes (not merely equal ones).
    pub fn ptr_eq(a: &Text, b: &Text) -> bool {
        Arc::ptr_eq(&a.0, &b.0)
    }

    /// `s` as text: the pooled copy while [`interning`] is active, a new one
    /// otherwise.
    pub fn intern(s: &str) -> Text {
        POOL.with(|pool| match pool.borrow_mut().as_mut() {
            Some(set) => match set.get(s) {
                Some(t) => t.clone(),
                None => {
                    let t = Text(Arc::from(s));
                    set.insert(t.clone());
                    t
                }
            },
            None => Text(Arc::from(s)),
        })
    }
}

thread_local! {
    static STATICS: RefCell<Vec<(&'static str, Text)>> = const { RefCell::new(Vec::new()) };
}

impl Text {
    /// Shared text for a string constant: made once per thread, then a
    /// pointer copy (for the few fixed labels a row repeats; a linear
    /// search, so not for open-ended sets).
    ///
    /// ```
    /// use cavra_model::Text;
    /// let (a, b) = (Text::from_static("no action needed"), Text::from_static("no action needed"));
    /// assert!(Text::ptr_eq(&a, &b));
    /// ```
    pub fn from_static(s: &'static str) -> Text {
        STATICS.with(|statics| {
            let mut statics = statics.borrow_mut();
            if let Some((_, t)) = statics.iter().find(|(k, _)| std::ptr::eq(*k, s)) {
                return t.clone();
            }
            let t = Text::from(s);
            statics.push((s, t.clone()));
            t
        })
    }
}

thread_local! {
    static POOL: RefCell<Option<FxHashSet<Text>>> = const { RefCell::new(None) };
}

/// Runs `f` with equal strings deserialised into [`Text`] on this thread
/// stored once. The pool lives only as long as `f` runs, so it costs memory
/// only while a snapshot is parsed; nested calls share the outer pool.
pub fn interning<R>(f: impl FnOnce() -> R) -> R {
    let outer = POOL.with(|pool| pool.borrow().is_some());
    if outer {
        return f();
    }
    POOL.with(|pool| *pool.borrow_mut() = Some(FxHashSet::default()));
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            POOL.with(|pool| *pool.borrow_mut() = None);
        }
    }
    let _reset = Reset;
    f()
}

impl Default for Text {
    fn default() -> Self {
        Text::from("")
    }
}

impl Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for Text {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Self {
        Text(Arc::from(s))
    }
}

impl From<&String> for Text {
    fn from(s: &String) -> Self {
        Text(Arc::from(s.as_str()))
    }
}

impl From<String> for Text {
    fn from(s: String) -> Self {
        Text(Arc::from(s))
    }
}

impl From<&Text> for Text {
    fn from(t: &Text) -> Self {
        t.clone()
    }
}

impl From<Text> for String {
    fn from(t: Text) -> Self {
        t.0.to_string()
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

impl PartialEq<String> for Text {
    fn eq(&self, other: &String) -> bool {
        *self.0 == **other
    }
}

impl PartialEq<Text> for str {
    fn eq(&self, other: &Text) -> bool {
        self == &*other.0
    }
}

impl PartialEq<Text> for &str {
    fn eq(&self, other: &Text) -> bool {
        *self == &*other.0
    }
}

impl PartialEq<Text> for String {
    fn eq(&self, other: &Text) -> bool {
        **self == *other.0
    }
}

impl Serialize for Text {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Text;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Text, E> {
                Ok(Text::intern(v))
            }
        }
        d.deserialize_str(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_strings_share_bytes_only_while_interning() {
        let a = Text::intern("rule-a");
        let b = Text::intern("rule-a");
        assert!(!Text::ptr_eq(&a, &b));
        let (c, d) = interning(|| (Text::intern("rule-a"), interning(|| Text::intern("rule-a"))));
        assert!(Text::ptr_eq(&c, &d));
        let e = Text::intern("rule-a");
        assert!(!Text::ptr_eq(&c, &e), "the pool ends with the outermost call");
    }

    #[test]
    fn compares_orders_and_prints_as_its_text() {
        let t = Text::from("b");
        let owned = String::from("b");
        assert_eq!(t, "b");
        assert_eq!("b", t);
        assert_eq!(t, owned);
        let a = Text::from("a");
        assert!(a < t);
        assert_eq!(format!("{t} {t:?}"), "b \"b\"");
        assert_eq!(serde_json::to_string(&t).unwrap(), "\"b\"");
        let e: Result<Text, _> = serde_json::from_str("1");
        assert!(e.unwrap_err().to_string().contains("expected a string"));
    }
}
