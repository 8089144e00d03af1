//! Interned strings for the names that repeat across assets: reference keys (`flow_id`),
//! referenced paths, provider names, action names, property names.
//!
//! A 100k-recipe workspace holds millions of these, mostly copies of a few thousand distinct
//! values; as separate `String`s they were most of a loaded workspace's memory. An [`IStr`] is
//! one pointer-sized handle to a shared, reference-counted copy (the `internment` crate's
//! `ArcIntern<str>`): the text is freed when the last handle goes. Equality is a pointer
//! comparison; hashing and ordering use the text, so `IStr` keys can be looked up by `&str`.

use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

use internment::ArcIntern;

/// An interned, immutable string.
#[derive(Clone, PartialEq, Eq)]
pub struct IStr(ArcIntern<str>);

impl IStr {
    /// Interns `s`.
    pub fn new(s: &str) -> IStr {
        IStr(ArcIntern::from(s))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The address of the shared text: equal for equal `IStr`s, different for different texts
    /// alive at the same time (a cheap key for memoising lookups within one operation).
    pub(crate) fn addr(&self) -> usize {
        self.as_str().as_ptr() as usize
    }
}

impl Deref for IStr {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for IStr {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for IStr {
    fn borrow(&self) -> &str {
        &self.0
    }
}

// Hash the text (not the pointer, as ArcIntern does) so that `Borrow<str>` lookups agree.
impl Hash for IStr {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl PartialOrd for IStr {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for IStr {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        if self == other {
            std::cmp::Ordering::Equal
        } else {
            self.as_str().cmp(other.as_str())
        }
    }
}

impl From<&str> for IStr {
    fn from(s: &str) -> IStr {
        IStr::new(s)
    }
}

impl From<String> for IStr {
    fn from(s: String) -> IStr {
        IStr::new(&s)
    }
}

impl From<&String> for IStr {
    fn from(s: &String) -> IStr {
        IStr::new(s)
    }
}

impl From<IStr> for String {
    fn from(s: IStr) -> String {
        s.as_str().to_string()
    }
}

impl PartialEq<str> for IStr {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for IStr {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for IStr {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<IStr> for str {
    fn eq(&self, other: &IStr) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<IStr> for &str {
    fn eq(&self, other: &IStr) -> bool {
        *self == other.as_str()
    }
}

impl PartialEq<IStr> for String {
    fn eq(&self, other: &IStr) -> bool {
        self == other.as_str()
    }
}

impl fmt::Debug for IStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for IStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_str(), f)
    }
}

impl serde::Serialize for IStr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for IStr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<IStr, D::Error> {
        ArcIntern::<str>::deserialize(d).map(IStr)
    }
}

// In report schemas an `IStr` is a string.
impl schemars::JsonSchema for IStr {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        String::schema_name()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        String::json_schema(generator)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_text_is_one_allocation_and_compares_by_text() {
        let a = IStr::new("flow_id");
        let b = IStr::from(String::from("flow_id"));
        assert_eq!(a, b);
        assert!(std::ptr::eq(a.as_str().as_ptr(), b.as_str().as_ptr()));
        assert_eq!(a, "flow_id");
        assert!(IStr::new("a") < IStr::new("b"));
        let mut map = std::collections::HashMap::new();
        map.insert(a.clone(), 1);
        assert_eq!(map.get("flow_id"), Some(&1));
        let mut tree = std::collections::BTreeMap::new();
        tree.insert(IStr::new("z"), 2);
        tree.insert(a, 1);
        assert_eq!(
            tree.keys().map(IStr::as_str).collect::<Vec<_>>(),
            ["flow_id", "z"]
        );
        let back: IStr = serde_json::from_str(&serde_json::to_string(&b).unwrap()).unwrap();
        assert_eq!(back, b);
    }
}
