//! A throwaway certificate authority and the TLS mode of [`TestServer`].
//!
//! Each `TestCa` is fresh (new keys per test), so a server signed by one CA is untrusted by a
//! client given another: that is how tests provoke certificate errors. rustls runs with the ring
//! provider passed explicitly, so no process-wide default provider is installed.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use super::server::TestServer;

/// A CA that signs leaf certificates for test servers.
pub struct TestCa {
    issuer: Issuer<'static, KeyPair>,
    der: CertificateDer<'static>,
    pem: String,
}

impl TestCa {
    pub fn new() -> Self {
        let key = KeyPair::generate().expect("generate CA key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        // A distinct name per CA: with a shared name, a client given another test CA would pick it
        // as the issuer and fail on the signature instead of reporting an unknown issuer.
        static SERIAL: AtomicUsize = AtomicUsize::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = format!(
            "hookstrap test CA {}-{}-{nanos}",
            std::process::id(),
            SERIAL.fetch_add(1, Ordering::Relaxed)
        );
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let cert = params.self_signed(&key).expect("self-sign CA");
        Self {
            der: cert.der().clone(),
            pem: cert.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    /// The CA certificate, PEM.
    pub fn pem(&self) -> &str {
        &self.pem
    }

    /// Write the CA certificate to `dir/test-ca.pem` (for `SSL_CERT_FILE`, `curl --cacert`).
    pub fn write_pem(&self, dir: &Path) -> PathBuf {
        let path = dir.join("test-ca.pem");
        std::fs::write(&path, &self.pem).expect("write CA pem");
        path
    }

    /// A server config presenting a leaf for `names` (DNS names or IP addresses), signed by
    /// this CA; ALPN offers `http/1.1` only.
    pub fn server_config(&self, names: &[&str]) -> Arc<rustls::ServerConfig> {
        let key = KeyPair::generate().expect("generate leaf key");
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let mut params = CertificateParams::new(names).expect("leaf params");
        params
            .distinguished_name
            .push(DnType::CommonName, "hookstrap test server");
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let leaf = params.signed_by(&key, &self.issuer).expect("sign leaf");
        let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_no_client_auth()
            .with_single_cert(vec![leaf.der().clone(), self.der.clone()], key_der)
            .expect("server certificate");
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Arc::new(config)
    }
}

impl Default for TestCa {
    fn default() -> Self {
        Self::new()
    }
}

impl TestServer {
    /// An HTTPS server whose certificate, signed by `ca`, is valid for `localhost` and
    /// `127.0.0.1`; `url()` is `https://localhost:PORT`, `url_ip()` `https://127.0.0.1:PORT`.
    pub fn start_tls(ca: &TestCa) -> Self {
        Self::start_tls_for(ca, &["localhost", "127.0.0.1"])
    }

    /// An HTTPS server whose certificate is valid for `names` only (e.g. `&["example.test"]` to
    /// provoke a name mismatch).
    pub fn start_tls_for(ca: &TestCa, names: &[&str]) -> Self {
        Self::start_with(Some(ca.server_config(names)))
    }
}
