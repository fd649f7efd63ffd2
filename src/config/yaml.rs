//! A small YAML tree that keeps what a linter needs and a value-typed loader throws away:
//! the line and column of every key and value, whether a scalar was quoted (`min_version:
//! 1.2` is a float to the Collector's strict decoder, `"1.2"` a string), and duplicate keys
//! (which the Collector rejects) reported instead of silently merged.
//!
//! Built from the event stream of `saphyr-parser` (the parser of the maintained saphyr
//! project). Aliases are expanded within a budget, merge keys (`<<`) resolved, nesting
//! limited; tags other than `!!str` are ignored.

use std::borrow::Cow;
use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span, SpannedEventReceiver, Tag};

/// A YAML node and where it starts (1-based line and column).
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// Line of the node's first character, from 1.
    pub line: usize,
    /// Column of the node's first character, from 1.
    pub column: usize,
    /// What the node holds.
    pub value: Value,
}

/// The three kinds of YAML node.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A scalar, as written (not resolved to a number or boolean).
    Scalar(Scalar),
    /// A mapping in document order.
    Mapping(Vec<Entry>),
    /// A sequence.
    Sequence(Vec<Node>),
}

/// A scalar's text and whether it was quoted.
#[derive(Clone, Debug, PartialEq)]
pub struct Scalar {
    /// The text after unquoting/unescaping.
    pub text: String,
    /// Quoted (single or double), a block scalar, or tagged `!!str`: a string whatever it
    /// looks like. A plain scalar is resolved by the reader (`1.2` is a number).
    pub quoted: bool,
}

/// One `key: value` of a mapping.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// The key as text (a complex key is shown as `?`).
    pub key: String,
    /// Where the key starts.
    pub line: usize,
    /// Column of the key.
    pub column: usize,
    /// The value.
    pub value: Node,
}

/// A key that appears twice in one mapping.
#[derive(Clone, Debug, PartialEq)]
pub struct DuplicateKey {
    /// The key.
    pub key: String,
    /// Line of the second occurrence.
    pub line: usize,
    /// Column of the second occurrence.
    pub column: usize,
    /// Line of the first occurrence.
    pub first_line: usize,
    /// Dotted path of the mapping that holds it (`""` for the top level).
    pub parent_path: String,
}

/// A parsed document.
#[derive(Clone, Debug, PartialEq)]
pub struct Document {
    /// The root node.
    pub root: Node,
    /// Keys given twice; the tree keeps the first occurrence.
    pub duplicates: Vec<DuplicateKey>,
}

/// The deepest nesting accepted. A Collector configuration is about 8 levels deep, a
/// Kubernetes object carrying one about 15; the limit keeps every recursive walk of the
/// tree (linting, dropping it) far from the end of the stack.
pub const MAX_DEPTH: usize = 200;

/// How many nodes aliases may copy in one file, in total. Real configurations use a few
/// anchors (`<<: *defaults`); a "billion laughs" file of nested aliases would otherwise
/// expand to gigabytes from a few hundred bytes. go-yaml v3 (the Collector's parser) refuses
/// such files too ("document contains excessive aliasing").
pub const MAX_ALIAS_NODES: usize = 100_000;

/// Why a text is not a YAML document otel-pki can lint.
#[derive(Debug, thiserror::Error, PartialEq)]
#[non_exhaustive]
pub enum YamlError {
    /// A syntax error.
    #[error("line {line} column {column}: {message}")]
    Syntax {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The parser's description.
        message: String,
    },
    /// The text holds no document, or only comments.
    #[error("it is empty (no YAML document)")]
    Empty,
    /// More than one `---` document.
    #[error("it holds {0} YAML documents; a configuration file has one")]
    SeveralDocuments(usize),
    /// Nesting deeper than [`MAX_DEPTH`].
    #[error(
        "line {line} column {column}: nested more than {limit} levels deep; no configuration is, so the file is not linted"
    )]
    TooDeep {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The limit.
        limit: usize,
    },
    /// Aliases that would copy more than [`MAX_ALIAS_NODES`] nodes.
    #[error(
        "line {line} column {column}: its aliases expand to more than {limit} nodes (an alias bomb?); the file is not linted"
    )]
    TooManyAliases {
        /// 1-based line of the alias that crossed the limit.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The limit.
        limit: usize,
    },
}

impl Node {
    /// The mapping entries, when this is a mapping.
    pub fn entries(&self) -> &[Entry] {
        match &self.value {
            Value::Mapping(entries) => entries,
            _ => &[],
        }
    }

