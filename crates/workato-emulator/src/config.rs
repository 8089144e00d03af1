//! The emulator's options.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

/// Everything the emulator is started with.
#[derive(Clone)]
pub struct Config {
    /// The rlcm environment served as the workspace.
    pub env: PathBuf,
    /// Where the API listens (port 0: any free port).
    pub listen: SocketAddr,
    /// The API token clients must send as `Authorization: Bearer TOKEN`.
    pub token: String,
    /// The workspace name users/me reports (default: the environment's name).
    pub name: Option<String>,
    /// The workspace id users/me reports (default: the environment's id).
    pub id: Option<u64>,
    /// How many status polls answer `in_progress` before the final status.
    pub poll_delay: u32,
    /// Workato's documented rate limits, or none.
    pub rate_limits: RateLimits,
    /// Injected faults.
    pub faults: Vec<Fault>,
    /// Seed of the fault draws (the same seed and requests give the same faults).
    pub seed: u64,
    /// API path prefixes the `429`, `500` and `slow` faults are limited to (empty: every API
    /// request), e.g. `/api/packages/import/` to hit only imports.
    pub fault_on: Vec<String>,
    /// How long a `slow` answer waits.
    pub slow: Duration,
    /// How long a signed download URL is valid (Workato's recorded S3 URLs: 10 s).
    pub url_ttl: Duration,
}

impl fmt::Debug for Config {
    // The token is never printed, not even in a debug dump.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("env", &self.env)
            .field("listen", &self.listen)
            .field("token", &"<redacted>")
            .field("name", &self.name)
            .field("id", &self.id)
            .field("poll_delay", &self.poll_delay)
            .field("rate_limits", &self.rate_limits)
            .field("faults", &self.faults)
            .field("seed", &self.seed)
            .field("fault_on", &self.fault_on)
            .finish()
    }
}

impl Config {
    /// A configuration with the defaults of the binary.
    pub fn new(env: PathBuf, listen: SocketAddr, token: String) -> Config {
        Config {
            env,
            listen,
            token,
            name: None,
            id: None,
            poll_delay: 2,
            rate_limits: RateLimits::Documented,
            faults: Vec::new(),
            seed: 0,
            fault_on: Vec::new(),
            slow: Duration::from_secs(5),
            url_ttl: Duration::from_secs(10),
        }
    }
}

/// `--rate-limits`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RateLimits {
    /// The limits Workato documents per endpoint class (429 beyond them).
    Documented,
    /// No limits.
    Off,
}

/// What a fault does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultKind {
    /// An API request is answered 429 (no `Retry-After`), and not processed.
    TooManyRequests,
    /// An API request is answered 500 `{"message":"Server error","id":...}`, and not processed.
    ServerError,
    /// An API request is processed, then answered after `--slow-seconds`.
    Slow,
    /// A download sends its headers and half its bytes, then the connection is closed.
    DropDownload,
    /// A download is answered with a truncated zip (a complete, shorter response).
    TruncateDownload,
    /// A signed download URL is handed out already expired (the download origin answers 403).
    ExpireDownload,
}

impl FaultKind {
    /// The name used in `--fault KIND:RATE`.
    pub fn as_str(self) -> &'static str {
        match self {
            FaultKind::TooManyRequests => "429",
            FaultKind::ServerError => "500",
            FaultKind::Slow => "slow",
            FaultKind::DropDownload => "drop-download",
            FaultKind::TruncateDownload => "truncate-download",
            FaultKind::ExpireDownload => "expire-download",
        }
    }

    const ALL: [FaultKind; 6] = [
        FaultKind::TooManyRequests,
        FaultKind::ServerError,
        FaultKind::Slow,
        FaultKind::DropDownload,
        FaultKind::TruncateDownload,
        FaultKind::ExpireDownload,
    ];
}

/// `--fault KIND:RATE`: a fault and the share of the requests it hits (0 to 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fault {
    /// What happens.
    pub kind: FaultKind,
    /// How often, from 0 (never) to 1 (always).
    pub rate: f64,
}

impl FromStr for Fault {
    type Err = String;

    fn from_str(s: &str) -> Result<Fault, String> {
        let kinds = || {
            FaultKind::ALL
                .iter()
                .map(|k| k.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let (kind, rate) = s
            .rsplit_once(':')
            .ok_or_else(|| format!("`{s}`: expected KIND:RATE (kinds: {}; RATE from 0 to 1)", kinds()))?;
        let kind = FaultKind::ALL
            .into_iter()
            .find(|k| k.as_str() == kind)
            .ok_or_else(|| format!("`{kind}` is not a fault kind (kinds: {})", kinds()))?;
        let rate: f64 = rate
            .parse()
            .map_err(|_| format!("`{rate}` is not a number; RATE goes from 0 to 1"))?;
        if !(0.0..=1.0).contains(&rate) {
            return Err(format!("rate {rate} is outside 0..1"));
        }
        Ok(Fault { kind, rate })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_parse() {
        let f: Fault = "drop-download:0.5".parse().unwrap();
        assert_eq!(f.kind, FaultKind::DropDownload);
        assert_eq!(f.rate, 0.5);
        assert_eq!("429:1".parse::<Fault>().unwrap().kind, FaultKind::TooManyRequests);
        assert!("429".parse::<Fault>().is_err());
        assert!(
            "boom:1"
                .parse::<Fault>()
                .unwrap_err()
                .contains("not a fault kind")
        );
        assert!("500:1.5".parse::<Fault>().unwrap_err().contains("outside"));
        assert!("slow:x".parse::<Fault>().is_err());
    }

    #[test]
    fn debug_never_shows_the_token() {
        let c = Config::new("e".into(), "127.0.0.1:0".parse().unwrap(), "sekrit-token".into());
        assert!(!format!("{c:?}").contains("sekrit-token"));
    }
}
