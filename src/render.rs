//! Templates: the built-in ones are embedded in the binary (so it works anywhere), and
//! `--templates DIR` overrides any of them by file name. Rendering is strict: a variable
//! missing from the context is an error, not an empty string.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

/// The built-in templates: (file name, contents). Commands add theirs here.
pub const EMBEDDED: &[(&str, &str)] = &[
    // `otel-pki config TARGET` (src/config/context.rs documents what they see).
    (
        "collector.yaml.j2",
        include_str!("../templates/collector.yaml.j2"),
    ),
    (
        "gateway.yaml.j2",
        include_str!("../templates/gateway.yaml.j2"),
    ),
    (
        "jaeger.yaml.j2",
        include_str!("../templates/jaeger.yaml.j2"),
    ),
    (
        "jaeger-v1.sh.j2",
        include_str!("../templates/jaeger-v1.sh.j2"),
    ),
    ("tempo.yaml.j2", include_str!("../templates/tempo.yaml.j2")),
    ("sdk-env.j2", include_str!("../templates/sdk-env.j2")),
    // --- kubernetes: k8s ---
    (
        "k8s-bundle.yaml",
        include_str!("../templates/k8s-bundle.yaml"),
    ),
    (
        "k8s-cert-manager.yaml",
        include_str!("../templates/k8s-cert-manager.yaml"),
    ),
    (
        "k8s-certificate.yaml",
        include_str!("../templates/k8s-certificate.yaml"),
    ),
    (
        "k8s-cluster-issuer.yaml",
        include_str!("../templates/k8s-cluster-issuer.yaml"),
    ),
    (
        "k8s-configmap.yaml",
        include_str!("../templates/k8s-configmap.yaml"),
    ),
    (
        "k8s-secret.yaml",
        include_str!("../templates/k8s-secret.yaml"),
    ),
    (
        "k8s-tls-volume.yaml",
        include_str!("../templates/k8s-tls-volume.yaml"),
    ),
    (
        "k8s-deployment.yaml",
        include_str!("../templates/k8s-deployment.yaml"),
    ),
    (
        "k8s-opentelemetrycollector.yaml",
        include_str!("../templates/k8s-opentelemetrycollector.yaml"),
    ),
    (
        "k8s-service.yaml",
        include_str!("../templates/k8s-service.yaml"),
    ),
    (
        "k8s-cluster-bundle.yaml",
        include_str!("../templates/k8s-cluster-bundle.yaml"),
    ),
    (
        "k8s-instrumentation.yaml",
        include_str!("../templates/k8s-instrumentation.yaml"),
    ),
];

/// Errors from loading or rendering a template.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    /// No built-in template and no file in `--templates DIR` has this name.
    #[error("no template named `{name}`{}", match .dir { Some(dir) => format!(" in `{}` or built in", dir.display()), None => String::new() })]
    NotFound {
        /// The template name.
        name: String,
        /// The override directory, if any.
        dir: Option<PathBuf>,
    },
    /// The template has a syntax error or referenced something missing while rendering.
    #[error("template `{name}`: {detail}")]
    Template {
        /// The template name (with the override directory when it came from there).
        name: String,
        /// minijinja's description, including the line.
        detail: String,
    },
    /// `--templates DIR` is not a readable directory.
    #[error("--templates `{}` is not a readable directory", .0.display())]
    BadDirectory(PathBuf),
}

