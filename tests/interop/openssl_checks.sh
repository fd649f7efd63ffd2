#!/usr/bin/env bash
# openssl_checks.sh DIR [OTHER_DIR]
# openssl_checks.sh --probe DIR
#
# OpenSSL (3.0) checks of one otel-pki certificate set in DIR
# (ca.key ca.crt server.key server.crt client.key client.crt).
# OTHER_DIR (optional): a second, independently generated set (different CA);
# enables the cross-CA negative checks.
#
# Default mode: prints one line per check ("PASS <name>" / "FAIL <name>: <detail>")
# and exits 1 on the first unexpected result, 0 when everything behaved as
# expected (last line "ALL OK (N checks) DIR"), 2 on usage error.
#
# --probe: no expectations; takes DIR's files as they are (e.g. a deliberately
# wrong set) and reports ACCEPTED/REJECTED for
#   verify -purpose sslserver server.crt, verify -purpose sslclient client.crt,
#   and one s_server/s_client mTLS handshake with application data;
# exits 0 if all three were accepted, 1 if any was rejected.
#
# Handshakes run on 127.0.0.1 with an ephemeral port (s_server -accept
# 127.0.0.1:0, port read from its "ACCEPT" line), every network wait is bounded
# (10 s), and each s_server is stopped by its pid.
set -uo pipefail

usage() { echo "usage: openssl_checks.sh DIR [OTHER_DIR] | --probe DIR" >&2; exit 2; }
PROBE=
if [ "${1:-}" = --probe ]; then PROBE=1; shift; [ $# -eq 1 ] || usage; fi
[ $# -ge 1 ] && [ $# -le 2 ] || usage
D=$1
O=${2:-}
for f in ca.key ca.crt server.key server.crt client.key client.crt; do
  [ -r "$D/$f" ] || { echo "missing $D/$f" >&2; exit 2; }
  [ -z "$O" ] || [ -r "$O/$f" ] || { echo "missing $O/$f" >&2; exit 2; }
done
command -v openssl >/dev/null || { echo "openssl not found" >&2; exit 2; }

T=$(mktemp -d)
SRV_PID=
cleanup() {
  if [ -n "$SRV_PID" ] && kill -0 "$SRV_PID" 2>/dev/null; then
    kill "$SRV_PID" 2>/dev/null; wait "$SRV_PID" 2>/dev/null
  fi
  rm -rf "$T"
}
trap cleanup EXIT

N=0
pass() { N=$((N + 1)); echo "PASS $1"; }
fail() { echo "FAIL $1: $(echo "$2" | tr '\n' ' ' | sed 's/  */ /g' | cut -c1-400)"; exit 1; }

# expect ok|fail|fail:ERE NAME CMD...  (runs CMD with a 10 s bound)
# fail:ERE also requires the command's output to match ERE (the right reason).
expect() {
  local want=$1 name=$2 out rc re=""; shift 2
  case $want in fail:*) re=${want#fail:}; want=fail ;; esac
  out=$(timeout 10 "$@" </dev/null 2>&1); rc=$?
  if [ $rc -eq 124 ]; then fail "$name" "timed out: $*"; fi
  if [ "$want" = ok ] && [ $rc -ne 0 ]; then fail "$name" "expected success, rc=$rc: $out"; fi
  if [ "$want" = fail ] && [ $rc -eq 0 ]; then fail "$name" "expected failure but succeeded: $out"; fi
  if [ -n "$re" ] && ! grep -Eq -- "$re" <<<"$out"; then fail "$name" "failed for another reason than /$re/: $out"; fi
  if [ "$want" = fail ]; then pass "$name (rejected as expected)"; else pass "$name"; fi
}

PING=otelpki-ping-0123456789
PONG=9876543210-gnip-ikpleto   # s_server -rev answers each line reversed

# hs_run SERVER_CERT SERVER_KEY -- S_CLIENT_ARGS...
# returns 0 if application data went both ways, 1 if rejected, 124 on timeout,
# 3 if s_server did not start; sets HS_DETAIL and HS_PROTO.
hs_run() {
  local scert=$1 skey=$2; shift 3
  local port="" i rc out
  HS_DETAIL= HS_PROTO=
  : >"$T/srv.out"
  openssl s_server -accept 127.0.0.1:0 -naccept 1 -rev \
    -cert "$scert" -key "$skey" -CAfile "$D/ca.crt" -Verify 1 -verify_return_error \
    </dev/null >"$T/srv.out" 2>&1 &
  SRV_PID=$!
  for i in $(seq 100); do  # <= 10 s for the listening socket
    port=$(sed -n 's/^ACCEPT 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$T/srv.out")
    [ -n "$port" ] && break
    kill -0 "$SRV_PID" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$port" ]; then
    HS_DETAIL="s_server did not start: $(cat "$T/srv.out")"
    kill "$SRV_PID" 2>/dev/null; wait "$SRV_PID" 2>/dev/null; SRV_PID=
    return 3
  fi
  out=$(printf '%s\nCLOSE\n' "$PING" | timeout 10 openssl s_client -connect "127.0.0.1:$port" \
        -CAfile "$D/ca.crt" -verify_return_error -quiet "$@" 2>&1); rc=$?
  for i in $(seq 20); do kill -0 "$SRV_PID" 2>/dev/null || break; sleep 0.1; done
  kill "$SRV_PID" 2>/dev/null; wait "$SRV_PID" 2>/dev/null; SRV_PID=
  HS_DETAIL="rc=$rc client: $(grep -E 'error|verify error' <<<"$out") server: $(grep -E 'error|CONNECTION' "$T/srv.out")"
  HS_PROTO=$(grep -o 'Protocol version: .*' "$T/srv.out" | cut -d' ' -f3)
  [ $rc -eq 124 ] && return 124
  if grep -qx -- "$PONG" <<<"$out" && [ $rc -eq 0 ]; then return 0; fi
  return 1
}

# handshake ok|fail NAME SERVER_CERT SERVER_KEY -- S_CLIENT_ARGS...
handshake() {
  local want=$1 name=$2 rc; shift 2
  hs_run "$@"; rc=$?
  case $rc in
    124) fail "$name" "s_client timed out" ;;
    3)   fail "$name" "$HS_DETAIL" ;;
    0)   [ "$want" = ok ] || fail "$name" "expected failure but data was exchanged; $HS_DETAIL"
         pass "$name ($HS_PROTO)" ;;
    *)   [ "$want" = fail ] || fail "$name" "$HS_DETAIL"
         pass "$name (rejected as expected)" ;;
  esac
}

