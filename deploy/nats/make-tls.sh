#!/bin/sh
# A private CA and one certificate for every NATS node, for client connections (Muster, nats-box)
# and for the routes between nodes (mutual TLS): deploy/README.md, "Credentials and TLS".
#   sh deploy/nats/make-tls.sh [OUT_DIR] [SAN ...]    e.g. DNS:nats.example.org IP:10.0.0.5
# OUT_DIR (default deploy/nats/tls) gets ca.crt and tls.crt (0644: Muster runs as uid 10001),
# tls.key and ca.key (0600).
# Keep ca.key offline; the nodes need ca.crt, tls.crt and tls.key, Muster only ca.crt.
set -eu
out=${1:-deploy/nats/tls}
[ $# -gt 0 ] && shift
umask 077
mkdir -p "$out"
# compose's node names and alias, and the k8s Services and StatefulSet pods (namespace muster)
sans="DNS:nats,DNS:nats-0,DNS:nats-1,DNS:nats-2,DNS:nats-3,DNS:nats.muster.svc"
sans="$sans,DNS:nats.muster.svc.cluster.local,DNS:*.nats-headless"
sans="$sans,DNS:*.nats-headless.muster.svc,DNS:*.nats-headless.muster.svc.cluster.local"
for san in "$@"; do sans="$sans,$san"; done
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
  -subj "/CN=muster-nats-ca" -keyout "$out/ca.key" -out "$out/ca.crt" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=nats" \
  -keyout "$out/tls.key" -out "$out/tls.csr" 2>/dev/null
printf '%s\n' "subjectAltName=$sans" "basicConstraints=critical,CA:FALSE" \
  "keyUsage=critical,digitalSignature,keyEncipherment" \
  "extendedKeyUsage=serverAuth,clientAuth" "subjectKeyIdentifier=hash" \
  "authorityKeyIdentifier=keyid" > "$out/tls.ext"
openssl x509 -req -in "$out/tls.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" -CAcreateserial \
  -days 825 -extfile "$out/tls.ext" -out "$out/tls.crt" 2>/dev/null
rm -f "$out/tls.csr" "$out/tls.ext" "$out/ca.srl"
chmod 644 "$out/ca.crt" "$out/tls.crt"
echo "wrote $out/ca.crt, $out/tls.crt, $out/tls.key (and $out/ca.key: keep it offline)"
