#!/usr/bin/env bash
# The openssl way to make the same six files otel-pki init makes (CA, server with SANs and
# serverAuth, client with clientAuth), written as correctly as the guide's recipe should be:
# explicit extensions so that the comparison is fair. Usage: openssl-recipe.sh p256|rsa4096 DIR
set -euo pipefail
kind=$1 dir=$2
mkdir -p "$dir" && cd "$dir"
case $kind in
  p256) newkey() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; } ;;
  rsa4096) newkey() { openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:4096 -out "$1" 2>/dev/null; } ;;
  *) echo "usage: $0 p256|rsa4096 DIR" >&2; exit 2 ;;
esac
newkey ca.key
openssl req -x509 -new -key ca.key -sha256 -days 3650 -subj "/CN=OTel Telemetry CA" \
  -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" -out ca.crt
newkey server.key
openssl req -new -key server.key -subj "/CN=localhost" -out server.csr
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' > server.ext
openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -sha256 -days 365 \
  -extfile server.ext -out server.crt 2>/dev/null
newkey client.key
openssl req -new -key client.key -subj "/CN=otel-collector" -out client.csr
printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n' > client.ext
openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -sha256 -days 365 \
  -extfile client.ext -out client.crt 2>/dev/null
