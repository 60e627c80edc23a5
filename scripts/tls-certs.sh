#!/usr/bin/env bash
# Makes a throwaway CA and a server certificate for 127.0.0.1/localhost: scripts/tls-certs.sh DIR
# (ca.pem, server-cert.pem, server-key.pem, and other-ca.pem, a CA that signed nothing).
set -euo pipefail
dir=${1:?DIR}
mkdir -p "$dir"
cd "$dir"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=binlake test CA" \
  -keyout ca-key.pem -out ca.pem 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=other CA" \
  -keyout other-ca-key.pem -out other-ca.pem 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout server-key.pem \
  -out server.csr 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >ext.cnf
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 2 \
  -extfile ext.cnf -out server-cert.pem 2>/dev/null
chmod 644 ./*.pem
