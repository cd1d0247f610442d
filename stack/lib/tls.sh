# shellcheck shell=bash
# Certificates for a test server (the secured Kafka broker, the TLS database
# servers), made with Debian's openssl: an authority, the server's certificate
# for 127.0.0.1 and localhost, a client certificate, and an unrelated authority
# (for "wrong CA" tests). EC P-256 keys: made in milliseconds.

# Makes an EC key in $1 (PKCS#8, not encrypted).
tls_key() {
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null
}

# Makes the self-signed authority $1.pem (key $1.key) named $2.
tls_authority() {
  tls_key "$1.key"
  openssl req -x509 -new -key "$1.key" -out "$1.pem" -days 3650 -subj "/CN=$2" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
}

# Makes certificate $2.pem (key $2.key) signed by authority $1, for subject
# name $3 and subjectAltName $4.
tls_certificate() {
  local ca=$1 out=$2 name=$3 alt=$4
  tls_key "$out.key"
  openssl req -new -key "$out.key" -subj "/CN=$name" -out "$out.csr" 2>/dev/null
  openssl x509 -req -in "$out.csr" -CA "$ca.pem" -CAkey "$ca.key" -set_serial "0x$(openssl rand -hex 8)" \
    -days 3650 -out "$out.pem" \
    -extfile <(printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\n' "$alt") 2>/dev/null
  rm -f "$out.csr"
}

# A PKCS#12 key store $2.p12 of certificate $2 with its chain up to $1, the
# store and key protected by password $3 (what a JVM broker reads).
tls_keystore() {
  openssl pkcs12 -export -in "$2.pem" -inkey "$2.key" -certfile "$1.pem" -name broker \
    -out "$2.p12" -passout "pass:$3"
}

# Makes in folder $1 an authority (ca.pem), certificate $2.pem (key $2.key)
# for 127.0.0.1 and localhost, a client certificate (client.pem, client.key)
# and an unrelated authority (other-ca.pem); the authorities' keys are deleted.
tls_make_server_files() {
  local dir=$1 server=$2
  rm -rf "$dir"
  mkdir -p "$dir"
  chmod 700 "$dir"
  tls_authority "$dir/ca" 'cdc test authority'
  tls_certificate "$dir/ca" "$dir/$server" 127.0.0.1 'IP:127.0.0.1,DNS:localhost'
  tls_certificate "$dir/ca" "$dir/client" cdc-client 'DNS:cdc-client'
  tls_authority "$dir/other-ca" 'unrelated authority'
}

# The test broker's files in folder $1 (made once; replaced only when
# incomplete): those of tls_make_server_files, broker.p12, and wrong-host.p12
# made out to another host name, key stores protected by password $2.
tls_make_test_files() {
  local dir=$1 password=$2
  [[ -f "$dir/complete" ]] && return 0
  tls_make_server_files "$dir" broker
  tls_keystore "$dir/ca" "$dir/broker" "$password"
  tls_certificate "$dir/ca" "$dir/wrong-host" kafka.wrong-host.invalid 'DNS:kafka.wrong-host.invalid'
  tls_keystore "$dir/ca" "$dir/wrong-host" "$password"
  rm -f "$dir/ca.key" "$dir/other-ca.key"
  touch "$dir/complete"
}

# The test database servers' files in folder $1 (made once; replaced only
# when incomplete): those of tls_make_server_files, the server's named server,
# and wrong-host.pem and wrong-host.key made out to another host name.
tls_make_database_files() {
  local dir=$1
  [[ -f "$dir/complete" ]] && return 0
  tls_make_server_files "$dir" server
  tls_certificate "$dir/ca" "$dir/wrong-host" db.wrong-host.invalid 'DNS:db.wrong-host.invalid'
  rm -f "$dir/ca.key" "$dir/other-ca.key"
  touch "$dir/complete"
}
