#!/usr/bin/env bash
# Makes a throw-away certificate authority and a server certificate it signed for 127.0.0.1 and
# localhost, in the directory given (created if missing): ca.pem (what clients trust),
# server.pem + server-key.pem (what `openpim serve --tls-cert/--tls-key` loads). Test use only:
# the CA key is kept beside them and nothing here is meant to outlive the test run.
set -euo pipefail
DIR=${1:?usage: make-test-ca.sh DIR}
mkdir -p "$DIR"
cd "$DIR"

# P-256 keys: quick to make, and rustls, OpenSSL and Python's ssl all accept them.
openssl ecparam -name prime256v1 -genkey -noout -out ca-key.pem 2>/dev/null
openssl req -x509 -new -key ca-key.pem -sha256 -days 2 -subj "/CN=OpenPIM test CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectKeyIdentifier=hash" \
    -out ca.pem 2>/dev/null

openssl ecparam -name prime256v1 -genkey -noout -out server-ec.pem 2>/dev/null
# PKCS#8, the key form every TLS stack reads.
openssl pkcs8 -topk8 -nocrypt -in server-ec.pem -out server-key.pem
rm -f server-ec.pem
openssl req -new -key server-key.pem -subj "/CN=127.0.0.1" -out server.csr 2>/dev/null
cat > server.ext <<'EXT'
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
EXT
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -sha256 -days 2 \
    -extfile server.ext -out server.pem 2>/dev/null
rm -f server.csr server.ext ca.srl
chmod 600 ca-key.pem server-key.pem