    /// True when this is a mapping.
    pub fn is_mapping(&self) -> bool {
        matches!(self.value, Value::Mapping(_))
    }

    /// The entry for `key` in a mapping.
    pub fn entry(&self, key: &str) -> Option<&Entry> {
        self.entries().iter().find(|entry| entry.key == key)
    }

    /// The value for `key` in a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|entry| &entry.value)
    }

    /// The scalar, when this is one.
    pub fn scalar(&self) -> Option<&Scalar> {
        match &self.value {
            Value::Scalar(scalar) => Some(scalar),
            _ => None,
        }
    }

    /// The scalar's text, when this is a scalar that is not null.
    pub fn text(&self) -> Option<&str> {
        self.scalar()
            .filter(|scalar| !scalar.is_null())
            .map(|scalar| scalar.text.as_str())
    }

    /// The items, when this is a sequence.
    pub fn items(&self) -> &[Node] {
        match &self.value {
            Value::Sequence(items) => items,
            _ => &[],
        }
    }

    /// True for `~`, `null`, or nothing at all (`grpc:`), unquoted.
    pub fn is_null(&self) -> bool {
        self.scalar().is_some_and(Scalar::is_null)
    }

    /// True for an unquoted YAML 1.2 `true`.
    pub fn is_true(&self) -> bool {
        self.scalar().is_some_and(|scalar| {
            !scalar.quoted && matches!(&*scalar.text, "true" | "True" | "TRUE")
        })
    }

    /// Moves every position by `lines` lines, and by `columns` columns (for a tree parsed
    /// from text embedded in another file, such as a ConfigMap value).
    pub fn shift(&mut self, lines: usize, columns: usize) {
        self.line += lines;
        self.column += columns;
        match &mut self.value {
            Value::Scalar(_) => {}
            Value::Mapping(entries) => {
                for entry in entries {
                    entry.line += lines;
                    entry.column += columns;
                    entry.value.shift(lines, columns);
                }
            }
            Value::Sequence(items) => {
                for item in items {
                    item.shift(lines, columns);
                }
            }
        }
    }
}

impl Scalar {
    /// True for an unquoted `~`, `null`, `Null`, `NULL` or empty scalar.
    pub fn is_null(&self) -> bool {
        !self.quoted && matches!(&*self.text, "" | "~" | "null" | "Null" | "NULL")
    }

    /// True when the YAML core schema reads this unquoted scalar as a number.
    pub fn is_number(&self) -> bool {
        if self.quoted {
            return false;
        }
        let text = self.text.trim_start_matches(['+', '-']);
        !text.is_empty()
            && (text.parse::<f64>().is_ok() && !text.chars().any(char::is_alphabetic)
                || text.starts_with("0x")
                || text.starts_with("0o")
                || matches!(text, ".inf" | ".Inf" | ".INF" | ".nan" | ".NaN" | ".NAN"))
    }
}

/// Parses one YAML document.
pub fn parse(text: &str) -> Result<Document, YamlError> {
    let mut documents = parse_documents(text)?;
    match documents.len() {
        0 => Err(YamlError::Empty),
        1 => Ok(documents.remove(0)),
        count => Err(YamlError::SeveralDocuments(count)),
    }
}

/// Parses every document of a YAML stream (`---` separated); documents that hold nothing
/// (only comments, or `null`) are left out.
///
/// Works in time and memory linear in the text: the parser's events are consumed one by one
/// (saphyr-parser's own `load` recurses once per nesting level, so it is not used), nesting
/// stops at [`MAX_DEPTH`], alias expansion at [`MAX_ALIAS_NODES`], and duplicate keys are
/// found with a hash per mapping.
pub fn parse_documents(text: &str) -> Result<Vec<Document>, YamlError> {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(text);
    while let Some(result) = parser.next_event() {
        let (event, span) = result.map_err(|error| YamlError::Syntax {
            line: error.marker().line(),
            column: error.marker().col() + 1,
            message: error.info().to_owned(),
        })?;
        builder.on_event(event, span);
        if let Some(error) = builder.error.take() {
            return Err(error);
        }
    }
    Ok(builder
        .documents
        .into_iter()
        .filter(|document| !document.root.is_null())
        .collect())
}

