//! [`Store`] on SQLite: one database file `DIR/registry.sqlite3` in WAL mode, schema migrations
//! versioned in this crate (`PRAGMA user_version`), blobs beside it ([`crate::blobs`]).

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use rlcm::registry::api::{
    CatalogApp, LinkInfo, ListingStatus, ListingView, LogoKind, ShareOutcome, SharedVersionSummary,
};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::store::*;

/// The schema, one migration per entry; entry `i` takes the database from version `i` to
/// `i + 1`. Never edit a released entry: append a new one (listings of the community library
/// come as the next migration).
pub const MIGRATIONS: &[&str] = &[
    // 1: publishers, connectors, shared versions, links, installs, audit log.
    "CREATE TABLE publishers (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        token_hash TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL,
        revoked_at TEXT
    );
    CREATE TABLE admin (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        token_hash TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE TABLE connectors (
        id INTEGER PRIMARY KEY,
        slug TEXT NOT NULL UNIQUE,
        title TEXT NOT NULL,
        publisher_id INTEGER NOT NULL REFERENCES publishers(id),
        created_at TEXT NOT NULL
    );
    CREATE TABLE versions (
        connector_id INTEGER NOT NULL REFERENCES connectors(id),
        seq INTEGER NOT NULL,
        version INTEGER NOT NULL,
        title TEXT NOT NULL,
        note TEXT,
        metadata TEXT NOT NULL,
        code_blob TEXT NOT NULL,
        logo_blob TEXT,
        logo_kind TEXT,
        actions TEXT NOT NULL,
        triggers TEXT NOT NULL,
        shared_at TEXT NOT NULL,
        shared_by INTEGER NOT NULL REFERENCES publishers(id),
        PRIMARY KEY (connector_id, seq),
        UNIQUE (connector_id, version)
    );
    CREATE TABLE links (
        id INTEGER PRIMARY KEY,
        public_id TEXT NOT NULL UNIQUE,
        connector_id INTEGER NOT NULL REFERENCES connectors(id),
        token_hash TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL,
        last_used_at TEXT,
        revoked_at TEXT
    );
    CREATE TABLE installs (
        id INTEGER PRIMARY KEY,
        public_id TEXT NOT NULL UNIQUE,
        connector_id INTEGER NOT NULL REFERENCES connectors(id),
        link_id INTEGER REFERENCES links(id),
        token_hash TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL,
        revoked_at TEXT
    );
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        client TEXT NOT NULL,
        action TEXT NOT NULL,
        connector TEXT,
        detail TEXT
    );",
    // 2: the community library: the apps catalog (seeded from `data/apps.json`), listings with
    // their review, admin sessions of the web admin.
    "CREATE TABLE apps (
        slug TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        website TEXT,
        created_at TEXT NOT NULL
    );
    CREATE UNIQUE INDEX apps_name ON apps (name COLLATE NOCASE);
    CREATE TABLE listings (
        id INTEGER PRIMARY KEY,
        connector_id INTEGER NOT NULL UNIQUE REFERENCES connectors(id),
        app_slug TEXT REFERENCES apps(slug),
        app_name TEXT NOT NULL,
        categories TEXT NOT NULL,
        description TEXT,
        direct_install INTEGER NOT NULL,
        landing_page TEXT,
        status TEXT NOT NULL CHECK (status IN ('pending', 'live', 'rejected', 'disabled')),
        reason TEXT,
        submitted_at TEXT NOT NULL,
        reviewed_at TEXT
    );
    CREATE INDEX listings_status ON listings (status);
    CREATE INDEX installs_connector ON installs (connector_id);
    CREATE TABLE admin_sessions (
        id_hash TEXT PRIMARY KEY,
        csrf TEXT NOT NULL,
        expires_at INTEGER NOT NULL
    );",
];

/// The apps catalog shipped with the registry (name, slug, website), loaded by migration 2.
pub const SHIPPED_APPS: &str = include_str!("../data/apps.json");

/// The shipped catalog, parsed.
pub fn shipped_apps() -> StoreResult<Vec<CatalogApp>> {
    serde_json::from_str(SHIPPED_APPS)
        .map_err(|e| StoreError::Backend(format!("the shipped apps catalog is not valid: {e}")))
}

/// How many read-only connections [`SqliteStore`] keeps beside its one writer.
const READERS: usize = 4;

/// The SQLite store: one connection that writes (SQLite allows one writer at a time) and a small
/// pool of read-only connections, which WAL lets read while the writer commits.
pub struct SqliteStore {
    conn: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
}

fn db(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn now() -> String {
    rlcm::env::now_rfc3339()
}

fn log(
    tx: &Connection,
    audit: &Audit,
    action: AuditAction,
    connector: Option<&str>,
    detail: Option<&str>,
) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO audit (at, actor, client, action, connector, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            now(),
            audit.actor,
            audit.client,
            action.as_str(),
            connector,
            detail
        ],
    )
    .map_err(db)?;
    Ok(())
}

fn kind_name(k: LogoKind) -> &'static str {
    match k {
        LogoKind::Png => "png",
        LogoKind::Jpeg => "jpeg",
    }
}

fn kind_of(s: &str) -> Option<LogoKind> {
    match s {
        "png" => Some(LogoKind::Png),
        "jpeg" => Some(LogoKind::Jpeg),
        _ => None,
    }
}

impl SqliteStore {
    /// Opens (creating) `data/registry.sqlite3`, in WAL mode, migrated to the latest schema.
    pub fn open(data: &Path) -> StoreResult<SqliteStore> {
        std::fs::create_dir_all(data)
            .map_err(|e| StoreError::Backend(format!("cannot create `{}`: {e}", data.display())))?;
        let path = data.join("registry.sqlite3");
        let mut conn = Connection::open(&path)
            .map_err(|e| StoreError::Backend(format!("cannot open `{}`: {e}", path.display())))?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(db)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(db)?;
        conn.pragma_update(None, "synchronous", "FULL").map_err(db)?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(db)?;
        migrate(&mut conn)?;
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            let r = Connection::open_with_flags(
                &path,
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            .map_err(|e| StoreError::Backend(format!("cannot open `{}` for reading: {e}", path.display())))?;
            r.busy_timeout(std::time::Duration::from_secs(10)).map_err(db)?;
            readers.push(Mutex::new(r));
        }
        Ok(SqliteStore {
            conn: Mutex::new(conn),
            readers,
            next_reader: AtomicUsize::new(0),
        })
    }

