#!/bin/sh
# A staging PKI for the compose stack (deploy/compose.yaml), with openssl: one CA, the
# Temporal frontend's and internode certificates, a client certificate per component (worker,
# console, admin = `claims cluster setup` and operators' `temporal` CLI, ui = Temporal's UI),
# and a certificate for the console's https name (nginx). Written to deploy/pki/out/<component>/,
# each folder holding ca.crt and only its own key. Keys are EC P-256, certificates valid 397 days.
#
#   sh deploy/pki/make-staging-pki.sh [console-name] [frontend-name]
#
# For production use the province's CA (or a private CA service) instead and keep the CA key
# off these machines; this script is for staging. It refuses to overwrite an existing out/.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out="$here/out"
console_name="${1:-claims.example.cn}"
frontend_name="${2:-temporal-frontend.claims.internal}"
internode_name="temporal-internode.claims.internal"
days=397
[ -e "$out" ] && { echo "$out exists: remove it to issue new certificates" >&2; exit 1; }
umask 077
mkdir -p "$out/ca"
openssl ecparam -name prime256v1 -genkey -noout -out "$out/ca/ca.key"
openssl req -x509 -new -key "$out/ca/ca.key" -sha256 -days "$days" -subj "/O=Claims staging/CN=Claims staging CA" \
  -addext "basicConstraints=critical,CA:TRUE,pathlen:0" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -out "$out/ca/ca.crt"

# issue <folder> <file name> <common name> <extendedKeyUsage> [subjectAltName]
issue() {
  dir="$out/$1"; mkdir -p "$dir"; cp "$out/ca/ca.crt" "$dir/ca.crt"
  openssl ecparam -name prime256v1 -genkey -noout -out "$dir/$2.key.tmp"
  openssl pkcs8 -topk8 -nocrypt -in "$dir/$2.key.tmp" -out "$dir/$2.key" && rm "$dir/$2.key.tmp"
  ext="$dir/$2.ext"
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature"
    echo "extendedKeyUsage=$4"
    [ -n "${5:-}" ] && echo "subjectAltName=$5"
  } > "$ext"
  openssl req -new -key "$dir/$2.key" -subj "/O=Claims staging/CN=$3" -out "$dir/$2.csr"
  openssl x509 -req -in "$dir/$2.csr" -CA "$out/ca/ca.crt" -CAkey "$out/ca/ca.key" -CAcreateserial \
    -days "$days" -sha256 -extfile "$ext" -out "$dir/$2.crt" 2>/dev/null
  rm "$dir/$2.csr" "$ext"
}
issue temporal frontend "$frontend_name" serverAuth,clientAuth "DNS:$frontend_name"
issue temporal internode "$internode_name" serverAuth,clientAuth "DNS:$internode_name"
issue worker worker claims-worker clientAuth
issue console console claims-console clientAuth
issue admin admin claims-admin clientAuth
issue ui ui temporal-ui clientAuth
issue proxy console "$console_name" serverAuth "DNS:$console_name"
# readable by the containers' users (temporal, claims uid 10001, nginx, ui): staging only; in
# production each key is its service user's, mode 0400
chmod 755 "$out" "$out"/*/
chmod 644 "$out"/*/*.crt "$out"/*/*.key
chmod 600 "$out/ca/ca.key"
echo "certificates in $out (CA key: $out/ca/ca.key; move it off this machine)"
