//! Renewal planning and re-issuing for a set: which leaves are due, what their
//! successors keep, and the new files, returned as outcomes for `renew` and
//! `ca rotate --promote` to commit and report. The planning itself ([`plan`]) works on a
//! set read into memory ([`Snapshot`]), so it is tested without files.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{Pair, generation, names};
use crate::pki::renewal::{LeafTemplate, RequestedLifetime, RequestedLifetimes};
use crate::pki::{Ca, KeyType, Lifetime, PrivateKey, certificate, issue::rfc3339};
use crate::write::PlannedFile;

/// One renewed certificate.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Renewal {
    /// `NAME` of `NAME.crt`.
    pub name: String,
    /// The certificate file.
    pub certificate: PathBuf,
    /// The key file.
    pub key: PathBuf,
    /// `server`, `client` or `server+client` (kept).
    pub role: String,
    /// The subject common name (kept).
    pub common_name: String,
    /// The key algorithm (kept), e.g. `ECDSA P-256`.
    pub key_type: String,
    /// False with `--reuse-key`.
    pub new_key: bool,
    /// Serial number of the replaced certificate.
    pub old_serial: String,
    /// Serial number of the new certificate (null with `--dry-run`).
    pub new_serial: Option<String>,
    /// notAfter of the replaced certificate.
    #[serde(with = "crate::pki::lifetime::rfc3339")]
    pub old_not_after: OffsetDateTime,
    /// notAfter of the new certificate (with `--dry-run`: what it would be).
    #[serde(with = "crate::pki::lifetime::rfc3339")]
    pub new_not_after: OffsetDateTime,
    /// True when the lifetime was cut short to end with the CA.
    pub clamped: bool,
}

/// A leaf left unchanged.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Unchanged {
    /// `NAME` of `NAME.crt`.
    pub name: String,
    /// Its notAfter.
    #[serde(with = "crate::pki::lifetime::rfc3339")]
    pub not_after: OffsetDateTime,
    /// When it becomes due.
    #[serde(with = "crate::pki::lifetime::rfc3339")]
    pub due_from: OffsetDateTime,
}

/// A due certificate that could not be renewed.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Failure {
    /// `NAME` of `NAME.crt`.
    pub name: String,
    /// Why, and what to do.
    pub reason: String,
}

/// A due leaf: what it is and where.
#[derive(Clone, Debug)]
pub struct Due {
    /// Its files.
    pub pair: Pair,
    /// What its successor keeps.
    pub template: LeafTemplate,
    /// The certificate, DER.
    pub der: Vec<u8>,
}

/// New files and report entries for re-issued leaves.
#[derive(Debug, Default)]
pub struct Reissued {
    /// `NAME.key` (unless the key is reused) and `NAME.crt` of each.
    pub files: Vec<PlannedFile>,
    /// One entry per leaf.
    pub renewals: Vec<Renewal>,
    /// Leaves that could not be re-issued.
    pub failed: Vec<Failure>,
    /// Warnings (lifetimes cut short).
    pub warnings: Vec<String>,
    /// The lifetimes asked for the successors cut short to end with the CA, to record.
    pub cut_short: Vec<RequestedLifetime>,
}

/// How leaves are re-issued.
#[derive(Clone, Copy, Debug)]
pub struct ReissueOptions {
    /// The lifetime of the new certificates (default: the one each was issued with or
    /// asked for).
    pub validity: Option<Lifetime>,
    /// Keep the private keys.
    pub reuse_key: bool,
    /// Refuse a successor cut short by the CA that would not end later than the
    /// certificate it replaces (a renewal that extends nothing); `ca rotate --promote`
    /// re-issues from the new CA whatever the dates.
    pub must_extend: bool,
}

