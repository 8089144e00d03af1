//! The actions and triggers a custom connector's Ruby source defines, read with tree-sitter.
//!
//! A Workato connector is one Ruby hash literal: `{ title: ..., actions: { name: {...}, ... },
//! triggers: { ... } }`. The names are the keys of the `actions` and `triggers` hashes at the
//! top level of that literal, in any key style (`name:`, `:name =>`, `'name' =>`, `"name":`).
//! Comments, heredocs and strings that merely look like keys are never counted, because the
//! parser knows what they are.

use tree_sitter::{Node, Parser};

/// Largest Ruby source rlcm parses, in bytes.
pub const MAX_SOURCE: usize = 16 << 20;

/// What a connector's source defines.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ConnectorDefinition {
    /// Action names, in source order.
    pub actions: Vec<String>,
    /// Trigger names, in source order.
    pub triggers: Vec<String>,
    /// Why the source does not parse (line and column of the first problem), if it does not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parse_error: Option<String>,
    /// `custom_action: true`: recipes may use the connector's ad-hoc HTTP action.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub custom_action: bool,
}

/// The step name Workato gives a connector's custom (ad-hoc HTTP) action.
pub(crate) const ADHOC_ACTION: &str = "__adhoc_http_action";

impl ConnectorDefinition {
    /// True when the source parsed cleanly.
    pub fn parses(&self) -> bool {
        self.parse_error.is_none()
    }

    /// True when a recipe step of this kind and name runs on this definition.
    pub fn defines(&self, kind: crate::asset::StepKind, name: &str) -> bool {
        match kind {
            crate::asset::StepKind::Action => {
                self.actions.iter().any(|a| a == name) || (name == ADHOC_ACTION && self.custom_action)
            }
            crate::asset::StepKind::Trigger => self.triggers.iter().any(|t| t == name),
        }
    }
}

/// Parses connector source and lists its actions and triggers.
///
/// Never panics: source that does not parse gives what could be recovered plus a
/// `parse_error`.
pub fn parse_connector(source: &[u8]) -> ConnectorDefinition {
    if source.len() > MAX_SOURCE {
        return ConnectorDefinition {
            parse_error: Some(format!(
                "source is {} bytes, more than the {MAX_SOURCE} rlcm parses",
                source.len()
            )),
            ..Default::default()
        };
    }
    let mut parser = Parser::new();
    if parser.set_language(&tree_sitter_ruby::LANGUAGE.into()).is_err() {
        return ConnectorDefinition {
            parse_error: Some("the Ruby grammar could not be loaded".into()),
            ..Default::default()
        };
    }
    let Some(tree) = parser.parse(source, None) else {
        return ConnectorDefinition {
            parse_error: Some("the Ruby parser gave up".into()),
            ..Default::default()
        };
    };
    let root = tree.root_node();
    let mut def = ConnectorDefinition::default();
    if root.has_error() {
        def.parse_error = Some(first_error(root));
    }
    let Some(top) = top_level_hash(root) else {
        if def.parse_error.is_none() {
            def.parse_error =
                Some("the source is not a connector definition (one Ruby hash literal `{ ... }`)".into());
        }
        return def;
    };
    let mut cursor = top.walk();
    for pair in top.named_children(&mut cursor) {
        if pair.kind() != "pair" {
            continue;
        }
        let (Some(key), Some(value)) = (pair.child_by_field_name("key"), pair.child_by_field_name("value"))
        else {
            continue;
        };
        let target = match key_name(key, source).as_deref() {
            Some("actions") => &mut def.actions,
            Some("triggers") => &mut def.triggers,
            Some("custom_action") => {
                def.custom_action = value.kind() == "true";
                continue;
            }
            _ => continue,
        };
        if value.kind() != "hash" {
            continue;
        }
        let mut inner = value.walk();
        for item in value.named_children(&mut inner) {
            if item.kind() != "pair" {
                continue;
            }
            if let Some(name) = item.child_by_field_name("key").and_then(|k| key_name(k, source))
                && !target.contains(&name)
            {
                target.push(name);
            }
        }
    }
    def
}