/// A collection being built.
enum Frame {
    Mapping {
        start: (usize, usize),
        anchor: usize,
        entries: Vec<Entry>,
        /// Each key's first line, for duplicates (a linear search made 100k keys quadratic).
        seen: HashMap<String, usize>,
        key: Option<PendingKey>,
        /// Nodes in the collection so far, itself included.
        size: usize,
    },
    Sequence {
        start: (usize, usize),
        anchor: usize,
        items: Vec<Node>,
        size: usize,
    },
}

impl Frame {
    fn size_mut(&mut self) -> &mut usize {
        match self {
            Frame::Mapping { size, .. } | Frame::Sequence { size, .. } => size,
        }
    }
}

/// A mapping key waiting for its value.
struct PendingKey {
    text: String,
    line: usize,
    column: usize,
    duplicate: bool,
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    documents: Vec<Document>,
    /// Anchored nodes and their sizes (nodes in the subtree).
    anchors: HashMap<usize, (Node, usize)>,
    duplicates: Vec<DuplicateKey>,
    /// Nodes copied by aliases so far.
    aliased: usize,
    error: Option<YamlError>,
}

fn position(span: Span) -> (usize, usize) {
    (span.start.line(), span.start.col() + 1)
}

fn is_str_tag(tag: Option<&Cow<'_, Tag>>) -> bool {
    tag.is_some_and(|tag| tag.suffix == "str" || tag.suffix.ends_with(":str"))
}

/// Resolves YAML merge keys (`<<: *defaults`, `<<: [*a, *b]`) the way go-yaml does: keys
/// written in the mapping win, then earlier merged mappings over later ones.
fn merge_keys(entries: Vec<Entry>) -> Vec<Entry> {
    if !entries.iter().any(|entry| entry.key == "<<") {
        return entries;
    }
    let mut own = Vec::with_capacity(entries.len());
    let mut merged = Vec::new();
    for entry in entries {
        if entry.key != "<<" {
            own.push(entry);
            continue;
        }
        match entry.value.value {
            Value::Mapping(source) => merged.push(source),
            Value::Sequence(items) => {
                merged.extend(items.into_iter().filter_map(|item| match item.value {
                    Value::Mapping(source) => Some(source),
                    _ => None,
                }))
            }
            // Not a mapping: keep it, so a rule can name it.
            _ => own.push(entry),
        }
    }
    let mut present: std::collections::HashSet<String> =
        own.iter().map(|entry| entry.key.clone()).collect();
    for source in merged {
        for entry in source {
            if present.insert(entry.key.clone()) {
                own.push(entry);
            }
        }
    }
    own
}

impl Builder {
    /// Dotted path of the mapping on top of the stack (for duplicate-key reports).
    fn current_path(&self) -> String {
        let mut parts = Vec::new();
        for frame in &self.stack {
            match frame {
                Frame::Mapping { key: Some(key), .. } => parts.push(key.text.clone()),
                Frame::Sequence { items, .. } => {
                    if let Some(last) = parts.last_mut() {
                        last.push_str(&format!("[{}]", items.len()));
                    }
                }
                Frame::Mapping { key: None, .. } => {}
            }
        }
        // The last mapping's pending key is the one being duplicated, not a parent.
        if matches!(self.stack.last(), Some(Frame::Mapping { key: Some(_), .. })) {
            parts.pop();
        }
        parts.join(".")
    }

    fn push(&mut self, node: Node, size: usize) {
        let mut duplicate = None;
        if let Some(frame) = self.stack.last_mut() {
            *frame.size_mut() += size;
        }
        match self.stack.last_mut() {
            None => self.documents.push(Document {
                root: node,
                duplicates: std::mem::take(&mut self.duplicates),
            }),
            Some(Frame::Sequence { items, .. }) => items.push(node),
            Some(Frame::Mapping {
                entries, key, seen, ..
            }) => match key.take() {
                None => {
                    let text = match &node.value {
                        Value::Scalar(scalar) => scalar.text.clone(),
                        _ => "?".to_owned(),
                    };
                    let duplicate_of = match seen.get(&text) {
                        Some(first_line) => Some(*first_line),
                        None => {
                            seen.insert(text.clone(), node.line);
                            None
                        }
                    };
                    if let Some(first_line) = duplicate_of {
                        duplicate = Some(DuplicateKey {
                            key: text.clone(),
                            line: node.line,
                            column: node.column,
                            first_line,
                            parent_path: String::new(),
                        });
                    }
                    *key = Some(PendingKey {
                        text,
                        line: node.line,
                        column: node.column,
                        duplicate: duplicate_of.is_some(),
                    });
                }
                // The tree keeps the first occurrence of a duplicated key.
                Some(pending) if pending.duplicate => {}
                Some(pending) => entries.push(Entry {
                    key: pending.text,
                    line: pending.line,
                    column: pending.column,
                    value: node,
                }),
            },
        }
        if let Some(duplicate) = duplicate {
            let parent_path = self.current_path();
            self.duplicates.push(DuplicateKey {
                parent_path,
                ..duplicate
            });
        }
    }

