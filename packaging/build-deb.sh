#!/usr/bin/env bash
# Builds a Debian package of otel-pki with dpkg-deb (no cargo-deb needed):
#
#   /usr/bin/otel-pki
#   /usr/share/man/man1/otel-pki*.1.gz                      (`otel-pki man --out-dir`)
#   /usr/share/bash-completion/completions/otel-pki
#   /usr/share/zsh/vendor-completions/_otel-pki
#   /usr/share/fish/vendor_completions.d/otel-pki.fish
#   /usr/share/doc/otel-pki/copyright
#
# Usage: packaging/build-deb.sh [BINARY]   (default: target/release/otel-pki, built if missing)
# Prints the path of the .deb (target/debian/otel-pki_VERSION-1_ARCH.deb) on stdout.
# DEB_MAINTAINER sets the Maintainer field; DEB_REVISION the Debian revision (default 1).
set -euo pipefail
cd "$(dirname "$0")/.."

bin=${1:-target/release/otel-pki}
if [ ! -x "$bin" ]; then
    cargo build --release --locked >&2
fi
bin=$(realpath "$bin")

version=$("$bin" --version | awk '{print $2}')
revision=${DEB_REVISION:-1}
arch=$(dpkg --print-architecture)
maintainer=${DEB_MAINTAINER:-"otel-pki maintainers <otel-pki@invalid>"}
# The newest glibc symbol version the binary needs (it links nothing else dynamically).
glibc=$(objdump -T "$bin" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -1)

root=$(mktemp -d)
chmod 0755 "$root"
trap 'rm -rf "$root"' EXIT
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}

install -D -m 0755 "$bin" "$root/usr/bin/otel-pki"
"$bin" man --out-dir "$root/usr/share/man/man1" -q
chmod 0644 "$root"/usr/share/man/man1/*.1
gzip -9n "$root"/usr/share/man/man1/*.1

completion() { # SHELL PATH
    install -d -m 0755 "$(dirname "$root/$2")"
    "$bin" completions "$1" > "$root/$2"
    chmod 0644 "$root/$2"
}
completion bash usr/share/bash-completion/completions/otel-pki
completion zsh usr/share/zsh/vendor-completions/_otel-pki
completion fish usr/share/fish/vendor_completions.d/otel-pki.fish

install -d -m 0755 "$root/usr/share/doc/otel-pki"
cat > "$root/usr/share/doc/otel-pki/copyright" <<EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: otel-pki

Files: *
License: Apache-2.0

License: Apache-2.0
 On Debian systems, the full text of the Apache License, Version 2.0 can be
 found in the file '/usr/share/common-licenses/Apache-2.0'.
EOF
chmod 0644 "$root/usr/share/doc/otel-pki/copyright"

installed_size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
install -d -m 0755 "$root/DEBIAN"
cat > "$root/DEBIAN/control" <<EOF
Package: otel-pki
Version: $version-$revision
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $installed_size
Depends: libc6 (>= $glibc)
Section: utils
Priority: optional
Description: private CA and mutual-TLS certificates for OpenTelemetry
 otel-pki makes a private CA and the server and client certificates for
 mutual TLS between OpenTelemetry Collectors and their backends, checks
 them against the TLS stacks that will use them, renews and rotates them,
 and renders Collector configurations and Kubernetes manifests.
EOF

find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
mkdir -p target/debian
deb=target/debian/otel-pki_${version}-${revision}_${arch}.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
