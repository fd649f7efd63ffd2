#!/usr/bin/env python3
"""pkilint_check.py DIR - RFC 5280 lint of an otel-pki set with DigiCert pkilint.

Runs
  lint_pkix_cert lint -f JSON -s ALL DIR/{ca,server,client}.crt
  lint_pkix_signer_signee_cert_chain lint -f JSON -s ALL DIR/ca.crt DIR/{server,client}.crt
prints one line per run ("PASS"/"FAIL", then every finding as SEVERITY:code),
and exits 1 if any finding of severity WARNING or above is left after the
allow-list, 0 otherwise, 2 on usage/setup errors (tool missing, file missing,
pkilint could not load the certificate).

Why not just the exit status of lint_pkix_cert: it is the NUMBER of reported
findings (clamped to 255), so exit 1 means "one finding" - and also "could not
load the certificate". With the default threshold (-s INFO) the harmless INFO
pkix.subject_key_identifier_method_1_identified already makes it 1.

Allow-list (default): pkix.invalid_domain_name_syntax for a SINGLE-LABEL dNSName
such as "localhost" or "otel-collector". pkilint 0.13 checks dNSName with
validators.domain() (validators==0.22), which demands a dot/TLD; RFC 5280 section
4.2.1.6 (RFC 1034 preferred name syntax) allows single labels, and every TLS
stack here (Go, OpenSSL, BoringSSL/gRPC) matches "localhost" fine.
--strict turns the allow-list off. --allow CODE adds codes.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys

SEVERITIES = ["DEBUG", "INFO", "NOTICE", "WARNING", "ERROR", "FATAL"]


def tool(name):
    here = os.path.join(os.path.dirname(sys.executable), name)
    return here if os.access(here, os.X_OK) else shutil.which(name)


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    try:
        data = json.loads(p.stdout)
    except ValueError:
        msg = " ".join((p.stderr or p.stdout).split())
        print(f"USAGE {' '.join(cmd)}: {msg}", file=sys.stderr)
        sys.exit(2)
    return [(d["severity"], d["code"], d.get("message") or "")
            for r in data["results"] for d in r["finding_descriptions"]]


def allowed(sev, code, msg, strict, extra):
    if code in extra:
        return True
    if strict:
        return False
    if code == "pkix.invalid_domain_name_syntax":
        name = msg.split('"')[1] if msg.count('"') >= 2 else ""
        return name != "" and "." not in name
    return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--strict", action="store_true", help="no built-in allow-list")
    ap.add_argument("--allow", action="append", default=[], metavar="CODE")
    a = ap.parse_args()

    cert_tool = tool("lint_pkix_cert")
    chain_tool = tool("lint_pkix_signer_signee_cert_chain")
    if not cert_tool or not chain_tool:
        print("USAGE lint_pkix_cert not found (pip install pkilint)", file=sys.stderr)
        return 2
    for f in ("ca.crt", "server.crt", "client.crt"):
        if not os.path.isfile(os.path.join(a.dir, f)):
            print(f"USAGE missing {os.path.join(a.dir, f)}", file=sys.stderr)
            return 2

    p = lambda f: os.path.join(a.dir, f)  # noqa: E731
    runs = [(f, [cert_tool, "lint", "-f", "JSON", "-s", "ALL", p(f)])
            for f in ("ca.crt", "server.crt", "client.crt")]
    runs += [(f"chain ca.crt->{f}", [chain_tool, "lint", "-f", "JSON", "-s", "ALL", p("ca.crt"), p(f)])
             for f in ("server.crt", "client.crt")]

    bad = 0
    for label, cmd in runs:
        findings = run(cmd)
        blocking = [f for f in findings
                    if SEVERITIES.index(f[0]) >= SEVERITIES.index("WARNING")
                    and not allowed(*f, a.strict, a.allow)]
        bad += len(blocking)
        shown = ", ".join(
            f"{s}:{c}" + (f"({m})" if m else "") + ("" if (s, c, m) in blocking or
                                                      SEVERITIES.index(s) < 3 else "[allowed]")
            for s, c, m in findings) or "no findings"
        print(f"{'FAIL' if blocking else 'PASS'} pkilint {label}: {shown}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
