//! ACME (RFC 8555) with TLS-ALPN-01 on the relay's own TLS listener: obtains a certificate for
//! `--acme-domain`, caches it in the data directory, and renews it in the background.

use anyhow::Context;
use instant_acme::{
    Account, AccountCredentials, AuthorizationStatus, ChallengeType, Identifier, NewAccount,
    NewOrder, OrderStatus, RetryPolicy,
};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub use crate::tls::ACME_TLS_ALPN;
/// Let's Encrypt's production directory.
pub const LETS_ENCRYPT: &str = "https://acme-v02.api.letsencrypt.org/directory";
/// Certificates are renewed this long after issuance (Let's Encrypt issues 90-day ones).
pub const RENEW_AFTER: Duration = Duration::from_secs(60 * 24 * 3600);

/// What to obtain, from where, and where to cache it.
#[derive(Clone, Debug)]
pub struct AcmeOptions {
    /// The DNS name the certificate is for.
    pub domain: String,
    /// Contact address given to the CA.
    pub email: String,
    /// The ACME directory URL.
    pub directory: String,
    /// Where the account, certificate and key are cached.
    pub cache_dir: PathBuf,
    /// Extra root (PEM file) trusted for the directory's own HTTPS (test CAs such as pebble).
    pub directory_root: Option<PathBuf>,
}

/// Serves the current certificate, or the TLS-ALPN-01 challenge certificate to validators.
#[derive(Debug, Default)]
pub struct AcmeResolver {
    current: RwLock<Option<Arc<CertifiedKey>>>,
    challenges: Mutex<HashMap<String, Arc<CertifiedKey>>>,
}

impl AcmeResolver {
    /// Installs a certificate for the next handshakes.
    pub fn set(&self, key: CertifiedKey) {
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(key));
    }

    /// Whether a certificate is installed.
    pub fn has_certificate(&self) -> bool {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
    }

    fn set_challenge(&self, domain: &str, key: Option<CertifiedKey>) {
        let mut map = self.challenges.lock().unwrap_or_else(|p| p.into_inner());
        match key {
            Some(k) => map.insert(domain.to_ascii_lowercase(), Arc::new(k)),
            None => map.remove(&domain.to_ascii_lowercase()),
        };
    }
}

impl ResolvesServerCert for AcmeResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let is_acme = hello
            .alpn()
            .is_some_and(|mut protos| protos.any(|p| p == ACME_TLS_ALPN));
        if is_acme {
            let name = hello.server_name()?.to_ascii_lowercase();
            let map = self.challenges.lock().unwrap_or_else(|p| p.into_inner());
            return map.get(&name).cloned();
        }
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

fn challenge_cert(domain: &str, digest: &[u8]) -> anyhow::Result<CertifiedKey> {
    let mut params = rcgen::CertificateParams::new(vec![domain.to_string()])
        .context("challenge certificate parameters")?;
    params
        .custom_extensions
        .push(rcgen::CustomExtension::new_acme_identifier(digest));
    let key = rcgen::KeyPair::generate().context("challenge key")?;
    let cert = params.self_signed(&key).context("challenge certificate")?;
    crate::tls::certified_key_from_pem(cert.pem().as_bytes(), key.serialize_pem().as_bytes())
}

fn paths(opts: &AcmeOptions) -> (PathBuf, PathBuf, PathBuf, PathBuf) {
    let d = &opts.cache_dir;
    let safe: String = opts
        .domain
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    (
        d.join("account.json"),
        d.join(format!("{safe}.crt")),
        d.join(format!("{safe}.key")),
        d.join(format!("{safe}.issued")),
    )
}