/// A set of templates ready to render.
pub struct Templates {
    environment: Environment<'static>,
    dir: Option<PathBuf>,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl Templates {
    /// The built-in templates, each overridable by a file of the same name in `dir`.
    pub fn new(dir: Option<&Path>) -> Result<Self, RenderError> {
        if let Some(dir) = dir.filter(|dir| !dir.is_dir()) {
            return Err(RenderError::BadDirectory(dir.to_owned()));
        }
        let mut environment = Environment::new();
        environment.set_undefined_behavior(UndefinedBehavior::Strict);
        // minijinja, like Jinja2, drops a template's final newline by default; files end
        // with one, and golden files notice.
        environment.set_syntax(
            minijinja::syntax::SyntaxConfig::builder()
                .keep_trailing_newline(true)
                .build()
                .map_err(|error| RenderError::Template {
                    name: String::new(),
                    detail: error.to_string(),
                })?,
        );
        // minijinja JSON-escapes every value in `.yaml`/`.json` templates by default; these
        // templates decide per value (`| tojson` for strings a user typed), so output is
        // exactly what the template says.
        environment.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
        environment.add_filter("b64encode", |value: String| {
            base64::engine::general_purpose::STANDARD.encode(value.as_bytes())
        });
        let override_dir = dir.map(Path::to_owned);
        environment.set_loader(move |name| {
            if let Some(dir) = &override_dir {
                let path = dir.join(name);
                if path.is_file() {
                    return std::fs::read_to_string(&path).map(Some).map_err(|error| {
                        minijinja::Error::new(
                            minijinja::ErrorKind::InvalidOperation,
                            format!("cannot read `{}`: {error}", path.display()),
                        )
                    });
                }
            }
            Ok(EMBEDDED
                .iter()
                .find(|(embedded, _)| *embedded == name)
                .map(|(_, source)| (*source).to_owned()))
        });
        Ok(Templates {
            environment,
            dir: dir.map(Path::to_owned),
        })
    }

    /// Adds a template from a string (tests and library callers).
    pub fn add(&mut self, name: &str, source: &str) -> Result<(), RenderError> {
        self.environment
            .add_template_owned(name.to_owned(), source.to_owned())
            .map_err(|error| RenderError::Template {
                name: name.to_owned(),
                detail: describe(&error),
            })
    }

    /// Renders template `name` with `context`.
    pub fn render<S: Serialize>(&self, name: &str, context: &S) -> Result<String, RenderError> {
        let template = self.environment.get_template(name).map_err(|error| {
            if error.kind() == minijinja::ErrorKind::TemplateNotFound {
                RenderError::NotFound {
                    name: name.to_owned(),
                    dir: self.dir.clone(),
                }
            } else {
                RenderError::Template {
                    name: self.display_name(name),
                    detail: describe(&error),
                }
            }
        })?;
        let context = minijinja::Value::from(minijinja::value::Serde(context));
        template
            .render(context)
            .map_err(|error| RenderError::Template {
                name: self.display_name(name),
                detail: describe(&error),
            })
    }

    fn display_name(&self, name: &str) -> String {
        match &self.dir {
            Some(dir) if dir.join(name).is_file() => dir.join(name).display().to_string(),
            _ => name.to_owned(),
        }
    }
}

fn describe(error: &minijinja::Error) -> String {
    match error.line() {
        Some(line) => format!(
            "line {line}: {}",
            error.detail().unwrap_or(&error.to_string())
        ),
        None => error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Context {
        name: &'static str,
        pem: &'static str,
    }

    #[test]
    fn strict_undefined_trailing_newline_and_filters() {
        let mut templates = Templates::new(None).unwrap();
        templates
            .add(
                "t.yaml",
                "name: {{ name | tojson }}\ndata: {{ pem | b64encode }}\n",
            )
            .unwrap();
        let out = templates
            .render(
                "t.yaml",
                &Context {
                    name: "a: b",
                    pem: "x",
                },
            )
            .unwrap();
        assert_eq!(out, "name: \"a: b\"\ndata: eA==\n");
        templates.add("missing.yaml", "{{ nope }}\n").unwrap();
        let error = templates
            .render("missing.yaml", &Context { name: "", pem: "" })
            .unwrap_err();
        assert!(error.to_string().contains("missing.yaml"), "{error}");
        assert!(matches!(
            templates.render("absent.yaml", &Context { name: "", pem: "" }),
            Err(RenderError::NotFound { .. })
        ));
    }

    #[test]
    fn a_directory_overrides_by_name() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("own.yaml"), "custom {{ name }}\n").unwrap();
        let templates = Templates::new(Some(dir.path())).unwrap();
        assert_eq!(
            templates
                .render("own.yaml", &Context { name: "x", pem: "" })
                .unwrap(),
            "custom x\n"
        );
        assert!(matches!(
            Templates::new(Some(&dir.path().join("nope"))),
            Err(RenderError::BadDirectory(_))
        ));
    }
}