/// Re-issues `due` leaves from `ca`: same subject, names, purpose and key type, the
/// lifetime each was issued with or asked for (or `options.validity`), never beyond the
/// CA; new keys unless `options.reuse_key`. A leaf that cannot be re-issued is reported in
/// `failed`, the others go on.
pub fn reissue(
    due: &[Due],
    ca: &Ca,
    options: ReissueOptions,
    now: OffsetDateTime,
    generate_keys: &mut dyn FnMut(&[KeyType]) -> Result<Vec<PrivateKey>>,
) -> Result<Reissued> {
    let ReissueOptions {
        validity,
        reuse_key,
        must_extend,
    } = options;
    let mut reissued = Reissued::default();
    let mut ready = Vec::new();
    for item in due {
        let successor = item.template.successor(now, validity, ca.not_after());
        if must_extend
            && successor.clamped
            && successor.request.validity.not_after <= item.template.not_after
        {
            reissued.failed.push(Failure {
                name: item.pair.name.clone(),
                reason: format!(
                    "it cannot be extended: its CA `{}` expires on {}; rotate the CA with `otel-pki ca rotate --stage`",
                    ca.certificate_path(),
                    rfc3339(ca.not_after())
                ),
            });
            continue;
        }
        if successor.clamped {
            reissued
                .warnings
                .push(successor.clamp_warning(&item.pair.name));
        }
        let key = if reuse_key {
            let bytes = crate::input::read(&item.pair.key, crate::input::KEY_LIMIT, "key file")?;
            let key = PrivateKey::from_pem_or_der(&bytes, &item.pair.key.display().to_string())?;
            if !key.matches_certificate(&item.der) {
                reissued.failed.push(Failure {
                    name: item.pair.name.clone(),
                    reason: format!(
                        "--reuse-key: `{}` does not match `{}`",
                        item.pair.key.display(),
                        item.pair.certificate.display()
                    ),
                });
                continue;
            }
            Some(key)
        } else if item.template.key_type.is_none() {
            reissued.failed.push(Failure {
                name: item.pair.name.clone(),
                reason: format!(
                    "its key is {}, which otel-pki does not generate; use --reuse-key, or issue a replacement with `otel-pki issue`",
                    item.template.key_description
                ),
            });
            continue;
        } else {
            None
        };
        ready.push((item, successor, key));
    }
    let key_types: Vec<_> = ready
        .iter()
        .filter(|(_, _, key)| key.is_none())
        .filter_map(|(item, _, _)| item.template.key_type)
        .collect();
    let mut fresh = generate_keys(&key_types)?.into_iter();
    for (item, successor, reused) in ready {
        let new_key = reused.is_none();
        let key = match reused {
            Some(key) => key,
            None => fresh
                .next()
                .context("key generation returned too few keys")?,
        };
        let issued = ca.issue(&successor.request, key)?;
        let name = &item.pair.name;
        let serial = certificate::parse(&issued.certificate_der)
            .ok()
            .map(|parsed| certificate::hex(parsed.raw_serial(), ":"));
        if let (true, Some(serial)) = (successor.clamped, &serial) {
            reissued.cut_short.push(RequestedLifetime {
                serial: serial.clone(),
                name: name.clone(),
                lifetime: successor.requested,
            });
        }
        if new_key {
            reissued.files.push(PlannedFile::key(
                format!("{name}.key"),
                issued.key.to_pkcs8_pem(),
            ));
        }
        reissued.files.push(PlannedFile::public(
            format!("{name}.crt"),
            issued.certificate_pem(),
        ));
        reissued.renewals.push(renewal_entry(
            item,
            serial,
            new_key,
            successor.request.validity.not_after,
            successor.clamped,
        ));
    }
    Ok(reissued)
}

/// The leaves of `dir` that are CA certificates are skipped; every other `NAME.crt` is
/// read as a leaf.
pub fn leaves(dir: &Path) -> Result<Vec<(Pair, Vec<u8>)>> {
    let pairs =
        super::pairs(dir).with_context(|| format!("cannot read the set `{}`", dir.display()))?;
    let mut leaves = Vec::new();
    for pair in pairs {
        // A link whose file is gone (a killed run) is not a certificate.
        if !pair.certificate.is_file() {
            continue;
        }
        let certificates = super::read_certificates(&pair.certificate)?;
        let Some(der) = certificates.into_iter().next() else {
            continue;
        };
        // Every unreadable leaf is an error naming the file, whether it holds no PEM block
        // (read_certificates above) or a block that is not a certificate.
        let is_ca = certificate::parse(&der)
            .map(|parsed| certificate::Role::of(&parsed) == certificate::Role::Ca)
            .map_err(|reason| {
                anyhow::anyhow!(
                    "`{}` is not a readable certificate: {reason}; replace it (e.g. `otel-pki issue … --force`) or move it out of `{}`",
                    pair.certificate.display(),
                    dir.display()
                )
            })?;
        if !is_ca {
            leaves.push((pair, der));
        }
    }
    Ok(leaves)
}