    fn start(&mut self, frame: Frame, line: usize, column: usize) {
        if self.stack.len() >= MAX_DEPTH {
            self.error.get_or_insert(YamlError::TooDeep {
                line,
                column,
                limit: MAX_DEPTH,
            });
            return;
        }
        self.stack.push(frame);
    }
}

impl<'input> SpannedEventReceiver<'input> for Builder {
    fn on_event(&mut self, event: Event<'input>, span: Span) {
        let (line, column) = position(span);
        match event {
            Event::Scalar(text, style, anchor, tag) => {
                let node = Node {
                    line,
                    column,
                    value: Value::Scalar(Scalar {
                        text: text.into_owned(),
                        quoted: style != ScalarStyle::Plain || is_str_tag(tag.as_ref()),
                    }),
                };
                if anchor > 0 {
                    self.anchors.insert(anchor, (node.clone(), 1));
                }
                self.push(node, 1);
            }
            Event::MappingStart(anchor, _) => self.start(
                Frame::Mapping {
                    start: (line, column),
                    anchor,
                    entries: Vec::new(),
                    seen: HashMap::new(),
                    key: None,
                    size: 1,
                },
                line,
                column,
            ),
            Event::SequenceStart(anchor, _) => self.start(
                Frame::Sequence {
                    start: (line, column),
                    anchor,
                    items: Vec::new(),
                    size: 1,
                },
                line,
                column,
            ),
            Event::MappingEnd | Event::SequenceEnd => {
                let Some(frame) = self.stack.pop() else {
                    return;
                };
                let (node, anchor, size) = match frame {
                    Frame::Mapping {
                        start,
                        anchor,
                        entries,
                        size,
                        ..
                    } => (
                        Node {
                            line: start.0,
                            column: start.1,
                            value: Value::Mapping(merge_keys(entries)),
                        },
                        anchor,
                        size,
                    ),
                    Frame::Sequence {
                        start,
                        anchor,
                        items,
                        size,
                    } => (
                        Node {
                            line: start.0,
                            column: start.1,
                            value: Value::Sequence(items),
                        },
                        anchor,
                        size,
                    ),
                };
                if anchor > 0 {
                    self.anchors.insert(anchor, (node.clone(), size));
                }
                self.push(node, size);
            }
            Event::Alias(anchor) => {
                let Some((_, size)) = self.anchors.get(&anchor) else {
                    self.error.get_or_insert(YamlError::Syntax {
                        line,
                        column,
                        message: "alias to an unknown anchor".into(),
                    });
                    return;
                };
                let size = *size;
                // Counted before copying: the copy itself is what must stay bounded.
                self.aliased = self.aliased.saturating_add(size);
                if self.aliased > MAX_ALIAS_NODES {
                    self.error.get_or_insert(YamlError::TooManyAliases {
                        line,
                        column,
                        limit: MAX_ALIAS_NODES,
                    });
                    return;
                }
                let mut node = self.anchors[&anchor].0.clone();
                node.line = line;
                node.column = column;
                self.push(node, size);
            }
            Event::DocumentStart(_) => self.anchors.clear(),
            Event::Nothing | Event::DocumentEnd | Event::StreamStart | Event::StreamEnd => {}
        }
    }
}