if [ -n "$PROBE" ]; then
  bad=0
  probe() { # probe NAME RC DETAIL
    if [ "$2" -eq 0 ]; then echo "ACCEPTED $1"; else bad=1; echo "REJECTED $1: $(echo "$3" | tr '\n' ' ' | sed 's/  */ /g' | cut -c1-300)"; fi
  }
  out=$(timeout 10 openssl verify -CAfile "$D/ca.crt" -purpose sslserver "$D/server.crt" 2>&1); probe "verify -purpose sslserver server.crt" $? "$out"
  out=$(timeout 10 openssl verify -CAfile "$D/ca.crt" -purpose sslclient "$D/client.crt" 2>&1); probe "verify -purpose sslclient client.crt" $? "$out"
  hs_run "$D/server.crt" "$D/server.key" -- -cert "$D/client.crt" -key "$D/client.key" \
    -servername localhost -verify_hostname localhost; rc=$?
  [ $rc -eq 124 ] || [ $rc -eq 3 ] && { echo "ERROR handshake: $HS_DETAIL" >&2; exit 2; }
  probe "s_server/s_client mTLS handshake + app data" $rc "$HS_DETAIL"
  exit $bad
fi

# ---------------------------------------------------------------- key files
for k in ca server client; do
  name="$k.key is unencrypted PKCS#8 (BEGIN PRIVATE KEY)"
  head -1 "$D/$k.key" | grep -qx -- '-----BEGIN PRIVATE KEY-----' || fail "$name" "$(head -1 "$D/$k.key")"
  openssl pkey -in "$D/$k.key" -passin pass: -noout >/dev/null 2>&1 || fail "$name" "openssl pkey cannot read it without a passphrase"
  pass "$name"
  name="$k.key matches $k.crt"
  a=$(openssl pkey -in "$D/$k.key" -passin pass: -pubout 2>&1) || fail "$name" "$a"
  b=$(openssl x509 -in "$D/$k.crt" -noout -pubkey 2>&1) || fail "$name" "$b"
  [ "$a" = "$b" ] || fail "$name" "public keys differ"
  pass "$name"
done