/// The lifetimes recorded in `dir` for certificates cut short by their CA (see
/// [`RequestedLifetimes`]). A record that cannot be read is a warning: without it, such a
/// certificate's successor gets the shortened lifetime unless `--validity` says otherwise.
pub fn recorded_lifetimes(dir: &Path, warnings: &mut Vec<String>) -> RequestedLifetimes {
    let Some(bytes) = generation::read_meta(dir) else {
        return RequestedLifetimes::default();
    };
    RequestedLifetimes::from_json(&bytes).unwrap_or_else(|error| {
        warnings.push(format!(
            "ignored `{}`: {error}; a certificate cut short to end with its CA keeps its shortened lifetime unless --validity says otherwise",
            dir.join(generation::DATA).join(generation::META).display()
        ));
        RequestedLifetimes::default()
    })
}

/// The record of requested lifetimes for the generation a change creates: `recorded`
/// without the certificates no longer in the set, plus `cut_short`. The certificates the
/// change replaces keep theirs, for the rollback that would restore them. `None` when the
/// record stays as it is.
pub fn lifetimes_after(
    dir: &Path,
    recorded: &RequestedLifetimes,
    cut_short: &[RequestedLifetime],
) -> Result<Option<Vec<u8>>> {
    if recorded.requested_lifetimes.is_empty() && cut_short.is_empty() {
        return Ok(None);
    }
    // The leaves in the set now: they stay, or go to the backup a rollback restores.
    let live: std::collections::HashSet<String> = leaves(dir)?
        .iter()
        .filter_map(|(_, der)| certificate::parse(der).ok())
        .map(|parsed| certificate::hex(parsed.raw_serial(), ":"))
        .collect();
    let mut next = recorded.clone();
    next.retain(|serial| live.contains(serial));
    for entry in cut_short {
        next.insert(&entry.serial, &entry.name, entry.lifetime);
    }
    Ok((next != *recorded).then(|| next.to_json()))
}

/// The subjects (DER) of the CA certificates in `ca_file`: leaves issued by any of them
/// belong to the set.
pub fn ca_subjects(ca_file: &Path) -> Vec<Vec<u8>> {
    super::read_certificates(ca_file)
        .unwrap_or_default()
        .iter()
        .filter_map(|der| {
            certificate::parse(der)
                .ok()
                .map(|parsed| parsed.subject().as_raw().to_vec())
        })
        .collect()
}

/// A set as the renewal planning needs it: its leaves, the certificates of `ca.crt`, and
/// the lifetimes recorded for certificates cut short by their CA.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// Each leaf's files and certificate (DER).
    pub leaves: Vec<(Pair, Vec<u8>)>,
    /// The certificates of `ca.crt`, the signing CA first.
    pub ca_certificates: Vec<Vec<u8>>,
    /// `ca.crt`, for messages.
    pub ca_file: std::path::PathBuf,
    /// The recorded lifetimes.
    pub recorded: RequestedLifetimes,
    /// Warnings from reading the set.
    pub warnings: Vec<String>,
    /// The names of the set's `NAME.crt` files that are CA certificates.
    pub ca_names: Vec<String>,
}

impl Snapshot {
    /// Reads the set in `dir`; an unreadable leaf is an error naming the file.
    pub fn read(dir: &Path) -> Result<Snapshot> {
        let ca_file = dir.join(names::CA_CERT);
        let mut warnings = Vec::new();
        let recorded = recorded_lifetimes(dir, &mut warnings);
        let leaves = leaves(dir)?;
        let ca_names = super::pairs(dir)
            .unwrap_or_default()
            .into_iter()
            .filter(|pair| pair.certificate.is_file())
            .filter(|pair| !leaves.iter().any(|(leaf, _)| leaf.name == pair.name))
            .map(|pair| pair.name)
            .collect();
        Ok(Snapshot {
            ca_names,
            leaves,
            ca_certificates: super::read_certificates(&ca_file).unwrap_or_default(),
            ca_file,
            recorded,
            warnings,
        })
    }
}

/// What to renew: `renew`'s arguments.
#[derive(Clone, Debug, Default)]
pub struct Request {
    /// `--name`: only these leaves (each must exist).
    pub names: Vec<String>,
    /// `--all`: every leaf, due or not.
    pub all: bool,
    /// `--within`: due when it expires within this (default: its own threshold).
    pub within: Option<Lifetime>,
}

