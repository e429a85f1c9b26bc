//! TLS: a certificate resolver whose certificate can be swapped while the relay runs
//! (`SIGHUP` reloads the PEM files; ACME renewals install new ones), and the server config.

use anyhow::Context;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use tokio_rustls::TlsAcceptor;

/// The ALPN protocol of TLS-ALPN-01 (RFC 8737). Offered here, beside HTTP/1.1, so the ACME
/// client ([`crate::acme`]) can answer its challenge on the serving port; defined here so the
/// TLS set-up does not depend on the ACME client.
pub const ACME_TLS_ALPN: &[u8] = b"acme-tls/1";

/// Parses a PEM certificate chain and private key into a ring-backed `CertifiedKey`.
pub fn certified_key_from_pem(cert_pem: &[u8], key_pem: &[u8]) -> anyhow::Result<CertifiedKey> {
    let chain: Vec<CertificateDer<'static>> = rustls_pemfile::certs(&mut &cert_pem[..])
        .collect::<Result<_, _>>()
        .context("reading PEM certificates")?;
    if chain.is_empty() {
        anyhow::bail!("no certificate found in the PEM data");
    }
    let key: PrivateKeyDer<'static> = rustls_pemfile::private_key(&mut &key_pem[..])
        .context("reading the PEM private key")?
        .context("no private key found in the PEM data")?;
    let signing = rustls::crypto::ring::sign::any_supported_type(&key)
        .map_err(|e| anyhow::anyhow!("unsupported private key: {e}"))?;
    Ok(CertifiedKey::new(chain, signing))
}

/// Reads `cert` and `key` PEM files.
pub fn load_pem_files(cert: &Path, key: &Path) -> anyhow::Result<CertifiedKey> {
    let cert_pem =
        std::fs::read(cert).with_context(|| format!("reading certificate {}", cert.display()))?;
    let key_pem =
        std::fs::read(key).with_context(|| format!("reading private key {}", key.display()))?;
    certified_key_from_pem(&cert_pem, &key_pem)
        .with_context(|| format!("loading {} and {}", cert.display(), key.display()))
}

/// Serves one certificate to every client; [`CertResolver::set`] swaps it atomically.
#[derive(Debug)]
pub struct CertResolver {
    current: RwLock<Arc<CertifiedKey>>,
    files: Option<(PathBuf, PathBuf)>,
}

impl CertResolver {
    /// A resolver serving `key`.
    pub fn new(key: CertifiedKey) -> Self {
        CertResolver {
            current: RwLock::new(Arc::new(key)),
            files: None,
        }
    }

    /// A resolver serving the PEM files `cert` and `key`, which [`CertResolver::reload`] rereads.
    pub fn from_files(cert: &Path, key: &Path) -> anyhow::Result<Self> {
        let loaded = load_pem_files(cert, key)?;
        Ok(CertResolver {
            current: RwLock::new(Arc::new(loaded)),
            files: Some((cert.to_path_buf(), key.to_path_buf())),
        })
    }

    /// Installs a new certificate for the next handshakes.
    pub fn set(&self, key: CertifiedKey) {
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(key);
    }

    /// Rereads the PEM files; on error the current certificate stays in use.
    pub fn reload(&self) -> anyhow::Result<()> {
        let Some((cert, key)) = &self.files else {
            anyhow::bail!("this certificate was not loaded from files");
        };
        self.set(load_pem_files(cert, key)?);
        Ok(())
    }

    /// The certificate chain currently served.
    pub fn current(&self) -> Arc<CertifiedKey> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl ResolvesServerCert for CertResolver {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

/// A TLS acceptor (ring provider, TLS 1.2 and 1.3, ALPN `http/1.1`) using `resolver`.
pub fn acceptor(resolver: Arc<dyn ResolvesServerCert>) -> anyhow::Result<TlsAcceptor> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("choosing TLS versions")?
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    config.alpn_protocols = vec![b"http/1.1".to_vec(), ACME_TLS_ALPN.to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}