/// Dotted path of a child: `parent.key`, or `key` at the top.
pub fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_styles_and_nesting() {
        let document = parse(
            "exporters:\n  otlp/a:\n    tls:\n      min_version: 1.2\n      max_version: \"1.3\"\n    list: [a, 'b']\n",
        )
        .unwrap();
        let tls = document
            .root
            .get("exporters")
            .and_then(|node| node.get("otlp/a"))
            .and_then(|node| node.get("tls"))
            .unwrap();
        let min = tls.entry("min_version").unwrap();
        assert_eq!((min.line, min.column), (4, 7));
        assert!(min.value.scalar().unwrap().is_number());
        assert_eq!((min.value.line, min.value.column), (4, 20));
        let max = tls.get("max_version").unwrap().scalar().unwrap();
        assert!(max.quoted && !max.is_number());
        let list = document
            .root
            .get("exporters")
            .unwrap()
            .get("otlp/a")
            .unwrap();
        let items = list.get("list").unwrap().items();
        assert_eq!(items.len(), 2);
        assert!(items[1].scalar().unwrap().quoted);
    }

    #[test]
    fn duplicates_are_reported_and_the_first_kept() {
        let document = parse("a:\n  b: 1\n  b: 2\nc: x\n").unwrap();
        assert_eq!(document.duplicates.len(), 1);
        let duplicate = &document.duplicates[0];
        assert_eq!(
            (duplicate.key.as_str(), duplicate.line, duplicate.first_line),
            ("b", 3, 2)
        );
        assert_eq!(duplicate.parent_path, "a");
        assert_eq!(
            document.root.get("a").unwrap().get("b").unwrap().text(),
            Some("1")
        );
        assert_eq!(document.root.get("c").unwrap().text(), Some("x"));
    }

    #[test]
    fn nulls_numbers_booleans_aliases() {
        let document =
            parse("a: &x {k: v}\nb: *x\nc:\nd: ~\ne: true\nf: 'true'\ng: !!str 1.2\nh: 1.2.3\n")
                .unwrap();
        let root = &document.root;
        assert_eq!(root.get("b").unwrap().get("k").unwrap().text(), Some("v"));
        assert!(root.get("c").unwrap().is_null() && root.get("d").unwrap().is_null());
        assert!(root.get("e").unwrap().is_true() && !root.get("f").unwrap().is_true());
        assert!(!root.get("g").unwrap().scalar().unwrap().is_number());
        assert!(!root.get("h").unwrap().scalar().unwrap().is_number());
    }

    #[test]
    fn errors_name_the_line() {
        assert!(matches!(parse("a: [b\n"), Err(YamlError::Syntax { .. })));
        assert_eq!(parse("# only a comment\n"), Err(YamlError::Empty));
        assert_eq!(parse(""), Err(YamlError::Empty));
        assert_eq!(
            parse("a: 1\n---\nb: 2\n"),
            Err(YamlError::SeveralDocuments(2))
        );
    }

    #[test]
    fn merge_keys_are_resolved_and_explicit_keys_win() {
        let document = parse(
            "defaults: &d {cert_file: a.crt, reload_interval: 1h}\nother: &o {key_file: b.key, cert_file: z.crt}\ntls:\n  <<: [*d, *o]\n  reload_interval: 2h\n",
        )
        .unwrap();
        let tls = document.root.get("tls").unwrap();
        let keys: Vec<&str> = tls.entries().iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["reload_interval", "cert_file", "key_file"]);
        assert_eq!(tls.get("reload_interval").unwrap().text(), Some("2h"));
        assert_eq!(tls.get("cert_file").unwrap().text(), Some("a.crt"));
        assert!(document.duplicates.is_empty());
    }

    #[test]
    fn documents_limits_and_positions() {
        let documents =
            parse_documents("a: 1\n---\n# nothing\n---\nb: &x [1, 2]\nc: *x\n").unwrap();
        assert_eq!(documents.len(), 2);
        assert_eq!(documents[1].root.entry("b").unwrap().line, 5);
        // Anchors do not cross documents.
        assert!(matches!(
            parse_documents("a: &x 1\n---\nb: *x\n"),
            Err(YamlError::Syntax { line: 3, .. })
        ));
        let deep = format!("{}x\n", "- ".repeat(MAX_DEPTH + 1));
        assert!(matches!(
            parse(&deep),
            Err(YamlError::TooDeep { line: 1, .. })
        ));
        let fine = format!("{}x\n", "- ".repeat(MAX_DEPTH));
        assert!(parse(&fine).is_ok());
        // 1,000 nodes copied 100 times: within the budget; 101 times: not.
        let big = format!("a: &a [{}]\n", vec!["x"; 999].join(", "));
        let uses = |count: usize| format!("{big}b: [{}]\n", vec!["*a"; count].join(", "));
        assert!(parse(&uses(100)).is_ok());
        assert!(matches!(
            parse(&uses(101)),
            Err(YamlError::TooManyAliases { line: 2, .. })
        ));
        let mut root = parse("a:\n  b: c\n").unwrap().root;
        root.shift(10, 4);
        let b = root.get("a").unwrap().entry("b").unwrap();
        assert_eq!((b.line, b.column, b.value.line), (12, 7, 12));
    }
}