/// The plan: which leaves are due, which are not, which cannot be renewed.
#[derive(Debug)]
pub struct Plan {
    /// Due, and signed by the set's CA.
    pub due: Vec<Due>,
    /// Not due yet.
    pub unchanged: Vec<Unchanged>,
    /// Due but signed by another CA.
    pub failed: Vec<Failure>,
    /// Warnings (leaves skipped, subjects that are not kept).
    pub warnings: Vec<String>,
    /// notAfter of the signing CA (the epoch when there is none).
    pub ca_not_after: OffsetDateTime,
    /// The recorded lifetimes, carried to the next generation's record.
    pub recorded: RequestedLifetimes,
}

/// Plans a renewal of `set` at `now` (no I/O). A `--name` that is not a leaf of the set is
/// an error.
pub fn plan(set: Snapshot, request: &Request, now: OffsetDateTime) -> Result<Plan> {
    let Snapshot {
        leaves,
        ca_certificates,
        ca_file,
        recorded,
        warnings,
        ca_names,
    } = set;
    for name in &request.names {
        if !leaves.iter().any(|(pair, _)| &pair.name == name) {
            let path = ca_file.with_file_name(format!("{name}.crt"));
            if ca_names.contains(name) {
                bail!(
                    "invalid --name `{name}`: `{}` is a CA certificate; rotate a CA with `otel-pki ca rotate --stage`",
                    path.display()
                );
            }
            bail!("invalid --name `{name}`: there is no `{}`", path.display());
        }
    }
    let issuers: Vec<Vec<u8>> = ca_certificates
        .iter()
        .filter_map(|der| {
            certificate::parse(der)
                .ok()
                .map(|parsed| parsed.subject().as_raw().to_vec())
        })
        .collect();
    let ca_not_after = ca_certificates
        .first()
        .and_then(|der| {
            certificate::parse(der)
                .ok()
                .map(|parsed| parsed.validity().not_after.to_datetime())
        })
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let mut plan = Plan {
        due: Vec::new(),
        unchanged: Vec::new(),
        failed: Vec::new(),
        warnings,
        ca_not_after,
        recorded,
    };
    let names = &request.names;
    for (pair, der) in leaves {
        let named = names.contains(&pair.name);
        if !names.is_empty() && !named {
            continue;
        }
        let path = pair.certificate.display().to_string();
        let mut template = match LeafTemplate::of(&der, &path) {
            Ok(template) => template,
            Err(error) if named => return Err(error.into()),
            Err(error) => {
                plan.warnings.push(format!("skipped: {error}"));
                continue;
            }
        };
        template.remember(&plan.recorded);
        let due_from = template.due_from(request.within);
        let due = request.all || (named && request.within.is_none()) || now >= due_from;
        if !due {
            plan.unchanged.push(Unchanged {
                name: pair.name,
                not_after: template.not_after,
                due_from,
            });
            continue;
        }
        if !issuers.contains(&template.issuer) {
            plan.failed.push(Failure {
                name: pair.name.clone(),
                reason: format!(
                    "it is signed by `{}`, not by the CA in `{}`; renew it with the CA that signed it (`otel-pki issue --ca-cert … --force`)",
                    template.issuer_text,
                    ca_file.display()
                ),
            });
            continue;
        }
        if let Some(subject) = &template.dropped_subject {
            plan.warnings.push(format!(
                "`{path}` has the subject `{subject}`; its successor keeps only CN={}",
                template.common_name
            ));
        }
        plan.due.push(Due {
            pair,
            template,
            der,
        });
    }
    Ok(plan)
}