    /// Runs a read on one of the read-only connections: the first free one from a rotating
    /// start, else waits for the next in turn. Never blocks on the writer (WAL).
    fn read<T>(&self, f: impl FnOnce(&Connection) -> StoreResult<T>) -> StoreResult<T> {
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed);
        let n = self.readers.len();
        for i in 0..n {
            if let Ok(guard) = self.readers[(start + i) % n].try_lock() {
                return f(&guard);
            }
        }
        let guard = self.readers[start % n]
            .lock()
            .map_err(|_| StoreError::Backend("a database read handle was poisoned".into()))?;
        f(&guard)
    }

    fn with<T>(&self, f: impl FnOnce(&mut Connection) -> StoreResult<T>) -> StoreResult<T> {
        let mut guard = self
            .conn
            .lock()
            .map_err(|_| StoreError::Backend("the database handle was poisoned".into()))?;
        f(&mut guard)
    }
}

/// Applies the migrations the database has not seen, each in its own transaction.
fn migrate(conn: &mut Connection) -> StoreResult<()> {
    let current: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(db)?;
    if current as usize > MIGRATIONS.len() {
        return Err(StoreError::Backend(format!(
            "the database has schema version {current}, newer than this rlcm-registry knows ({}); upgrade rlcm-registry",
            MIGRATIONS.len()
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let tx = conn.transaction().map_err(db)?;
        tx.execute_batch(sql).map_err(db)?;
        if i + 1 == 2 {
            for a in shipped_apps()? {
                tx.execute(
                    "INSERT INTO apps (slug, name, website, created_at) VALUES (?1, ?2, ?3, ?4)",
                    params![a.slug, a.name, a.website, now()],
                )
                .map_err(db)?;
            }
        }
        tx.pragma_update(None, "user_version", (i + 1) as i64)
            .map_err(db)?;
        tx.commit().map_err(db)?;
    }
    Ok(())
}

fn connector_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Connector> {
    Ok(Connector {
        id: r.get(0)?,
        slug: r.get(1)?,
        title: r.get(2)?,
        publisher_id: r.get(3)?,
        publisher: r.get(4)?,
    })
}

const CONNECTOR_COLS: &str = "c.id, c.slug, c.title, c.publisher_id, p.name FROM connectors c JOIN publishers p ON p.id = c.publisher_id";

fn publisher_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Publisher> {
    Ok(Publisher {
        id: r.get(0)?,
        name: r.get(1)?,
        created_at: r.get(2)?,
        revoked_at: r.get(3)?,
    })
}

const LISTING_COLS: &str = "l.id, c.slug, c.title, p.name, l.app_name, l.app_slug, l.categories,
    l.description, l.direct_install, l.landing_page, l.status, l.reason, l.submitted_at, l.reviewed_at,
    (SELECT COUNT(*) FROM installs i WHERE i.connector_id = c.id AND i.link_id IS NULL),
    (SELECT v.title FROM versions v WHERE v.connector_id = c.id ORDER BY v.seq DESC LIMIT 1),
    (SELECT v.logo_blob IS NOT NULL FROM versions v WHERE v.connector_id = c.id ORDER BY v.seq DESC LIMIT 1)
    FROM listings l JOIN connectors c ON c.id = l.connector_id JOIN publishers p ON p.id = c.publisher_id";

fn listing_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ListingView> {
    let slug: String = r.get(1)?;
    let app_slug: Option<String> = r.get(5)?;
    let status: String = r.get(10)?;
    let latest_title: Option<String> = r.get(15)?;
    Ok(ListingView {
        format_version: 1,
        id: r.get(0)?,
        url: format!("/connectors/{slug}"),
        connector_id: slug,
        title: latest_title.map_or_else(|| r.get(2), Ok)?,
        publisher: r.get(3)?,
        app: r.get(4)?,
        not_in_catalog: app_slug.is_none(),
        app_slug,
        categories: serde_json::from_str(&r.get::<_, String>(6)?).unwrap_or_default(),
        description: r.get(7)?,
        direct_install: r.get(8)?,
        landing_page: r.get(9)?,
        status: ListingStatus::parse(&status).unwrap_or(ListingStatus::Pending),
        reason: r.get(11)?,
        submitted_at: r.get(12)?,
        reviewed_at: r.get(13)?,
        installs: r.get::<_, i64>(14)? as u64,
        has_logo: r.get::<_, Option<bool>>(16)?.unwrap_or(false),
    })
}

fn like(q: &str) -> String {
    let mut s = String::from("%");
    for ch in q.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            s.push('\\');
        }
        s.push(ch);
    }
    s.push('%');
    s
}

fn app_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<CatalogApp> {
    Ok(CatalogApp {
        slug: r.get(0)?,
        name: r.get(1)?,
        website: r.get(2)?,
    })
}

impl Store for SqliteStore {
    fn add_publisher(&self, name: &str, token_hash: &str, audit: &Audit) -> StoreResult<()> {
        self.with(|c| {
            let tx = c.transaction().map_err(db)?;
            let exists: Option<i64> = tx
                .query_row("SELECT id FROM publishers WHERE name = ?1", [name], |r| r.get(0))
                .optional()
                .map_err(db)?;
            if exists.is_some() {
                return Err(StoreError::Conflict(format!(
                    "a publisher named `{name}` exists already; choose another name (or revoke it first)"
                )));
            }
            tx.execute(
                "INSERT INTO publishers (name, token_hash, created_at) VALUES (?1, ?2, ?3)",
                params![name, token_hash, now()],
            )
            .map_err(db)?;
            log(&tx, audit, AuditAction::PublisherAdd, None, Some(name))?;
            tx.commit().map_err(db)
        })
    }

    fn publishers(&self) -> StoreResult<Vec<Publisher>> {
        self.with(|c| {
            let mut st = c
                .prepare("SELECT id, name, created_at, revoked_at FROM publishers ORDER BY name")
                .map_err(db)?;
            let rows = st.query_map([], publisher_row).map_err(db)?;
            rows.collect::<Result<_, _>>().map_err(db)
        })
    }

    fn revoke_publisher(&self, name: &str, audit: &Audit) -> StoreResult<()> {
        self.with(|c| {
            let tx = c.transaction().map_err(db)?;
            let n = tx
                .execute(
                    "UPDATE publishers SET revoked_at = ?2 WHERE name = ?1 AND revoked_at IS NULL",
                    params![name, now()],
                )
                .map_err(db)?;
            if n == 0 {
                return Err(StoreError::NotFound(format!(
                    "no active publisher named `{name}`"
                )));
            }
            log(&tx, audit, AuditAction::PublisherRevoke, None, Some(name))?;
            tx.commit().map_err(db)
        })
    }

    fn publisher_by_token(&self, token_hash: &str) -> StoreResult<Option<Publisher>> {
        self.read(|c| {
            let found: Option<(Publisher, String)> = c
                .query_row(
                    "SELECT id, name, created_at, revoked_at, token_hash FROM publishers
                     WHERE token_hash = ?1 AND revoked_at IS NULL",
                    [token_hash],
                    |r| Ok((publisher_row(r)?, r.get(4)?)),
                )
                .optional()
                .map_err(db)?;
            Ok(found
                .filter(|(_, h)| crate::tokens::same_hash(h, token_hash))
                .map(|(p, _)| p))
        })
    }

    fn set_admin_token(&self, token_hash: &str, audit: &Audit) -> StoreResult<()> {
        self.with(|c| {
            let tx = c.transaction().map_err(db)?;
            tx.execute(
                "INSERT INTO admin (id, token_hash, created_at) VALUES (1, ?1, ?2)
                 ON CONFLICT (id) DO UPDATE SET token_hash = excluded.token_hash, created_at = excluded.created_at",
                params![token_hash, now()],
            )
            .map_err(db)?;
            log(&tx, audit, AuditAction::AdminToken, None, None)?;
            tx.commit().map_err(db)
        })
    }

    fn connector(&self, slug: &str) -> StoreResult<Option<Connector>> {
        self.read(|c| {
            c.query_row(
                &format!("SELECT {CONNECTOR_COLS} WHERE c.slug = ?1"),
                [slug],
                connector_row,
            )
            .optional()
            .map_err(db)
        })
    }

    fn share(
        &self,
        publisher: &Publisher,
        v: &NewVersion,
        audit: &Audit,
    ) -> StoreResult<(ShareOutcome, u64)> {
        self.with(|c| {
            // IMMEDIATE: two shares of one connector never read the same next `seq`.
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db)?;
            let existing = tx
                .query_row(&format!("SELECT {CONNECTOR_COLS} WHERE c.slug = ?1"), [&v.slug], connector_row)
                .optional()
                .map_err(db)?;
            let connector_id = match existing {
                Some(conn) if conn.publisher_id != publisher.id => {
                    return Err(StoreError::Conflict(format!(
                        "the registry connector `{}` belongs to another publisher; share yours under another slug (`--slug`)",
                        v.slug
                    )));
                }
                Some(conn) => conn.id,
                None => {
                    tx.execute(
                        "INSERT INTO connectors (slug, title, publisher_id, created_at) VALUES (?1, ?2, ?3, ?4)",
                        params![v.slug, v.title, publisher.id, now()],
                    )
                    .map_err(db)?;
                    tx.last_insert_rowid()
                }
            };
            let same: Option<(String, i64)> = tx
                .query_row(
                    "SELECT code_blob, seq FROM versions WHERE connector_id = ?1 AND version = ?2",
                    params![connector_id, v.version as i64],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(db)?;
            if let Some((blob, seq)) = same {
                if blob == v.code_blob {
                    return Ok((ShareOutcome::AlreadyShared, seq as u64));
                }
                return Err(StoreError::Conflict(format!(
                    "version {} of `{}` was already shared with other code; shared versions are immutable: share a new version",
                    v.version, v.slug
                )));
            }
            let seq: i64 = tx
                .query_row(
                    "SELECT COALESCE(MAX(seq), 0) + 1 FROM versions WHERE connector_id = ?1",
                    [connector_id],
                    |r| r.get(0),
                )
                .map_err(db)?;
            let json = |l: &Vec<String>| serde_json::to_string(l).unwrap_or_else(|_| "[]".into());
            tx.execute(
                "INSERT INTO versions (connector_id, seq, version, title, note, metadata, code_blob, logo_blob,
                    logo_kind, actions, triggers, shared_at, shared_by)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                params![
                    connector_id,
                    seq,
                    v.version as i64,
                    v.title,
                    v.note,
                    v.metadata,
                    v.code_blob,
                    v.logo.as_ref().map(|l| l.0.clone()),
                    v.logo.as_ref().map(|l| kind_name(l.1)),
                    json(&v.actions),
                    json(&v.triggers),
                    now(),
                    publisher.id
                ],
            )
            .map_err(db)?;
            log(
                &tx,
                audit,
                AuditAction::Share,
                Some(&v.slug),
                Some(&format!("version {} (seq {seq})", v.version)),
            )?;
            tx.commit().map_err(db)?;
            Ok((ShareOutcome::Shared, seq as u64))
        })
    }

    fn versions(&self, connector: i64) -> StoreResult<Vec<StoredVersion>> {
        self.read(|c| {
            let mut st = c
                .prepare_cached(
                    "SELECT version, seq, note, shared_at, actions, triggers, code_blob, title, metadata,
                        logo_blob, logo_kind
                     FROM versions WHERE connector_id = ?1 ORDER BY seq",
                )
                .map_err(db)?;
            let rows = st
                .query_map([connector], |r| {
                    let list = |s: String| serde_json::from_str::<Vec<String>>(&s).unwrap_or_default();
                    let code_blob: String = r.get(6)?;
                    let logo_blob: Option<String> = r.get(9)?;
                    let logo_kind: Option<String> = r.get(10)?;
                    Ok(StoredVersion {
                        summary: SharedVersionSummary {
                            version: r.get::<_, i64>(0)? as u64,
                            seq: r.get::<_, i64>(1)? as u64,
                            note: r.get(2)?,
                            shared_at: r.get(3)?,
                            actions: list(r.get(4)?),
                            triggers: list(r.get(5)?),
                            code_blake3: code_blob.clone(),
                        },
                        title: r.get(7)?,
                        metadata: r.get(8)?,
                        code_blob,
                        logo: logo_blob.zip(logo_kind.as_deref().and_then(kind_of)),
                    })
                })
                .map_err(db)?;
            rows.collect::<Result<_, _>>().map_err(db)
        })
    }

    fn create_link(
        &self,
        connector: &Connector,
        id: &str,
        token_hash: &str,
        regenerate: bool,
        audit: &Audit,
    ) -> StoreResult<u64> {
        self.with(|c| {
            let tx = c.transaction().map_err(db)?;
            let mut revoked = 0;
            if regenerate {
                revoked = tx
                    .execute(
                        "UPDATE links SET revoked_at = ?2 WHERE connector_id = ?1 AND revoked_at IS NULL",
                        params![connector.id, now()],
                    )
                    .map_err(db)? as u64;
                if revoked > 0 {
                    log(
                        &tx,
                        audit,
                        AuditAction::LinkRevoke,
                        Some(&connector.slug),
                        Some(&format!("{revoked} link(s), regenerate")),
                    )?;
                }
            }
            tx.execute(
                "INSERT INTO links (public_id, connector_id, token_hash, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![id, connector.id, token_hash, now()],
            )
            .map_err(db)?;
            log(
                &tx,
                audit,
                AuditAction::LinkCreate,
                Some(&connector.slug),
                Some(&format!("link {id}")),
            )?;
            tx.commit().map_err(db)?;
            Ok(revoked)
        })
    }

    fn revoke_links(&self, connector: &Connector, installs: bool, audit: &Audit) -> StoreResult<(u64, u64)> {
        self.with(|c| {
            let tx = c.transaction().map_err(db)?;
            let at = now();
            let links = tx
                .execute(
                    "UPDATE links SET revoked_at = ?2 WHERE connector_id = ?1 AND revoked_at IS NULL",
                    params![connector.id, at],
                )
                .map_err(db)? as u64;
            log(
                &tx,
                audit,
                AuditAction::LinkRevoke,
                Some(&connector.slug),
                Some(&format!("{links} link(s)")),
            )?;
            let mut n = 0;
            if installs {
                n = tx
                    .execute(
                        "UPDATE installs SET revoked_at = ?2 WHERE connector_id = ?1 AND revoked_at IS NULL",
                        params![connector.id, at],
                    )
                    .map_err(db)? as u64;
                log(
                    &tx,
                    audit,
                    AuditAction::InstallRevoke,
                    Some(&connector.slug),
                    Some(&format!("{n} install(s)")),
                )?;
            }
            tx.commit().map_err(db)?;
            Ok((links, n))
        })
    }

    fn links(&self, connector: i64) -> StoreResult<Vec<LinkInfo>> {
        self.read(|c| {
            let mut st = c
                .prepare(
                    "SELECT l.public_id, l.created_at, l.last_used_at, l.revoked_at,
                        (SELECT COUNT(*) FROM installs i WHERE i.link_id = l.id)
                     FROM links l WHERE l.connector_id = ?1 ORDER BY l.id",
                )
                .map_err(db)?;
            let rows = st
                .query_map([connector], |r| {
                    Ok(LinkInfo {
                        id: r.get(0)?,
                        created_at: r.get(1)?,
                        last_used_at: r.get(2)?,
                        revoked_at: r.get(3)?,
                        installs: r.get::<_, i64>(4)? as u64,
                    })
                })
                .map_err(db)?;
            rows.collect::<Result<_, _>>().map_err(db)
        })
    }

    fn find_link(&self, token_hash: &str) -> StoreResult<Option<(i64, Connector)>> {
        self.read(|c| {
            let found: Option<(i64, String, i64)> = c
                .prepare_cached(
                    "SELECT id, token_hash, connector_id FROM links WHERE token_hash = ?1 AND revoked_at IS NULL",
                )
                .and_then(|mut st| st.query_row([token_hash], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))))
                .optional()
                .map_err(db)?;
            let Some((link, _, connector)) = found.filter(|f| crate::tokens::same_hash(&f.1, token_hash)) else {
                return Ok(None);
            };
            let conn = c
                .prepare_cached(&format!("SELECT {CONNECTOR_COLS} WHERE c.id = ?1"))
                .and_then(|mut st| st.query_row([connector], connector_row))
                .map_err(db)?;
            Ok(Some((link, conn)))
        })
    }

    fn link_by_token(&self, token_hash: &str) -> StoreResult<Option<(i64, Connector)>> {
        self.with(|c| {
            let found: Option<(i64, String, i64)> = c
                .query_row(
                    "SELECT id, token_hash, connector_id FROM links WHERE token_hash = ?1 AND revoked_at IS NULL",
                    [token_hash],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()
                .map_err(db)?;
            let Some((link, _, connector)) = found.filter(|f| crate::tokens::same_hash(&f.1, token_hash)) else {
                return Ok(None);
            };
            c.execute("UPDATE links SET last_used_at = ?2 WHERE id = ?1", params![link, now()])
                .map_err(db)?;
            let conn = c
                .query_row(&format!("SELECT {CONNECTOR_COLS} WHERE c.id = ?1"), [connector], connector_row)
                .map_err(db)?;
            Ok(Some((link, conn)))
        })
    }

    fn create_install(
        &self,
        link: Option<i64>,
        connector: &Connector,
        id: &str,
        token_hash: &str,
        audit: &Audit,
    ) -> StoreResult<()> {
        self.with(|c| {
            // One transaction, one commit (one fsync): the install, the link's "last used" and
            // the audit row.
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db)?;
            let at = now();
            tx.prepare_cached(
                "INSERT INTO installs (public_id, connector_id, link_id, token_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .and_then(|mut st| st.execute(params![id, connector.id, link, token_hash, at]))
            .map_err(db)?;
            if let Some(link) = link {
                tx.prepare_cached("UPDATE links SET last_used_at = ?2 WHERE id = ?1")
                    .and_then(|mut st| st.execute(params![link, at]))
                    .map_err(db)?;
            }
            log(&tx, audit, AuditAction::Install, Some(&connector.slug), Some(&format!("install {id}")))?;
            tx.commit().map_err(db)
        })
    }

    fn install_by_token(&self, token_hash: &str) -> StoreResult<Option<Connector>> {
        self.read(|c| {
            let found: Option<(String, i64)> = c
                .query_row(
                    "SELECT token_hash, connector_id FROM installs WHERE token_hash = ?1 AND revoked_at IS NULL",
                    [token_hash],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(db)?;
            let Some((_, connector)) = found.filter(|f| crate::tokens::same_hash(&f.0, token_hash)) else {
                return Ok(None);
            };
            c.query_row(&format!("SELECT {CONNECTOR_COLS} WHERE c.id = ?1"), [connector], connector_row)
                .optional()
                .map_err(db)
        })
    }

    fn apps(&self, q: Option<&str>) -> StoreResult<Vec<CatalogApp>> {
        self.with(|c| {
            let pat = like(q.unwrap_or("").trim());
            let mut st = c
                .prepare(
                    "SELECT slug, name, website FROM apps
                     WHERE slug LIKE ?1 ESCAPE '\\' OR name LIKE ?1 ESCAPE '\\' ORDER BY name COLLATE NOCASE",
                )
                .map_err(db)?;
            let rows = st.query_map([pat], app_row).map_err(db)?;
            rows.collect::<Result<_, _>>().map_err(db)
        })
    }

    fn app(&self, key: &str) -> StoreResult<Option<CatalogApp>> {
        self.with(|c| {
            c.query_row(
                "SELECT slug, name, website FROM apps WHERE slug = ?1 OR name = ?1 COLLATE NOCASE
                 ORDER BY slug = ?1 DESC LIMIT 1",
                [key.trim()],
                app_row,
            )
            .optional()
            .map_err(db)
        })
    }

    fn add_apps(&self, apps: &[CatalogApp], audit: &Audit) -> StoreResult<(u64, u64)> {
        self.with(|c| {
            let tx = c.transaction().map_err(db)?;
            let (mut added, mut updated) = (0, 0);
            for a in apps {
                let clash: Option<String> = tx
                    .query_row(
                        "SELECT slug FROM apps WHERE name = ?1 COLLATE NOCASE AND slug <> ?2",
                        params![a.name, a.slug],
                        |r| r.get(0),
                    )
                    .optional()
                    .map_err(db)?;
                if let Some(other) = clash {
                    return Err(StoreError::Conflict(format!(
                        "the app name `{}` is taken by `{other}` in the catalog; give `{}` another name, or change `{other}`",
                        a.name, a.slug
                    )));
                }
                let n = tx
                    .execute(
                        "UPDATE apps SET name = ?2, website = ?3 WHERE slug = ?1",
                        params![a.slug, a.name, a.website],
                    )
                    .map_err(db)?;
                if n == 0 {
                    tx.execute(
                        "INSERT INTO apps (slug, name, website, created_at) VALUES (?1, ?2, ?3, ?4)",
                        params![a.slug, a.name, a.website, now()],
                    )
                    .map_err(db)?;
                    added += 1;
                } else {
                    updated += 1;
                }
            }
            log(&tx, audit, AuditAction::AppAdd, None, Some(&format!("{added} added, {updated} updated")))?;
            tx.commit().map_err(db)?;
            Ok((added, updated))
        })
    }

    fn submit_listing(
        &self,
        connector: &Connector,
        s: &ListingSubmit,
        audit: &Audit,
    ) -> StoreResult<ListingView> {
        self.with(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db)?;
            let cats = serde_json::to_string(&s.categories).unwrap_or_else(|_| "[]".into());
            tx.execute(
                "INSERT INTO listings (connector_id, app_slug, app_name, categories, description, direct_install,
                    landing_page, status, reason, submitted_at, reviewed_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'pending', NULL, ?8, NULL)
                 ON CONFLICT (connector_id) DO UPDATE SET app_slug = excluded.app_slug, app_name = excluded.app_name,
                    categories = excluded.categories, description = excluded.description,
                    direct_install = excluded.direct_install, landing_page = excluded.landing_page,
                    status = 'pending', reason = NULL, submitted_at = excluded.submitted_at",
                params![
                    connector.id,
                    s.app_slug,
                    s.app_name,
                    cats,
                    s.description,
                    s.direct_install,
                    s.landing_page,
                    now()
                ],
            )
            .map_err(db)?;
            let v = tx
                .query_row(&format!("SELECT {LISTING_COLS} WHERE l.connector_id = ?1"), [connector.id], listing_row)
                .map_err(db)?;
            log(
                &tx,
                audit,
                AuditAction::ListingSubmit,
                Some(&connector.slug),
                Some(&format!("listing {}, app `{}`{}", v.id, v.app, if v.not_in_catalog { " (not in catalog)" } else { "" })),
            )?;
            tx.commit().map_err(db)?;
            Ok(v)
        })
    }

    fn listing(&self, slug: &str) -> StoreResult<Option<ListingView>> {
        self.with(|c| {
            c.query_row(
                &format!("SELECT {LISTING_COLS} WHERE c.slug = ?1"),
                [slug],
                listing_row,
            )
            .optional()
            .map_err(db)
        })
    }

    fn listing_by_id(&self, id: i64) -> StoreResult<Option<ListingView>> {
        self.with(|c| {
            c.query_row(
                &format!("SELECT {LISTING_COLS} WHERE l.id = ?1"),
                [id],
                listing_row,
            )
            .optional()
            .map_err(db)
        })
    }

    fn listings(&self, status: Option<ListingStatus>) -> StoreResult<Vec<ListingView>> {
        self.with(|c| {
            let mut st = c
                .prepare(&format!(
                    "SELECT {LISTING_COLS} WHERE ?1 IS NULL OR l.status = ?1 ORDER BY l.submitted_at, l.id"
                ))
                .map_err(db)?;
            let rows = st
                .query_map([status.map(ListingStatus::as_str)], listing_row)
                .map_err(db)?;
            rows.collect::<Result<_, _>>().map_err(db)
        })
    }

    fn review(
        &self,
        id: i64,
        status: ListingStatus,
        reason: Option<&str>,
        audit: &Audit,
    ) -> StoreResult<ListingView> {
        self.with(|c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db)?;
            let n = tx
                .execute(
                    "UPDATE listings SET status = ?2, reason = ?3, reviewed_at = ?4 WHERE id = ?1",
                    params![id, status.as_str(), reason, now()],
                )
                .map_err(db)?;
            if n == 0 {
                return Err(StoreError::NotFound(format!(
                    "no listing with id {id}; `rlcm-registry review list` shows them"
                )));
            }
            let v = tx
                .query_row(
                    &format!("SELECT {LISTING_COLS} WHERE l.id = ?1"),
                    [id],
                    listing_row,
                )
                .map_err(db)?;
            let action = match status {
                ListingStatus::Live => AuditAction::ListingApprove,
                ListingStatus::Rejected => AuditAction::ListingReject,
                _ => AuditAction::ListingDisable,
            };
            let detail = match reason {
                Some(r) => format!("listing {id}: {r}"),
                None => format!("listing {id}"),
            };
            log(&tx, audit, action, Some(&v.connector_id), Some(&detail))?;
            tx.commit().map_err(db)?;
            Ok(v)
        })
    }

    fn search(&self, q: &Search) -> StoreResult<(Vec<Card>, u64)> {
        self.with(|c| {
            let text = q.q.as_deref().map(str::trim).filter(|t| !t.is_empty()).map(like);
            // The title searched and sorted on is the latest shared version's (as the cards show),
            // not the first share's `connectors.title`.
            let filter = "l.status = 'live'
                AND (?1 IS NULL OR (SELECT v.title FROM versions v WHERE v.connector_id = c.id
                        ORDER BY v.seq DESC LIMIT 1) LIKE ?1 ESCAPE '\\'
                     OR l.description LIKE ?1 ESCAPE '\\'
                     OR l.app_name LIKE ?1 ESCAPE '\\')
                AND (?2 IS NULL OR l.app_slug = ?2)
                AND (?3 IS NULL OR EXISTS (SELECT 1 FROM json_each(l.categories) j WHERE j.value = ?3))";
            let total: i64 = c
                .query_row(
                    &format!("SELECT COUNT(*) FROM listings l JOIN connectors c ON c.id = l.connector_id WHERE {filter}"),
                    params![text, q.app, q.category],
                    |r| r.get(0),
                )
                .map_err(db)?;
            let mut st = c
                .prepare(&format!(
                    "WITH page AS (
                        SELECT l.id AS lid, c.id AS cid FROM listings l JOIN connectors c ON c.id = l.connector_id
                        WHERE {filter}
                        ORDER BY (SELECT v.title FROM versions v WHERE v.connector_id = c.id
                            ORDER BY v.seq DESC LIMIT 1) COLLATE NOCASE, c.id
                        LIMIT ?4 OFFSET ?5
                     )
                     SELECT c.slug, v.title, l.app_name, l.categories, v.version, v.logo_blob IS NOT NULL,
                        (SELECT COUNT(*) FROM installs i WHERE i.connector_id = c.id AND i.link_id IS NULL),
                        l.description, p.name
                     FROM page JOIN listings l ON l.id = page.lid JOIN connectors c ON c.id = page.cid
                     JOIN publishers p ON p.id = c.publisher_id
                     JOIN versions v ON v.connector_id = c.id
                        AND v.seq = (SELECT MAX(seq) FROM versions WHERE connector_id = c.id)
                     ORDER BY v.title COLLATE NOCASE, c.id"
                ))
                .map_err(db)?;
            let rows = st
                .query_map(
                    params![text, q.app, q.category, q.limit as i64, q.offset as i64],
                    |r| {
                        Ok(Card {
                            slug: r.get(0)?,
                            title: r.get(1)?,
                            app: r.get(2)?,
                            categories: serde_json::from_str(&r.get::<_, String>(3)?).unwrap_or_default(),
                            latest_version: r.get::<_, i64>(4)? as u64,
                            has_logo: r.get(5)?,
                            installs: r.get::<_, i64>(6)? as u64,
                            description: r.get(7)?,
                            publisher: r.get(8)?,
                        })
                    },
                )
                .map_err(db)?;
            let cards = rows.collect::<Result<_, _>>().map_err(db)?;
            Ok((cards, total as u64))
        })
    }

    fn admin_token_hash(&self) -> StoreResult<Option<String>> {
        self.with(|c| {
            c.query_row("SELECT token_hash FROM admin WHERE id = 1", [], |r| r.get(0))
                .optional()
                .map_err(db)
        })
    }

    fn create_session(&self, id_hash: &str, csrf: &str, expires: i64, audit: &Audit) -> StoreResult<()> {
        self.with(|c| {
            let tx = c.transaction().map_err(db)?;
            tx.execute(
                "DELETE FROM admin_sessions WHERE expires_at < ?1",
                [expires - 86_400 * 2],
            )
            .map_err(db)?;
            tx.execute(
                "INSERT INTO admin_sessions (id_hash, csrf, expires_at) VALUES (?1, ?2, ?3)",
                params![id_hash, csrf, expires],
            )
            .map_err(db)?;
            log(&tx, audit, AuditAction::AdminLogin, None, None)?;
            tx.commit().map_err(db)
        })
    }

    fn session(&self, id_hash: &str, now: i64) -> StoreResult<Option<String>> {
        self.with(|c| {
            let found: Option<(String, String)> = c
                .query_row(
                    "SELECT id_hash, csrf FROM admin_sessions WHERE id_hash = ?1 AND expires_at > ?2",
                    params![id_hash, now],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(db)?;
            Ok(found
                .filter(|(h, _)| crate::tokens::same_hash(h, id_hash))
                .map(|(_, csrf)| csrf))
        })
    }

    fn delete_session(&self, id_hash: &str) -> StoreResult<()> {
        self.with(|c| {
            c.execute("DELETE FROM admin_sessions WHERE id_hash = ?1", [id_hash])
                .map_err(db)?;
            Ok(())
        })
    }

    fn audit_log(&self) -> StoreResult<Vec<AuditRow>> {
        self.with(|c| {
            let mut st = c
                .prepare("SELECT at, actor, client, action, connector, detail FROM audit ORDER BY id")
                .map_err(db)?;
            let rows = st
                .query_map([], |r| {
                    let action: String = r.get(3)?;
                    let action = action.parse::<AuditAction>().map_err(|e| {
                        rusqlite::Error::FromSqlConversionFailure(3, rusqlite::types::Type::Text, e.into())
                    })?;
                    Ok(AuditRow {
                        at: r.get(0)?,
                        actor: r.get(1)?,
                        client: r.get(2)?,
                        action,
                        connector: r.get(4)?,
                        detail: r.get(5)?,
                    })
                })
                .map_err(db)?;
            rows.collect::<Result<_, _>>().map_err(db)
        })
    }

    fn backup(&self, dest: &Path) -> StoreResult<()> {
        self.with(|c| {
            let mut out = Connection::open(dest)
                .map_err(|e| StoreError::Backend(format!("cannot create `{}`: {e}", dest.display())))?;
            let b = rusqlite::backup::Backup::new(c, &mut out).map_err(db)?;
            b.run_to_completion(256, std::time::Duration::from_millis(5), None)
                .map_err(|e| StoreError::Backend(format!("backup to `{}` failed: {e}", dest.display())))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn audit() -> Audit {
        Audit {
            actor: "test".into(),
            client: "local".into(),
        }
    }

    fn version(slug: &str, v: u64, blob: &str) -> NewVersion {
        NewVersion {
            slug: slug.into(),
            title: "Acme".into(),
            version: v,
            note: Some(format!("v{v}")),
            metadata: "{}".into(),
            code_blob: blob.into(),
            logo: None,
            actions: vec!["a".into()],
            triggers: vec![],
        }
    }

    #[test]
    fn migrations_share_ownership_and_reopen() {
        let d = tempfile::tempdir().unwrap();
        let s = SqliteStore::open(d.path()).unwrap();
        s.add_publisher("a", "ha", &audit()).unwrap();
        s.add_publisher("b", "hb", &audit()).unwrap();
        assert!(matches!(
            s.add_publisher("a", "hx", &audit()),
            Err(StoreError::Conflict(_))
        ));
        let a = s.publisher_by_token("ha").unwrap().unwrap();
        let b = s.publisher_by_token("hb").unwrap().unwrap();
        assert_eq!(
            s.share(&a, &version("acme", 3, "x3"), &audit()).unwrap(),
            (ShareOutcome::Shared, 1)
        );
        assert_eq!(
            s.share(&a, &version("acme", 3, "x3"), &audit()).unwrap(),
            (ShareOutcome::AlreadyShared, 1)
        );
        assert!(matches!(
            s.share(&a, &version("acme", 3, "other"), &audit()),
            Err(StoreError::Conflict(_))
        ));
        assert!(matches!(
            s.share(&b, &version("acme", 4, "x4"), &audit()),
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(
            s.share(&a, &version("acme", 4, "x4"), &audit()).unwrap(),
            (ShareOutcome::Shared, 2)
        );
        drop(s);
        let s = SqliteStore::open(d.path()).unwrap();
        let c = s.connector("acme").unwrap().unwrap();
        let v = s.versions(c.id).unwrap();
        assert_eq!(v.iter().map(|v| v.summary.version).collect::<Vec<_>>(), [3, 4]);
        s.revoke_publisher("b", &audit()).unwrap();
        assert!(s.publisher_by_token("hb").unwrap().is_none());
        let log = s.audit_log().unwrap();
        assert_eq!(log.iter().filter(|r| r.action == AuditAction::Share).count(), 2);
        let mode: String = s
            .with(|c| c.query_row("PRAGMA journal_mode", [], |r| r.get(0)).map_err(db))
            .unwrap();
        assert_eq!(mode, "wal");
    }

    #[test]
    fn links_and_installs() {
        let d = tempfile::tempdir().unwrap();
        let s = SqliteStore::open(d.path()).unwrap();
        s.add_publisher("a", "ha", &audit()).unwrap();
        let a = s.publisher_by_token("ha").unwrap().unwrap();
        s.share(&a, &version("acme", 1, "x"), &audit()).unwrap();
        let c = s.connector("acme").unwrap().unwrap();
        s.create_link(&c, "l1", "t1", false, &audit()).unwrap();
        let (link, _) = s.find_link("t1").unwrap().unwrap();
        assert_eq!(
            s.links(c.id).unwrap()[0].last_used_at,
            None,
            "find_link marks nothing"
        );
        s.create_install(Some(link), &c, "i1", "c1", &audit()).unwrap();
        assert!(
            s.links(c.id).unwrap()[0].last_used_at.is_some(),
            "the install marks its link used"
        );
        assert_eq!(s.create_link(&c, "l2", "t2", true, &audit()).unwrap(), 1);
        assert!(s.link_by_token("t1").unwrap().is_none());
        assert!(s.install_by_token("c1").unwrap().is_some());
        let links = s.links(c.id).unwrap();
        assert_eq!((links.len(), links[0].installs), (2, 1));
        assert_eq!(s.revoke_links(&c, true, &audit()).unwrap(), (1, 1));
        assert!(s.install_by_token("c1").unwrap().is_none());
    }

    /// Installs from many threads at once each get their own outcome: a duplicate install id
    /// fails alone, every other install is stored, audited and counted on its link.
    #[test]
    fn concurrent_installs_each_commit_or_fail_alone() {
        let d = tempfile::tempdir().unwrap();
        let s = std::sync::Arc::new(SqliteStore::open(d.path()).unwrap());
        s.add_publisher("a", "ha", &audit()).unwrap();
        let a = s.publisher_by_token("ha").unwrap().unwrap();
        s.share(&a, &version("acme", 1, "x"), &audit()).unwrap();
        let c = s.connector("acme").unwrap().unwrap();
        s.create_link(&c, "l1", "t1", false, &audit()).unwrap();
        let (link, _) = s.find_link("t1").unwrap().unwrap();
        let threads: Vec<_> = (0..32)
            .map(|i| {
                let (s, c) = (std::sync::Arc::clone(&s), c.clone());
                // Threads 0 and 1 use the same install id: one of them must fail.
                let id = if i < 2 { "dup".to_string() } else { format!("i{i}") };
                std::thread::spawn(move || s.create_install(Some(link), &c, &id, &format!("c{i}"), &audit()))
            })
            .collect();
        let outcomes: Vec<StoreResult<()>> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        assert_eq!(outcomes.iter().filter(|o| o.is_err()).count(), 1, "{outcomes:?}");
        assert!(outcomes[0].is_err() != outcomes[1].is_err());
        for (i, o) in outcomes.iter().enumerate() {
            assert_eq!(
                s.install_by_token(&format!("c{i}")).unwrap().is_some(),
                o.is_ok(),
                "install {i}"
            );
        }
        let audited = s
            .audit_log()
            .unwrap()
            .iter()
            .filter(|r| r.action == AuditAction::Install)
            .count();
        assert_eq!(audited, 31);
        assert_eq!(s.links(c.id).unwrap()[0].installs, 31);
    }

    fn submit(s: &SqliteStore, c: &Connector, app: Option<&str>, name: &str, cats: &[&str]) -> ListingView {
        s.submit_listing(
            c,
            &ListingSubmit {
                app_slug: app.map(str::to_string),
                app_name: name.into(),
                categories: cats.iter().map(|c| c.to_string()).collect(),
                description: Some(format!("About {name} 100%_done")),
                direct_install: true,
                landing_page: None,
            },
            &audit(),
        )
        .unwrap()
    }

    #[test]
    fn listings_reviews_search_and_sessions() {
        let d = tempfile::tempdir().unwrap();
        let s = SqliteStore::open(d.path()).unwrap();
        // The shipped catalog is there after the migration.
        assert!(s.app("salesforce").unwrap().is_some());
        assert_eq!(s.app("SLACK").unwrap().unwrap().slug, "slack");
        assert!(s.apps(Some("net")).unwrap().iter().any(|a| a.slug == "netsuite"));
        assert!(matches!(
            s.add_apps(
                &[CatalogApp {
                    slug: "sf2".into(),
                    name: "salesforce".into(),
                    website: None
                }],
                &audit()
            ),
            Err(StoreError::Conflict(_))
        ));
        s.add_publisher("a", "ha", &audit()).unwrap();
        let a = s.publisher_by_token("ha").unwrap().unwrap();
        for (slug, blob) in [("one", "x1"), ("two", "x2"), ("three", "x3")] {
            let mut v = version(slug, 1, blob);
            v.title = format!("Conn {slug}");
            s.share(&a, &v, &audit()).unwrap();
        }
        let c = |slug: &str| s.connector(slug).unwrap().unwrap();
        let one = submit(&s, &c("one"), Some("salesforce"), "Salesforce", &["CRM", "Sales"]);
        let two = submit(&s, &c("two"), Some("slack"), "Slack", &["Communication"]);
        let three = submit(&s, &c("three"), None, "Legacy ERP", &["Finance"]);
        assert!(three.not_in_catalog && !one.not_in_catalog);
        assert_eq!(one.status, ListingStatus::Pending);
        let all = |q: Search| s.search(&Search { limit: 10, ..q }).unwrap();
        assert_eq!(
            all(Search::default()).1,
            0,
            "pending listings are not in the library"
        );
        s.review(one.id, ListingStatus::Live, None, &audit()).unwrap();
        s.review(two.id, ListingStatus::Live, None, &audit()).unwrap();
        s.review(three.id, ListingStatus::Rejected, Some("which ERP?"), &audit())
            .unwrap();
        let (cards, total) = all(Search::default());
        assert_eq!(total, 2);
        assert_eq!(
            cards.iter().map(|c| c.slug.as_str()).collect::<Vec<_>>(),
            ["one", "two"]
        );
        assert_eq!(
            all(Search {
                q: Some("slack".into()),
                ..Default::default()
            })
            .1,
            1
        );
        assert_eq!(
            all(Search {
                category: Some("Sales".into()),
                ..Default::default()
            })
            .0[0]
                .slug,
            "one"
        );
        assert_eq!(
            all(Search {
                app: Some("slack".into()),
                category: Some("Sales".into()),
                ..Default::default()
            })
            .1,
            0
        );
        // LIKE wildcards are literal.
        assert_eq!(
            all(Search {
                q: Some("100%_d".into()),
                ..Default::default()
            })
            .1,
            2
        );
        assert_eq!(
            all(Search {
                q: Some("0%x".into()),
                ..Default::default()
            })
            .1,
            0
        );
        let page2 = s
            .search(&Search {
                limit: 1,
                offset: 1,
                ..Default::default()
            })
            .unwrap();
        assert_eq!((page2.0.len(), page2.0[0].slug.as_str(), page2.1), (1, "two", 2));
        // Resubmitting goes back to pending, without the old reason.
        let again = submit(&s, &c("three"), None, "Legacy ERP", &["Finance"]);
        assert_eq!(
            (again.id, again.status, again.reason),
            (three.id, ListingStatus::Pending, None)
        );
        assert!(matches!(
            s.review(999, ListingStatus::Live, None, &audit()),
            Err(StoreError::NotFound(_))
        ));
        // Sessions expire.
        s.create_session("h1", "csrf1", 100, &audit()).unwrap();
        assert_eq!(s.session("h1", 50).unwrap().as_deref(), Some("csrf1"));
        assert_eq!(s.session("h1", 150).unwrap(), None);
        s.delete_session("h1").unwrap();
        assert_eq!(s.session("h1", 50).unwrap(), None);
    }

    #[test]
    fn search_matches_the_latest_shared_title() {
        let d = tempfile::tempdir().unwrap();
        let s = SqliteStore::open(d.path()).unwrap();
        s.add_publisher("a", "ha", &audit()).unwrap();
        let a = s.publisher_by_token("ha").unwrap().unwrap();
        for (slug, title) in [("one", "Alpha Sync"), ("two", "Beta Sync")] {
            let mut v = version(slug, 1, &format!("{slug}1"));
            v.title = title.into();
            s.share(&a, &v, &audit()).unwrap();
            let c = s.connector(slug).unwrap().unwrap();
            let l = submit(&s, &c, Some("slack"), "Slack", &["CRM"]);
            s.review(l.id, ListingStatus::Live, None, &audit()).unwrap();
        }
        // "one" is renamed by its second shared version, and now sorts after "two".
        let mut v = version("one", 2, "one2");
        v.title = "Zebra Bridge".into();
        s.share(&a, &v, &audit()).unwrap();
        let find = |q: &str| {
            let (cards, total) = s
                .search(&Search {
                    q: Some(q.into()),
                    limit: 10,
                    ..Default::default()
                })
                .unwrap();
            assert_eq!(total as usize, cards.len());
            cards
                .iter()
                .map(|c| format!("{}={}", c.slug, c.title))
                .collect::<Vec<_>>()
        };
        assert_eq!(find("zebra"), ["one=Zebra Bridge"]);
        assert!(find("alpha").is_empty(), "the first share's title is gone");
        assert_eq!(find("sync"), ["two=Beta Sync"]);
        assert_eq!(
            find("about"),
            ["two=Beta Sync", "one=Zebra Bridge"],
            "sorted by the latest title"
        );
    }
}