/// The connector hash: the first expression of the program that is a hash literal.
fn top_level_hash(root: Node<'_>) -> Option<Node<'_>> {
    let mut cursor = root.walk();
    let found = root.named_children(&mut cursor).find(|n| n.kind() != "comment");
    match found {
        Some(n) if n.kind() == "hash" => Some(n),
        // `connector = { ... }` or a parenthesised hash are accepted too.
        Some(n) => {
            let mut c = n.walk();
            n.named_children(&mut c).find(|x| x.kind() == "hash")
        }
        None => None,
    }
}

/// The text of a hash key in any of Ruby's key styles; `None` for computed keys.
fn key_name(key: Node<'_>, source: &[u8]) -> Option<String> {
    let text = |n: Node<'_>| n.utf8_text(source).ok().map(str::to_string);
    match key.kind() {
        // `name:` (the colon is not part of the node in tree-sitter-ruby)
        "hash_key_symbol" | "identifier" | "constant" => {
            text(key).map(|t| t.trim_end_matches(':').to_string())
        }
        // `:name =>`
        "simple_symbol" => text(key).map(|t| t.trim_start_matches(':').to_string()),
        // `'name' =>`, `"name":`, `:"name" =>`
        "string" | "delimited_symbol" => {
            let mut cursor = key.walk();
            let mut out = String::new();
            for child in key.named_children(&mut cursor) {
                if child.kind() != "string_content" {
                    return None; // interpolated: not a fixed name
                }
                out.push_str(&text(child)?);
            }
            Some(out)
        }
        _ => None,
    }
}

/// Describes the first syntax error: `line L, column C: unexpected ...`.
fn first_error(root: Node<'_>) -> String {
    let mut cursor = root.walk();
    loop {
        let node = cursor.node();
        if node.is_error() || node.is_missing() {
            let p = node.start_position();
            let what = if node.is_missing() {
                format!("missing `{}`", node.kind())
            } else {
                "syntax error".to_string()
            };
            return format!("line {}, column {}: {what}", p.row + 1, p.column + 1);
        }
        // Descend only into subtrees that contain the error.
        if node.has_error() && cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                let p = root.start_position();
                return format!("line {}, column {}: syntax error", p.row + 1, p.column + 1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_key_style_and_ignores_lookalikes() {
        let src = br#"
# actions: { fake_in_comment: {} }
{
  title: 'Tricky',
  connection: { fields: [{ name: 'actions' }] },
  methods: {
    helper: lambda do
      <<~RUBY
        actions: { fake_in_heredoc: {} }
      RUBY
    end
  },
  "actions": {
    search: { title: 'x', execute: lambda { |c, i| { nested: { actions: 1 } } } },
    :create_record => { title: "y" },
    'update_record' => {},
    "delete_#{1}" => {},
  },
  triggers: {
    new_event: { poll: lambda do |c, i, closure| { events: [] } end },
  },
  pick_lists: { actions: lambda { [] } },
}
"#;
        let def = parse_connector(src);
        assert_eq!(def.parse_error, None);
        assert_eq!(def.actions, ["search", "create_record", "update_record"]);
        assert_eq!(def.triggers, ["new_event"]);
        assert!(!def.custom_action);
        assert!(parse_connector(b"{ custom_action: true, actions: {} }").custom_action);
    }

    #[test]
    fn syntax_errors_are_reported_with_position() {
        let def = parse_connector(b"{\n  actions: {\n    a: { title: 'x' \n  }\n");
        let err = def.parse_error.expect("error");
        assert!(err.starts_with("line "), "{err}");
    }

    #[test]
    fn non_connector_source_is_an_error() {
        assert!(parse_connector(b"puts 1").parse_error.is_some());
        assert!(parse_connector(b"").parse_error.is_some());
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        for src in [
            &b"\xff\xfe{"[..],
            b"{ actions: { \"\xff\": {} } }",
            b"{{{{{{{{",
            b"%w[",
            b"<<~X\n",
        ] {
            let _ = parse_connector(src);
        }
    }
}
