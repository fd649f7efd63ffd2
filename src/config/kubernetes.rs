//! Kubernetes objects in a file given to `lint-config`: the Collector configuration inside a
//! ConfigMap (a `data` value) or an OpenTelemetry Operator `OpenTelemetryCollector`
//! (`spec.config`, a mapping in `opentelemetry.io/v1beta1`, a string in `v1alpha1`) is linted
//! with its line numbers mapped back to the file; any other object (a Secret, a Deployment, a
//! cert-manager Certificate …) is reported, in one info finding, as not linted.

use super::lint::{Finding, Kind, Lint, LintOptions, Rule, lint_document};
use super::yaml::{self, Document, DuplicateKey, Entry, Node, YamlError};

/// A document that is a Kubernetes object: it has `apiVersion` and `kind`.
pub(super) struct Object<'a> {
    api_version: &'a str,
    kind: &'a str,
    /// Where `kind:` is.
    kind_at: (usize, usize),
    /// `metadata.name`, when given.
    name: Option<&'a str>,
}

impl<'a> Object<'a> {
    /// The object, when `root` is one.
    pub(super) fn of(root: &'a Node) -> Option<Object<'a>> {
        let api_version = root.get("apiVersion")?.text()?;
        let kind_entry = root.entry("kind")?;
        let kind = kind_entry.value.text()?;
        Some(Object {
            api_version,
            kind,
            kind_at: (kind_entry.line, kind_entry.column),
            name: root
                .get("metadata")
                .and_then(|metadata| metadata.get("name"))
                .and_then(Node::text),
        })
    }

    /// `ConfigMap otel-collector-config`.
    fn shown(&self) -> String {
        match self.name {
            Some(name) => format!("{} {name}", self.kind),
            None => self.kind.to_owned(),
        }
    }
}

/// Lints what `object` carries. `text` is the whole file (to map the lines of an embedded
/// configuration); `label` says which document of the file it is, when there are several.
pub(super) fn lint(
    text: &str,
    document: &Document,
    object: &Object<'_>,
    options: &LintOptions,
    label: Option<String>,
) -> Result<Vec<Lint>, YamlError> {
    let prefix = |place: String| match &label {
        Some(label) => format!("{label}: {} {place}", object.shown()),
        None => format!("{} {place}", object.shown()),
    };
    let root = &document.root;
    let mut lints = Vec::new();
    match object.kind {
        "ConfigMap" => {
            for entry in root.get("data").map(Node::entries).unwrap_or_default() {
                let source = prefix(format!("data.{}", entry.key));
                let named_yaml = [".yaml", ".yml"]
                    .iter()
                    .any(|suffix| entry.key.ends_with(suffix));
                lints.extend(embedded(text, entry, options, &source, named_yaml)?);
            }
        }
        "OpenTelemetryCollector" if object.api_version.starts_with("opentelemetry.io/") => {
            if let Some(entry) = root.get("spec").and_then(|spec| spec.entry("config")) {
                let config = &entry.value;
                let source = prefix("spec.config".to_owned());
                if config.is_mapping() {
                    let inner = Document {
                        root: config.clone(),
                        duplicates: inside(&document.duplicates, "spec.config"),
                    };
                    let mut lint = lint_document(&inner, options);
                    lint.source = Some(source);
                    lints.push(lint);
                } else {
                    lints.extend(embedded(text, entry, options, &source, true)?);
                }
            }
        }
        _ => {}
    }
    if lints.is_empty() {
        lints.push(not_linted(root, object, label));
    }
    Ok(lints)
}

/// The duplicate keys under `path`, with paths relative to it.
fn inside(duplicates: &[DuplicateKey], path: &str) -> Vec<DuplicateKey> {
    duplicates
        .iter()
        .filter_map(|duplicate| {
            let parent = if duplicate.parent_path == path {
                String::new()
            } else {
                duplicate
                    .parent_path
                    .strip_prefix(&format!("{path}."))?
                    .to_owned()
            };
            Some(DuplicateKey {
                parent_path: parent,
                ..duplicate.clone()
            })
        })
        .collect()
}

/// Lints a configuration held in a string value. A literal block (`|`) keeps its lines, so
/// positions map back to the file exactly; for other styles every finding points at the
/// value. A value that is not a configuration is skipped, unless `must` (its name says it is
/// YAML), when a syntax error is reported at its mapped position.
fn embedded(
    text: &str,
    entry: &Entry,
    options: &LintOptions,
    source: &str,
    must: bool,
) -> Result<Vec<Lint>, YamlError> {
    let value = &entry.value;
    let Some(inner) = value.text() else {
        return Ok(Vec::new());
    };
    // `key: |` (or `|-`, `|2`): the content starts on the next line, indented.
    let indicator = text
        .lines()
        .nth(entry.line.saturating_sub(1))
        .and_then(|line| {
            let after_key = line.get(entry.column.saturating_sub(1)..)?;
            let (_, rest) = after_key.split_once(':')?;
            Some(rest.trim_start().starts_with('|'))
        });
    let literal = (indicator == Some(true) && value.line > entry.line).then(|| {
        let indent = text
            .lines()
            .skip(entry.line)
            .find(|line| !line.trim().is_empty())
            .map_or(0, |line| line.len() - line.trim_start_matches(' ').len());
        (entry.line, indent)
    });
    let documents = match yaml::parse_documents(inner) {
        Ok(documents) => documents,
        Err(error) if must || looks_like_configuration(inner) => {
            return Err(match (error, literal) {
                (
                    YamlError::Syntax {
                        line,
                        column,
                        message,
                    },
                    Some((lines, indent)),
                ) => YamlError::Syntax {
                    line: line + lines,
                    column: column + indent,
                    message: format!("{message} (in {source})"),
                },
                (YamlError::Syntax { message, .. }, None) => YamlError::Syntax {
                    line: value.line,
                    column: value.column,
                    message: format!("{message} (in {source})"),
                },
                (YamlError::TooDeep { limit, .. }, _) => YamlError::TooDeep {
                    line: value.line,
                    column: value.column,
                    limit,
                },
                (YamlError::TooManyAliases { limit, .. }, _) => YamlError::TooManyAliases {
                    line: value.line,
                    column: value.column,
                    limit,
                },
                (other, _) => other,
            });
        }
        Err(_) => return Ok(Vec::new()),
    };
    let mut lints = Vec::new();
    for mut document in documents {
        if !is_configuration(&document.root) {
            continue;
        }
        if let Some((lines, indent)) = literal {
            document.root.shift(lines, indent);
            for duplicate in &mut document.duplicates {
                duplicate.line += lines;
                duplicate.first_line += lines;
                duplicate.column += indent;
            }
        }
        let mut lint = lint_document(&document, options);
        if literal.is_none() {
            for finding in &mut lint.findings {
                finding.line = value.line;
                finding.column = value.column;
            }
        }
        lint.source = Some(source.to_owned());
        lints.push(lint);
    }
    Ok(lints)
}

/// The top-level keys of a Collector, Jaeger or Tempo configuration.
const SECTIONS: &[&str] = &[
    "receivers",
    "processors",
    "exporters",
    "extensions",
    "connectors",
    "service",
    "distributor",
    "server",
];

fn is_configuration(root: &Node) -> bool {
    root.entries()
        .iter()
        .any(|entry| SECTIONS.contains(&entry.key.as_str()))
}

/// A ConfigMap value that does not parse is reported only when it looks like a
/// configuration (a line starting with a section name).
fn looks_like_configuration(text: &str) -> bool {
    text.lines().any(|line| {
        SECTIONS.iter().any(|section| {
            line.strip_prefix(section)
                .is_some_and(|rest| rest.starts_with(':'))
        })
    })
}

/// The one info finding for an object `lint-config` does not lint.
fn not_linted(root: &Node, object: &Object<'_>, label: Option<String>) -> Lint {
    let (what, fix) = match (object.kind, object.api_version) {
        ("Secret", _) => (
            "a Secret carries certificates and keys, not configuration",
            "check the certificates themselves: `otel-pki inspect FILE`, or `otel-pki check` on the set they came from".to_owned(),
        ),
        ("Certificate", api) if api.starts_with("cert-manager.io/") => (
            "a cert-manager Certificate asks for a certificate; it holds no configuration",
            "lint the Collector configuration that mounts its Secret; set `reload_interval` there so renewals are picked up".to_owned(),
        ),
        ("Deployment" | "DaemonSet" | "StatefulSet" | "Pod" | "Job", _) => (
            "a workload runs the program; its configuration is elsewhere",
            match config_maps(root) {
                names if names.is_empty() => {
                    "lint the configuration it mounts (a ConfigMap, or a file) with `otel-pki lint-config`".to_owned()
                }
                names => format!(
                    "lint the configuration it mounts from ConfigMap {} with `otel-pki lint-config` (a ConfigMap is linted inside)",
                    names.join(", ")
                ),
            },
        ),
        ("ConfigMap", _) => (
            "none of its `data` values is a Collector, Jaeger or Tempo configuration",
            "nothing to do, unless the configuration is in a value under `binaryData` or elsewhere".to_owned(),
        ),
        ("OpenTelemetryCollector", _) => (
            "it has no `spec.config`",
            "give the Collector configuration in `spec.config`".to_owned(),
        ),
        _ => (
            "it is not a configuration `lint-config` knows",
            "lint the Collector configuration itself: a file, a ConfigMap or an OpenTelemetryCollector".to_owned(),
        ),
    };
    Lint {
        kind: Kind::Kubernetes,
        source: Some(match label {
            Some(label) => format!("{label}: {}", object.shown()),
            None => object.shown(),
        }),
        findings: vec![Finding {
            rule: Rule::KubernetesObject,
            severity: Rule::KubernetesObject.severity(),
            path: "kind".into(),
            line: object.kind_at.0,
            column: object.kind_at.1,
            message: format!(
                "`{}` ({}) is a Kubernetes object, not linted: {what}",
                object.kind, object.api_version
            ),
            fix,
        }],
    }
}

/// The ConfigMaps a workload mounts (`spec.template.spec.volumes[].configMap.name`, or
/// `spec.volumes` for a Pod), as `` `name` ``.
fn config_maps(root: &Node) -> Vec<String> {
    let spec = root.get("spec");
    let pod = spec
        .and_then(|spec| spec.get("template"))
        .and_then(|template| template.get("spec"))
        .or(spec);
    pod.and_then(|pod| pod.get("volumes"))
        .map(Node::items)
        .unwrap_or_default()
        .iter()
        .filter_map(|volume| volume.get("configMap")?.get("name")?.text())
        .map(|name| format!("`{name}`"))
        .collect()
}