# ------------------------------------------------------ chain + purpose checks
V=(openssl verify -CAfile "$D/ca.crt")
expect ok   "verify ca.crt (self-signed, -x509_strict)"            "${V[@]}" -x509_strict "$D/ca.crt"
expect ok   "verify -purpose sslserver server.crt"                 "${V[@]}" -purpose sslserver "$D/server.crt"
expect ok   "verify -purpose sslserver -x509_strict server.crt"    "${V[@]}" -purpose sslserver -x509_strict "$D/server.crt"
expect ok   "verify -purpose sslclient client.crt"                 "${V[@]}" -purpose sslclient "$D/client.crt"
expect ok   "verify -purpose sslclient -x509_strict client.crt"    "${V[@]}" -purpose sslclient -x509_strict "$D/client.crt"
expect ok   "verify server.crt -verify_hostname localhost"         "${V[@]}" -purpose sslserver -verify_hostname localhost "$D/server.crt"
expect ok   "verify server.crt -verify_ip 127.0.0.1"               "${V[@]}" -purpose sslserver -verify_ip 127.0.0.1 "$D/server.crt"
expect ok   "verify server.crt -verify_ip ::1"                     "${V[@]}" -purpose sslserver -verify_ip ::1 "$D/server.crt"
expect fail:"unsuitable certificate purpose" "verify -purpose sslclient server.crt"                 "${V[@]}" -purpose sslclient "$D/server.crt"
expect fail:"unsuitable certificate purpose" "verify -purpose sslserver client.crt"                 "${V[@]}" -purpose sslserver "$D/client.crt"
expect fail:"[Hh]ostname mismatch" "verify server.crt -verify_hostname wrong.invalid"     "${V[@]}" -purpose sslserver -verify_hostname wrong.invalid "$D/server.crt"
# OpenSSL's purpose table: only ca.crt may issue, each leaf has exactly one role
purposes() { # purposes FILE EXPECTED  (the 4 "SSL ..." lines joined by ';')
  local got; got=$(openssl x509 -noout -purpose -in "$D/$1" 2>&1 | grep -E '^SSL (client|server)( CA)? :' | tr '\n' ';')
  [ "$got" = "$2" ] || fail "x509 -purpose $1" "got '$got' want '$2'"
  pass "x509 -purpose $1: $2"
}
purposes ca.crt     "SSL client : No;SSL client CA : Yes;SSL server : No;SSL server CA : Yes;"
purposes server.crt "SSL client : No;SSL client CA : No;SSL server : Yes;SSL server CA : No;"
purposes client.crt "SSL client : Yes;SSL client CA : No;SSL server : No;SSL server CA : No;"

if [ -n "$O" ]; then
  expect fail:"unable to get local issuer" "verify OTHER/client.crt against ca.crt"             "${V[@]}" -purpose sslclient "$O/client.crt"
  expect fail:"unable to get local issuer" "verify server.crt against OTHER/ca.crt"             openssl verify -CAfile "$O/ca.crt" -purpose sslserver "$D/server.crt"
fi

# ---------------------------------------------------------------- handshakes
C=(-cert "$D/client.crt" -key "$D/client.key")
handshake ok   "s_server/s_client mTLS TLS1.3 + app data (host localhost)" "$D/server.crt" "$D/server.key" -- \
  "${C[@]}" -servername localhost -verify_hostname localhost -tls1_3
handshake ok   "s_server/s_client mTLS TLS1.2 + app data (host localhost)" "$D/server.crt" "$D/server.key" -- \
  "${C[@]}" -servername localhost -verify_hostname localhost -tls1_2
handshake ok   "s_server/s_client mTLS + app data (ip 127.0.0.1)"          "$D/server.crt" "$D/server.key" -- \
  "${C[@]}" -verify_ip 127.0.0.1
handshake fail "handshake: client sends no certificate"                     "$D/server.crt" "$D/server.key" -- \
  -servername localhost -verify_hostname localhost
handshake fail "handshake: server uses client.crt (clientAuth only)"        "$D/client.crt" "$D/client.key" -- \
  "${C[@]}" -servername localhost
handshake fail "handshake: client uses server.crt (serverAuth only)"        "$D/server.crt" "$D/server.key" -- \
  -cert "$D/server.crt" -key "$D/server.key" -servername localhost -verify_hostname localhost
handshake fail "handshake: client verifies wrong hostname"                  "$D/server.crt" "$D/server.key" -- \
  "${C[@]}" -servername wrong.invalid -verify_hostname wrong.invalid
if [ -n "$O" ]; then
  handshake fail "handshake: client cert from OTHER CA"                     "$D/server.crt" "$D/server.key" -- \
    -cert "$O/client.crt" -key "$O/client.key" -servername localhost -verify_hostname localhost
fi

echo "ALL OK ($N checks) $D"