fn write_private(path: &std::path::Path, data: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    f.write_all(data)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Loads a cached certificate if present; returns when it was issued (ms since the epoch).
pub fn load_cached(opts: &AcmeOptions, resolver: &AcmeResolver) -> Option<u64> {
    let (_, crt, key, issued) = paths(opts);
    let loaded = crate::tls::load_pem_files(&crt, &key).ok()?;
    resolver.set(loaded);
    std::fs::read_to_string(issued).ok()?.trim().parse().ok()
}

async fn account(opts: &AcmeOptions) -> anyhow::Result<Account> {
    let (path, ..) = paths(opts);
    let builder = || match &opts.directory_root {
        Some(root) => Account::builder_with_root(root),
        None => Account::builder(),
    };
    if let Ok(text) = std::fs::read_to_string(&path) {
        if let Ok(creds) = serde_json::from_str::<AccountCredentials>(&text) {
            return builder()?
                .from_credentials(creds)
                .await
                .context("restoring the ACME account");
        }
    }
    let contact = format!("mailto:{}", opts.email);
    let (account, creds) = builder()?
        .create(
            &NewAccount {
                contact: &[&contact],
                terms_of_service_agreed: true,
                only_return_existing: false,
            },
            opts.directory.clone(),
            None,
        )
        .await
        .with_context(|| format!("creating an ACME account at {}", opts.directory))?;
    std::fs::create_dir_all(&opts.cache_dir)
        .with_context(|| format!("creating {}", opts.cache_dir.display()))?;
    write_private(&path, serde_json::to_string(&creds)?.as_bytes())?;
    Ok(account)
}

/// Obtains a certificate now (TLS-ALPN-01 answered by `resolver`), caches and installs it.
pub async fn obtain(opts: &AcmeOptions, resolver: &AcmeResolver) -> anyhow::Result<()> {
    let account = account(opts).await?;
    let ids = [Identifier::Dns(opts.domain.clone())];
    let mut order = account
        .new_order(&NewOrder::new(&ids))
        .await
        .context("creating the ACME order")?;
    let mut authorizations = order.authorizations();
    while let Some(authz) = authorizations.next().await {
        let mut authz = authz.context("reading an ACME authorization")?;
        if authz.status == AuthorizationStatus::Valid {
            continue;
        }
        let mut challenge = authz
            .challenge(ChallengeType::TlsAlpn01)
            .context("the CA offers no tls-alpn-01 challenge")?;
        let digest = challenge.key_authorization().digest();
        resolver.set_challenge(
            &opts.domain,
            Some(challenge_cert(&opts.domain, digest.as_ref())?),
        );
        challenge
            .set_ready()
            .await
            .context("telling the CA the challenge is ready")?;
    }
    let retry = RetryPolicy::new().timeout(Duration::from_secs(90));
    let status = order
        .poll_ready(&retry)
        .await
        .context("waiting for validation");
    resolver.set_challenge(&opts.domain, None);
    let status = status?;
    if status != OrderStatus::Ready {
        anyhow::bail!("the ACME order ended as {status:?}, not ready");
    }
    let key_pem = order.finalize().await.context("finalizing the order")?;
    let chain_pem = order
        .poll_certificate(&retry)
        .await
        .context("downloading the certificate")?;
    let key = crate::tls::certified_key_from_pem(chain_pem.as_bytes(), key_pem.as_bytes())?;
    let (_, crt, keyfile, issued) = paths(opts);
    std::fs::create_dir_all(&opts.cache_dir)
        .with_context(|| format!("creating {}", opts.cache_dir.display()))?;
    write_private(&keyfile, key_pem.as_bytes())?;
    write_private(&crt, chain_pem.as_bytes())?;
    write_private(&issued, crate::clock::now_ms().to_string().as_bytes())?;
    resolver.set(key);
    tracing::info!(domain = %opts.domain, "ACME certificate installed");
    Ok(())
}

/// Keeps a certificate installed: uses the cache, obtains one when missing or due for
/// renewal, retries failures with backoff, until `shutdown`.
pub async fn maintain(opts: AcmeOptions, resolver: Arc<AcmeResolver>, shutdown: CancellationToken) {
    let mut issued = load_cached(&opts, &resolver);
    let mut backoff = Duration::from_secs(10);
    loop {
        let due = match issued {
            Some(at) => {
                let age = Duration::from_millis(crate::clock::now_ms().saturating_sub(at));
                RENEW_AFTER.saturating_sub(age)
            }
            None => Duration::ZERO,
        };
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(due) => {}
        }
        match obtain(&opts, &resolver).await {
            Ok(()) => {
                issued = Some(crate::clock::now_ms());
                backoff = Duration::from_secs(10);
            }
            Err(err) => {
                tracing::error!(err = %format!("{err:#}"), domain = %opts.domain, retry_in_s = backoff.as_secs(), "ACME issuance failed");
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(3600));
            }
        }
    }
}