/// The report entry of a renewal.
pub fn renewal_entry(
    due: &Due,
    new_serial: Option<String>,
    new_key: bool,
    new_not_after: OffsetDateTime,
    clamped: bool,
) -> Renewal {
    Renewal {
        name: due.pair.name.clone(),
        certificate: due.pair.certificate.clone(),
        key: due.pair.key.clone(),
        role: due.template.profile.name().to_owned(),
        common_name: due.template.common_name.clone(),
        key_type: due.template.key_description.clone(),
        new_key,
        old_serial: due.template.serial.clone(),
        new_serial,
        old_not_after: due.template.not_after,
        new_not_after,
        clamped,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::{CaRequest, LeafProfile, LeafRequest, San, Validity};

    fn lifetime(text: &str) -> Lifetime {
        text.parse().unwrap()
    }

    fn ca(now: OffsetDateTime, name: &str) -> Ca {
        crate::pki::issue::create_ca(
            &CaRequest {
                common_name: name.into(),
                validity: Validity::starting_now(now, lifetime("10y")),
            },
            PrivateKey::generate(KeyType::EcdsaP256).unwrap(),
        )
        .unwrap()
    }

    fn leaf(ca: &Ca, name: &str, issued: OffsetDateTime, days: &str) -> (Pair, Vec<u8>) {
        let issued = ca
            .issue(
                &LeafRequest {
                    profile: LeafProfile::Server,
                    common_name: name.into(),
                    sans: San::parse_list("localhost").unwrap(),
                    validity: Validity::starting_now(issued, lifetime(days)),
                },
                PrivateKey::generate(KeyType::EcdsaP256).unwrap(),
            )
            .unwrap();
        (
            Pair {
                name: name.into(),
                certificate: PathBuf::from(format!("set/{name}.crt")),
                key: PathBuf::from(format!("set/{name}.key")),
            },
            issued.certificate_der.clone(),
        )
    }

    fn snapshot(ca: &Ca, leaves: Vec<(Pair, Vec<u8>)>) -> Snapshot {
        Snapshot {
            leaves,
            ca_certificates: vec![ca.certificate_der().to_vec()],
            ca_file: PathBuf::from("set/ca.crt"),
            ca_names: vec!["ca".into()],
            ..Snapshot::default()
        }
    }

    fn names(due: &[Due]) -> Vec<&str> {
        due.iter().map(|due| due.pair.name.as_str()).collect()
    }

    #[test]
    fn due_leaves_are_planned_and_others_wait() {
        let now = OffsetDateTime::now_utc();
        let ca = ca(now, "CA");
        let set = snapshot(
            &ca,
            vec![
                // Issued 340 of 365 days ago: in its last third, due.
                leaf(&ca, "old", now - time::Duration::days(340), "365d"),
                leaf(&ca, "new", now, "365d"),
            ],
        );
        let plan = plan(set.clone(), &Request::default(), now).unwrap();
        assert_eq!(names(&plan.due), ["old"]);
        assert_eq!(plan.unchanged.len(), 1);
        assert_eq!(plan.unchanged[0].name, "new");
        assert!(plan.unchanged[0].due_from > now);
        assert!(plan.failed.is_empty());

        let all = Request {
            all: true,
            ..Request::default()
        };
        assert_eq!(names(&plan_of(&set, &all, now)), ["old", "new"]);
        let named = Request {
            names: vec!["new".into()],
            ..Request::default()
        };
        assert_eq!(names(&plan_of(&set, &named, now)), ["new"]);
        let within = Request {
            within: Some(lifetime("400d")),
            ..Request::default()
        };
        assert_eq!(names(&plan_of(&set, &within, now)), ["old", "new"]);
    }

    fn plan_of(set: &Snapshot, request: &Request, now: OffsetDateTime) -> Vec<Due> {
        plan(set.clone(), request, now).unwrap().due
    }

    #[test]
    fn leaves_of_another_ca_fail_and_bad_names_are_refused() {
        let now = OffsetDateTime::now_utc();
        let ours = ca(now, "Ours");
        let theirs = ca(now, "Theirs");
        let set = snapshot(&ours, vec![leaf(&theirs, "stray", now, "365d")]);
        let all = Request {
            all: true,
            ..Request::default()
        };
        let plan = plan(set.clone(), &all, now).unwrap();
        assert!(plan.due.is_empty());
        assert_eq!(plan.failed.len(), 1);
        assert!(
            plan.failed[0]
                .reason
                .contains("not by the CA in `set/ca.crt`")
        );

        let named = |name: &str| Request {
            names: vec![name.into()],
            ..Request::default()
        };
        let error = super::plan(set.clone(), &named("nope"), now).unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid --name `nope`: there is no `set/nope.crt`"
        );
        let error = super::plan(set, &named("ca"), now).unwrap_err();
        assert!(error.to_string().contains("is a CA certificate"), "{error}");
    }

    #[test]
    fn an_empty_set_plans_nothing() {
        let now = OffsetDateTime::now_utc();
        let plan = plan(Snapshot::default(), &Request::default(), now).unwrap();
        assert!(plan.due.is_empty() && plan.unchanged.is_empty() && plan.failed.is_empty());
        assert_eq!(plan.ca_not_after, OffsetDateTime::UNIX_EPOCH);
    }
}
